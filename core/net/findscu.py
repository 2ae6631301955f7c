"""C-FIND as an SCU on one blocking socket (PS3.4 C.4.1, PS3.7 9.1.2 and 9.3.2).

``FindAssociation.open(remote, calling_ae, sop_class, timeout=...)`` negotiates one
presentation context for a query information model (Implicit VR Little Endian, Explicit VR
Little Endian, Deflated Explicit VR Little Endian and Explicit VR Big Endian proposed, in that
order, as pynetdicom proposes them), over TLS for a TLS node. ``find(identifier)`` sends one
C-FIND-RQ with the identifier's bytes (encoded in ``syntax``) and yields each C-FIND-RSP as
it is read: ``FindResponse`` with the status, the identifier's bytes (inflated when the
syntax is deflated; ``None`` when the response carries none) and the error comment. The last
response yielded is the final one (any status but Pending). ``cancel()`` sends C-CANCEL-RQ for
the running C-FIND; the peer then ends it with a final status (Cancel, or Success when it was
done) after the responses already on their way, which ``find`` still yields.

The exchange runs on the calling thread, without pynetdicom's threads and queues: the
association is negotiated by ``core.net.acse`` (the A-ASSOCIATE PDUs written and read there),
and P-DATA-TF PDUs are read from a buffer filled 64 KiB at a time, so that each answer costs
a few microseconds of framing. Nothing here decodes an identifier (``core.net.identifier``
does).

Errors are ``NetworkError``s that say what happened: the peer rejected or aborted the
association, closed the connection, sent something that is not DICOM (``ProtocolError``, and
the association is aborted), or said nothing for ``timeout`` seconds (aborted too).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from core.errors import NetworkError, PeerClosedError, ProtocolError
from core.net.acse import LeanAssociation, close_with_abort, explain_abort, request_association
from core.net.dimse import (
    A_ABORT,
    A_RELEASE_RP,
    A_RELEASE_RQ,
    ABORT_SOURCE_PROVIDER,
    ABORT_SOURCE_USER,
    DATASET_PRESENT,
    NO_DATASET,
    P_DATA_TF,
    PDU_TYPES,
    PRIORITY_MEDIUM,
    RELEASE_RP,
    RELEASE_RQ,
    TAG_AFFECTED_SOP_CLASS,
    TAG_COMMAND_FIELD,
    TAG_DATASET_TYPE,
    TAG_ERROR_COMMENT,
    TAG_MESSAGE_ID,
    TAG_MESSAGE_ID_RESPONDED,
    TAG_PRIORITY,
    TAG_STATUS,
    encode_elements,
    iter_pdvs,
    pdata_pdus,
)
from core.net.dimse import decode_elements as decode_command_elements
from core.net.remote import RemoteAE

log = logging.getLogger(__name__)

IMPLICIT_LITTLE = "1.2.840.10008.1.2"
EXPLICIT_LITTLE = "1.2.840.10008.1.2.1"
DEFLATED_LITTLE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BIG = "1.2.840.10008.1.2.2"
FIND_SYNTAXES = [IMPLICIT_LITTLE, EXPLICIT_LITTLE, DEFLATED_LITTLE, EXPLICIT_BIG]

C_FIND_RQ = 0x0020
C_FIND_RSP = 0x8020
C_CANCEL_RQ = 0x0FFF
PENDING = frozenset({0xFF00, 0xFF01})

MAX_PDU = 1 << 22  # refuse a PDU larger than this (we announce 64 KiB)
MAX_MESSAGE = 1 << 24  # and a command set or identifier larger than this
READ_CHUNK = 1 << 16
_PDU_HEADER = struct.Struct(">BxI")


@dataclass(frozen=True, slots=True)
class Syntax:
    """How the identifiers of an association are encoded."""

    uid: str
    implicit: bool
    little: bool
    deflated: bool

    @classmethod
    def of(cls, uid: str) -> Syntax:
        return cls(uid, uid == IMPLICIT_LITTLE, uid != EXPLICIT_BIG, uid == DEFLATED_LITTLE)


@dataclass(frozen=True, slots=True)
class FindResponse:
    """One C-FIND-RSP: its status, identifier bytes (or None) and error comment."""

    status: int
    identifier: bytes | None
    error_comment: str = ""

    @property
    def pending(self) -> bool:
        return self.status in PENDING


class _Reader:
    """PDUs from a blocking socket, read into a buffer up to 64 KiB at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._start = 0
        self._chunk = bytearray(READ_CHUNK)

    def _fill(self, needed: int) -> None:
        """Read until ``needed`` bytes are buffered past the read position."""
        if self._start and self._start >= len(self._buffer) // 2:
            del self._buffer[: self._start]
            self._start = 0
        with memoryview(self._chunk) as view:
            while len(self._buffer) - self._start < needed:
                got = self._sock.recv_into(view, READ_CHUNK)
                if not got:
                    have = len(self._buffer) - self._start
                    raise PeerClosedError(
                        f"the peer closed the connection ({have} of {needed} bytes read)"
                    )
                self._buffer += view[:got]

    def read_pdu(self) -> tuple[int, bytes]:
        """(PDU type, its payload)."""
        if len(self._buffer) - self._start < 6:
            self._fill(6)
        pdu_type, length = _PDU_HEADER.unpack_from(self._buffer, self._start)
        if pdu_type not in PDU_TYPES:
            raise ProtocolError(f"unknown PDU type 0x{pdu_type:02X}")
        if length > MAX_PDU:
            raise ProtocolError(
                f"PDU type 0x{pdu_type:02X} of {length} bytes exceeds the limit of {MAX_PDU}"
            )
        end = self._start + 6 + length
        if len(self._buffer) < end:
            self._fill(6 + length)
            end = self._start + 6 + length
        with memoryview(self._buffer) as view:
            payload = bytes(view[self._start + 6 : end])
        self._start = end
        return pdu_type, payload


