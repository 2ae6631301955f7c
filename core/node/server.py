"""``DicomNode``: the DICOM node, hosted by ``dicom-kiosk serve`` (asyncio) or the kiosk (qasync).

Every association runs on its own thread. Associations that only store images (or echo) are
served by the lean acceptor of core.node.storage; every other association (C-FIND, C-MOVE,
C-GET, or mixed) by pynetdicom. Both keep a received image through
``handlers.store_dataset``: durable first (the intake journal of core.store.journal, or an
fsynced file), then acknowledged, then handed to the core's one intake (core.index.intake),
with the association as its ``Origin``. State changes go out on the change bus as
``NodeStateChanged``. The node knows the core only through ``NodeServices`` (context.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, evt
from pynetdicom.association import Association
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

from core.events import NodeStateChanged
from core.index.intake import Origin
from core.index.writer import IngestItem
from core.net import set_nodelay
from core.node import handlers
from core.node.context import LeanAssociation, NodeServices
from core.node.storage import VERIFICATION, NodeServer
from core.registry import NodeInfo
from core.store.journal import IntakeJournal, JournalRecord
from core.transfers.log import ITEM_FAILED, ItemRecord

log = logging.getLogger(__name__)

_NO_AE = "-" * 17  # longer than any AE title: matches no calling AE
_POLICY_TTL = 2.0  # seconds a registry read is reused for accept decisions


@dataclass(frozen=True, slots=True)
class NodeState:
    running: bool = False
    ae_title: str = ""
    bind: str = ""
    port: int = 0
    active_associations: int = 0
    images_today: int = 0
    last_error: str = ""


# -- the association socket ------------------------------------------------------------------
class _FastSocket(AssociationSocket):
    """TCP_NODELAY, and PDUs read with few large ``recv_into`` calls instead of 4 KB ``recv``s.

    Without TCP_NODELAY each C-STORE response waits for the peer's delayed ACK (~40 ms).
    """

    def recv(self, nr_bytes: int) -> bytearray:
        sock = self.socket
        if sock is None:
            return bytearray()
        buffer = bytearray(nr_bytes)
        done = 0
        with memoryview(buffer) as view:
            while done < nr_bytes:
                got = sock.recv_into(view[done:], nr_bytes - done)
                if not got:  # connection broken: return what we have, as pynetdicom does
                    break
                done += got
        if done < nr_bytes:
            del buffer[done:]
        return buffer


class _RequestHandler(RequestHandler):
    def _create_association(self) -> Association:
        assoc = super()._create_association()
        sock = assoc.dul.socket
        if isinstance(sock, AssociationSocket) and sock.socket is not None:
            sock.__class__ = _FastSocket
            set_nodelay(sock.socket)
        return assoc


# -- the node ------------------------------------------------------------------------------------
class _KioskAE(AE):
    """An AE whose accepted calling AE titles follow the registry (accept policy 'known')."""

    def __init__(self, ae_title: str, node: DicomNode) -> None:
        super().__init__(ae_title=ae_title)
        self._node = node

    @property
    def require_calling_aet(self) -> list[str]:
        return self._node.required_calling_aets()

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
    ) -> None:
        self.settings = core.settings
        self.store = core.store
        self.sessions = core.sessions
        self.registry = core.registry
        self.transfers = core.transfers
        self.writer = core.writer
        self.intake = core.intake
        self.events = core.events
        self.ae_title = ae_title or core.settings.ae_title
        self.port = core.settings.port if port is None else port
        self.bind = bind or core.settings.bind
        self.accept_policy = accept_policy or core.settings.accept_policy
        self._state = NodeState(ae_title=self.ae_title, bind=self.bind, port=self.port)
        self._ae: AE | None = None
        self._server: NodeServer | None = None
        self._assocs: dict[int, Origin] = {}
        self._lean: set[LeanAssociation] = set()
        self._routing = 0  # connections being routed or served by the lean acceptor
        self.network_timeout = float(core.settings.network_timeout)
        self.acse_timeout = 30.0
        self.maximum_associations = 32
        self.lean_syntaxes: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._policy_cache: tuple[float, list[NodeInfo]] = (0.0, [])
        self._today = datetime.now().date()  # the local day: what "today" means at the console

    # -- state ----------------------------------------------------------------------------
    @property
    def state(self) -> NodeState:
        return self._state

    def _set_state(self, **changes: Any) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)
            state = self._state
        self._notify(state)

    def _add_active(self, delta: int) -> None:
        with self._lock:
            active = max(0, self._state.active_associations + delta)
            self._state = replace(self._state, active_associations=active)
            state = self._state
        self._notify(state)

    def _notify(self, state: NodeState) -> None:
        self.events.publish(NodeStateChanged(state))

    def _count_indexed(self, count: int) -> None:
        today = datetime.now().date()
        with self._lock:
            if today != self._today:
                self._today = today
                base = 0
            else:
                base = self._state.images_today
        self._set_state(images_today=base + count)

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
        today = datetime.now().date()
        midnight = datetime.combine(today, datetime.min.time()).astimezone(UTC)
        received = self.transfers.received_since(midnight.replace(tzinfo=None))
        with self._lock:
            self._today = today
        self._set_state(images_today=received)
        self._open_journal()
        ae = _KioskAE(self.ae_title, self)
        ae.maximum_associations = self.maximum_associations
        ae.maximum_pdu_size = 0  # no limit: fewer, larger PDUs
        ae.network_timeout = self.network_timeout
        ae.acse_timeout = self.acse_timeout
        ae.dimse_timeout = 60
        storage = [str(cx.abstract_syntax) for cx in AllStoragePresentationContexts]
        for uid in storage:
            ae.add_supported_context(uid, ALL_TRANSFER_SYNTAXES, scu_role=False, scp_role=True)
        ae.add_supported_context(Verification)
        for model in (
            PatientRootQueryRetrieveInformationModelFind,
            StudyRootQueryRetrieveInformationModelFind,
            PatientRootQueryRetrieveInformationModelMove,
            StudyRootQueryRetrieveInformationModelMove,
            PatientRootQueryRetrieveInformationModelGet,
            StudyRootQueryRetrieveInformationModelGet,
        ):
            ae.add_supported_context(model)
        self.lean_syntaxes = frozenset({*storage, VERIFICATION})
        handlers_bound: list[Any] = [
            (evt.EVT_CONN_OPEN, self._on_conn_open),
            (evt.EVT_CONN_CLOSE, self._on_conn_close),
            (evt.EVT_ABORTED, self._on_aborted),
            (evt.EVT_REJECTED, self._on_rejected),
            (evt.EVT_C_ECHO, partial(handlers.handle_echo, node=self)),
            (evt.EVT_C_STORE, partial(handlers.handle_store, node=self)),
            (evt.EVT_C_FIND, partial(handlers.handle_find, node=self)),
            (evt.EVT_C_MOVE, partial(handlers.handle_move, node=self)),
            (evt.EVT_C_GET, partial(handlers.handle_get, node=self)),
        ]
        try:
            server = cast(
                NodeServer,
                ae.make_server(
                    (self.bind, self.port),
                    evt_handlers=handlers_bound,
                    server_class=NodeServer,
                    request_handler=_RequestHandler,
                ),
            )
        except OSError as exc:
            self._close_journal()
            self._set_state(running=False, last_error=str(exc))
            raise
        server.node = self
        thread = threading.Thread(target=server.serve_forever, name="dicom-listener", daemon=True)
        thread.start()
        ae._servers.append(server)
        self._ae, self._server = ae, server
        port = int(server.server_address[1])
        self.port = port
        self._set_state(running=True, port=port, ae_title=self.ae_title, last_error="")
        log.info(
            "DICOM node %s listening on %s:%d (accept: %s)",
            self.ae_title,
            self.bind,
            port,
            "known nodes only" if self.accept_policy == "known" else "any calling AE",
        )

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, let in-flight associations finish (abort after ``grace`` s), flush."""
        if self._server is None:
            return
        await asyncio.to_thread(self._stop_blocking, grace)

    def _stop_blocking(self, grace: float) -> None:
        server, ae = self._server, self._ae
        self._server = None
        if server is not None:
            server.shutdown()  # no new associations
        deadline = time.monotonic() + grace
        if ae is not None:
            while (ae.active_associations or self._routing) and time.monotonic() < deadline:
                time.sleep(0.05)
            for assoc in ae.active_associations:
                log.warning("aborting association with %s at stop", assoc.requestor.ae_title)
                assoc.abort()
            with self._lock:
                lean = list(self._lean)
            for association in lean:
                log.warning("aborting association with %s at stop", association.ae_title)
                association.abort()
            while self._routing and time.monotonic() < deadline + 5.0:
                time.sleep(0.01)  # aborted lean associations end on their own threads
            ae.shutdown()
        while self._assocs and time.monotonic() < deadline + 1.0:
            time.sleep(0.01)  # the last associations' close events are still being handled
        with self._lock:
            left, self._assocs = list(self._assocs.values()), {}
        for entry in left:
            self.intake.end(entry, "the node stopped during the association")
        if not self.intake.wait_idle(30.0):
            log.error("the index writer did not finish within 30 s of the stop")
        self._close_journal()
        self._ae = None
        self._set_state(running=False, active_associations=0)
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
        recovered = journal.recover(store.write_recovered)
        if recovered:
            store.sync(force=True)  # the copies are on disk before the journal is emptied
            log.warning("%d images recovered from the intake journal", recovered)
        journal.reset_after_recovery()
        if recovered:
            self.writer.recover()
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

    # -- policy ------------------------------------------------------------------------------
    def _known(self) -> list[NodeInfo]:
        now = time.monotonic()
        stamp, nodes = self._policy_cache
        if now - stamp > _POLICY_TTL:
            nodes = self.registry.list()
            self._policy_cache = (now, nodes)
        return nodes

    def required_calling_aets(self) -> list[str]:
        if self.accept_policy != "known":
            return []
        titles = sorted({n.ae_title for n in self._known()})
        return titles or [_NO_AE]

    def allows(self, ae_title: str, service: str) -> bool:
        matches = [n for n in self._known() if n.ae_title == ae_title]
        if not matches:
            return self.accept_policy != "known"
        return any(n.allows(service) for n in matches)

    def destination(self, ae_title: str) -> NodeInfo | None:
        self._policy_cache = (0.0, [])  # a move destination must be current
        for node in self._known():
            if node.ae_title == ae_title:
                return node
        return None

    # -- association bookkeeping (association threads) ------------------------------------------
    def association_entry(self, key: int, ae: str, peer: str) -> Origin:
        """The record of association ``key``, created when it first stores or fails an image.

        Its incoming transfer row is written here, before the first image is acknowledged, so
        an association cut short by a crash still shows in the log (failed, "interrupted")
        even when the index writer had not reached its images yet.
        """
        with self._lock:
            found = self._assocs.get(key)
            if found is not None:
                return found
            names = [n.name for n in self._known() if n.ae_title == ae]
            found = Origin(key, ae, peer, names[0] if names else "", on_indexed=self._count_indexed)
            self._assocs[key] = found
        try:
            found.transfer_id = self.transfers.start_incoming(ae, peer, found.node_name)
        except Exception:  # the writer creates it with the first batch instead
            log.exception("cannot record the incoming transfer from %s", ae)
        return found

    def ingest(self, assoc: Origin, item: IngestItem, record: JournalRecord | None = None) -> None:
        assoc.stored += 1
        self.intake.store(assoc, item, record)

    def hold(self, size: int) -> bool:
        """May a journaled image of ``size`` bytes go to the index writer in memory?"""
        return self._server is not None and self.intake.hold(size)

    def record_failure(self, assoc: Origin, sop_uid: str, code: int, error: str) -> None:
        record = ItemRecord(sop_uid[:64], "", "", "", ITEM_FAILED, code, 0, error[:500])
        self.intake.fail(assoc, record)

    def _end_association(self, key: int, error: str) -> None:
        with self._lock:  # pop and enqueue together: stop() waits for _assocs to empty
            found = self._assocs.pop(key, None)
            if found is not None:
                self.intake.end(found, error)
        if found is not None:
            log.info("association from %s ended: %d images", found.ae_title, found.stored)

    # -- the lean storage acceptor (core.node.storage) -------------------------------------------
    def lean_routing(self, delta: int) -> None:
        with self._lock:
            self._routing += delta

    def lean_reject_reason(
        self, ae_title: str, association: LeanAssociation
    ) -> tuple[int, int, int] | None:
        """Register ``association``; (result, source, diagnostic) if it must be rejected.

        The same rules as pynetdicom applies to its associations (see acse.py).
        """
        with self._lock:
            self._lean.add(association)
            lean = len(self._lean)
        required = self.required_calling_aets()
        if required and ae_title not in required:
            log.warning(
                "rejected association from %s at %s: calling AE not a known node (accept: known)",
                ae_title,
                association.peer,
            )
            return (0x01, 0x01, 0x03)  # rejected permanent, service user, calling AE unknown
        ae = self._ae
        others = sum(1 for a in ae.active_associations if a.is_acceptor) if ae else 0
        if self._server is None or lean + others > self.maximum_associations:
            log.warning(
                "rejected association from %s at %s: %s",
                ae_title,
                association.peer,
                "the node is stopping" if self._server is None else "too many associations",
            )
            return (0x02, 0x03, 0x02)  # rejected transient, provider, local limit exceeded
        return None

    def association_opened(self) -> None:
        self._add_active(+1)

    def lean_finished(self, association: LeanAssociation, opened: bool, error: str) -> None:
        with self._lock:
            self._lean.discard(association)
        if opened:
            self._end_association(association.key, error)
            self._add_active(-1)

    # -- association events (pynetdicom threads) ------------------------------------------------
    def _on_conn_open(self, event: Event) -> None:
        # also for sub-associations we request (C-MOVE)
        set_nodelay(getattr(getattr(event.assoc.dul, "socket", None), "socket", None))
        event.assoc.dul._run_loop_delay = 0.0005  # pynetdicom polls; 1 ms by default
        self._add_active(+1)

    def _on_rejected(self, event: Event) -> None:
        ae, peer = handlers.peer_of(event)
        log.warning(
            "rejected association from %s at %s: calling AE not a known node (accept: known)",
            ae,
            peer,
        )

    def _on_aborted(self, event: Event) -> None:
        self._end_association(id(event.assoc), "association aborted")

    def _on_conn_close(self, event: Event) -> None:
        error = "association aborted" if event.assoc.is_aborted else ""
        self._end_association(id(event.assoc), error)
        self._add_active(-1)
