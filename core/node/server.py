"""``DicomNode``: the DICOM node, hosted by ``dicom-kiosk serve`` (asyncio) or the kiosk (qasync).

Every association runs on its own thread. Associations that only store images (or echo), and
those that only query (C-FIND, or echo), are served by the lean acceptor of core.node.storage
(its C-FIND in core.node.find); every other association (C-MOVE, C-GET, or mixed) by
pynetdicom. Both talk only to the node's ``Reception``
(core.node.reception), never back to ``DicomNode``: it admits them, keeps each received image
(durable first, then acknowledged, then handed to the core's one intake) and publishes the
node's state on the change bus. ``DicomNode`` only starts, stops and resets the node; it
knows the core only through ``NodeServices`` (context.py).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from pynetdicom import (
    AE,
    ALL_TRANSFER_SYNTAXES,
    DEFAULT_TRANSFER_SYNTAXES,
    AllStoragePresentationContexts,
    evt,
)
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_FIND, C_GET, C_MOVE, C_STORE
from pynetdicom.events import Event
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    PatientRootQueryRetrieveInformationModelGet,
    PatientRootQueryRetrieveInformationModelMove,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)
from pynetdicom.transport import AssociationSocket, RequestHandler

from core.errors import ConfigError, PeerClosedError, ProtocolError
from core.index.intake import MemoryBudget
from core.net import dimse, tls
from core.net.dimse import set_nodelay
from core.net.status import Status
from core.node import handlers
from core.node.context import NodeServices
from core.node.limits import (
    MAX_COMMAND_BYTES,
    MAX_IDENTIFIER_BYTES,
    MAX_RECEIVE_PDU_PYNETDICOM,
    MAX_REQUEST_PDU,
    Limits,
)
from core.node.reception import NodeState, NodeStatus, Reception
from core.node.storage import VERIFICATION, NodeServer
from core.store.journal import IntakeJournal

log = logging.getLogger(__name__)

# -- what the node accepts (docs/conformance.md lists these tables; a test compares them) -----
# Storage SCP: every storage SOP class pynetdicom knows, in every transfer syntax it knows
# (files are kept as received); a C-GET requestor may take the SCP role for them (PS3.7 D.3.3.4).
STORAGE_SCP: tuple[str, ...] = tuple(
    str(cx.abstract_syntax) for cx in AllStoragePresentationContexts
)
STORAGE_TRANSFER_SYNTAXES: tuple[str, ...] = tuple(str(ts) for ts in ALL_TRANSFER_SYNTAXES)
VERIFICATION_SCP = str(Verification)
QUERY_RETRIEVE_SCP: tuple[str, ...] = tuple(
    str(uid)
    for uid in (
        PatientRootQueryRetrieveInformationModelFind,
        StudyRootQueryRetrieveInformationModelFind,
        PatientRootQueryRetrieveInformationModelMove,
        StudyRootQueryRetrieveInformationModelMove,
        PatientRootQueryRetrieveInformationModelGet,
        StudyRootQueryRetrieveInformationModelGet,
    )
)
# The FIND models: associations that propose only these (and Verification) are the lean
# acceptor's (core.node.find).
FIND_SCP: tuple[str, ...] = QUERY_RETRIEVE_SCP[:2]
# Verification and Query/Retrieve: pynetdicom's default transfer syntaxes.
SERVICE_TRANSFER_SYNTAXES: tuple[str, ...] = tuple(str(ts) for ts in DEFAULT_TRANSFER_SYNTAXES)


# -- the association socket ------------------------------------------------------------------
class _PduGuard:
    """The limits of one pynetdicom association, checked on the bytes as they are read.

    pynetdicom reads a PDU's header, then as many bytes as it announces, and collects a
    message's fragments in memory. The guard aborts a PDU longer than the Maximum Length we
    announced, a command set over MAX_COMMAND_BYTES, a query identifier over
    MAX_IDENTIFIER_BYTES, and a C-STORE data set over ``receive_spool_bytes`` or beyond the
    memory budget (images of any size go on storage-only associations, which spool them).
    """

    def __init__(self, budget: MemoryBudget, limits: Limits) -> None:
        self.budget = budget
        self.dataset_limit = limits.receive_spool_bytes
        self.pdu: tuple[int, int] | None = None  # (type, length) of the PDU being read
        self.command = bytearray()
        self.dataset_cap = MAX_IDENTIFIER_BYTES
        self.dataset = 0
        self.taken = 0

    def header(self, data: bytes | bytearray) -> str:
        """Check a PDU header; the reason to abort, or ``""``."""
        pdu_type, length = data[0], int.from_bytes(data[2:6], "big")
        self.pdu = (pdu_type, length)
        most = {
            dimse.P_DATA_TF: MAX_RECEIVE_PDU_PYNETDICOM,
            dimse.A_ASSOCIATE_RQ: MAX_REQUEST_PDU,
            dimse.A_ASSOCIATE_AC: MAX_REQUEST_PDU,
            dimse.A_ASSOCIATE_RJ: 4,
            dimse.A_RELEASE_RQ: 4,
            dimse.A_RELEASE_RP: 4,
            dimse.A_ABORT: 4,
        }.get(pdu_type, 0)
        if length > most:
            return f"a PDU of type 0x{pdu_type:02X} and {length} bytes (at most {most})"
        return ""

    def body(self, data: bytes | bytearray) -> str:
        """Account the fragments of a P-DATA-TF; the reason to abort, or ``""``."""
        pdu, self.pdu = self.pdu, None
        if pdu is None or pdu[0] != dimse.P_DATA_TF:
            return ""
        try:
            pdvs = list(dimse.iter_pdvs(data))
        except ProtocolError:
            return ""  # pynetdicom answers a malformed PDU itself
        for pdv in pdvs:
            why = self._command(pdv) if pdv.is_command else self._dataset(pdv)
            if why:
                return why
        return ""

    def _command(self, pdv: dimse.Pdv) -> str:
        self.command += pdv.data
        if len(self.command) > MAX_COMMAND_BYTES:
            return f"a command set of more than {MAX_COMMAND_BYTES} bytes"
        if pdv.is_last:
            try:
                field = dimse.decode_elements(self.command).get(dimse.TAG_COMMAND_FIELD)
            except ProtocolError:
                field = None
            self.command = bytearray()
            store = field == dimse.C_STORE_RQ
            self.dataset_cap = self.dataset_limit if store else MAX_IDENTIFIER_BYTES
            self.dataset = 0
        return ""

    def _dataset(self, pdv: dimse.Pdv) -> str:
        size = len(pdv.data)
        self.dataset += size
        if self.dataset > self.dataset_cap:
            what = "C-STORE data set" if self.dataset_cap == self.dataset_limit else "identifier"
            return (
                f"a {what} of more than {self.dataset_cap} bytes on an association that"
                " also queries or retrieves (send images on a storage-only association)"
            )
        if not self.budget.take(size):
            return "the memory budget for received data (receive_memory_bytes) is spent"
        self.taken += size
        if pdv.is_last:
            self.release()
        return ""

    def release(self) -> None:
        if self.taken:
            self.budget.give(self.taken)
            self.taken = 0


class _FastSocket(AssociationSocket):
    """TCP_NODELAY, PDUs read as they arrive with few ``recv_into`` calls, the A-ASSOCIATE-RQ
    the doorman already read served first, and the association's limits (``_PduGuard``).

    Without TCP_NODELAY each C-STORE response waits for the peer's delayed ACK (~40 ms).
    """

    _prefix = b""
    _guard: _PduGuard | None = None

    @property
    def ready(self) -> bool:
        return bool(self._prefix) or bool(AssociationSocket.ready.fget(self))  # type: ignore[attr-defined]

    def recv(self, nr_bytes: int) -> bytearray:
        if self._prefix:
            data, self._prefix = self._prefix[:nr_bytes], self._prefix[nr_bytes:]
            return bytearray(data)
        sock = self.socket
        if sock is None:
            return bytearray()
        guard = self._guard
        if guard is not None and guard.pdu is None and nr_bytes != 6:
            guard = None  # not the PDU-by-PDU reads of the DUL: nothing to account
        try:
            buffer = dimse.recv_exact(sock, nr_bytes)
        except PeerClosedError as exc:
            return bytearray(exc.partial)  # what we have, as pynetdicom's own recv does
        if guard is not None:
            why = (
                guard.header(buffer) if nr_bytes == 6 and guard.pdu is None else guard.body(buffer)
            )
            if why:
                self._refuse(why)
                return bytearray()  # short: pynetdicom sees the connection end
        return buffer

    def _refuse(self, why: str) -> None:
        sock = self.socket
        log.warning("aborting an association: %s", why)
        if sock is None:
            return
        try:
            sock.sendall(
                dimse.encode_abort(
                    dimse.ABORT_SOURCE_PROVIDER, dimse.ABORT_REASON_INVALID_PDU_PARAMETER
                )
            )
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        if self._guard is not None:
            self._guard.release()
        super().close()


_SERVICES = {C_FIND: "find", C_MOVE: "retrieve", C_GET: "retrieve"}


class _KioskAssociation(Association):
    """An accepted association whose query and retrieve requests pass the policy first.

    A request the policy refuses is answered 0x0124 (Refused: Not Authorized) here, before
    pynetdicom's service class runs, which for C-MOVE would first have to open an
    association to the destination, and for C-GET would report success."""

    reception: Reception

    def _serve_request(self, msg: Any, context_id: int) -> None:
        if isinstance(msg, C_STORE) and not msg.is_valid_request:
            # pynetdicom ignores a request missing a required field (an empty Affected SOP
            # Instance UID, say), and the peer would wait for an answer until its timeout.
            log.warning(
                "refused C-STORE from %s: the request lacks a required UID",
                str(self.requestor.ae_title).strip(),
            )
            self._answer(msg, context_id, Status.CANNOT_UNDERSTAND)
            return
        service = _SERVICES.get(type(msg))
        if service is not None and msg.is_valid_request:
            ae = str(self.requestor.ae_title).strip()
            if not self.reception.allows(ae, service):
                log.warning(
                    "refused %s from %s at %s:%s: %s not allowed for this node",
                    msg.msg_type,
                    ae,
                    self.requestor.address,
                    self.requestor.port,
                    service,
                )
                self._answer(msg, context_id, Status.NOT_AUTHORIZED)
                return
        super()._serve_request(msg, context_id)

    def _answer(self, msg: Any, context_id: int, status: int) -> None:
        rsp = type(msg)()
        rsp.MessageIDBeingRespondedTo = msg.MessageID
        if msg.AffectedSOPClassUID:
            rsp.AffectedSOPClassUID = msg.AffectedSOPClassUID
        if isinstance(msg, C_STORE) and msg.AffectedSOPInstanceUID:
            rsp.AffectedSOPInstanceUID = msg.AffectedSOPInstanceUID
        rsp.Status = status
        self.dimse.send_msg(rsp, context_id)


class _RequestHandler(RequestHandler):
    server: NodeServer

    def _create_association(self) -> Association:
        assoc = super()._create_association()
        server = self.server
        assoc.__class__ = _KioskAssociation
        reception = cast(Reception, server.node)
        cast(_KioskAssociation, assoc).reception = reception
        sock = assoc.dul.socket
        if isinstance(sock, AssociationSocket) and sock.socket is not None:
            sock.__class__ = _FastSocket
            fast = cast(_FastSocket, sock)
            fast._prefix = server.take_prefix(sock.socket)
            fast._guard = _PduGuard(reception.intake.budget, reception.limits)
            set_nodelay(sock.socket)
        return assoc


# -- the node ------------------------------------------------------------------------------------
class _KioskAE(AE):
    """An AE whose accepted calling AE titles follow the registry (accept policy 'known')."""

    def __init__(self, ae_title: str, reception: Reception) -> None:
        super().__init__(ae_title=ae_title)
        self._reception = reception

    @property
    def require_calling_aet(self) -> list[str]:
        return self._reception.required_calling_aets()

    @require_calling_aet.setter
    def require_calling_aet(self, ae_titles: list[str]) -> None:
        self._require_calling_aet = ae_titles


class DicomNode:
    """Start, stop and reset the node; read its state. Safe under asyncio and qasync."""

    def __init__(
        self,
        core: NodeServices,
        *,
        ae_title: str | None = None,
        port: int | None = None,
        bind: str | None = None,
        accept_policy: str | None = None,
        tls_port: int | None = None,
    ) -> None:
        self.settings = core.settings
        self.store = core.store
        self.transfers = core.transfers
        self.writer = core.writer
        self.intake = core.intake
        self.ae_title = ae_title or core.settings.ae_title
        self.port = core.settings.port if port is None else port
        self.tls_port = core.settings.tls_port if tls_port is None else tls_port
        self.bind = bind or core.settings.bind
        self.status = NodeStatus(
            core.events, NodeState(ae_title=self.ae_title, bind=self.bind, port=self.port)
        )
        self.reception = Reception(
            core,
            self.status,
            accept_policy or core.settings.accept_policy,
            float(core.settings.network_timeout),
        )
        self._ae: AE | None = None
        self._server: NodeServer | None = None
        self._tls_server: NodeServer | None = None  # the DICOM TLS port's listener

    @property
    def state(self) -> NodeState:
        return self.status.state

    @property
    def accept_policy(self) -> str:
        """Who may associate ("any" or "known"); a change applies to the next association."""
        return self.reception.accept_policy

    @accept_policy.setter
    def accept_policy(self, policy: str) -> None:
        self.reception.accept_policy = policy

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if self._server is not None:
            return
        await asyncio.to_thread(self._start_blocking)

    def _start_blocking(self) -> None:
        failed = self.transfers.fail_unfinished()
        if failed:
            log.warning("%d incoming transfers were interrupted by the last stop", failed)
        # Images received today by earlier runs count too (the log keeps UTC times).
        midnight = datetime.combine(datetime.now().date(), datetime.min.time()).astimezone(UTC)
        self.status.start_day(self.transfers.received_since(midnight.replace(tzinfo=None)))
        self._open_journal()
        reception = self.reception
        ae = _KioskAE(self.ae_title, reception)
        ae.maximum_associations = reception.maximum_associations
        ae.maximum_pdu_size = MAX_RECEIVE_PDU_PYNETDICOM  # a longer PDU is an abort
        ae.network_timeout = reception.network_timeout
        ae.acse_timeout = reception.acse_timeout
        ae.dimse_timeout = 60
        storage = list(STORAGE_SCP)
        for uid in storage:
            ae.add_supported_context(uid, STORAGE_TRANSFER_SYNTAXES, scu_role=False, scp_role=True)
        for uid in (VERIFICATION_SCP, *QUERY_RETRIEVE_SCP):
            ae.add_supported_context(uid, SERVICE_TRANSFER_SYNTAXES)
        handlers_bound: list[Any] = [
            (evt.EVT_CONN_OPEN, self._on_conn_open),
            (evt.EVT_CONN_CLOSE, self._on_conn_close),
            (evt.EVT_ABORTED, self._on_aborted),
            (evt.EVT_REJECTED, self._on_rejected),
            (evt.EVT_C_ECHO, partial(handlers.handle_echo, node=reception)),
            (evt.EVT_C_STORE, partial(handlers.handle_store, node=reception)),
            (evt.EVT_C_FIND, partial(handlers.handle_find, node=reception)),
            (evt.EVT_C_MOVE, partial(handlers.handle_move, node=reception)),
            (evt.EVT_C_GET, partial(handlers.handle_get, node=reception)),
        ]
        tls_server: NodeServer | None = None
        try:
            tls_context = self._tls_context()
            server = self._make_server(ae, self.port, handlers_bound)
            if tls_context is not None:
                try:
                    tls_server = self._make_server(ae, self.tls_port, handlers_bound)
                except BaseException:
                    server.server_close()
                    raise
        except (OSError, ConfigError) as exc:
            self._close_journal()
            self.status.set(running=False, last_error=str(exc))
            raise
        server.open_doors(reception, reception.limits)
        if tls_server is not None:
            tls_server.open_doors(
                reception, reception.limits, connections=server.connections, tls=tls_context
            )
        reception.open(ae, {*storage, VERIFICATION}, FIND_SCP, self.ae_title)
        for listening, name in ((server, "dicom-listener"), (tls_server, "dicom-tls-listener")):
            if listening is not None:
                thread = threading.Thread(target=listening.serve_forever, name=name, daemon=True)
                thread.start()
                ae._servers.append(listening)
        self._ae, self._server, self._tls_server = ae, server, tls_server
        port = int(server.server_address[1])
        self.port = port
        tls_port = int(tls_server.server_address[1]) if tls_server is not None else 0
        self.status.set(
            running=True,
            port=port,
            tls_port=tls_port,
            ae_title=self.ae_title,
            bind=self.bind,
            last_error="",
        )
        log.info(
            "DICOM node %s listening on %s:%d%s (accept: %s)",
            self.ae_title,
            self.bind,
            port,
            f", TLS on {tls_port}" if tls_port else "",
            "known nodes only" if self.accept_policy == "known" else "any calling AE",
        )

    def _make_server(self, ae: AE, port: int, handlers_bound: list[Any]) -> NodeServer:
        return cast(
            NodeServer,
            ae.make_server(
                (self.bind, port),
                evt_handlers=handlers_bound,
                server_class=NodeServer,
                request_handler=_RequestHandler,
            ),
        )

    def _tls_context(self) -> ssl.SSLContext | None:
        """The server context for the TLS port; None when there is no TLS port."""
        settings = self.settings
        if not self.tls_port:
            return None
        return tls.server_context(
            settings.tls_cert_file,
            settings.tls_key_file,
            settings.tls_ca_file,
            settings.tls_require_client_cert,
        )

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, let in-flight associations finish (abort after ``grace`` s), flush."""
        if self._server is None:
            return
        await asyncio.to_thread(self._stop_blocking, grace)

    def _stop_blocking(self, grace: float) -> None:
        server, ae, tls_server = self._server, self._ae, self._tls_server
        reception = self.reception
        self._server = self._tls_server = None
        reception.accepting = False
        servers = [listening for listening in (server, tls_server) if listening is not None]
        for listening in servers:
            listening.shutdown()  # no new associations
        deadline = time.monotonic() + grace
        if ae is not None:

            def routing() -> int:
                return sum(listening.routing() for listening in servers)

            while (ae.active_associations or routing()) and time.monotonic() < deadline:
                time.sleep(0.05)
            for assoc in ae.active_associations:
                log.warning("aborting association with %s at stop", assoc.requestor.ae_title)
                assoc.abort()
            for association in reception.lean_associations():
                log.warning("aborting association with %s at stop", association.ae_title)
                association.abort()
            while routing() and time.monotonic() < deadline + 5.0:
                time.sleep(0.01)  # aborted lean associations end on their own threads
            ae.shutdown()
        while reception.has_origins() and time.monotonic() < deadline + 1.0:
            time.sleep(0.01)  # the last associations' close events are still being handled
        reception.end_all("the node stopped during the association")
        if not self.intake.wait_idle(30.0):
            log.error("the index writer did not finish within 30 s of the stop")
        self._close_journal()
        self._ae = None
        self.status.set(running=False, active_associations=0, tls_port=0)
        log.info("DICOM node %s stopped; index flushed", self.ae_title)

    def _open_journal(self) -> None:
        """Attach the intake journal, after indexing what it holds.

        With the fsync setting on, each record is on disk before its image is acknowledged;
        with it off, in the page cache (it survives a crash of the process, not a power loss).
        """
        store = self.store
        if store.journal is not None:
            return
        journal = IntakeJournal.open(store.incoming_dir / "journal", durable=self.settings.fsync)
        if journal is None:
            return  # another process receives into this store: a file per image here
        # Records up to the index's high-water mark were indexed before: not replayed, so
        # what was deleted or replaced since stays deleted or replaced.
        recovered = journal.recover(store.write_recovered, after=self.intake.load_mark())
        if recovered:
            store.sync(force=True)  # the copies are on disk before the journal is emptied
            log.warning("%d images recovered from the intake journal", recovered)
        journal.reset_after_recovery()
        if recovered:
            self.writer.recover()
        self.intake.set_mark(journal.last_seq)  # every record so far is handled
        store.journal = journal

    def _close_journal(self) -> None:
        store = self.store
        journal, store.journal = store.journal, None
        if journal is not None:
            try:
                journal.checkpoint(lambda: store.sync(force=True))
            finally:
                journal.close()

    async def reset(self) -> None:
        await self.stop()
        await self.start()

    def wait_indexed(self, timeout: float = 30.0) -> bool:
        """Block until every acknowledged image is indexed (for tests and benchmarks)."""
        return self.intake.wait_idle(timeout)

    # -- association events (pynetdicom threads) ------------------------------------------------
    def _on_conn_open(self, event: Event) -> None:
        # also for sub-associations we request (C-MOVE)
        set_nodelay(getattr(getattr(event.assoc.dul, "socket", None), "socket", None))
        event.assoc.dul._run_loop_delay = 0.0005  # pynetdicom polls; 1 ms by default
        self.reception.opened()

    def _on_rejected(self, event: Event) -> None:
        ae, peer = handlers.peer_of(event)
        log.warning(
            "rejected association from %s at %s: calling AE not a known node (accept: known)",
            ae,
            peer,
        )

    def _on_aborted(self, event: Event) -> None:
        self.reception.finished(id(event.assoc), "association aborted", opened=False)

    def _on_conn_close(self, event: Event) -> None:
        error = "association aborted" if event.assoc.is_aborted else ""
        self.reception.finished(id(event.assoc), error)
