"""Opening pynetdicom associations to remote DICOM nodes, with errors that explain themselves
(where a node is and the connection to it: ``core.net.remote``).

Every association gets TCP_NODELAY: without it each small DIMSE message waits for the peer's
delayed ACK (about 40 ms a round trip on Linux), which makes a C-STORE stream 5-10 times slower.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
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
from pynetdicom import AE, Association, _config, evt
from pynetdicom.events import Event

from core.errors import NetworkError
from core.net import tls as tls_module
from core.net.dimse import set_nodelay
from core.net.remote import (
    RemoteAE,
    check_reachable,
    explain_failed_request,
    explain_rejection,
    open_connection,
)

__all__ = [
    "NODELAY_HANDLER",
    "STORAGE_SYNTAXES",
    "UNCOMPRESSED_SYNTAXES",
    "RemoteAE",
    "associate",
    "check_reachable",
    "explain_failed_request",
    "explain_rejection",
    "make_ae",
    "open_connection",
]

log = logging.getLogger(__name__)

# pynetdicom logs every request's and response's identifier at INFO, a C-FIND's patient names
# and IDs among them (the node's pynetdicom path, and our C-MOVE/C-GET): no patient name or ID
# goes to a log above DEBUG. Every pynetdicom association of ours is made after this import.
_config.LOG_REQUEST_IDENTIFIERS = False
_config.LOG_RESPONSE_IDENTIFIERS = False

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


def nodelay_on_open(event: Event) -> None:
    """EVT_CONN_OPEN handler: disable Nagle's algorithm on the association's socket."""
    set_nodelay(getattr(getattr(event.assoc.dul, "socket", None), "socket", None))


NODELAY_HANDLER = (evt.EVT_CONN_OPEN, nodelay_on_open)


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


def make_ae(ae_title: str, timeout: float = 30.0) -> AE:
    ae = AE(ae_title=ae_title)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    ae.connection_timeout = timeout
    return ae
