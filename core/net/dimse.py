"""The DICOM upper layer (PS3.8) and the DIMSE command sets of storage, verification and
C-FIND (PS3.7).

A small, allocation-light codec for blocking sockets, shared by the node's lean acceptor
(storage and C-FIND) and the storage sender. Nothing here decodes a data set: data set bytes
are carried as they are.

PDUs (PS3.8 9.3): every PDU is a 6-byte header (type, reserved, 4-byte big-endian length)
followed by ``length`` bytes.

- ``read_pdu_header(sock) -> (pdu_type, length)`` and ``recv_exact(sock, n)`` read from a
  blocking socket (its timeout is the network timeout); ``read_pdu(sock, max_length) ->
  (pdu_type, payload)`` reads a whole PDU and refuses one longer than ``max_length``.
  End of stream raises ``PeerClosedError``, a malformed PDU ``ProtocolError``, a socket timeout
  ``TimeoutError`` (from the socket).
- ``encode_pdu(pdu_type, payload)``; ``RELEASE_RQ``, ``RELEASE_RP`` (complete PDUs) and
  ``encode_abort(source, reason)``.
- ``iter_pdvs(payload)`` yields the ``Pdv`` items of a P-DATA-TF payload (context ID, command
  or data set fragment, last fragment, the fragment bytes as a memoryview into ``payload``).
- ``pdata_pdus(context_id, command, dataset, max_pdu_length)`` yields P-DATA-TF PDUs for one
  message: the encoded command set, then the data set (bytes, or an iterable of byte chunks),
  each PDU carrying one PDV no longer than the peer's Maximum Length (``0``: no limit; the
  Maximum Length counts the PDU's variable field, PS3.8 D.1, so a fragment holds at most
  ``max_pdu_length - 6`` bytes).

Command sets (PS3.7 E, always Implicit VR Little Endian, group length first):

- ``CStoreRQ``, ``CStoreRSP``, ``CEchoRQ``, ``CEchoRSP``, ``CFindRQ``, ``CFindRSP``,
  ``CCancelRQ``: frozen dataclasses with ``encode() -> bytes``;
- ``decode_command(data)`` returns one of them (``ProtocolError`` for anything else or for a
  malformed command set); ``has_dataset(data)`` tells whether a data set follows;
  ``decode_message(data)`` gives both.
- ``encode_elements`` / ``decode_elements``: the generic element codec underneath.

This API is stable: the receiver (``core.node.storage``) and the sender use it as documented.
"""

from __future__ import annotations

import logging
import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.errors import PeerClosedError, ProtocolError

log = logging.getLogger(__name__)

# -- PDU types (PS3.8 9.3.1) -------------------------------------------------------------------
A_ASSOCIATE_RQ = 0x01
A_ASSOCIATE_AC = 0x02
A_ASSOCIATE_RJ = 0x03
P_DATA_TF = 0x04
A_RELEASE_RQ = 0x05
A_RELEASE_RP = 0x06
A_ABORT = 0x07
PDU_TYPES = frozenset(range(1, 8))

_PDU_HEADER = struct.Struct(">BxI")
_PDV_HEADER = struct.Struct(">IBB")

RELEASE_RQ = _PDU_HEADER.pack(A_RELEASE_RQ, 4) + b"\x00" * 4
RELEASE_RP = _PDU_HEADER.pack(A_RELEASE_RP, 4) + b"\x00" * 4

# A-ABORT source (PS3.8 9.3.8): 0 service user, 2 service provider.
ABORT_SOURCE_USER = 0x00
ABORT_SOURCE_PROVIDER = 0x02
ABORT_REASON_NOT_SPECIFIED = 0x00
ABORT_REASON_UNEXPECTED_PDU = 0x02
ABORT_REASON_UNRECOGNIZED_PDU_PARAMETER = 0x03
ABORT_REASON_INVALID_PDU_PARAMETER = 0x06

# -- command fields and tags (PS3.7 E.1) -------------------------------------------------------
C_STORE_RQ = 0x0001
C_STORE_RSP = 0x8001
C_ECHO_RQ = 0x0030
C_ECHO_RSP = 0x8030
C_FIND_RQ = 0x0020
C_FIND_RSP = 0x8020
C_CANCEL_RQ = 0x0FFF
NO_DATASET = 0x0101  # CommandDataSetType: no data set follows
DATASET_PRESENT = 0x0001

PRIORITY_MEDIUM = 0x0000
PRIORITY_HIGH = 0x0001
PRIORITY_LOW = 0x0002

VERIFICATION_SOP_CLASS = "1.2.840.10008.1.1"