class FindAssociation(LeanAssociation):
    """One established association for C-FIND, on a blocking socket (one thread)."""

    def __init__(
        self,
        remote: RemoteAE,
        sock: socket.socket,
        context_id: int,
        sop_class: str,
        syntax: Syntax,
        max_pdu: int,
        timeout: float,
    ) -> None:
        self.remote = remote
        self.sop_class = sop_class
        self.syntax = syntax
        self.max_pdu = max_pdu
        self._sock = sock
        self._reader = _Reader(sock)
        self._context_id = context_id
        self._timeout = timeout
        self._message_id = 0
        self._running: int | None = None  # the message ID of the C-FIND in progress
        self._closed = False

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(
        cls, remote: RemoteAE, calling_ae: str, sop_class: str, *, timeout: float
    ) -> FindAssociation:
        """Negotiate an association for ``sop_class``; NetworkError says why when it fails."""
        contexts = [(sop_class, FIND_SYNTAXES)]
        sock, negotiated = request_association(remote, calling_ae, contexts, timeout=timeout)
        reader = _Reader(sock)
        if not negotiated.contexts:
            _release_quietly(sock, reader, remote)
            raise NetworkError(
                f"{remote} does not support C-FIND with this query model ({sop_class})"
            )
        (_abstract, uid), context_id = next(iter(negotiated.contexts.items()))
        association = cls(
            remote, sock, context_id, sop_class, Syntax.of(uid), negotiated.max_pdu, timeout
        )
        association._reader = reader
        return association

    # -- querying --------------------------------------------------------------------------------
    def find(self, identifier: bytes, priority: int = PRIORITY_MEDIUM) -> Iterator[FindResponse]:
        """Send a C-FIND-RQ and yield its responses, the final one last.

        ``identifier`` is encoded in ``self.syntax`` (deflated here when that syntax is).
        Raises NetworkError when the association is lost, aborted or the peer is silent for
        the timeout, ProtocolError when it breaks the protocol (the association is then
        aborted)."""
        self._check_open()
        self._message_id = self._message_id % 0xFFFF + 1
        message_id = self._message_id
        command = encode_elements(
            {
                TAG_AFFECTED_SOP_CLASS: self.sop_class,
                TAG_COMMAND_FIELD: C_FIND_RQ,
                TAG_MESSAGE_ID: message_id,
                TAG_PRIORITY: priority,
                TAG_DATASET_TYPE: DATASET_PRESENT,
            }
        )
        data = _deflate(identifier) if self.syntax.deflated else identifier
        try:
            self._send(pdata_pdus(self._context_id, command, data, self.max_pdu))
            self._running = message_id
            while True:
                response = self._read_response()
                yield response
                if not response.pending:
                    self._running = None
                    return
        except BaseException as exc:
            failure = self._failed(exc)
            if failure is exc:
                raise
            raise failure from exc

    def cancel(self) -> None:
        """Send C-CANCEL-RQ for the C-FIND in progress (on the thread that reads ``find``)."""
        if self._running is None or self._closed:
            return
        command = encode_elements(
            {
                TAG_COMMAND_FIELD: C_CANCEL_RQ,
                TAG_MESSAGE_ID_RESPONDED: self._running,
                TAG_DATASET_TYPE: NO_DATASET,
            }
        )
        try:
            self._send(pdata_pdus(self._context_id, command, None, self.max_pdu))
        except OSError as exc:
            raise self._failed(exc) from exc

    def _send(self, pdus: Iterator[bytes]) -> None:
        self._sock.sendall(b"".join(pdus))

    def _read_response(self) -> FindResponse:
        command = bytearray()
        dataset: bytearray | None = None
        elements: dict[int, int | str | bytes] | None = None
        while True:
            pdu_type, payload = self._reader.read_pdu()
            if pdu_type != P_DATA_TF:
                self._unexpected(pdu_type, payload)
            for pdv in iter_pdvs(payload):
                if pdv.context_id != self._context_id:
                    raise ProtocolError(
                        f"{self.remote} sent a message on presentation context"
                        f" {pdv.context_id}, not the query's ({self._context_id})"
                    )
                if pdv.is_command:
                    if elements is not None:
                        raise ProtocolError(
                            f"{self.remote} sent a command set where its identifier belongs"
                        )
                    command += pdv.data
                    if len(command) > MAX_MESSAGE:
                        raise ProtocolError(f"{self.remote} sent an endless command set")
                    if pdv.is_last:
                        elements = self._response_elements(command)
                        if elements[TAG_DATASET_TYPE] == NO_DATASET:
                            return _response(elements, None)
                        dataset = bytearray()
                else:
                    if dataset is None:
                        raise ProtocolError(
                            f"{self.remote} sent an identifier without its command set"
                        )
                    dataset += pdv.data
                    if len(dataset) > MAX_MESSAGE:
                        raise ProtocolError(f"{self.remote} sent an endless identifier")
                    if pdv.is_last:
                        assert elements is not None
                        data = bytes(dataset)
                        if self.syntax.deflated:
                            data = _inflate(data, str(self.remote))
                        return _response(elements, data)

    def _response_elements(self, command: bytearray) -> dict[int, int | str | bytes]:
        elements = decode_command_elements(command)
        field = elements.get(TAG_COMMAND_FIELD)
        if field != C_FIND_RSP:
            what = f"command 0x{field:04X}" if isinstance(field, int) else "no command field"
            raise ProtocolError(f"{self.remote} answered a C-FIND with {what}")
        for tag, name in ((TAG_STATUS, "Status"), (TAG_DATASET_TYPE, "CommandDataSetType")):
            if not isinstance(elements.get(tag), int):
                raise ProtocolError(f"{self.remote} sent a C-FIND response without {name}")
        responded = elements.get(TAG_MESSAGE_ID_RESPONDED)
        if responded != self._running:
            log.debug("%s answered message %s with message %s", self.remote, self._running,
                      responded)  # fmt: skip
        return elements

    def _unexpected(self, pdu_type: int, payload: bytes) -> None:
        if pdu_type == A_ABORT:
            self._close()
            raise NetworkError(explain_abort(self.remote, payload) + " during the query")
        if pdu_type == A_RELEASE_RQ:
            with contextlib.suppress(OSError):
                self._sock.sendall(RELEASE_RP)
            self._close()
            raise NetworkError(f"{self.remote} released the association during the query")
        raise ProtocolError(
            f"{self.remote} sent an unexpected PDU (type 0x{pdu_type:02X}) during the query"
        )

    def _failed(self, exc: BaseException) -> BaseException:
        """What to raise for ``exc`` met during an exchange; the association is closed."""
        self._running = None
        if isinstance(exc, GeneratorExit):  # the caller stopped reading: nothing to tell
            self.abort()
            return exc
        if isinstance(exc, TimeoutError):
            self.abort()
            return NetworkError(
                f"{self.remote} stopped answering the query (nothing for {self._timeout:g} s);"
                " the association was aborted"
            )
        if isinstance(exc, PeerClosedError):
            self._close()
            return NetworkError(
                f"the association with {self.remote} was lost during the query: the peer"
                " closed the connection"
            )
        if isinstance(exc, ProtocolError):
            self.abort(ABORT_SOURCE_PROVIDER)
            return exc
        if isinstance(exc, NetworkError):
            self._close()
            return exc
        if isinstance(exc, ssl.SSLError | OSError):
            self._close()
            return NetworkError(f"the association with {self.remote} was lost: {exc}")
        self.abort()
        return exc

    def _check_open(self) -> None:
        if self._closed:
            raise NetworkError(f"the association with {self.remote} is closed")

    # -- ending ----------------------------------------------------------------------------------
    def release(self) -> None:
        """Release the association (nothing to do once it is closed)."""
        if self._closed:
            return
        try:
            self._sock.sendall(RELEASE_RQ)
            while True:
                pdu_type, _ = self._reader.read_pdu()
                if pdu_type in (A_RELEASE_RP, A_ABORT):
                    break
        except (OSError, NetworkError) as exc:
            log.info("release with %s did not complete: %s", self.remote, exc)
        finally:
            self._close()

    def abort(self, source: int = ABORT_SOURCE_USER) -> None:
        if self._closed:
            return
        close_with_abort(self._sock, source)
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed


def _response(elements: dict[int, int | str | bytes], identifier: bytes | None) -> FindResponse:
    comment = elements.get(TAG_ERROR_COMMENT, "")
    return FindResponse(
        int(elements[TAG_STATUS]), identifier, comment if isinstance(comment, str) else ""
    )


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _inflate(data: bytes, peer: str) -> bytes:
    inflater = zlib.decompressobj(wbits=-zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(data, MAX_MESSAGE)
    except zlib.error as exc:
        raise ProtocolError(f"{peer} sent a deflated identifier that does not inflate") from exc
    if inflater.unconsumed_tail:
        raise ProtocolError(f"{peer} sent an endless deflated identifier")
    return inflated


def _release_quietly(sock: socket.socket, reader: _Reader, remote: RemoteAE) -> None:
    try:
        sock.sendall(RELEASE_RQ)
        while reader.read_pdu()[0] not in (A_RELEASE_RP, A_ABORT):
            pass
    except (OSError, NetworkError) as exc:
        log.info("release with %s did not complete: %s", remote, exc)
    finally:
        with contextlib.suppress(OSError):
            sock.close()
