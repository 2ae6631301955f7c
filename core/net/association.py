"""Opening associations to remote DICOM nodes, with errors that explain themselves.

Every association gets TCP_NODELAY: without it each small DIMSE message waits for the peer's
delayed ACK (about 40 ms a round trip on Linux), which makes a C-STORE stream 5-10 times slower.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)
from pynetdicom import AE, Association, evt
from pynetdicom.events import Event

from core.errors import NetworkError
from core.net import tls as tls_module
from core.net.dimse import set_nodelay
from core.net.tls import TlsClientConfig

log = logging.getLogger(__name__)

UNCOMPRESSED_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]
# What we accept when storing: uncompressed, deflated and every compressed syntax the
# installed decoders can render (files are kept exactly as received).
STORAGE_SYNTAXES = [
    *UNCOMPRESSED_SYNTAXES,
    DeflatedExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLossless,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    JPEG2000Lossless,
    JPEG2000,
    RLELossless,
]


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


def nodelay_on_open(event: Event) -> None:
    """EVT_CONN_OPEN handler: disable Nagle's algorithm on the association's socket."""
    set_nodelay(getattr(getattr(event.assoc.dul, "socket", None), "socket", None))


NODELAY_HANDLER = (evt.EVT_CONN_OPEN, nodelay_on_open)


def check_reachable(remote: RemoteAE, timeout: float) -> None:
    """Open and close a TCP connection first (with its TLS handshake for a TLS node), so
    the error names the real problem."""
    with open_connection(remote, timeout):
        pass


def open_connection(remote: RemoteAE, timeout: float) -> socket.socket:
    """A connection to the peer, over TLS for a TLS node (handshake done, certificate and
    host name verified); NetworkError names the real problem when it fails."""
    context = tls_module.client_context(remote.tls) if remote.tls else None
    sock = _tcp_connection(remote, timeout)
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


def explain_rejection(remote: RemoteAE, primitive: Any, calling_ae: str) -> str:
    """The message for an A-ASSOCIATE-RJ, from pynetdicom's A-ASSOCIATE primitive."""
    reason = getattr(primitive, "reason_str", "") or "no reason given"
    source = getattr(primitive, "source_str", "")
    result = getattr(primitive, "result_str", "")
    hint = ""
    if "Called AE" in reason:
        hint = f"; check the AE title configured for this node ({remote.ae_title!r})"
    elif "Calling AE" in reason:
        hint = f"; the peer does not know our AE title {calling_ae!r}: register it there"
    return f"{remote} rejected the association: {reason} ({result}, {source}){hint}"


def associate(
    ae: AE,
    remote: RemoteAE,
    *,
    ext_neg: Sequence[Any] | None = None,
    evt_handlers: Sequence[Any] | None = None,
    timeout: float = 30.0,
) -> Association:
    """Request an association; raise NetworkError with the reason when it is not established."""
    check_reachable(remote, timeout)
    handlers = [NODELAY_HANDLER, *(evt_handlers or [])]
    tls_args = (tls_module.client_context(remote.tls), remote.host) if remote.tls else None
    for attempt in range(2):
        assoc = ae.associate(
            remote.host,
            remote.port,
            ae_title=remote.ae_title,
            ext_neg=list(ext_neg) if ext_neg else None,
            evt_handlers=handlers,
            tls_args=tls_args,
        )
        # A peer that rejects and closes at once can reset the connection before pynetdicom
        # has read the A-ASSOCIATE-RJ (seen with dcmqrscp on a busy machine): it then looks
        # aborted. One more request gets the rejection and its reason.
        if not (assoc.is_aborted and attempt == 0):
            break
        log.info("the association request to %s was aborted; asking once more", remote)
        time.sleep(0.2)
    if assoc.is_established:
        return assoc
    if assoc.is_rejected:
        raise NetworkError(explain_rejection(remote, assoc.acceptor.primitive, ae.ae_title))
    explained = explain_failed_request(remote)
    if explained:
        raise NetworkError(explained)
    if assoc.is_aborted:
        raise NetworkError(f"{remote} aborted the association request")
    raise NetworkError(
        f"no association with {remote}: the peer closed the connection or did not answer"
        f" within {timeout:g} s"
    )


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


def make_ae(ae_title: str, timeout: float = 30.0) -> AE:
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    ae.connection_timeout = timeout
    return ae