TAG_GROUP_LENGTH = 0x00000000
TAG_AFFECTED_SOP_CLASS = 0x00000002
TAG_COMMAND_FIELD = 0x00000100
TAG_MESSAGE_ID = 0x00000110
TAG_MESSAGE_ID_RESPONDED = 0x00000120
TAG_PRIORITY = 0x00000700
TAG_DATASET_TYPE = 0x00000800
TAG_STATUS = 0x00000900
TAG_ERROR_COMMENT = 0x00000902
TAG_AFFECTED_SOP_INSTANCE = 0x00001000
TAG_MOVE_ORIGINATOR_AE = 0x00001030
TAG_MOVE_ORIGINATOR_ID = 0x00001031

_US_TAGS = frozenset(
    {
        TAG_COMMAND_FIELD,
        TAG_MESSAGE_ID,
        TAG_MESSAGE_ID_RESPONDED,
        TAG_PRIORITY,
        TAG_DATASET_TYPE,
        TAG_STATUS,
        TAG_MOVE_ORIGINATOR_ID,
    }
)
_UI_TAGS = frozenset({TAG_AFFECTED_SOP_CLASS, TAG_AFFECTED_SOP_INSTANCE})
_TEXT_TAGS = frozenset({TAG_ERROR_COMMENT, TAG_MOVE_ORIGINATOR_AE})
_ELEMENT_HEADER = struct.Struct("<HHI")
_US = struct.Struct("<H")
_UL = struct.Struct("<I")
MAX_COMMAND_LENGTH = 1 << 16  # a command set of storage or verification is a few hundred bytes

Value = int | str | bytes


# -- sockets -----------------------------------------------------------------------------------
_DIRECT_READ = 1 << 16  # up to this size a read goes straight into its buffer


def recv_exact(sock: socket.socket, n: int) -> bytearray:
    """Exactly ``n`` bytes from ``sock``; ``PeerClosedError`` if the stream ends first
    (its ``partial`` holds what did arrive).

    Memory grows with the bytes that arrive, not with ``n``: beyond ``_DIRECT_READ`` the
    bytes are read 64 KiB at a time and appended (the buffer grows in place), so a peer that
    announces 4 GiB and sends nothing costs 64 KiB, and one that sends costs about what it
    sent."""
    if n <= _DIRECT_READ:
        buffer = bytearray(n)
        done = 0
        with memoryview(buffer) as view:
            while done < n:
                got = sock.recv_into(view[done:], n - done)
                if not got:
                    break
                done += got
        if done < n:
            del buffer[done:]
            raise PeerClosedError(
                f"the peer closed the connection ({done} of {n} bytes read)", buffer
            )
        return buffer
    buffer = bytearray()
    scratch = bytearray(_DIRECT_READ)
    with memoryview(scratch) as view:
        while len(buffer) < n:
            got = sock.recv_into(view, min(n - len(buffer), _DIRECT_READ))
            if not got:
                raise PeerClosedError(
                    f"the peer closed the connection ({len(buffer)} of {n} bytes read)", buffer
                )
            buffer += view[:got]
    return buffer


def read_pdu_header(sock: socket.socket) -> tuple[int, int]:
    """(PDU type, length of the rest) of the next PDU."""
    pdu_type, length = _PDU_HEADER.unpack(recv_exact(sock, 6))
    if pdu_type not in PDU_TYPES:
        raise ProtocolError(f"unknown PDU type 0x{pdu_type:02X}")
    return pdu_type, length


def read_pdu(sock: socket.socket, max_length: int) -> tuple[int, bytearray]:
    """(PDU type, payload) of the next PDU; ``ProtocolError`` when longer than ``max_length``."""
    pdu_type, length = read_pdu_header(sock)
    if length > max_length:
        raise ProtocolError(
            f"PDU type 0x{pdu_type:02X} of {length} bytes exceeds the limit of {max_length}"
        )
    return pdu_type, recv_exact(sock, length)


def encode_pdu(pdu_type: int, payload: bytes) -> bytes:
    return _PDU_HEADER.pack(pdu_type, len(payload)) + payload


def encode_abort(source: int = ABORT_SOURCE_USER, reason: int = 0) -> bytes:
    """An A-ABORT PDU (PS3.8 9.3.8); ``reason`` is significant only for the provider source."""
    return _PDU_HEADER.pack(A_ABORT, 4) + bytes((0, 0, source, reason))


# -- P-DATA-TF ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Pdv:
    """One presentation data value item (PS3.8 9.3.5.1, E.2)."""

    context_id: int
    is_command: bool
    is_last: bool
    data: memoryview


