"""Where a remote node is, and opening a connection to it with errors that explain themselves.

Standard library only (with ``core.net.tls``): the lean SCUs (``core.net.findscu``,
``core.net.storescu``) and ``dicom-kiosk query`` reach a peer without loading pynetdicom.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from typing import Protocol

from core.errors import NetworkError
from core.net import tls as tls_module
from core.net.tls import TlsClientConfig


@dataclass(frozen=True)
class RemoteAE:
    """Where a peer is: its AE title, host and port (and a display name); ``tls`` when
    associations with it run over TLS (verified against its CA file, by host name)."""

    ae_title: str
    host: str
    port: int
    name: str = ""
    tls: TlsClientConfig | None = None

    def __str__(self) -> str:
        label = f"{self.name} " if self.name else ""
        return f"{label}({self.ae_title}@{self.host}:{self.port})"


class Rejection(Protocol):
    """An A-ASSOCIATE-RJ as words: ``core.net.acse.Rejection``, or pynetdicom's primitive."""

    @property
    def result_str(self) -> str: ...

    @property
    def source_str(self) -> str: ...

    @property
    def reason_str(self) -> str: ...


def check_reachable(remote: RemoteAE, timeout: float) -> None:
    """Open and close a TCP connection first (with its TLS handshake for a TLS node), so
    the error names the real problem."""
    with open_connection(remote, timeout):
        pass


def open_connection(remote: RemoteAE, timeout: float) -> socket.socket:
    """A connection to the peer, over TLS for a TLS node (handshake done, certificate and
    host name verified); NetworkError names the real problem when it fails. Nagle's
    algorithm is off: without it each small DIMSE message waits for the peer's delayed ACK."""
    context = tls_module.client_context(remote.tls) if remote.tls else None
    sock = _tcp_connection(remote, timeout)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if context is None:
        return sock
    return tls_module.handshake(sock, context, remote.host, str(remote), timeout)


def _tcp_connection(remote: RemoteAE, timeout: float) -> socket.socket:
    try:
        return socket.create_connection((remote.host, remote.port), timeout=timeout)
    except ConnectionRefusedError as exc:
        raise NetworkError(
            f"{remote} refused the connection: nothing listens on port {remote.port}"
            " (is the DICOM service running, and is the port right?)"
        ) from exc
    except TimeoutError as exc:
        raise NetworkError(
            f"{remote} did not answer within {timeout:g} s (host down, or a firewall drops"
            " the connection)"
        ) from exc
    except socket.gaierror as exc:
        raise NetworkError(f"cannot resolve host {remote.host!r}: {exc.strerror}") from exc
    except OSError as exc:
        raise NetworkError(f"cannot connect to {remote}: {exc.strerror or exc}") from exc


def explain_rejection(remote: RemoteAE, rejection: Rejection | None, calling_ae: str) -> str:
    """The message for an A-ASSOCIATE-RJ."""
    reason = getattr(rejection, "reason_str", "") or "no reason given"
    source = getattr(rejection, "source_str", "")
    result = getattr(rejection, "result_str", "")
    hint = ""
    if "Called AE" in reason:
        hint = f"; check the AE title configured for this node ({remote.ae_title!r})"
    elif "Calling AE" in reason:
        hint = f"; the peer does not know our AE title {calling_ae!r}: register it there"
    return f"{remote} rejected the association: {reason} ({result}, {source}){hint}"


def explain_failed_request(remote: RemoteAE) -> str:
    """Why an association request that reached the peer got no answer, when TLS tells:
    a plain request to a port that speaks TLS, or a TLS peer that refused our certificate
    after the handshake (TLS 1.3 says so only then). Empty when it does not."""
    if remote.tls is None:
        if tls_module.speaks_tls(remote.host, remote.port):
            return tls_module.plain_on_tls_port(str(remote))
        return ""
    if remote.tls.cert_file:
        return (
            f"{remote} closed the TLS connection after the handshake: it may not accept our"
            " client certificate (is it signed by a CA the peer trusts?)"
        )
    return (
        f"{remote} closed the TLS connection after the handshake: it may require a client"
        " certificate (nodes edit NAME --tls-cert CERT.pem --tls-key KEY.pem)"
    )
