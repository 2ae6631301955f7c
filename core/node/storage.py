"""The lean storage acceptor: associations that only store images (and echo) skip pynetdicom.

pynetdicom spends most of a small C-STORE's time in its per-message machinery (DUL and DIMSE
threads, queues, polling, command sets decoded by pydicom). The listening server
(``NodeServer``) peeks at each connection's A-ASSOCIATE-RQ without consuming it. When every
proposed abstract syntax is a storage SOP class or Verification, and the request carries no
negotiation we would have to honour (role selection, user identity, extended or asynchronous
operations negotiation), ``StorageAssociation`` serves the connection on its own thread with a
blocking socket and the codec of ``core.net.dimse``. Anything else goes, untouched, to
pynetdicom as before.

The same rules apply on both paths: the accept policy and the calling AE check (rejected with
A-ASSOCIATE-RJ and the same log line), the association limit, presentation contexts
negotiated by pynetdicom's own ``negotiate_as_acceptor`` against the server's supported
contexts, and each C-STORE goes to the node's reception (``Reception.receive``, shared with
pynetdicom's associations): the data set bytes are framed as a Part 10 file, never decoded
beyond the header, made durable, and only then acknowledged.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RJ, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    AsynchronousOperationsWindowNegotiation,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import PresentationContext, negotiate_as_acceptor
from pynetdicom.transport import ThreadedAssociationServer

from core.errors import PeerClosedError, ProtocolError
from core.net import dimse
from core.net.dimse import set_nodelay
from core.net.status import Status
from core.node.context import AcceptorContext

log = logging.getLogger(__name__)

VERIFICATION = "1.2.840.10008.1.1"
# The largest P-DATA-TF PDU we accept (we announce it in the A-ASSOCIATE-AC).
MAX_RECEIVE_PDU = 1 << 20
MAX_REQUEST_PDU = 1 << 16  # an A-ASSOCIATE-RQ larger than this goes to pynetdicom
_PEEK_FLAGS = socket.MSG_PEEK | socket.MSG_WAITALL


def peek_request(sock: socket.socket, timeout: float) -> bytes | None:
    """The whole first PDU, left unread in the socket; None if it is not an A-ASSOCIATE-RQ
    of a size we handle, or the peer went silent or closed part way; ``b""`` if the peer
    closed without sending anything (a port probe)."""
    deadline = time.monotonic() + timeout
    wanted = 6
    seen = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        sock.settimeout(remaining)
        try:
            data = sock.recv(wanted, _PEEK_FLAGS)
        except OSError:  # timeout or reset: let pynetdicom see and report it
            return None
        if len(data) < wanted:
            if not data and not seen and wanted == 6:
                return b""  # connected and closed: nothing to answer
            if not data or data == seen:  # closed before a whole PDU arrived
                return None
            seen = data
            continue
        if wanted == 6:
            if data[0] != dimse.A_ASSOCIATE_RQ:
                return None
            length = int.from_bytes(data[2:6], "big")
            if length > MAX_REQUEST_PDU:
                return None
            wanted = 6 + length
            continue
        return data


def _is_lean(rq: A_ASSOCIATE, lean_syntaxes: frozenset[str]) -> bool:
    """Only storage/verification contexts and only the user information we answer alike."""
    contexts = rq.presentation_context_definition_list
    if not contexts:
        return False
    if any(str(cx.abstract_syntax) not in lean_syntaxes for cx in contexts):
        return False
    for item in rq.user_information:
        if isinstance(item, AsynchronousOperationsWindowNegotiation):
            if (
                item.maximum_number_operations_invoked,
                item.maximum_number_operations_performed,
            ) != (1, 1):
                return False
        elif not isinstance(
            item,
            MaximumLengthNotification
            | ImplementationClassUIDNotification
            | ImplementationVersionNameNotification,
        ):
            return False
    return True


@dataclass(slots=True)
class _Message:
    """The DIMSE message being received on one presentation context."""

    context: PresentationContext
    command: bytearray
    request: dimse.Command | None = None
    chunks: list[memoryview] | None = None


class StorageAssociation:
    """One storage/verification association, served on the calling thread."""

    def __init__(
        self,
        node: AcceptorContext,
        sock: socket.socket,
        address: tuple[str, int],
        rq: A_ASSOCIATE,
        contexts: Iterable[PresentationContext],
    ) -> None:
        self.node = node
        self.sock = sock
        self.rq = rq
        self.ae_title = str(rq.calling_ae_title).strip()
        self.peer = f"{address[0]}:{address[1]}"
        self.key = id(self)
        self.supported = list(contexts)
        self.stored = 0
        self.max_send = 0
        self._send_lock = threading.Lock()
        self._aborted_by_us = False

    # -- sending ------------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(data)

    def abort(self) -> None:
        """Abort from another thread (node stop): A-ABORT, then unblock the reader."""
        self._aborted_by_us = True
        try:
            self._send(dimse.encode_abort(dimse.ABORT_SOURCE_USER))
        except OSError:
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _reject(self, result: int, source: int, diagnostic: int) -> None:
        primitive = A_ASSOCIATE()
        primitive.result, primitive.result_source, primitive.diagnostic = result, source, diagnostic
        pdu = A_ASSOCIATE_RJ()
        pdu.from_primitive(primitive)
        self._send(pdu.encode())

    def _accept(self) -> dict[int, PresentationContext]:
        results, _roles = negotiate_as_acceptor(
            self.rq.presentation_context_definition_list, self.supported, None
        )
        primitive = A_ASSOCIATE()
        primitive.application_context_name = self.rq.application_context_name
        primitive.calling_ae_title = self.rq.calling_ae_title
        primitive.called_ae_title = self.rq.called_ae_title
        primitive.result = 0x00
        primitive.result_source = 0x01
        primitive.presentation_context_definition_results_list = results
        max_length = MaximumLengthNotification()
        max_length.maximum_length_received = MAX_RECEIVE_PDU
        class_uid = ImplementationClassUIDNotification()
        class_uid.implementation_class_uid = PYNETDICOM_IMPLEMENTATION_UID
        version = ImplementationVersionNameNotification()
        version.implementation_version_name = PYNETDICOM_IMPLEMENTATION_VERSION
        primitive.user_information = [max_length, class_uid, version]
        pdu = A_ASSOCIATE_AC()
        pdu.from_primitive(primitive)
        self._send(pdu.encode())
        self.max_send = int(self.rq.maximum_length_received or 0)
        return {int(cx.context_id): cx for cx in results if cx.result == 0x00}  # type: ignore[arg-type]

    # -- the association ----------------------------------------------------------------------
    def run(self, request_length: int) -> None:
        """Consume the peeked A-ASSOCIATE-RQ, negotiate, then serve until release or abort."""
        node = self.node
        error = ""
        opened = False
        try:
            self.sock.settimeout(node.network_timeout)
            dimse.recv_exact(self.sock, request_length)
            reject = node.admit(self)
            if reject is not None:
                self._reject(*reject)
                return
            opened = True
            error = self._serve(self._accept())
        except TimeoutError:
            error = f"association aborted: no data from the peer for {node.network_timeout:g} s"
            log.warning("aborting association with %s at %s: %s", self.ae_title, self.peer, error)
            self._abort_quietly(dimse.ABORT_SOURCE_PROVIDER)
        except PeerClosedError:
            error = "association aborted"
            if not self._aborted_by_us:
                error += ": the peer closed the connection"
        except ProtocolError as exc:
            error = f"association aborted: {exc}"
            log.warning("aborting association with %s at %s: %s", self.ae_title, self.peer, exc)
            self._abort_quietly(
                dimse.ABORT_SOURCE_PROVIDER, dimse.ABORT_REASON_INVALID_PDU_PARAMETER
            )
        except OSError as exc:
            error = "association aborted" if self._aborted_by_us else f"association aborted: {exc}"
        except Exception as exc:  # a fault of ours: abort this association, keep the node
            log.exception("association with %s at %s failed", self.ae_title, self.peer)
            error = f"association aborted: internal error: {exc}"
            self._abort_quietly(dimse.ABORT_SOURCE_PROVIDER)
        finally:
            try:
                self.sock.close()
            finally:
                node.finished(self.key, error, self, opened)

    def _abort_quietly(self, source: int, reason: int = 0) -> None:
        try:
            self._send(dimse.encode_abort(source, reason))
        except OSError:
            pass

    def _serve(self, accepted: dict[int, PresentationContext]) -> str:
        """Serve P-DATA until the peer releases (returns "") or aborts (returns the error)."""
        sock = self.sock
        message: _Message | None = None
        while True:
            pdu_type, length = dimse.read_pdu_header(sock)
            if pdu_type == dimse.P_DATA_TF:
                if length > MAX_RECEIVE_PDU + 6:
                    raise ProtocolError(
                        f"P-DATA-TF PDU of {length} bytes exceeds our maximum of {MAX_RECEIVE_PDU}"
                    )
                payload = dimse.recv_exact(sock, length)
                for pdv in dimse.iter_pdvs(payload):
                    message = self._on_pdv(pdv, message, accepted)
            elif pdu_type == dimse.A_RELEASE_RQ:
                dimse.recv_exact(sock, length)
                self._send(dimse.RELEASE_RP)
                if message is not None:
                    return "association released in the middle of a message"
                return ""
            elif pdu_type == dimse.A_ABORT:
                dimse.recv_exact(sock, min(length, 64))
                return "association aborted"
            else:
                raise ProtocolError(f"unexpected PDU type 0x{pdu_type:02X} during the association")

    def _on_pdv(
        self, pdv: dimse.Pdv, message: _Message | None, accepted: dict[int, PresentationContext]
    ) -> _Message | None:
        context = accepted.get(pdv.context_id)
        if context is None:
            raise ProtocolError(f"presentation context {pdv.context_id} was not accepted")
        if message is None:
            if not pdv.is_command:
                raise ProtocolError("a data set fragment arrived before its command set")
            message = _Message(context, bytearray())
        elif message.context is not context:
            raise ProtocolError("fragments of two messages are interleaved")
        if pdv.is_command:
            if message.request is not None:
                raise ProtocolError("a command fragment arrived inside a data set")
            message.command += pdv.data
            if len(message.command) > dimse.MAX_COMMAND_LENGTH:
                raise ProtocolError("the command set is too long")
            if not pdv.is_last:
                return message
            message.request, with_dataset = dimse.decode_message(message.command)
            if with_dataset:
                message.chunks = []
                return message
            self._dispatch(message, b"")
            return None
        if message.chunks is None:
            raise ProtocolError("a data set fragment arrived for a message without a data set")
        message.chunks.append(pdv.data)
        if not pdv.is_last:
            return message
        self._dispatch(message, b"".join(message.chunks))
        return None

    def _dispatch(self, message: _Message, dataset: bytes) -> None:
        request = message.request
        context = message.context
        context_id = int(context.context_id)  # type: ignore[arg-type]
        if isinstance(request, dimse.CEchoRQ):
            log.info("C-ECHO from %s at %s", self.ae_title, self.peer)
            echo = dimse.CEchoRSP(request.message_id, Status.SUCCESS, request.sop_class_uid)
            self._reply(context_id, echo.encode())
            return
        after_response: list[Callable[[], None]] = []
        if not isinstance(request, dimse.CStoreRQ):
            raise ProtocolError(
                f"{type(request).__name__} is not a request this association serves"
            )
        status: int
        if str(context.abstract_syntax) == VERIFICATION:
            status = Status.SOP_CLASS_NOT_SUPPORTED
        else:
            status = self.node.receive(
                self.key,
                self.ae_title,
                self.peer,
                str(context.transfer_syntax[0]),
                request.sop_class_uid,
                request.sop_instance_uid,
                dataset,
                after_response,
            )
            if status == Status.SUCCESS:
                self.stored += 1
        reply = dimse.CStoreRSP(
            request.message_id, request.sop_class_uid, request.sop_instance_uid, status
        )
        try:
            self._reply(context_id, reply.encode())
        finally:  # the image is durable: its incoming file is written even if the peer left
            for action in after_response:
                action()

    def _reply(self, context_id: int, command: bytes) -> None:
        pdus = list(dimse.pdata_pdus(context_id, command, None, self.max_send))
        self._send(pdus[0] if len(pdus) == 1 else b"".join(pdus))


class NodeServer(ThreadedAssociationServer):
    """pynetdicom's threaded server, with storage-only associations served by the lean path."""

    node: AcceptorContext
    _routing = 0  # connections being routed or served by the lean acceptor
    _routing_lock = threading.Lock()

    def routing(self) -> int:
        """Connections being routed, or served by the lean acceptor, now."""
        return self._routing

    def _count_routing(self, delta: int) -> None:
        with self._routing_lock:
            self._routing += delta

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._route,
            args=(request, client_address),
            name=f"association-{client_address[1] if isinstance(client_address, tuple) else ''}",
            daemon=True,
        )
        thread.start()

    def _route(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        node = self.node
        set_nodelay(request)
        self._count_routing(+1)
        try:
            raw = peek_request(request, node.acse_timeout)
            if raw == b"":  # a port check (ours before each query, a load balancer's...)
                self.shutdown_request(request)
                return
            rq: A_ASSOCIATE | None = None
            if raw is not None:
                try:
                    pdu = A_ASSOCIATE_RQ()
                    pdu.decode(raw)
                    rq = pdu.to_primitive()
                except Exception:  # malformed: pynetdicom answers it as it always did
                    log.debug("cannot decode an A-ASSOCIATE-RQ", exc_info=True)
                    rq = None
            if rq is not None and _is_lean(rq, node.lean_syntaxes):
                association = StorageAssociation(node, request, client_address, rq, self.contexts)
                association.run(len(raw or b""))
                return
        finally:
            self._count_routing(-1)
        request.settimeout(None)
        self.process_request_thread(request, client_address)
