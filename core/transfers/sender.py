"""The send worker: takes transfers from the send queue and sends them, on the asyncio loop.

One ``SendWorker`` per hosting process (the kiosk, ``dicom-kiosk serve``, ``send --wait``).
It runs under plain asyncio and under qasync alike: scheduling happens on the loop, and every
blocking call (SQL, sockets, file reads) runs in threads.

* Up to ``settings.send_parallel`` transfers at once, at most one per destination, taken in
  queue order (priority, then first in first out) with an atomic claim, so two processes
  never send the same transfer.
* One association per transfer (more when its items need over 128 presentation contexts),
  reused for all its items; the C-STORE Priority carries the transfer's priority.
* A peer that cannot be reached (or an association lost midway) is retried with backoff up to
  ``settings.send_retries`` times; an image the peer refuses is recorded with its status and
  not retried.
* Abort and Delete stop a running transfer within a second: in this process the transfer log
  tells the worker at once; for other processes a watcher reads the transfer's status every
  200 ms. ``stop()`` aborts running associations and puts their transfers back to waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from pynetdicom.status import GENERAL_STATUS, STORAGE_SERVICE_CLASS_STATUS
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.errors import AssociationRejected, ConfigError, NetworkError
from core.events import ChangeBus, TransferEvent
from core.net.remote import RemoteAE
from core.net.status import Status
from core.net.storescu import (
    StoreAssociation,
    StoreItem,
    StoreResult,
    plan_associations,
)
from core.store.files import FileStore
from core.transfers.log import OUT_SENDING, TransferLog, _now
from core.transfers.queue import (
    HEARTBEAT_SECONDS,
    Claim,
    ItemResult,
    PendingItem,
    SendQueue,
    make_owner,
)


class SendServices(Protocol):
    """What the send worker takes from the core (``core.app.Core`` has them all)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def store(self) -> FileStore: ...

    @property
    def transfers(self) -> TransferLog: ...

    @property
    def events(self) -> ChangeBus: ...


log = logging.getLogger(__name__)

ASSOCIATION_TIMEOUT = 30.0  # seconds for connecting, negotiating and each response
POLL_SECONDS = 1.0  # the queue is read at least this often (other processes queue too)
WATCH_SECONDS = 0.2  # how often a running transfer's status is checked (Abort from elsewhere)
STOP_SECONDS = 5.0  # stop() waits this long for running sends to hand their transfers back
RECOVER_SECONDS = 30.0  # how often transfers abandoned by dead senders are looked for
FLUSH_ITEMS = 200  # item results are written when this many are waiting...
FLUSH_SECONDS = 0.25  # ...or at least this often

Outcome = Literal["done", "network", "cancelled", "error"]


@dataclass
class _Result:
    outcome: Outcome
    error: str = ""


