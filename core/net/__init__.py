"""Lean DICOM upper-layer and DIMSE code on plain blocking sockets (see ``core.net.dimse``)."""

from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)


def set_nodelay(sock: socket.socket | None) -> None:
    """Disable Nagle's algorithm: without it each small DIMSE message waits for the peer's
    delayed ACK (about 40 ms a round trip on Linux), which makes a C-STORE stream 5-10x slower.
    """
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        log.debug("cannot set TCP_NODELAY", exc_info=True)
