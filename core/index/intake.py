"""The one intake: every image, whatever its origin, is indexed by this one thread.

The node's associations, a C-GET retrieve (``core.index.received``) and imports
(``core.index.importer``) hand their images to ``Intake``; it calls ``IndexWriter.write_batch``
in small batches, flushed as soon as its queue is idle, so an image is queryable a few
milliseconds after its acknowledgement. Received images come with their ``Origin`` (an
association or a retrieve), whose incoming transfer log items commit in the batch's own
transaction; an import hands whole batches and waits for their outcomes (``write``).

It also checkpoints the node's intake journal (core.store.journal) while one is attached:
every ``_CHECKPOINT_EVERY`` s while images stream in, and when idle.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.db.models import IntakeState
from core.index.writer import IndexWriter, IngestItem, Outcome
from core.store.journal import JournalRecord
from core.transfers.log import ITEM_DUPLICATE, ITEM_STORED, ItemRecord, TransferLog

log = logging.getLogger(__name__)

_BATCH_MAX = 256
_IDLE_GAP = 0.03  # s without a new image: flush now
_MAX_LINGER = 0.1  # s: flush at least this often while images stream in
_CHECKPOINT_IDLE = 0.5  # s without images: sync and empty the intake journal
_CHECKPOINT_EVERY = 5.0  # s: at least this often while images stream in


class MemoryBudget:
    """The one budget of received bytes held in memory (setting ``receive_memory_bytes``).

    A data set being received takes from it as its fragments arrive (core.node.incoming);
    an image handed to the intake in memory keeps its share until the writer has written it.
    What the budget refuses goes to disk instead, so memory never grows with what peers send.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Reserve ``size`` bytes; False (and nothing reserved) if the budget is spent."""
        with self._lock:
            if self.used + size > self.limit:
                return False
            self.used += size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self.used = max(0, self.used - size)


class JournalMark:
    """The intake journal's high-water mark: every record numbered up to ``low`` is handled
    (indexed, a duplicate, or left in ``incoming/`` for the recovery). Kept in the index
    (``IntakeState``), committed with the batch that moves it, so a replay after a crash
    skips those records."""

    def __init__(self) -> None:
        self.low = 0
        self._done: set[int] = set()  # handled records above ``low``

    def preview(self, seqs: Sequence[int]) -> int:
        """The mark once ``seqs`` are handled too."""
        done = self._done.union(seqs)
        low = self.low
        while low + 1 in done:
            low += 1
        return low

    def adopt(self, seqs: Sequence[int], low: int) -> None:
        self.low = max(self.low, low)
        self._done = {seq for seq in self._done.union(seqs) if seq > self.low}

    def reset(self, low: int) -> None:
        self.low, self._done = low, set()


def read_mark(session: Session) -> int:
    state = session.get(IntakeState, 1)
    return int(state.journal_seq) if state is not None else 0


def write_mark(session: Session, low: int) -> None:
    session.merge(IntakeState(id=1, journal_seq=low))


@dataclass(slots=True, eq=False)
class Origin:
    """Where images come from: one association of the node, or one C-GET retrieve.

    ``transfer_id`` is its incoming transfer (made on its first image when still None);
    ``stored`` counts acknowledged images, ``indexed`` and ``duplicates`` what the index made
    of them; ``done`` is set once its ``end`` was handled.
    """

    key: int
    ae_title: str
    peer: str
    node_name: str = ""
    transfer_id: int | None = None
    stored: int = 0
    indexed: int = 0
    duplicates: int = 0
    on_indexed: Callable[[int], None] | None = None
    done: threading.Event = field(default_factory=threading.Event)


_IMPORT = Origin(0, "import", "")  # the origin of import batches (``Intake.write``)


_Msg = tuple[str, "Origin", Any]


class Intake(threading.Thread):
    """The one thread that writes the index: every image, whatever its origin, enters here."""

    def __init__(
        self,
        writer: IndexWriter,
        sessions: sessionmaker[Session],
        transfers: TransferLog,
        budget: MemoryBudget | None = None,
    ) -> None:
        super().__init__(name="index-intake", daemon=True)
        self.writer = writer
        self.files = writer.store
        self.sessions = sessions
        self.transfers = transfers
        self.queue: queue.Queue[_Msg | None] = queue.Queue()
        self.idle = threading.Event()
        self.idle.set()
        self.pending = 0
        # bytes of queued images that have no file yet are held in the budget
        self.budget = budget if budget is not None else MemoryBudget(256 << 20)
        self.mark = JournalMark()
        self._lock = threading.Lock()

    # -- what producers call (any thread) ----------------------------------------------------
    def store(self, origin: Origin, item: IngestItem, record: JournalRecord | None = None) -> None:
        """Index a durable, acknowledged image of ``origin`` (its journal record, if any)."""
        self.put("store", origin, (item, record))

    def fail(self, origin: Origin, record: ItemRecord) -> None:
        """Log an image of ``origin`` that was refused, in its incoming transfer."""
        self.put("failed", origin, record)

    def end(self, origin: Origin, error: str = "") -> None:
        """``origin`` sends no more: finish its transfer (failed when ``error``)."""
        self.put("end", origin, error)

    def write(self, items: Sequence[IngestItem]) -> list[Outcome]:
        """Index ``items`` (an import's batch) on the intake thread; wait for the outcomes."""
        if not self.is_alive() or threading.current_thread() is self:
            return self.writer.write_batch(items)
        future: concurrent.futures.Future[list[Outcome]] = concurrent.futures.Future()
        self.put("write", _IMPORT, (list(items), future))
        return future.result()

    def put(self, kind: str, origin: Origin, payload: Any = None) -> None:
        with self._lock:
            self.pending += 1
            self.idle.clear()
        self.queue.put((kind, origin, payload))

    def load_mark(self) -> int:
        """The journal's high-water mark as the index has it (before a replay)."""
        with self.sessions() as session:
            self.mark.reset(read_mark(session))
        return self.mark.low

    def set_mark(self, low: int) -> None:
        """Every journal record up to ``low`` is handled (after a replay)."""
        with self.sessions.begin() as session:
            write_mark(session, low)
        self.mark.reset(low)

    def hold(self, size: int) -> bool:
        """Reserve room for ``size`` bytes of an image handed over in memory; False if full.

        The share is given back once the writer has written the image (``_flush``); a
        received data set that already holds its share (core.node.incoming) skips this."""
        return self.budget.take(size)

    def stop(self, timeout: float = 30.0) -> None:
        self.queue.put(None)
        self.join(timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self.idle.wait(timeout)

    def _checkpoint(self) -> None:
        journal = self.files.journal
        if journal is not None and journal.needs_checkpoint:
            try:
                journal.checkpoint(lambda: self.files.sync(force=True))
            except OSError:
                log.exception("intake journal checkpoint failed")
        self._last_checkpoint = time.monotonic()

    def run(self) -> None:
        stopping = False
        self._last_checkpoint = time.monotonic()
        while not stopping:
            journal = self.files.journal
            try:
                # An idle writer makes the indexed images' files durable and empties the
                # journal; while images stream in, it does so every _CHECKPOINT_EVERY s.
                idle = (
                    _CHECKPOINT_IDLE if journal is not None and journal.needs_checkpoint else None
                )
                first = self.queue.get(timeout=idle)
            except queue.Empty:
                self._checkpoint()
                continue
            batch: list[_Msg] = []
            if first is None:
                stopping = True
            else:
                batch.append(first)
            # Gather while images keep arriving: flush when the queue has been idle for
            # _IDLE_GAP, after _MAX_LINGER, or at _BATCH_MAX. One commit per image would cost
            # ~10 ms of CPU each; batches of dozens cost under 1 ms per image.
            deadline = time.monotonic() + _MAX_LINGER
            while len(batch) < _BATCH_MAX and not stopping:
                wait = min(_IDLE_GAP, deadline - time.monotonic())
                if wait <= 0:
                    break
                try:
                    msg = self.queue.get(timeout=wait)
                except queue.Empty:
                    break
                if msg is None:
                    stopping = True
                    break
                batch.append(msg)
            if journal is not None and not journal.durable:
                try:  # the batch's images, and any since, are on disk from here on
                    journal.sync_pending()
                except OSError:
                    log.exception("intake journal sync failed")
            if batch:
                try:
                    self._process(batch)
                except Exception:
                    log.exception("indexing a batch of %d messages failed", len(batch))
            if time.monotonic() - self._last_checkpoint > _CHECKPOINT_EVERY:
                self._checkpoint()
            with self._lock:
                self.pending -= len(batch)
                if self.pending <= 0:
                    self.idle.set()

    def _process(self, batch: Sequence[_Msg]) -> None:
        # Keep order: images before the "end" of their origin, and before a later import batch.
        run: list[_Msg] = []
        for kind, origin, payload in batch:
            if kind == "end":
                self._flush(run)
                run = []
                self._end(origin, payload)
            elif kind == "write":
                self._flush(run)
                run = []
                items, future = payload
                try:
                    future.set_result(self.writer.write_batch(items))
                except Exception as exc:
                    future.set_exception(exc)
            else:
                run.append((kind, origin, payload))
        self._flush(run)

    def _transfer(self, assoc: Origin) -> int:
        if assoc.transfer_id is None:
            assoc.transfer_id = self.transfers.start_incoming(
                assoc.ae_title, assoc.peer, assoc.node_name
            )
        return assoc.transfer_id

    def _flush(self, run: Sequence[_Msg]) -> None:
        held = sum(m[2][0].size for m in run if m[0] == "store" and m[2][0].data is not None)
        try:
            self._index(run)
        finally:  # indexed, or left to the journal's replay at the next start
            if held:
                self.budget.give(held)

    def _index(self, run: Sequence[_Msg]) -> None:
        if not run:
            return
        stored = [(m[1], m[2][0], m[2][1]) for m in run if m[0] == "store"]
        items = [item for _assoc, item, _record in stored]
        unindexed: set[int] = set()  # positions of images left for the recovery at next start
        failed = [(m[1], m[2]) for m in run if m[0] == "failed"]
        # Every association's transfer row exists before the batch's transaction begins: it
        # is created in a transaction of its own, which must not wait behind the batch's.
        senders = [assoc for assoc, _item, _record in stored] + [assoc for assoc, _ in failed]
        ids = {assoc.key: self._transfer(assoc) for assoc in senders}

        def add_items(session: Session, outcomes: Sequence[Outcome]) -> None:
            records: dict[int, list[ItemRecord]] = {}
            for (assoc, item, _record), outcome in zip(stored, outcomes, strict=True):
                h = item.header
                status = ITEM_DUPLICATE if outcome == Outcome.DUPLICATE else ITEM_STORED
                records.setdefault(assoc.key, []).append(
                    ItemRecord(
                        h.sop_uid, h.series_uid, h.study_uid, h.patient_name, status, 0, item.size
                    )
                )
            for assoc, record in failed:
                records.setdefault(assoc.key, []).append(record)
            for key, recs in records.items():
                self.transfers.add_items(session, ids[key], recs)
            seqs = [
                record.seq
                for position, (_assoc, item, record) in enumerate(stored)
                if record is not None and not (item.data is not None and position in unindexed)
            ]
            if any(record is not None and item.data is None for _a, item, record in stored):
                # journaled images written to incoming/ without a sync (the writer syncs
                # those it wrote from their bytes): on disk before their rows and the mark
                self.files.sync()
            low = self.mark.preview(seqs)
            if low > self.mark.low:
                write_mark(session, low)  # commits with the rows of these images
            marked[:] = [(seqs, low)]

        marked: list[tuple[list[int], int]] = []

        def sync(_session: Session, _outcomes: Sequence[Outcome]) -> None:
            self.files.sync()  # a journaled image's file before its row (see add_items)

        outcomes: list[Outcome] = []
        if items:
            try:
                # The transfer log items commit with the index rows: one transaction a batch.
                outcomes = self.writer.write_batch(items, record=add_items)
            except Exception:
                log.exception("index batch failed; retrying image by image")
                outcomes = []
                for position, item in enumerate(items):
                    try:
                        outcomes += self.writer.write_batch(
                            [item], record=sync if stored[position][2] is not None else None
                        )
                    except Exception as exc:
                        # Its file stays in incoming/, or its journal record stays valid.
                        log.error("cannot index image %s: %s", item.header.sop_uid, exc)
                        outcomes.append(Outcome.DUPLICATE)
                        unindexed.add(position)
                with self.sessions.begin() as session:
                    add_items(session, outcomes)
        else:
            with self.sessions.begin() as session:
                add_items(session, [])
        for seqs, low in marked:
            self.mark.adopt(seqs, low)
        journal = self.files.journal
        journaled = [
            record
            for position, (_assoc, item, record) in enumerate(stored)
            if record is not None and not (item.data is not None and position in unindexed)
        ]
        if journal is not None and journaled:
            journal.committed(journaled)
        counted: dict[int, tuple[Origin, int]] = {}
        for (origin, _item, _record), outcome in zip(stored, outcomes, strict=True):
            new = outcome in (Outcome.STORED, Outcome.REPLACED)
            origin.indexed += new
            origin.duplicates += not new
            counted[origin.key] = (origin, counted.get(origin.key, (origin, 0))[1] + 1)
        for origin, count in counted.values():
            if origin.on_indexed is not None:
                origin.on_indexed(count)

    def _end(self, origin: Origin, error: str) -> None:
        try:
            if origin.transfer_id is not None:
                self.transfers.finish(origin.transfer_id, error)
        finally:
            origin.done.set()