def iter_pdvs(payload: bytes | bytearray | memoryview) -> Iterator[Pdv]:
    """The PDV items of a P-DATA-TF payload; ``ProtocolError`` if one overruns the PDU."""
    view = memoryview(payload)
    end = len(view)
    offset = 0
    while offset < end:
        if end - offset < 6:
            raise ProtocolError("truncated PDV item header in a P-DATA-TF PDU")
        length, context_id, control = _PDV_HEADER.unpack_from(view, offset)
        if length < 2 or offset + 4 + length > end:
            raise ProtocolError(f"PDV item length {length} does not fit its P-DATA-TF PDU")
        yield Pdv(
            context_id,
            bool(control & 0x01),
            bool(control & 0x02),
            view[offset + 6 : offset + 4 + length],
        )
        offset += 4 + length


def _fragments(data: bytes | Iterable[bytes], size: int) -> Iterator[tuple[memoryview, bool]]:
    """(fragment, is_last) pieces of at most ``size`` bytes (``0``: as they come)."""
    chunks: Iterable[bytes] = (data,) if isinstance(data, bytes | bytearray) else data
    pending: memoryview | None = None
    for chunk in chunks:
        view = memoryview(chunk)
        if not view:
            continue
        if size:
            while len(view) > size:
                if pending is not None:
                    yield pending, False
                pending, view = view[:size], view[size:]
        if pending is not None:
            yield pending, False
        pending = view
    yield (pending if pending is not None else memoryview(b"")), True


def pdata_pdus(
    context_id: int,
    command: bytes,
    dataset: bytes | Iterable[bytes] | None,
    max_pdu_length: int,
) -> Iterator[bytes]:
    """P-DATA-TF PDUs carrying one DIMSE message: its command set, then its data set.

    Every PDU holds one PDV; a PDU's variable field never exceeds ``max_pdu_length``
    (``0`` means the peer set no limit). An empty data set still sends one last fragment.
    """
    if max_pdu_length and max_pdu_length < 7:
        raise ProtocolError(f"a maximum PDU length of {max_pdu_length} cannot carry data")
    size = max_pdu_length - 6 if max_pdu_length else 0
    parts: list[tuple[Iterable[tuple[memoryview, bool]], int]] = [(_fragments(command, size), 1)]
    if dataset is not None:
        parts.append((_fragments(dataset, size), 0))
    for fragments, command_bit in parts:
        for fragment, last in fragments:
            control = command_bit | (0x02 if last else 0x00)
            yield b"".join(
                (
                    _PDU_HEADER.pack(P_DATA_TF, len(fragment) + 6),
                    _PDV_HEADER.pack(len(fragment) + 2, context_id, control),
                    fragment,
                )
            )


# -- command sets ------------------------------------------------------------------------------
def _pad(raw: bytes, pad: bytes) -> bytes:
    return raw + pad if len(raw) % 2 else raw


def _encode_value(tag: int, value: Value) -> bytes:
    if tag in _US_TAGS:
        return _US.pack(int(value))
    if tag == TAG_GROUP_LENGTH:
        return _UL.pack(int(value))
    if isinstance(value, int):
        raise ProtocolError(f"command element ({tag >> 16:04X},{tag & 0xFFFF:04X}) is not numeric")
    raw = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
    return _pad(raw, b"\x00" if tag in _UI_TAGS else b" ")


def encode_elements(elements: dict[int, Value]) -> bytes:
    """An Implicit VR Little Endian command set with its (0000,0000) group length first."""
    body = b"".join(
        _ELEMENT_HEADER.pack(tag >> 16, tag & 0xFFFF, len(value)) + value
        for tag, value in sorted(
            (tag, _encode_value(tag, v)) for tag, v in elements.items() if tag != TAG_GROUP_LENGTH
        )
    )
    return _ELEMENT_HEADER.pack(0, 0, 4) + _UL.pack(len(body)) + body


