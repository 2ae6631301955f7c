"""Association establishment for the lean SCUs (PS3.8 7.1, 9.3.2-9.3.4): the A-ASSOCIATE-RQ we
send, the A-ASSOCIATE-AC or -RJ we read back, and ``request_association``, which opens the
connection, negotiates and says in words why it failed.

Written here rather than with pynetdicom's PDU classes so that a query (``dicom-kiosk query``,
the Query tab) reaches its PACS without importing pynetdicom and pydicom (about 0.25 s of CPU
at every start, against the few hundred microseconds of these PDUs).
tests/core/net/test_acse.py checks the bytes against pynetdicom's encoder and decoder; the
fuzz target ``associate_ac`` feeds the decoders what a hostile peer could send.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from core.dicom.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION
from core.errors import AssociationRejected, NetworkError, PeerClosedError, ProtocolError
from core.net.dimse import (
    A_ABORT,
    A_ASSOCIATE_AC,
    A_ASSOCIATE_RJ,
    A_ASSOCIATE_RQ,
    ABORT_SOURCE_PROVIDER,
    ABORT_SOURCE_USER,
    encode_abort,
    read_pdu,
)
from core.net.remote import RemoteAE, explain_failed_request, explain_rejection, open_connection
from core.net.tls import explain as explain_tls
from core.net.tls import plain_on_tls_port, speaks_tls

log = logging.getLogger(__name__)

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"  # DICOM application context (PS3.7 A.2.1)
OUR_MAX_PDU = 1 << 16  # the largest PDU we receive (announced in every request)
MAX_ANSWER_PDU = 1 << 16  # an A-ASSOCIATE-AC or -RJ larger than this is refused
ABORT_SEND_TIMEOUT = 0.5  # an A-ABORT is sent on a best-effort basis
RETRY_PAUSE = 0.2  # before asking again a peer that reset the association request
REJECTED_PERMANENT = 0x01  # A-ASSOCIATE-RJ Result (PS3.8 9.3.4); 0x02 is transient

Contexts = Sequence[tuple[str, Sequence[str]]]  # (abstract syntax, transfer syntaxes)

_ITEM = struct.Struct(">BxH")  # item type, reserved, item length (PS3.8 9.3.2.1-9.3.2.3)
_FIXED = 68  # protocol version, reserved, called and calling AE titles, 32 reserved bytes
_MAX_LENGTH_ITEM = 0x51

# As pynetdicom words them (pdu_primitives.A_ASSOCIATE), PS3.8 Table 9-21.
_RESULTS = {1: "Rejected Permanent", 2: "Rejected Transient"}
_SOURCES = {
    1: "Service User",
    2: "Service Provider (ACSE)",
    3: "Service Provider (Presentation)",
}
_RESERVED = "Reserved"
_REASONS = {
    1: {1: "No reason given", 2: "Application context name not supported",
        3: "Calling AE title not recognised", 4: _RESERVED, 5: _RESERVED, 6: _RESERVED,
        7: "Called AE title not recognised", 8: _RESERVED, 9: _RESERVED, 10: _RESERVED},
    2: {1: "No reason given", 2: "Protocol version not supported"},
    3: {0: _RESERVED, 1: "Temporary congestion", 2: "Local limit exceeded", 3: _RESERVED,
        4: _RESERVED, 5: _RESERVED, 6: _RESERVED, 7: _RESERVED},
}  # fmt: skip
_UNKNOWN = "(no value available)"


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the peer accepted: context IDs by (SOP class, transfer syntax), its max PDU."""

    contexts: dict[tuple[str, str], int]
    max_pdu: int  # 0: no limit


@dataclass(frozen=True, slots=True)
class Rejection:
    """An A-ASSOCIATE-RJ: its result, source and reason (PS3.8 9.3.4), and in words."""

    result: int
    source: int
    reason: int

    @property
    def result_str(self) -> str:
        return _RESULTS.get(self.result, _UNKNOWN)

    @property
    def source_str(self) -> str:
        return _SOURCES.get(self.source, _UNKNOWN)

    @property
    def reason_str(self) -> str:
        return _REASONS.get(self.source, {}).get(self.reason, _UNKNOWN)

    @property
    def permanent(self) -> bool:
        return self.result == REJECTED_PERMANENT


def _item(item_type: int, value: bytes) -> bytes:
    return _ITEM.pack(item_type, len(value)) + value


def _ae(title: str) -> bytes:
    raw = title.encode("ascii")
    if len(raw) > 16:
        raise ValueError(f"AE title {title!r} is longer than 16 characters")
    return raw.ljust(16, b" ")


