"""``Core``: the composition root. It builds every service once and owns it.

The kiosk, ``dicom-kiosk serve`` and every CLI command build it the same way:
``Core(settings)``, then ``open()`` (migrate, count the store, index what a crash left, start
the intake thread); ``await start()`` runs the DICOM node and the send worker, ``await stop()``
stops them, ``close()`` ends the rest. The kiosk opens it after its first frame when
``readable_before_open()`` says the index can be read as it is (see below). Nothing else
constructs a service: the others take what they need from here (the node and the sender
through small Protocols, so they never import this module and the package graph has no cycle).

What it owns:
- ``events``: the one change bus (core.events): index, transfers and node changes;
- ``engine``/``sessions``, ``store`` (files), ``writer`` (the index writer) and ``intake``
  (the one thread every image is written by: node, C-GET, import);
- ``transfers`` (log), ``registry`` (remote nodes), ``importer``;
- ``node`` (our SCP) and ``sender`` (the send queue's worker);
- ``thumbnails``: made in a process pool, scheduled as images arrive (``IndexChanged``);
- ``audit``: the audit trail (core.audit). The facades below record what they did (export,
  delete, import); while the node or the sender runs, finished transfers and the node's
  start/stop are recorded from the bus, off the receive path;
- ``lock``: the kiosk's PIN and its wrong-PIN count (core.lock).

Built on first use (``_OnFirstUse``; ``built(name)`` tells whether one exists yet): the
database side (``engine``, ``sessions``, ``writer``, ``intake``, ``transfers``, ``registry``:
SQLAlchemy and the ORM's tables, which ``open()`` builds) and the ``store``, ``importer``,
``thumbnails`` (and the arrival scheduler, on the first image stored), ``node``, ``sender`` and
``audit``, and what ``export``, ``qr_client`` and ``send`` call. They bring SQLAlchemy,
pydicom, numpy, PIL and pynetdicom (and the audit trail's modules). A command that opens the
core needs SQLAlchemy alone of them, the kiosk's first frame none (tests/core/test_app.py and
tests/viewmodels/test_first_frame.py check what they load): until the engine is built,
``stats``, ``list_rows`` and ``count`` read a SQLite index at the newest schema with the
standard library (``core.db.light``, a read-only connection per call, so any thread may call
them), and through the engine otherwise. ``start()`` builds the node and the sender on a
worker thread, so that a loop with a window on it (the kiosk) stays responsive.

Holds no Qt state; safe under plain asyncio and under qasync.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, overload

from core.config import Settings
from core.db.browse import BrowseLevel, StudyFilter
from core.events import IndexChanged, LocalBus
from core.lock import KioskLock

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from core.audit.recorder import AuditRecorder
    from core.db.light import LightReader
    from core.export.deidentify import DatesOption
    from core.export.exporter import ExportOptions, ExportSummary, ProgressCallback, Selection
    from core.imaging.thumbnails import ArrivalScheduler, ThumbnailCache
    from core.index.importer import Importer, ImportSummary
    from core.index.intake import Intake
    from core.index.writer import DeleteResult, IndexWriter, Level
    from core.net.qr import QueryRetrieveClient
    from core.net.remote import RemoteAE
    from core.node.server import DicomNode
    from core.registry import NodeRegistry
    from core.store.files import FileStore
    from core.transfers.log import TransferLog
    from core.transfers.sender import SendWorker

log = logging.getLogger(__name__)


_T = TypeVar("_T")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class _OnFirstUse(Generic[_T]):
    """A ``Core`` service built when it is first read, then an attribute like the others.

    As ``functools.cached_property``: the value lands in the instance's ``__dict__``, which
    answers every later read (and can be set, as tests do). Unlike it on Python 3.12+, it is
    built once even when two threads read it first at once (the GUI thread and the intake
    thread's thumbnails on arrival): under the core's ``_building`` lock.
    """

    def __init__(self, build: Callable[[Core], _T]) -> None:
        self._build = build
        self._name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type[Core], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, core: None, owner: type[Core] | None = None) -> Self: ...

    @overload
    def __get__(self, core: Core, owner: type[Core] | None = None) -> _T: ...

    def __get__(self, core: Core | None, owner: type[Core] | None = None) -> _T | Self:
        if core is None:
            return self
        with core._building:
            if self._name not in core.__dict__:
                core.__dict__[self._name] = self._build(core)
            value: _T = core.__dict__[self._name]
            return value


class Core:
    """One per process: every service, built once."""

    def __init__(self, settings: Settings) -> None:
        self._building = threading.RLock()  # services built on first use (_OnFirstUse)
        self._closing = False
        self.settings = settings
        self.events = LocalBus()
        self.lock = KioskLock(settings.data_dir)  # the kiosk's PIN (core.lock)
        self._unwatch_audit: Callable[[], None] = lambda: None
        self._running_since: datetime | None = None
        self._unsubscribe_thumbnails: Callable[[], None] = lambda: None
        if settings.thumbnails_on_arrival:  # the bus hands arrivals to the scheduler
            self._unsubscribe_thumbnails = self.events.subscribe(IndexChanged, self._arrived)
        self._node_started = False

    # -- services built on first use ----------------------------------------------------------
    @_OnFirstUse
    def engine(self) -> Engine:
        """The database engine (SQLAlchemy loads here: until then, reads go through
        ``core.db.light`` when it can answer them)."""
        from core.db.engine import make_engine

        return make_engine(self.settings.db_url)

    @_OnFirstUse
    def sessions(self) -> sessionmaker[Session]:
        from core.db.engine import make_sessionmaker

        return make_sessionmaker(self.engine)

    @_OnFirstUse
    def store(self) -> FileStore:
        """The image files."""
        from core.store.files import FileStore

        settings = self.settings
        return FileStore(
            settings.store_dir, fsync=settings.fsync, max_bytes=settings.max_store_bytes
        )

    @_OnFirstUse
    def writer(self) -> IndexWriter:
        """The index writer (the intake's, and deletes)."""
        from core.index.writer import IndexWriter

        settings = self.settings
        return IndexWriter(self.sessions, self.store, settings.duplicate_policy, events=self.events)

    @_OnFirstUse
    def transfers(self) -> TransferLog:
        """The transfer log."""
        from core.transfers.log import TransferLog

        return TransferLog(self.sessions, self.events)

    @_OnFirstUse
    def intake(self) -> Intake:
        """The one thread every image is written by (``open()`` starts it)."""
        from core.index.intake import Intake, MemoryBudget

        budget = MemoryBudget(self.settings.receive_memory_bytes)
        return Intake(self.writer, self.sessions, self.transfers, budget)

    @_OnFirstUse
    def registry(self) -> NodeRegistry:
        """The remote nodes."""
        from core.registry import NodeRegistry

        return NodeRegistry(self.sessions)

    @_OnFirstUse
    def audit(self) -> AuditRecorder:
        """The audit trail's recorder: the facades and, while the node or the sender runs, the
        bus feed it (a command that records nothing never builds it)."""
        from core.audit.recorder import AuditRecorder

        return AuditRecorder(self.sessions, lambda: self.settings)

    @_OnFirstUse
    def importer(self) -> Importer:
        """Files, folders, zips and DICOMDIRs into the index, through the intake."""
        from core.index.importer import Importer

        return Importer(self.intake, self.sessions)

    @_OnFirstUse
    def thumbnails(self) -> ThumbnailCache:
        """The thumbnail cache (made in a process pool)."""
        from core.imaging.thumbnails import ThumbnailCache

        return ThumbnailCache(self.settings.data_dir, self.sessions, self.store)

    @_OnFirstUse
    def _arrivals(self) -> ArrivalScheduler:
        # Thumbnails of arriving images are made once arrivals pause: a node receiving a
        # study is not slowed by them, and the Database tab has them when it shows the study.
        from core.imaging.thumbnails import ArrivalScheduler

        return ArrivalScheduler(self.thumbnails)

    @_OnFirstUse
    def node(self) -> DicomNode:
        """Our DICOM node (the SCP): ``start()`` runs it."""
        from core.node.server import DicomNode

        return DicomNode(self)

    @_OnFirstUse
    def sender(self) -> SendWorker:
        """The send queue's worker: ``start()`` runs it."""
        from core.transfers.sender import SendWorker

        return SendWorker(self)

    def built(self, service: str) -> bool:
        """Whether ``service`` (``node``, ``sender``, ``audit``, ``importer``...) exists yet:
        what a caller asks before reading one it need not build (the kiosk before its first
        frame shows the node's state only once there is a node)."""
        if not isinstance(vars(Core).get(service), _OnFirstUse):
            raise ValueError(f"{service!r} is not a service built on first use")
        return service in self.__dict__  # no lock: a thread building one would hold this one up

    def _build(self, services: Sequence[str]) -> None:
        """Build ``services`` (on a worker thread) so that their first use is quick."""
        for service in services:
            getattr(self, service)

    def _arrived(self, event: IndexChanged) -> None:
        """Thumbnails on arrival (a bus subscriber, on the intake thread): the scheduler and
        the cache are built on the first image stored."""
        if not event.stored:
            return
        with self._building:
            if self._closing:
                return
            arrivals = self._arrivals
        arrivals.index_changed(event)

    # -- lifecycle ------------------------------------------------------------------------------
    def readable_before_open(self) -> bool:
        """Whether ``stats``, ``list_rows`` and ``count`` can answer before ``open()`` without
        building the engine: the index is a SQLite file at the newest schema and no image a
        crash left waits in the store's ``incoming/`` (what ``open()`` would migrate or index
        first). The kiosk then opens the core after its first frame."""
        from core.db import light

        reader = light.open_reader(self.settings.db_url, self.settings.store_dir)
        if reader is None:
            return False
        reader.close()
        return True

    def open(self) -> None:
        """Migrate the schema to head, count the store's usage, index what a crash left."""
        from core.db.engine import upgrade

        upgrade(self.engine)
        if self.settings.audit_syslog_host:  # all that AuditRecorder.open does: forward
            self.audit.open()
        self.store.set_used_bytes(self.stats()["bytes"])
        self.writer.recover()
        self.intake.start()

    async def start(
        self, *, node: bool = True, sender: bool = True, send_only: Iterable[int] | None = None
    ) -> None:
        """Run the DICOM node and the send worker (``send_only``: just these transfers).

        A node that cannot listen (its port is taken) raises after the sender started, so a
        caller that can live without it (the kiosk) logs the error and goes on.
        """
        if self._running_since is None and (node or sender):
            self._running_since = _utcnow()
            self._unwatch_audit = self.audit.watch(self.events)
        wanted = [name for name, on in (("sender", sender), ("node", node)) if on]
        if wanted:  # built off the loop the first time (pynetdicom loads): the window is up
            await asyncio.to_thread(self._build, wanted)
        if sender:
            await self.sender.start(only=send_only)
        if node:
            await self.node.start()
            self._node_started = True

    async def stop(self) -> None:
        """Stop sending, then stop the node (in-flight associations finish, the index flushes)."""
        if self.built("sender"):  # by start(), or by a caller that used it
            await self.sender.stop()
        if self._node_started:
            self._node_started = False
            await self.node.stop()
        if self._running_since is not None:
            since, self._running_since = self._running_since, None
            # Transfers that finished as the node and the sender stopped, before the bus said so.
            await asyncio.to_thread(self.audit.sweep_transfers, since)
            self._unwatch_audit()
            self._unwatch_audit = lambda: None
            await asyncio.to_thread(self.audit.flush)

    def close(self) -> None:
        self._unsubscribe_thumbnails()
        with self._building:
            self._closing = True
            built = dict(self.__dict__)  # a service never built has nothing to close
        if "_arrivals" in built:
            built["_arrivals"].close()
        intake = built.get("intake")
        if intake is not None:
            if not intake.wait_idle(30.0):
                log.error("the index writer had images left after 30 s")
            if intake.is_alive():
                intake.stop()
        self._unwatch_audit()
        if "audit" in built:
            built["audit"].close()
        if "transfers" in built:
            built["transfers"].close()
        if "thumbnails" in built:
            built["thumbnails"].close()
        if "engine" in built:
            built["engine"].dispose()

    def __enter__(self) -> Core:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- reads ----------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """Patients, studies, series, instances and their bytes."""
        found = self._read_light(lambda reader: reader.stats())
        if found is not None:
            return found
        from core.db import queries

        with self.sessions() as session:
            return queries.stats(session)

    def list_rows(
        self,
        level: BrowseLevel,
        flt: StudyFilter,
        sort: str | None = None,
        descending: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        found = self._read_light(
            lambda reader: reader.list_rows(level, flt, sort, descending, limit, offset)
        )
        if found is not None:
            return found
        from core.db import queries

        with self.sessions() as session:
            return queries.list_rows(session, level, flt, sort, descending, limit, offset)

    def count(self, level: BrowseLevel, flt: StudyFilter) -> int:
        found = self._read_light(lambda reader: reader.count(level, flt))
        if found is not None:
            return found
        from core.db import queries

        with self.sessions() as session:
            return queries.count(session, level, flt)

    def _read_light(self, read: Callable[[LightReader], _T]) -> _T | None:
        """``read`` through ``core.db.light`` while the engine is not built and that module
        can answer for the index; None otherwise (the caller goes through the engine). A
        connection per call: the standard library's is for the thread that opened it, and
        callers read from worker threads."""
        if "engine" in self.__dict__:
            return None
        from core.db import light

        reader = light.open_reader(self.settings.db_url, self.settings.store_dir)
        if reader is None:
            return None
        with reader:
            return read(reader)

    # -- writes -----------------------------------------------------------------------------
    def export(
        self,
        targets: list[tuple[str, str]],
        folder: Path,
        fmt: str = "files",
        *,
        anonymize: bool = False,
        new_name: str = "",
        new_id: str = "",
        dates: DatesOption = "remove",
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ExportSummary:
        """Export ``(level, key)`` targets (the kiosk's selection) to ``folder`` (blocking);
        ``dates`` is what de-identification does with dates, as ``export --dates``."""
        from core.export.deidentify import DeidentifyOptions
        from core.export.exporter import ExportOptions, Selection

        keys: dict[str, list[str]] = {"patient": [], "study": [], "series": [], "instance": []}
        for level, key in targets:
            keys["instance" if level == "image" else level].append(key)
        selection = Selection(
            patients=tuple(keys["patient"]),
            studies=tuple(keys["study"]),
            series=tuple(keys["series"]),
            instances=tuple(keys["instance"]),
        )
        deidentify = (
            DeidentifyOptions(dates=dates, patient_name=new_name, patient_id=new_id)
            if anonymize
            else None
        )
        options = ExportOptions(folder, fmt, deidentify)  # type: ignore[arg-type]
        return self.export_selection(selection, options, progress, cancel)

    def export_selection(
        self,
        selection: Selection,
        options: ExportOptions,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> ExportSummary:
        """Export (core.export) and record it in the audit trail, de-identified or not."""
        from core.export.exporter import export_selection

        targets = [
            *(("patient", k) for k in selection.patients),
            *(("study", k) for k in selection.studies),
            *(("series", k) for k in selection.series),
            *(("instance", k) for k in selection.instances),
        ]
        found = self.audit.subjects_for_targets(targets)
        deidentified = options.deidentify is not None
        try:
            summary = export_selection(self, selection, options, progress, cancel)
        except Exception as exc:
            self.audit.exported(
                found, str(options.destination), options.format, exported=0, skipped=0,
                deidentified=deidentified, error=str(exc) or type(exc).__name__,
            )  # fmt: skip
            raise
        self.audit.exported(
            found,
            str(summary.destination),
            summary.format,
            exported=summary.exported,
            skipped=len(summary.skipped),
            deidentified=summary.deidentified,
            cancelled=summary.cancelled,
        )
        return summary

    def delete(self, level: Level, key: str) -> DeleteResult:
        """Delete rows and files, then the thumbnails of the deleted instances (audited)."""
        found = self.audit.subjects_for_targets([(level, key)])
        result = self.writer.delete(level, key)
        self.thumbnails.remove(result.sop_uids)
        self.audit.deleted(level, found, result.instances)
        return result

    def record_import(
        self, summary: ImportSummary, paths: Sequence[Path | str], *, since: datetime | None = None
    ) -> None:
        """Record an import (``importer.run``) in the audit trail: the paths, the studies and
        patients imported from them (``since``: only images indexed from then on)."""
        self.audit.imported(
            [str(p) for p in paths],
            imported=summary.imported,
            rejected=len(summary.rejected),
            stopped=summary.stopped or ("cancelled" if summary.cancelled else ""),
            since=since,
        )

    def record_viewed(self, sop_uids: Sequence[str]) -> None:
        """Record images loaded in the viewer (blocking: call off the GUI thread)."""
        self.audit.viewed(sop_uids)

    # -- querying remote nodes --------------------------------------------------------------------
    def qr_client(self, timeout: float = 30.0) -> QueryRetrieveClient:
        """A Query/Retrieve client as our AE title whose every C-FIND is in the audit trail."""
        from core.net.qr import QueryRetrieveClient

        return QueryRetrieveClient(self.settings.ae_title, timeout, on_query=self._record_query)

    def _record_query(self, remote: RemoteAE, identifier: bytes, matches: int, error: str) -> None:
        """The audit trail's Query event; ``identifier`` in Explicit VR Little Endian."""
        from core.net.query import StudyRootQueryRetrieveInformationModelFind

        self.audit.queried(
            remote.name,
            remote.ae_title,
            remote.host,
            StudyRootQueryRetrieveInformationModelFind,
            identifier,
            matches,
            error,
        )

    # -- sending ----------------------------------------------------------------------------------
    def destinations(self) -> list[str]:
        """Names of the registered remote nodes images can be sent to."""
        return [node.name for node in self.registry.list()]

    def send(
        self, targets: list[tuple[str, str]], destination: str, priority: str = "medium"
    ) -> int:
        """Queue ``(level, key)`` targets for ``destination``; return the transfer id (blocking).

        A running send worker (kiosk or ``serve``) sends it; unknown destinations and empty
        selections raise ``NotFoundError`` / ``KioskError`` with a sentence for the user.
        """
        from core.transfers.queue import enqueue

        return enqueue(self.sessions, self.transfers, targets, destination, priority)
