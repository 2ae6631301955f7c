"""The lean acceptor: associations that only store images, or only query (and echo), skip
pynetdicom.

pynetdicom spends most of a small C-STORE's time in its per-message machinery (DUL and DIMSE
threads, queues, polling, command sets decoded by pydicom). The listening server
(``NodeServer``) reads each connection's A-ASSOCIATE-RQ first (its doorman, core.node.doorman,
with no thread per connection and the ARTIM timer). When every
proposed abstract syntax is a storage SOP class or Verification, and the request carries no
negotiation we would have to honour (role selection, user identity, extended or asynchronous
operations negotiation), ``StorageAssociation`` serves the connection on its own thread with a
blocking socket and the codec of ``core.net.dimse``. So it does when every proposed abstract
syntax is a C-FIND model or Verification: its C-FIND-RQs are answered by core.node.find.
Anything else (C-MOVE, C-GET, storage and queries mixed) goes to pynetdicom, which reads the
same request bytes from the socket wrapper (core.node.server).

The same rules apply on both paths: the accept policy, the calling AE check and the binding of
a calling AE title to a TLS client certificate (all decided by ``screen`` before the paths part,
rejected with A-ASSOCIATE-RJ and the same log line), the association limit, presentation contexts
negotiated by pynetdicom's own ``negotiate_as_acceptor`` against the server's supported
contexts, and each C-STORE goes to the node's reception (``Reception.receive``, shared with
pynetdicom's associations): the data set bytes are framed as a Part 10 file, never decoded
beyond the header, made durable, and only then acknowledged. A data set is received into a
``DatasetBuffer`` (core.node.incoming): bounded memory, spooled to disk when large.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RJ
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
from core.node.doorman import Connections, Doorman
from core.node.find import FindAnswerer
from core.node.incoming import DatasetBuffer
from core.node.limits import (
    MAX_IDENTIFIER_BYTES,
    MAX_RECEIVE_PDU,
    MAX_RECEIVE_PDU_PYNETDICOM,
    Limits,
)

log = logging.getLogger(__name__)

VERIFICATION = "1.2.840.10008.1.1"


STORAGE = "storage"
FIND = "find"


def _route(
    rq: A_ASSOCIATE,
    lean_syntaxes: frozenset[str],
    supported: frozenset[str] = frozenset(),
    find_syntaxes: frozenset[str] = frozenset(),
) -> str:
    """``STORAGE`` for storage/verification contexts, ``FIND`` for C-FIND/verification
    ones, besides contexts the node supports on no path (rejected in the negotiation either
    way: a modality that also proposes Storage Commitment still sends its images here), and
    only the user information we answer alike; else ``""`` (pynetdicom's)."""
    proposed = {str(cx.abstract_syntax) for cx in rq.presentation_context_definition_list}
    known = proposed & supported  # the others are rejected in the negotiation
    if proposed & lean_syntaxes and all(uid in lean_syntaxes for uid in known):
        kind = STORAGE
    elif proposed & find_syntaxes and all(
        uid in find_syntaxes or uid == VERIFICATION for uid in known
    ):
        kind = FIND
    else:
        return ""  # a retrieve, or storage and queries mixed: pynetdicom's
    return kind if _plain_user_information(rq) else ""


def _is_lean(
    rq: A_ASSOCIATE, lean_syntaxes: frozenset[str], supported: frozenset[str] = frozenset()
) -> bool:
    """Whether a storage association is the lean acceptor's (``_route``)."""
    return _route(rq, lean_syntaxes, supported) == STORAGE


def _plain_user_information(rq: A_ASSOCIATE) -> bool:
    """Only the user information items the lean acceptor answers as pynetdicom does."""
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
    dataset: DatasetBuffer | None = None
    identifier: bytearray | None = None  # a C-FIND-RQ's


def _send_reject(sock: socket.socket, result: int, source: int, diagnostic: int) -> None:
    primitive = A_ASSOCIATE()
    primitive.result, primitive.result_source, primitive.diagnostic = result, source, diagnostic
    pdu = A_ASSOCIATE_RJ()
    pdu.from_primitive(primitive)
    try:
        sock.settimeout(1.0)
        sock.sendall(pdu.encode())
    except OSError:
        pass


class StorageAssociation:
    """One storage/verification association, or (``kind`` FIND) one that queries, served on
    the calling thread."""

    def __init__(
        self,
        node: AcceptorContext,
        sock: socket.socket,
        address: tuple[str, int],
        rq: A_ASSOCIATE,
        contexts: Iterable[PresentationContext],
        kind: str = STORAGE,
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
        # the Maximum Length we announce: queries' messages are small (as on pynetdicom's)
        self.max_receive = MAX_RECEIVE_PDU if kind == STORAGE else MAX_RECEIVE_PDU_PYNETDICOM
        self.finder: FindAnswerer | None = None
        if kind == FIND:
            self.finder = FindAnswerer(
                node, sock, self._send, self.ae_title, self.peer, node.ae_title
            )
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
        with self._send_lock:
            _send_reject(self.sock, result, source, diagnostic)

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
        max_length.maximum_length_received = self.max_receive
        class_uid = ImplementationClassUIDNotification()
        class_uid.implementation_class_uid = PYNETDICOM_IMPLEMENTATION_UID
        version = ImplementationVersionNameNotification()
        version.implementation_version_name = PYNETDICOM_IMPLEMENTATION_VERSION
        primitive.user_information = [max_length, class_uid, version]
        pdu = A_ASSOCIATE_AC()
        pdu.from_primitive(primitive)
        self._send(pdu.encode())
        self.max_send = int(self.rq.maximum_length_received or 0)
        if self.finder is not None:
            self.finder.max_send = self.max_send
        return {int(cx.context_id): cx for cx in results if cx.result == 0x00}  # type: ignore[arg-type]

    # -- the association ----------------------------------------------------------------------
    def run(self) -> None:
        """Negotiate (the A-ASSOCIATE-RQ was read by the doorman), then serve until release
        or abort."""
        node = self.node
        error = ""
        opened = False
        try:
            self.sock.settimeout(node.network_timeout)
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
        message: _Message | None = None
        try:
            while True:
                kept = self.finder.input.pdus if self.finder is not None else None
                if kept:  # read while a query was answered
                    pdu_type, payload = kept.pop(0)
                    length = len(payload)
                else:
                    pdu_type, length = dimse.read_pdu_header(self.sock)
                    payload = None
                if pdu_type == dimse.P_DATA_TF:
                    if length > self.max_receive:
                        raise ProtocolError(
                            f"a P-DATA-TF PDU of {length} bytes exceeds our maximum of"
                            f" {self.max_receive}"
                        )
                    if payload is None:
                        payload = dimse.recv_exact(self.sock, length)
                    for pdv in dimse.iter_pdvs(payload):
                        message = self._on_pdv(pdv, message, accepted)
                    continue
                if pdu_type not in (dimse.A_RELEASE_RQ, dimse.A_ABORT) or length != 4:
                    raise ProtocolError(
                        f"unexpected PDU type 0x{pdu_type:02X} of {length} bytes during the"
                        " association"
                    )
                if payload is None:
                    dimse.recv_exact(self.sock, 4)
                if pdu_type == dimse.A_ABORT:
                    return "association aborted"
                self._send(dimse.RELEASE_RP)
                if message is not None:
                    return "association released in the middle of a message"
                return ""
        finally:
            if message is not None and message.dataset is not None:
                message.dataset.discard()  # cut off part way: its memory and spool go

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
            request, with_dataset = dimse.decode_message(message.command)
            message.request = request
            if not with_dataset:
                self._dispatch(message)
                return None
            if isinstance(request, dimse.CFindRQ) and self.finder is not None:
                message.identifier = bytearray()
                return message
            if not isinstance(request, dimse.CStoreRQ):
                raise ProtocolError(f"a {type(request).__name__} does not carry a data set")
            message.dataset = self.node.new_buffer(
                request.sop_class_uid,
                request.sop_instance_uid,
                str(context.transfer_syntax[0]),
                self.ae_title,
            )
            return message
        if message.identifier is not None:
            message.identifier += pdv.data
            if len(message.identifier) > MAX_IDENTIFIER_BYTES:
                raise ProtocolError(f"an identifier of more than {MAX_IDENTIFIER_BYTES} bytes")
            if pdv.is_last:
                self._dispatch(message)
                return None
            return message
        if message.dataset is None:
            raise ProtocolError("a data set fragment arrived for a message without a data set")
        message.dataset.add(pdv.data)
        if not pdv.is_last:
            return message
        self._dispatch(message)
        return None

    def _dispatch(self, message: _Message) -> None:
        request = message.request
        context = message.context
        context_id = int(context.context_id)  # type: ignore[arg-type]
        if isinstance(request, dimse.CEchoRQ):
            log.info("C-ECHO from %s at %s", self.ae_title, self.peer)
            echo = dimse.CEchoRSP(request.message_id, Status.SUCCESS, request.sop_class_uid)
            self._reply(context_id, echo.encode())
            return
        if isinstance(request, dimse.CFindRQ) and self.finder is not None:
            if message.identifier is None or str(context.abstract_syntax) not in (
                self.node.find_syntaxes
            ):
                raise ProtocolError("a C-FIND-RQ outside a C-FIND presentation context")
            self.finder.answer(
                context_id,
                str(context.abstract_syntax),
                str(context.transfer_syntax[0]),
                request,
                bytes(message.identifier),
            )
            return
        if isinstance(request, dimse.CCancelRQ) and self.finder is not None:
            return  # the query it cancels is answered already (PS3.7 9.3.2.3)
        after_response: list[Callable[[], None]] = []
        if not isinstance(request, dimse.CStoreRQ):
            raise ProtocolError(
                f"{type(request).__name__} is not a request this association serves"
            )
        status: int
        dataset = message.dataset
        if dataset is None:
            raise ProtocolError("a C-STORE-RQ without a data set")
        message.dataset = None
        if str(context.abstract_syntax) == VERIFICATION:
            dataset.discard()
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
    """pynetdicom's threaded server, fronted by the doorman (core.node.doorman): a connection
    gets a thread only once its A-ASSOCIATE-RQ is whole and well formed; storage-only
    and query-only associations are then served by the lean acceptor, every other one by
    pynetdicom."""

    node: AcceptorContext
    limits: Limits
    connections: Connections
    doorman: Doorman
    _routing = 0  # associations being served by the lean acceptor
    _routing_lock = threading.Lock()
    _prefixes: dict[int, bytes]  # A-ASSOCIATE-RQs read for pynetdicom, by socket id
    # The listen backlog: connections the kernel completes before the listener accepts them.
    # A short one (socketserver has 5) leaves a burst of connections half-open in the kernel.
    request_queue_size = 1024

    def open_doors(
        self,
        node: AcceptorContext,
        limits: Limits,
        *,
        connections: Connections | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """Start the doorman; ``connections`` shared with another listener of the node (the
        limits count both), ``tls`` for the DICOM TLS port (the doorman does the handshake)."""
        self.node = node
        self.limits = limits
        self.connections = connections or Connections(limits)
        self._prefixes = {}
        self.doorman = Doorman(limits, self.connections, self._on_request, tls)
        self.doorman.start()

    def server_close(self) -> None:
        doorman = getattr(self, "doorman", None)
        if doorman is not None:
            doorman.stop()
        super().server_close()

    def routing(self) -> int:
        """Associations being served by the lean acceptor now, or waiting to start."""
        return self._routing

    def _count_routing(self, delta: int) -> None:
        with self._routing_lock:
            self._routing += delta

    def _supported(self) -> frozenset[str]:
        """Every abstract syntax the node accepts, on either path."""
        found = getattr(self, "_supported_syntaxes", None)
        if found is None:
            found = frozenset(str(cx.abstract_syntax) for cx in self.contexts)
            self._supported_syntaxes = found
        return found

    def take_prefix(self, sock: socket.socket) -> bytes:
        """The A-ASSOCIATE-RQ the doorman read from ``sock`` (for pynetdicom to read)."""
        return self._prefixes.pop(id(sock), b"")

    # -- the listener thread ----------------------------------------------------------------
    def verify_request(self, request: Any, client_address: Any) -> bool:
        refused = self.connections.open(str(client_address[0]))
        if refused:
            self.doorman.peer_log.warn(
                str(client_address[0]),
                "refused a connection from %s: %s",
                client_address[0],
                refused,
            )
        return not refused

    def process_request(self, request: Any, client_address: Any) -> None:
        set_nodelay(request)
        self.doorman.add(request, client_address)

    # -- the doorman thread -----------------------------------------------------------------
    def _on_request(
        self, sock: socket.socket, address: tuple[str, int], raw: bytes, rq: A_ASSOCIATE
    ) -> None:
        host = str(address[0])
        # the client's certificate on the TLS port (verified in the handshake), for the
        # AE-title-to-certificate binding that screen() checks for both receive paths
        certificate = None
        if isinstance(sock, ssl.SSLSocket):
            certificate = sock.getpeercert(binary_form=True)
        reject = self.node.screen(
            str(rq.calling_ae_title).strip(), f"{host}:{address[1]}", certificate
        )
        if reject is not None:  # answered here: a refused request never gets a thread
            _send_reject(sock, *reject)
            sock.close()
            self.connections.close(host)
            return
        kind = _route(rq, self.node.lean_syntaxes, self._supported(), self.node.find_syntaxes)
        self._count_routing(+1)
        if kind:
            target: Callable[[], None] = partial(self._serve_lean, sock, address, rq, kind)
        else:
            self._prefixes[id(sock)] = raw
            target = partial(self._serve_pynetdicom, sock, address)
        thread = threading.Thread(target=target, name=f"association-{address[1]}", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # no thread to be had: the peer may try again
            self._count_routing(-1)
            self._prefixes.pop(id(sock), None)
            sock.close()
            self.connections.close(host)
            raise

    # -- an association's own thread --------------------------------------------------------
    def _serve_lean(
        self, sock: socket.socket, address: tuple[str, int], rq: A_ASSOCIATE, kind: str
    ) -> None:
        try:
            StorageAssociation(self.node, sock, address, rq, self.contexts, kind).run()
        finally:
            self.connections.close(str(address[0]))
            self._count_routing(-1)

    def _serve_pynetdicom(self, sock: socket.socket, address: tuple[str, int]) -> None:
        try:
            self.doorman.watch(sock, str(address[0]))
        finally:
            self._count_routing(-1)
        self.process_request_thread(sock, address)