def encode_associate_rq(calling_ae: str, called_ae: str, contexts: Contexts) -> bytes:
    """An A-ASSOCIATE-RQ PDU (PS3.8 9.3.2); context IDs are 1, 3, 5, ... in order; the user
    information says our maximum PDU, implementation class UID and version name."""
    items = [_item(0x10, APPLICATION_CONTEXT.encode("ascii"))]
    for index, (abstract, syntaxes) in enumerate(contexts):
        subitems = [_item(0x30, abstract.encode("ascii"))]
        subitems += [_item(0x40, syntax.encode("ascii")) for syntax in syntaxes]
        items.append(_item(0x20, bytes((2 * index + 1, 0, 0, 0)) + b"".join(subitems)))
    user = (
        _item(_MAX_LENGTH_ITEM, struct.pack(">I", OUR_MAX_PDU))
        + _item(0x52, IMPLEMENTATION_CLASS_UID.encode("ascii"))
        + _item(0x55, IMPLEMENTATION_VERSION.encode("ascii"))
    )
    items.append(_item(0x50, user))
    body = b"\x00\x01\x00\x00" + _ae(called_ae) + _ae(calling_ae) + bytes(32) + b"".join(items)
    return struct.pack(">BxI", A_ASSOCIATE_RQ, len(body)) + body


def _items(data: memoryview, what: str) -> list[tuple[int, memoryview]]:
    """The (type, value) items of ``data``; ProtocolError when one overruns it."""
    found: list[tuple[int, memoryview]] = []
    offset, end = 0, len(data)
    while offset < end:
        if end - offset < 4:
            raise ProtocolError(f"a truncated item header in the {what}")
        item_type, length = _ITEM.unpack_from(data, offset)
        offset += 4
        if offset + length > end:
            raise ProtocolError(f"item 0x{item_type:02X} overruns the {what}")
        found.append((item_type, data[offset : offset + length]))
        offset += length
    return found


def _uid(value: memoryview, what: str) -> str:
    try:
        return bytes(value).decode("ascii").strip("\x00 ")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"the {what} is not an ASCII UID") from exc


def decode_associate_ac(payload: bytes | bytearray, contexts: Contexts) -> Negotiated:
    """The accepted contexts of an A-ASSOCIATE-AC's payload (the PDU after its 6-byte
    header), matched by ID to what we proposed, and the peer's maximum PDU length.
    ProtocolError when the PDU does not parse."""
    what = "A-ASSOCIATE-AC"
    if len(payload) < _FIXED:
        raise ProtocolError(f"the {what} is too short for its fixed fields")
    proposed = {2 * index + 1: abstract for index, (abstract, _) in enumerate(contexts)}
    accepted: dict[tuple[str, str], int] = {}
    max_pdu = 0
    with memoryview(payload) as view:
        for item_type, value in _items(view[_FIXED:], what):
            if item_type == 0x21:  # presentation context (PS3.8 9.3.3.2)
                if len(value) < 4:
                    raise ProtocolError(f"a presentation context item of the {what} is short")
                context_id, result = value[0], value[2]
                syntaxes = [v for t, v in _items(value[4:], what) if t == 0x40]
                if result == 0 and context_id in proposed and syntaxes:
                    key = (proposed[context_id], _uid(syntaxes[0], "transfer syntax"))
                    accepted.setdefault(key, context_id)
            elif item_type == 0x50:  # user information (PS3.8 9.3.3.3, D.1)
                for sub_type, sub in _items(value, what):
                    if sub_type == _MAX_LENGTH_ITEM:
                        if len(sub) != 4:
                            raise ProtocolError(f"the {what}'s maximum length item is not 4 bytes")
                        max_pdu = struct.unpack(">I", sub)[0]
    return Negotiated(accepted, max_pdu)


def decode_associate_rj(payload: bytes | bytearray) -> Rejection:
    """An A-ASSOCIATE-RJ's result, source and reason (its payload after the header)."""
    if len(payload) < 4:
        raise ProtocolError("the A-ASSOCIATE-RJ is shorter than 4 bytes")
    return Rejection(payload[1], payload[2], payload[3])


# A-ABORT reasons from the service provider (PS3.8 9.3.8)
PROVIDER_ABORT_REASONS = {
    0: "reason not specified",
    1: "unrecognized PDU",
    2: "unexpected PDU",
    4: "unrecognized PDU parameter",
    5: "unexpected PDU parameter",
    6: "invalid PDU parameter value",
}


def explain_abort(remote: RemoteAE, payload: bytes | bytearray) -> str:
    """The message for an A-ABORT received from the peer (its source and reason)."""
    source = payload[2] if len(payload) > 2 else 0
    reason = payload[3] if len(payload) > 3 else 0
    if source == ABORT_SOURCE_PROVIDER:
        text = PROVIDER_ABORT_REASONS.get(reason, f"reason {reason}")
        return f"{remote} aborted the association: its DICOM protocol layer reported {text}"
    return f"{remote} aborted the association"