def decode_elements(data: bytes | bytearray | memoryview) -> dict[int, Value]:
    """The elements of a command set: US/UL as int, UIDs and text stripped, others raw."""
    view = memoryview(data)
    elements: dict[int, Value] = {}
    offset, end = 0, len(view)
    while offset < end:
        if end - offset < 8:
            raise ProtocolError("truncated element header in a command set")
        group, elem, length = _ELEMENT_HEADER.unpack_from(view, offset)
        offset += 8
        if group != 0:
            raise ProtocolError(f"element ({group:04X},{elem:04X}) outside the command group")
        if length > end - offset:
            raise ProtocolError(f"element (0000,{elem:04X}) overruns the command set")
        raw = bytes(view[offset : offset + length])
        offset += length
        tag = elem
        if tag in _US_TAGS:
            if length != 2:
                raise ProtocolError(f"element (0000,{elem:04X}) must be 2 bytes, not {length}")
            elements[tag] = _US.unpack(raw)[0]
        elif tag == TAG_GROUP_LENGTH:
            if length != 4:
                raise ProtocolError("command group length must be 4 bytes")
            elements[tag] = _UL.unpack(raw)[0]
        elif tag in _UI_TAGS:
            elements[tag] = raw.rstrip(b"\x00 ").decode("ascii", "replace")
        elif tag in _TEXT_TAGS:
            elements[tag] = raw.decode("ascii", "replace").strip()
        else:
            elements[tag] = raw
    return elements


def _int(elements: dict[int, Value], tag: int, what: str) -> int:
    value = elements.get(tag)
    if not isinstance(value, int):
        raise ProtocolError(f"the command set has no {what}")
    return value


def _str(elements: dict[int, Value], tag: int) -> str:
    value = elements.get(tag, "")
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class CStoreRQ:
    message_id: int
    sop_class_uid: str
    sop_instance_uid: str
    priority: int = PRIORITY_MEDIUM
    move_originator_ae: str = ""
    move_originator_id: int | None = None

    def encode(self) -> bytes:
        elements: dict[int, Value] = {
            TAG_AFFECTED_SOP_CLASS: self.sop_class_uid,
            TAG_COMMAND_FIELD: C_STORE_RQ,
            TAG_MESSAGE_ID: self.message_id,
            TAG_PRIORITY: self.priority,
            TAG_DATASET_TYPE: DATASET_PRESENT,
            TAG_AFFECTED_SOP_INSTANCE: self.sop_instance_uid,
        }
        if self.move_originator_ae:
            elements[TAG_MOVE_ORIGINATOR_AE] = self.move_originator_ae
        if self.move_originator_id is not None:
            elements[TAG_MOVE_ORIGINATOR_ID] = self.move_originator_id
        return encode_elements(elements)


@dataclass(frozen=True, slots=True)
class CStoreRSP:
    message_id_responded: int
    sop_class_uid: str
    sop_instance_uid: str
    status: int
    error_comment: str = ""

    def encode(self) -> bytes:
        elements: dict[int, Value] = {
            TAG_AFFECTED_SOP_CLASS: self.sop_class_uid,
            TAG_COMMAND_FIELD: C_STORE_RSP,
            TAG_MESSAGE_ID_RESPONDED: self.message_id_responded,
            TAG_DATASET_TYPE: NO_DATASET,
            TAG_STATUS: self.status,
            TAG_AFFECTED_SOP_INSTANCE: self.sop_instance_uid,
        }
        if self.error_comment:
            elements[TAG_ERROR_COMMENT] = self.error_comment[:64]
        return encode_elements(elements)


@dataclass(frozen=True, slots=True)
class CEchoRQ:
    message_id: int
    sop_class_uid: str = VERIFICATION_SOP_CLASS

    def encode(self) -> bytes:
        return encode_elements(
            {
                TAG_AFFECTED_SOP_CLASS: self.sop_class_uid,
                TAG_COMMAND_FIELD: C_ECHO_RQ,
                TAG_MESSAGE_ID: self.message_id,
                TAG_DATASET_TYPE: NO_DATASET,
            }
        )


@dataclass(frozen=True, slots=True)
class CEchoRSP:
    message_id_responded: int
    status: int
    sop_class_uid: str = VERIFICATION_SOP_CLASS

    def encode(self) -> bytes:
        return encode_elements(
            {
                TAG_AFFECTED_SOP_CLASS: self.sop_class_uid,
                TAG_COMMAND_FIELD: C_ECHO_RSP,
                TAG_MESSAGE_ID_RESPONDED: self.message_id_responded,
                TAG_DATASET_TYPE: NO_DATASET,
                TAG_STATUS: self.status,
            }
        )


@dataclass(frozen=True, slots=True)
class CFindRQ:
    message_id: int
    sop_class_uid: str
    priority: int = PRIORITY_MEDIUM

    def encode(self) -> bytes:
        return encode_elements(
            {
                TAG_AFFECTED_SOP_CLASS: self.sop_class_uid,
                TAG_COMMAND_FIELD: C_FIND_RQ,
                TAG_MESSAGE_ID: self.message_id,
                TAG_PRIORITY: self.priority,
                TAG_DATASET_TYPE: DATASET_PRESENT,
            }
        )


