"""C-FIND on the lean acceptor (core.node.storage): query associations without pynetdicom.

An association that proposes only the Query/Retrieve FIND models (and Verification) is served
like a storage one, on its own thread with a blocking socket and the codec of
``core.net.dimse``. Each C-FIND-RQ is answered here: the accept policy first (0x0124, Refused:
Not Authorized, as on pynetdicom's associations), then ``handlers.find_responses`` (the same
log lines, statuses and ``QueryAnswered`` event as pynetdicom's handler) with the answers
encoded straight from the index's rows (core.node.answers).

Answers are sent in batches of about ``FLUSH_BYTES``. Before each batch the socket is looked
at without waiting: a C-CANCEL-RQ for the query stops it before its next answer (status
Cancel), so a cancel is honoured within one batch, a few milliseconds of answers. Anything
else the peer sent meanwhile is kept, in order, for the association to read after the query.
"""

from __future__ import annotations

import io
import logging
import select
import socket
import ssl
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom.dsutils import decode
from sqlalchemy.orm import Session

from core.errors import PeerClosedError, ProtocolError
from core.net import dimse
from core.net.status import Status
from core.node import answers, handlers
from core.node.context import AcceptorContext

log = logging.getLogger(__name__)

FLUSH_BYTES = 1 << 16  # answers sent at once; the peer's C-CANCEL is read between batches
_ENCODING_FAILED = 0xC312  # pynetdicom's status for an answer that does not encode

_PDU_HEADER = struct.Struct(">BxI")
_PDV_HEADER = struct.Struct(">IBB")


@dataclass(slots=True)
class PeerInput:
    """What the peer sent while a query was being answered, in order, for the association's
    reader: whole PDUs as (type, payload)."""

    pdus: list[tuple[int, bytearray]] = field(default_factory=list)


