"""DICOM over TLS (PS3.15 Annex B, the BCP 195 profile): contexts and errors that explain.

``client_context`` builds what every SCU uses for a remote node marked TLS: TLS 1.2 or 1.3
only, the BCP 195 (RFC 9325) cipher suites for TLS 1.2 (ECDHE or DHE key exchange with
AES-GCM or ChaCha20-Poly1305; TLS 1.3 suites are all AEAD), the peer's certificate verified
against the node's CA file and its host name (or IP address) checked, and our own client
certificate when the node has one. ``server_context`` is the node's side: its certificate
and key, optionally requiring client certificates signed by a configured CA.

``handshake`` wraps a connected socket and does the TLS handshake within a timeout;
``explain`` turns what ``ssl`` raises into a sentence that names the problem (an expired
certificate, an unknown CA, a host name mismatch, a plain DICOM peer on a TLS port, ...).
``speaks_tls`` tells whether something on a port answers a TLS ClientHello, which explains a
plain association that a TLS port refused.

A remote node's AE title can be bound to its client certificate: the registry keeps the
certificate's SHA-256 fingerprint (``fingerprint_of``, of the DER encoding, as ``openssl x509
-fingerprint -sha256`` shows it), and the node accepts an association calling that AE title
only over TLS from a client that showed that very certificate (``binding_refusal``). A
fingerprint pins one certificate, whatever else the CA signs: a renewed certificate is bound
again (``nodes edit NAME --tls-peer-cert NEW.pem``).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError, NetworkError

# RFC 9325 4.2: the recommended TLS 1.2 suites (with forward secrecy and AEAD), strongest
# key exchange first. TLS 1.3 suites are OpenSSL's defaults (all AEAD).
BCP195_TLS12_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
    )
)
DEFAULT_TLS_PORT = 2762  # the IANA port of DICOM over TLS (dicom-tls)
PROBE_TIMEOUT = 3.0  # how long ``speaks_tls`` waits for a ServerHello

# OpenSSL's X509_V_ERR_* codes (x509_vfy.h) that have a sentence of their own
_EXPIRED = 10
_NOT_YET_VALID = 9
_SELF_SIGNED = 18
_SELF_SIGNED_IN_CHAIN = 19
_UNKNOWN_ISSUER = (2, 20, 21)
_HOSTNAME_MISMATCH = 62
_IP_MISMATCH = 64
_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class TlsClientConfig:
    """How to reach a TLS node: the CA file that signs its certificate, our optional own
    certificate and key (PEM paths; the key may be in the certificate file)."""

    ca_file: str
    cert_file: str = ""
    key_file: str = ""


def _readable(path: str, what: str) -> str:
    if not Path(path).is_file():
        raise ConfigError(f"the TLS {what} {path!r} does not exist or is not a file")
    return path


def _restrict(context: ssl.SSLContext) -> ssl.SSLContext:
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(BCP195_TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    return context


def _load_chain(context: ssl.SSLContext, cert_file: str, key_file: str, whose: str) -> None:
    _readable(cert_file, f"{whose} certificate")
    if key_file:
        _readable(key_file, f"{whose} key")
    try:
        context.load_cert_chain(cert_file, key_file or None)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"cannot use the TLS {whose} certificate {cert_file!r} with the key"
            f" {key_file or cert_file!r}: {exc.reason or exc} (PEM files, a key that matches?)"
        ) from exc


def _load_ca(context: ssl.SSLContext, ca_file: str) -> None:
    _readable(ca_file, "CA file")
    try:
        context.load_verify_locations(cafile=ca_file)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"the TLS CA file {ca_file!r} holds no usable PEM certificate: {exc.reason or exc}"
        ) from exc


def client_context(config: TlsClientConfig) -> ssl.SSLContext:
    """The SSLContext for associations to a TLS node (verifies its certificate and name)."""
    if not config.ca_file:
        raise ConfigError("a TLS node needs the CA file that signs its certificate (--tls-ca)")
    context = _restrict(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    _load_ca(context, config.ca_file)
    if config.cert_file:
        _load_chain(context, config.cert_file, config.key_file, "client")
    elif config.key_file:
        raise ConfigError("a TLS client key needs its certificate (--tls-cert)")
    return context


def server_context(
    cert_file: str, key_file: str = "", ca_file: str = "", require_client_cert: bool = False
) -> ssl.SSLContext:
    """The SSLContext our node accepts TLS associations with.

    With ``require_client_cert``, a client must show a certificate signed by ``ca_file``;
    without, a certificate it shows is still verified when there is a CA file."""
    context = _restrict(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    _load_chain(context, cert_file, key_file, "node")
    if require_client_cert and not ca_file:
        raise ConfigError("requiring client certificates needs the CA file that signs them")
    if ca_file:
        _load_ca(context, ca_file)
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


def handshake(
    sock: socket.socket, context: ssl.SSLContext, host: str, peer: str, timeout: float
) -> ssl.SSLSocket:
    """Wrap a connected socket and do the client handshake; NetworkError says why it failed.

    The socket is closed when the handshake fails."""
    sock.settimeout(timeout)
    try:
        address = sock.getpeername()
        tls = context.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
    except (OSError, ValueError) as exc:
        sock.close()
        raise NetworkError(f"cannot start TLS with {peer}: {exc}") from exc
    try:
        tls.do_handshake()
    except (OSError, ssl.SSLError) as exc:
        with contextlib.suppress(OSError):
            tls.close()
        if _peer_closed(exc):  # at our hello: not TLS; later: it refused something of ours
            if not speaks_tls(address[0], address[1], min(timeout, PROBE_TIMEOUT)):
                raise NetworkError(plain_peer(peer)) from exc
        raise NetworkError(explain(exc, peer, host, timeout)) from exc
    return tls


def _peer_closed(exc: BaseException) -> bool:
    if isinstance(exc, ssl.SSLEOFError | ConnectionError):
        return True
    return isinstance(exc, ssl.SSLError) and "EOF" in (exc.reason or "").upper()


def plain_peer(peer: str) -> str:
    """The message for a TLS handshake that a plain (non-TLS) port refused."""
    return (
        f"{peer} does not speak TLS on this port: it answered our TLS hello as a plain"
        " (non-TLS) DICOM port would; check the port, or turn TLS off for this node"
    )


def explain(exc: BaseException, peer: str, host: str = "", timeout: float | None = None) -> str:
    """A sentence for a TLS failure with ``peer`` (what ``ssl`` or the socket raised)."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        code = exc.verify_code
        detail = exc.verify_message or str(exc)
        if code == _EXPIRED:
            return f"the TLS certificate of {peer} has expired; it needs a new one ({detail})"
        if code == _NOT_YET_VALID:
            return f"the TLS certificate of {peer} is not valid yet (check the clocks; {detail})"
        if code in (_HOSTNAME_MISMATCH, _IP_MISMATCH):
            return (
                f"the TLS certificate of {peer} is not for {host!r}: it names another host"
                f" ({detail}); register the node by a name its certificate has"
            )
        if code in (*_UNKNOWN_ISSUER, _SELF_SIGNED, _SELF_SIGNED_IN_CHAIN):
            return (
                f"the TLS certificate of {peer} is signed by an unknown CA: not by the CA file"
                f" configured for this node ({detail})"
            )
        return f"the TLS certificate of {peer} was not accepted: {detail}"
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or "").upper()
        if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"):
            return plain_peer(peer)
        if "UNKNOWN_CA" in reason:
            return (
                f"{peer} does not accept our TLS client certificate: it is signed by a CA the"
                " peer does not trust"
            )
        if "CERTIFICATE_EXPIRED" in reason:
            return f"{peer} refused our TLS client certificate: it has expired"
        if "CERTIFICATE_REQUIRED" in reason or (
            "HANDSHAKE_FAILURE" in reason and "ALERT" in reason
        ):
            return (
                f"{peer} refused the TLS handshake: it requires a client certificate"
                " (configure one for this node) or shares no protocol version or cipher with us"
            )
        if "BAD_CERTIFICATE" in reason or "CERTIFICATE_UNKNOWN" in reason:
            return f"{peer} refused our TLS client certificate ({exc.reason})"
        if "PROTOCOL_VERSION" in reason or "UNSUPPORTED_PROTOCOL" in reason:
            return f"{peer} supports neither TLS 1.2 nor TLS 1.3 ({exc.reason})"
        if isinstance(exc, ssl.SSLEOFError) or "EOF" in reason:
            return _closed(peer)
        return f"the TLS handshake with {peer} failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        wait = f" within {timeout:g} s" if timeout is not None else ""
        return (
            f"{peer} did not answer the TLS handshake{wait}: is this a plain (non-TLS) DICOM port?"
        )
    if isinstance(exc, ConnectionError):
        return _closed(peer)
    return f"the TLS handshake with {peer} failed: {exc}"