class _Job:
    """One transfer being sent; ``abort`` may be called from any thread."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        self.reason: Literal["abort", "stop"] | None = None
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._assoc: StoreAssociation | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def attach(self, assoc: StoreAssociation) -> bool:
        with self._lock:
            if self._cancelled.is_set():
                return False
            self._assoc = assoc
            return True

    def detach(self) -> None:
        with self._lock:
            self._assoc = None

    def abort(self, reason: Literal["abort", "stop"]) -> None:
        with self._lock:
            if self._cancelled.is_set():
                return
            self.reason = reason
            self._cancelled.set()
            assoc = self._assoc
        if assoc is not None:
            # Aborting waits briefly for pynetdicom's threads: never on the caller's thread
            # (it may be the event loop).
            threading.Thread(target=assoc.abort, name="send-abort", daemon=True).start()


def explain(result: StoreResult) -> str:
    """The error text kept for an image: empty on success, else the status and its meaning."""
    if result.status == 0:
        return ""
    category, meaning = STORAGE_SERVICE_CLASS_STATUS.get(
        result.status, GENERAL_STATUS.get(result.status, ("", ""))
    )
    text = f"0x{result.status:04X}"
    if meaning:
        text += f" {meaning}"
    if result.ok:
        text = f"stored with warning {text}"
    elif category and "Failure" not in category:
        text = f"{category} {text}"
    if result.comment:
        text += f": {result.comment}"
    return text


class SendWorker:
    """Sends queued transfers; ``start``/``stop`` on the loop, ``pause``/``resume`` anywhere.

    ``only``: send just these transfers (``dicom-kiosk send --wait`` sends its own and leaves
    the rest of the queue to the kiosk or ``serve``).
    """

    def __init__(self, core: SendServices, *, only: Iterable[int] | None = None) -> None:
        self.core = core
        self._queue = SendQueue(core.sessions, core.transfers)
        self._only = set(only) if only is not None else None
        self._owner = make_owner()
        self._parallel = core.settings.send_parallel
        self._jobs: dict[int, _Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused = False
        self._running = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._remove_listener: object = None

    # -- control ----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def active(self) -> list[int]:
        """Ids of the transfers being sent now."""
        return sorted(self._jobs)

    async def start(self, *, only: Iterable[int] | None = None) -> None:
        """Resume transfers abandoned by a dead process, then send the queue (or ``only``)."""
        if self._running:
            return
        if only is not None:
            self._only = set(only)
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        recovered = await asyncio.to_thread(self._queue.recover)
        if recovered:
            log.info("resuming %d interrupted transfers", len(recovered))
        self._remove_listener = self.core.events.subscribe(TransferEvent, self._on_log_event)
        self._running = True
        self._scheduler = self._loop.create_task(self._schedule(), name="send-scheduler")

    async def stop(self) -> None:
        """Stop sending: running transfers are interrupted and wait for the next start."""
        if not self._running:
            return
        self._running = False
        remove = self._remove_listener
        if callable(remove):
            remove()
        if self._scheduler is not None:
            self._scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduler
        jobs = list(self._jobs.values())
        for job in jobs:
            job.abort("stop")
        tasks = set(self._tasks)
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=STOP_SECONDS)
        if pending:
            # Only a connection attempt cannot be interrupted: let its (daemon) thread time out
            # on its own and hand the transfers to the next start now.
            for job in jobs:
                if job.claim.transfer_id in self._jobs:
                    await asyncio.to_thread(self._queue.release, job.claim.transfer_id, self._owner)
                    log.warning(
                        "transfer %d: still connecting at the stop; it will resume",
                        job.claim.transfer_id,
                    )
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def pause(self) -> None:
        """Take no new transfers (those running go on)."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._poke()

    # -- scheduling -------------------------------------------------------------------------------
    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    def _on_log_event(self, event: TransferEvent) -> None:
        """From the transfer log, on whichever thread made the change."""
        if event.kind in ("aborted", "deleted"):
            job = self._jobs.get(event.transfer_id)
            if job is not None:
                job.abort("abort")
        elif event.kind == "queued":
            self._poke()

    async def _schedule(self) -> None:
        assert self._wake is not None
        next_recover = time.monotonic() + RECOVER_SECONDS
        while self._running:
            try:
                if not self._paused:
                    await self._fill()
                timeout = POLL_SECONDS
                due = await asyncio.to_thread(self._queue.next_due)
                if due is not None:
                    timeout = min(timeout, max(0.01, (due - _now()).total_seconds()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                self._wake.clear()
                if time.monotonic() >= next_recover:
                    next_recover = time.monotonic() + RECOVER_SECONDS
                    await asyncio.to_thread(self._queue.recover)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the send queue could not be read; trying again")
                await asyncio.sleep(POLL_SECONDS)

    async def _fill(self) -> None:
        while self._running and not self._paused and len(self._jobs) < self._parallel:
            busy = {job.claim.destination.name for job in self._jobs.values()}
            claim = await asyncio.to_thread(self._queue.claim_next, self._owner, busy, self._only)
            if claim is None or not self._running:
                if claim is not None:
                    await asyncio.to_thread(self._queue.release, claim.transfer_id, self._owner)
                return
            job = _Job(claim)
            self._jobs[claim.transfer_id] = job
            assert self._loop is not None
            task = self._loop.create_task(self._run(job), name=f"send-{claim.transfer_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, job: _Job) -> None:
        claim = job.claim
        log.info(
            "sending transfer %d to %s (attempt %d)",
            claim.transfer_id,
            claim.destination.name,
            claim.attempt,
        )
        watcher = asyncio.get_running_loop().create_task(self._watch(job))
        try:
            try:
                result = await _in_daemon_thread(f"send-{claim.transfer_id}", self._send, job)
            except Exception as exc:  # a bug: the transfer fails with the reason
                log.exception("transfer %d: the send failed", claim.transfer_id)
                result = _Result("error", str(exc))
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            try:
                await asyncio.to_thread(self._conclude, job, result)
            except Exception:
                log.exception("transfer %d: recording its end failed", claim.transfer_id)
        finally:
            self._jobs.pop(claim.transfer_id, None)
            self._poke()

    async def _watch(self, job: _Job) -> None:
        """Abort the association when the transfer is aborted or deleted from elsewhere."""
        transfer_id = job.claim.transfer_id
        next_beat = time.monotonic() + HEARTBEAT_SECONDS
        while not job.cancelled:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                found = await asyncio.to_thread(self._queue.status, transfer_id)
                if found is None or found != (OUT_SENDING, self._owner):
                    job.abort("abort")
                    return
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + HEARTBEAT_SECONDS
                    await asyncio.to_thread(self._queue.heartbeat, transfer_id, self._owner)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("transfer %d: cannot read its status", transfer_id, exc_info=True)

    def _conclude(self, job: _Job, result: _Result) -> None:
        claim, queue, owner = job.claim, self._queue, self._owner
        settings = self.core.settings
        if job.reason == "stop":
            queue.release(claim.transfer_id, owner)
            log.info("transfer %d interrupted by the stop; it will resume", claim.transfer_id)
        elif job.reason == "abort":
            log.info("transfer %d aborted", claim.transfer_id)
        elif result.outcome == "done":
            status = queue.finish(claim.transfer_id, owner)
            log.info("transfer %d %s", claim.transfer_id, status or "ended elsewhere")
        elif result.outcome == "network":
            status = queue.retry_or_fail(
                claim.transfer_id,
                owner,
                result.error,
                claim.attempt,
                settings.send_retries,
                settings.send_retry_delay,
            )
            log.warning("transfer %d: %s (%s)", claim.transfer_id, result.error, status)
        else:
            queue.fail(claim.transfer_id, owner, result.error or "failed")

    # -- the blocking part (a sender thread) ------------------------------------------------------
    def _send(self, job: _Job) -> _Result:
        claim = job.claim
        transfer_id = claim.transfer_id
        items = self._queue.pending_items(transfer_id, self.core.store.root)
        recorder = _Recorder(self._queue, transfer_id)
        try:
            return self._send_items(job, items, recorder)
        finally:
            recorder.close()  # every result is in the database before the transfer ends

    def _send_items(self, job: _Job, items: list[PendingItem], recorder: _Recorder) -> _Result:
        claim = job.claim
        ids: dict[str, int] = {}
        store_items: list[StoreItem] = []
        for item in items:
            if not item.path.is_file():
                recorder.add(
                    ItemResult(
                        item.id,
                        False,
                        Status.PROCESSING_FAILURE,
                        "the image is no longer in the store (deleted after it was queued?)",
                    )
                )
                continue
            ids[item.sop_uid] = item.id
            store_items.append(
                StoreItem(item.sop_class_uid, item.sop_uid, item.transfer_syntax, item.path)
            )
        destination = claim.destination
        remote = RemoteAE(
            destination.ae_title,
            destination.host,
            destination.port,
            destination.name,
            destination.tls,
        )
        calling = self.core.settings.ae_title
        try:
            for group in plan_associations(store_items) if store_items else []:
                if job.cancelled:
                    break
                assoc = StoreAssociation.open(remote, calling, group, timeout=ASSOCIATION_TIMEOUT)
                if not job.attach(assoc):
                    assoc.abort()
                    break
                try:
                    for store_item in group:
                        if job.cancelled:
                            break
                        answer = assoc.store(store_item, claim.priority)
                        recorder.add(
                            ItemResult(
                                ids[store_item.sop_instance_uid],
                                answer.ok,
                                answer.status,
                                explain(answer),
                            )
                        )
                except BaseException:
                    job.detach()
                    assoc.abort()
                    raise
                job.detach()
                if not job.cancelled:
                    assoc.release()
        except NetworkError as exc:
            if job.cancelled:
                return _Result("cancelled")
            if isinstance(exc, AssociationRejected) and exc.permanent:
                return _Result("error", f"{exc} (a permanent rejection: not retried)")
            return _Result("network", str(exc))
        except ConfigError as exc:  # the node's TLS files are missing or unusable
            return _Result("error", f"{exc} (fix the node's settings: not retried)")
        except Exception as exc:
            log.exception("transfer %d: unexpected error while sending", claim.transfer_id)
            return _Result("error", f"unexpected error while sending: {exc}")
        return _Result("cancelled" if job.cancelled else "done")


def _in_daemon_thread(
    name: str, function: Callable[[_Job], _Result], job: _Job
) -> Awaitable[_Result]:
    """Run ``function(job)`` in a daemon thread (a hung connection never holds up an exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_Result] = loop.create_future()

    def settle(outcome: _Result | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]

    def run() -> None:
        try:
            outcome = function(job)
        except BaseException as exc:  # handed to the awaiting task
            error: BaseException | None = exc
            outcome = None
        else:
            error = None
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


class _Recorder:
    """Writes item results in batches from its own thread, so sending never waits for SQL."""

    def __init__(self, queue: SendQueue, transfer_id: int) -> None:
        self._queue = queue
        self._transfer_id = transfer_id
        self._pending: list[ItemResult] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(
            target=self._run, name=f"send-record-{transfer_id}", daemon=True
        )
        self._thread.start()

    def add(self, result: ItemResult) -> None:
        with self._lock:
            self._pending.append(result)
            if len(self._pending) >= FLUSH_ITEMS:
                self._wake.set()

    def close(self) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            closing = self._closing
            with self._lock:
                batch, self._pending = self._pending, []
            if batch:
                try:
                    self._queue.record(self._transfer_id, batch)
                except Exception:
                    # The images went out; only their report is missing. A resend sends them
                    # again rather than losing any.
                    log.exception("transfer %d: recording results failed", self._transfer_id)
            if closing:
                return