def _readable(sock: socket.socket) -> bool:
    """Whether bytes from the peer wait to be read (without waiting for any)."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return False


class FindAnswerer:
    """Answers the C-FIND-RQs of one lean association."""

    def __init__(
        self,
        node: AcceptorContext,
        sock: socket.socket,
        send: Callable[[bytes], None],
        ae_title: str,
        peer: str,
        retrieve_ae: str,
    ) -> None:
        self.node = node
        self.sock = sock
        self.send = send
        self.ae_title = ae_title
        self.peer = peer
        self.retrieve_ae = retrieve_ae
        self.input = PeerInput()
        self.max_send = 0
        self._polling = True

    def answer(
        self, context_id: int, model: str, transfer_syntax: str, rq: dimse.CFindRQ, data: bytes
    ) -> None:
        """Answer one C-FIND-RQ received on presentation context ``context_id``."""
        sop_class = rq.sop_class_uid or model
        if not self.node.allows(self.ae_title, "find"):
            host, _, port = self.peer.rpartition(":")
            log.warning(
                "refused %s from %s at %s:%s: %s not allowed for this node",
                "C_FIND", self.ae_title, host, port, "find",
            )  # fmt: skip
            self._final(context_id, rq.message_id, sop_class, Status.NOT_AUTHORIZED, [])
            return
        identifier = _Identifier(data, transfer_syntax)
        encode = partial_answers(transfer_syntax, self.retrieve_ae, self.node)
        cancelled = False
        self._polling = True
        responses = handlers.find_responses(
            self.node, self.ae_title, self.peer, model, identifier, encode, lambda: cancelled
        )
        pending = dimse.CFindRSP(rq.message_id, sop_class, Status.PENDING, True).encode()
        command_pdu = self._pdus(context_id, pending, True)
        out: list[bytes] = []
        size = 0
        final: int = Status.SUCCESS
        try:
            for status, answer in responses:
                if status != Status.PENDING:
                    final = status
                    break
                if not answer:
                    log.error("Failed encoding the response 'Identifier' dataset")
                    final = _ENCODING_FAILED
                    break
                data_pdu = self._pdus(context_id, answer, False)
                out += (command_pdu, data_pdu)
                size += len(command_pdu) + len(data_pdu)
                if size >= FLUSH_BYTES:
                    self.send(b"".join(out))
                    out.clear()
                    size = 0
                    cancelled = self._cancel_arrived(rq.message_id)
        finally:
            responses.close()  # the query is announced now, whatever ended it
        self._final(context_id, rq.message_id, sop_class, final, out)

    def _final(
        self, context_id: int, message_id: int, sop_class: str, status: int, out: list[bytes]
    ) -> None:
        final = dimse.CFindRSP(message_id, sop_class, status, False).encode()
        out.append(self._pdus(context_id, final, True))
        self.send(b"".join(out))

    def _pdus(self, context_id: int, data: bytes, command: bool) -> bytes:
        """``data`` as P-DATA-TF PDUs of one PDV each, within the peer's Maximum Length."""
        length = len(data)
        if self.max_send and length + 6 > self.max_send:
            if command:
                return b"".join(dimse.pdata_pdus(context_id, data, None, self.max_send))
            # the data set alone: pdata_pdus puts the command first
            pdus = list(dimse.pdata_pdus(context_id, b"", data, self.max_send))
            return b"".join(pdus[1:])
        control = 0x03 if command else 0x02
        return b"".join(
            (
                _PDU_HEADER.pack(dimse.P_DATA_TF, length + 6),
                _PDV_HEADER.pack(length + 2, context_id, control),
                data,
            )
        )

    # -- the peer, between batches ----------------------------------------------------------
    def _cancel_arrived(self, message_id: int) -> bool:
        """Read what the peer sent so far (without waiting for more): whether it is a
        C-CANCEL-RQ of ``message_id``. Anything else is kept for the association's reader;
        after that, nothing more is read until the query ends (the order stays the peer's)."""
        while self._polling and _readable(self.sock):
            pdu_type, length = dimse.read_pdu_header(self.sock)
            if pdu_type == dimse.A_ABORT and length == 4:
                dimse.recv_exact(self.sock, 4)
                raise PeerClosedError("the peer aborted the association during a C-FIND")
            if length > 1 << 16:
                raise ProtocolError(f"a PDU of {length} bytes during a C-FIND")
            payload = dimse.recv_exact(self.sock, length)
            if pdu_type == dimse.P_DATA_TF:
                cancel = _cancel_of(payload)
                if cancel is not None:
                    if cancel == message_id:
                        return True
                    continue  # a cancel of another request: nothing to stop (PS3.7 9.3.2.3)
            self.input.pdus.append((pdu_type, payload))
            self._polling = False
        return False


def _cancel_of(payload: bytearray) -> int | None:
    """The Message ID a P-DATA-TF payload of one whole command PDV cancels, or None."""
    try:
        pdvs = list(dimse.iter_pdvs(payload))
        if len(pdvs) != 1 or not (pdvs[0].is_command and pdvs[0].is_last):
            return None
        command = dimse.decode_command(pdvs[0].data)
    except ProtocolError:
        return None
    return command.message_id_responded if isinstance(command, dimse.CCancelRQ) else None


class _Identifier:
    """The request's identifier, decoded once, on first use (as pynetdicom's
    ``event.identifier``); a failure to decode is raised at each use."""

    def __init__(self, data: bytes, transfer_syntax: str) -> None:
        self._data = data
        self._syntax = UID(transfer_syntax)
        self._decoded: Dataset | None = None
        self._error: Exception | None = None

    def __call__(self) -> Dataset:
        if self._decoded is not None:
            return self._decoded
        if self._error is None:
            syntax = self._syntax
            try:
                self._decoded = decode(
                    io.BytesIO(self._data),
                    syntax.is_implicit_VR,
                    syntax.is_little_endian,
                    syntax.is_deflated,
                )
                return self._decoded
            except Exception as exc:
                self._error = exc
        raise self._error


def partial_answers(
    transfer_syntax: str, retrieve_ae: str, node: AcceptorContext
) -> Callable[[Session, Dataset], Iterator[bytes]]:
    """The answers of a query, as ``handlers.find_responses`` asks for them."""
    read_file = handlers.file_reader(node)

    def encoded(session: Session, identifier: Dataset) -> Iterator[bytes]:
        return answers.encoded_answers(
            session, identifier, transfer_syntax, retrieve_ae=retrieve_ae, read_file=read_file
        )

    return encoded