def _closed(peer: str) -> str:
    return (
        f"{peer} closed the connection during the TLS handshake: it does not speak TLS on"
        " this port (a plain DICOM port?), or it wants a client certificate we did not"
        " show or does not accept ours"
    )


def speaks_tls(host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the service on ``host:port`` answers a TLS ClientHello as a TLS server.

    Nothing is verified: only that a ServerHello (or a TLS alert) comes back."""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return False
    try:
        with probe.wrap_socket(sock, server_hostname=host) as tls:
            tls.version()
        return True
    except ssl.SSLError as exc:
        reason = (exc.reason or "").upper()
        return "ALERT" in reason  # the peer answered in TLS, refusing something
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            sock.close()


def plain_on_tls_port(peer: str) -> str:
    """The message for a plain association refused by a port where TLS is spoken."""
    return (
        f"{peer} speaks TLS on this port: our plain association was refused; mark the node"
        " for TLS (nodes edit NAME --tls --tls-ca CA.pem)"
    )


# -- binding an AE title to a client certificate ----------------------------------------------
def fingerprint_of(der: bytes) -> str:
    """The SHA-256 fingerprint of a DER certificate: 64 lowercase hex digits."""
    return hashlib.sha256(der).hexdigest()


def show_fingerprint(fingerprint: str) -> str:
    """A fingerprint as openssl prints it (``AB:CD:...``), for messages and listings."""
    upper = fingerprint.upper()
    return ":".join(upper[i : i + 2] for i in range(0, len(upper), 2))


def parse_fingerprint(value: str) -> str:
    """A certificate binding as the registry keeps it, from a PEM certificate file or a
    SHA-256 fingerprint (hex, with or without colons, optionally ``sha256:`` or openssl's
    ``SHA256 Fingerprint=`` in front); ``""`` stays ``""`` (no binding)."""
    text = value.strip()
    if not text:
        return ""
    path = Path(text).expanduser()
    if path.is_file():
        pem = path.read_text(encoding="ascii", errors="replace")
        begin = pem.find("-----BEGIN CERTIFICATE-----")
        end = pem.find("-----END CERTIFICATE-----", begin)
        if begin < 0 or end < 0:
            raise ConfigError(f"{text!r} holds no PEM certificate to bind the AE title to")
        try:
            der = ssl.PEM_cert_to_DER_cert(pem[begin : end + len("-----END CERTIFICATE-----")])
        except ValueError as exc:
            raise ConfigError(f"{text!r} holds no readable PEM certificate: {exc}") from exc
        return fingerprint_of(der)
    digits = text.lower()
    for prefix in ("sha256 fingerprint=", "sha256:", "sha256="):
        digits = digits.removeprefix(prefix)
    digits = re.sub(r"[\s:]", "", digits)
    if not _FINGERPRINT_RE.match(digits):
        raise ConfigError(
            f"{text!r} is neither a PEM certificate file nor a SHA-256 fingerprint"
            " (64 hex digits, as `openssl x509 -noout -fingerprint -sha256` prints)"
        )
    return digits


def binding_refusal(ae_title: str, bound: frozenset[str], certificate: bytes | None) -> str:
    """Why an association calling ``ae_title`` is refused, or ``""``: ``bound`` holds the
    fingerprints the registry binds that AE title to (none: no binding, accepted);
    ``certificate`` is the client's DER certificate (None: a plain association, or a TLS
    client that showed none)."""
    if not bound:
        return ""
    if certificate is None:
        return (
            f"AE title {ae_title} is bound to a TLS client certificate, and this association"
            " showed none (it must call on the TLS port with that certificate)"
        )
    shown = fingerprint_of(certificate)
    if shown in bound:
        return ""
    return (
        f"its TLS client certificate (SHA-256 {show_fingerprint(shown)}) is not the one bound"
        f" to AE title {ae_title}"
    )