@dataclass(frozen=True, slots=True)
class CFindRSP:
    """A C-FIND response; ``with_identifier`` for a pending one (an identifier follows)."""

    message_id_responded: int
    sop_class_uid: str
    status: int
    with_identifier: bool = False

    def encode(self) -> bytes:
        return encode_elements(
            {
                TAG_AFFECTED_SOP_CLASS: self.sop_class_uid,
                TAG_COMMAND_FIELD: C_FIND_RSP,
                TAG_MESSAGE_ID_RESPONDED: self.message_id_responded,
                TAG_DATASET_TYPE: DATASET_PRESENT if self.with_identifier else NO_DATASET,
                TAG_STATUS: self.status,
            }
        )


@dataclass(frozen=True, slots=True)
class CCancelRQ:
    """C-CANCEL-RQ (PS3.7 9.3.2.3): stop answering the request ``message_id_responded``."""

    message_id_responded: int

    def encode(self) -> bytes:
        return encode_elements(
            {
                TAG_COMMAND_FIELD: C_CANCEL_RQ,
                TAG_MESSAGE_ID_RESPONDED: self.message_id_responded,
                TAG_DATASET_TYPE: NO_DATASET,
            }
        )


Command = CStoreRQ | CStoreRSP | CEchoRQ | CEchoRSP | CFindRQ | CFindRSP | CCancelRQ


def has_dataset(data: bytes | bytearray | memoryview) -> bool:
    """Whether a data set follows this command set (CommandDataSetType other than 0x0101)."""
    return _has_dataset(decode_elements(data))


def _has_dataset(elements: dict[int, Value]) -> bool:
    return _int(elements, TAG_DATASET_TYPE, "CommandDataSetType") != NO_DATASET


def decode_message(data: bytes | bytearray | memoryview) -> tuple[Command, bool]:
    """``decode_command`` and ``has_dataset`` of a command set, decoded once."""
    elements = decode_elements(data)
    return _command(elements), _has_dataset(elements)


def decode_command(data: bytes | bytearray | memoryview) -> Command:
    """The storage, verification or C-FIND message in an encoded command set."""
    return _command(decode_elements(data))


def _command(elements: dict[int, Value]) -> Command:
    field = _int(elements, TAG_COMMAND_FIELD, "CommandField")
    sop_class = _str(elements, TAG_AFFECTED_SOP_CLASS)
    if field == C_STORE_RQ:
        move_id = elements.get(TAG_MOVE_ORIGINATOR_ID)
        return CStoreRQ(
            _int(elements, TAG_MESSAGE_ID, "MessageID"),
            sop_class,
            _str(elements, TAG_AFFECTED_SOP_INSTANCE),
            int(elements.get(TAG_PRIORITY, PRIORITY_MEDIUM) or 0),
            _str(elements, TAG_MOVE_ORIGINATOR_AE),
            move_id if isinstance(move_id, int) else None,
        )
    if field == C_STORE_RSP:
        return CStoreRSP(
            _int(elements, TAG_MESSAGE_ID_RESPONDED, "MessageIDBeingRespondedTo"),
            sop_class,
            _str(elements, TAG_AFFECTED_SOP_INSTANCE),
            _int(elements, TAG_STATUS, "Status"),
            _str(elements, TAG_ERROR_COMMENT),
        )
    if field == C_ECHO_RQ:
        return CEchoRQ(_int(elements, TAG_MESSAGE_ID, "MessageID"), sop_class)
    if field == C_ECHO_RSP:
        return CEchoRSP(
            _int(elements, TAG_MESSAGE_ID_RESPONDED, "MessageIDBeingRespondedTo"),
            _int(elements, TAG_STATUS, "Status"),
            sop_class,
        )
    if field == C_FIND_RQ:
        return CFindRQ(
            _int(elements, TAG_MESSAGE_ID, "MessageID"),
            sop_class,
            int(elements.get(TAG_PRIORITY, PRIORITY_MEDIUM) or 0),
        )
    if field == C_FIND_RSP:
        return CFindRSP(
            _int(elements, TAG_MESSAGE_ID_RESPONDED, "MessageIDBeingRespondedTo"),
            sop_class,
            _int(elements, TAG_STATUS, "Status"),
            _has_dataset(elements),
        )
    if field == C_CANCEL_RQ:
        return CCancelRQ(_int(elements, TAG_MESSAGE_ID_RESPONDED, "MessageIDBeingRespondedTo"))
    raise ProtocolError(f"unsupported DIMSE command field 0x{field:04X}")


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