def close_with_abort(sock: socket.socket, source: int = ABORT_SOURCE_USER) -> None:
    """Send an A-ABORT (best effort) and close the connection."""
    with contextlib.suppress(OSError):
        sock.settimeout(ABORT_SEND_TIMEOUT)
        sock.sendall(encode_abort(source))
    with contextlib.suppress(OSError):
        sock.close()


class LeanAssociation(ABC):
    """What the lean SCUs' associations (``core.net.storescu``, ``core.net.findscu``) share:
    their socket closed once, and use as a context manager (released when the block ends
    normally, aborted when it raises). Subclasses set ``_sock`` and ``_closed`` and say how
    they release and abort (the storage SCU's abort may come from another thread)."""

    _sock: socket.socket
    _closed: bool

    @abstractmethod
    def release(self) -> None:
        """Release the association normally (nothing to do once it is closed)."""

    @abstractmethod
    def abort(self) -> None:
        """Abort the association (nothing to do once it is closed)."""

    def _close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.release()
        else:
            self.abort()


class _Reset(Exception):
    """The peer closed or aborted the connection in answer to the association request."""

    def __init__(self, *, aborted: bool) -> None:
        super().__init__("aborted" if aborted else "closed")
        self.aborted = aborted


def request_association(
    remote: RemoteAE, calling_ae: str, contexts: Contexts, *, timeout: float
) -> tuple[socket.socket, Negotiated]:
    """Connect to ``remote`` (over TLS for a TLS node) and negotiate ``contexts``: the socket
    (``timeout`` on every operation, Nagle off) and what was accepted, which may be no
    context at all (the caller says what that means). NetworkError (AssociationRejected,
    ProtocolError) says why in words when there is no association.

    A peer that closes the connection at once (some reject and close before the
    A-ASSOCIATE-RJ is read) is asked once more, which gets the rejection and its reason."""
    request = encode_associate_rq(calling_ae, remote.ae_title, contexts)
    for attempt in range(2):
        try:
            return _request(remote, calling_ae, request, contexts, timeout)
        except _Reset as exc:
            if attempt:
                message = (
                    f"{remote} aborted the association request"
                    if exc.aborted
                    else f"no association with {remote}: the peer closed the connection"
                    " without answering the association request"
                )
                raise NetworkError(explain_failed_request(remote) or message) from exc
            log.info("the association request to %s was reset; asking once more", remote)
            time.sleep(RETRY_PAUSE)
    raise AssertionError("unreachable")


def _request(
    remote: RemoteAE, calling_ae: str, request: bytes, contexts: Contexts, timeout: float
) -> tuple[socket.socket, Negotiated]:
    sock = open_connection(remote, timeout)
    sock.settimeout(timeout)
    try:
        sock.sendall(request)
        pdu_type, payload = read_pdu(sock, MAX_ANSWER_PDU)
    except TimeoutError as exc:
        sock.close()
        raise NetworkError(
            f"{remote} did not answer the association request within {timeout:g} s"
        ) from exc
    except (PeerClosedError, ConnectionResetError) as exc:
        sock.close()
        raise _Reset(aborted=False) from exc
    except ProtocolError as exc:
        close_with_abort(sock, ABORT_SOURCE_PROVIDER)
        if remote.tls is None and speaks_tls(remote.host, remote.port):
            raise NetworkError(plain_on_tls_port(str(remote))) from exc
        raise ProtocolError(
            f"no association with {remote}: its answer is not DICOM ({exc});"
            " is this the node's DICOM port?"
        ) from exc
    except ssl.SSLError as exc:  # TLS 1.3: a refused client certificate shows only now
        sock.close()
        message = "" if isinstance(exc, ssl.SSLEOFError) else explain_tls(exc, str(remote))
        raise NetworkError(message or explain_failed_request(remote)) from exc
    except OSError as exc:
        sock.close()
        raise NetworkError(
            explain_failed_request(remote) or f"no association with {remote}: {exc}"
        ) from exc
    if pdu_type == A_ASSOCIATE_AC:
        try:
            return sock, decode_associate_ac(payload, contexts)
        except ProtocolError as exc:
            close_with_abort(sock, ABORT_SOURCE_PROVIDER)
            raise ProtocolError(f"{remote} sent an unreadable A-ASSOCIATE-AC: {exc}") from exc
    sock.close()
    if pdu_type == A_ASSOCIATE_RJ:
        try:
            rejection = decode_associate_rj(payload)
        except ProtocolError as exc:
            raise ProtocolError(f"{remote} sent an unreadable A-ASSOCIATE-RJ: {exc}") from exc
        raise AssociationRejected(
            explain_rejection(remote, rejection, calling_ae), permanent=rejection.permanent
        )
    if pdu_type == A_ABORT:
        raise _Reset(aborted=True)
    raise ProtocolError(f"{remote} answered the association request with PDU type 0x{pdu_type:02X}")
