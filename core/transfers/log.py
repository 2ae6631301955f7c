"""The transfer log: one ``transfer`` per association (incoming) or send job (outgoing).

Incoming: one transfer per association that stores images; status receiving -> received, or
failed (with the error text) when the association was aborted or images were refused.

Outgoing (the send queue, see ``core.transfers.queue`` and ``core.transfers.sender``):
waiting -> sending -> sent | aborted | failed. The operations follow the manual's Transfer Log:

* Resend: only outgoing transfers that are sent, aborted or failed; back to waiting for the
  same destination. Failed and unsent images are sent again; a transfer whose images were all
  sent is sent again in full.
* Abort: only outgoing transfers that are waiting or sending; a sender working on it (in this
  process or another one: it watches the status in the database) aborts its association.
* Delete: removes the transfer and its items; a transfer being sent is stopped first. An
  incoming transfer still receiving cannot be deleted (the node is still writing to it).
* Clear: outgoing removes every sent transfer; incoming removes every received one.

Refusals raise ``TransferStateError`` with a sentence for the user.

Changes are published to subscribers, coalesced (at most ten calls a second): every write here
stamps ``updated_at``, and a watcher thread reads the transfers changed in the last seconds, so
changes made by other processes (``dicom-kiosk serve``, the CLI) are seen too.
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, NotRequired, TypedDict, cast

from sqlalchemy import (
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import UID_LEN, Instance, Series, Study, Transfer, TransferItem
from core.errors import KioskError, NotFoundError, TransferStateError
from core.events import ChangeBus, LocalBus, TransferEvent, TransfersChanged

log = logging.getLogger(__name__)

Direction = Literal["in", "out"]
IN_RECEIVING, IN_RECEIVED, FAILED = "receiving", "received", "failed"
OUT_WAITING, OUT_SENDING, OUT_SENT, OUT_ABORTED = "waiting", "sending", "sent", "aborted"
ITEM_STORED, ITEM_DUPLICATE, ITEM_FAILED = "stored", "duplicate", "failed"
ITEM_PENDING, ITEM_SENT = "pending", "sent"
DELETED = "deleted"  # only in change events: the transfer no longer exists

RESENDABLE = (OUT_SENT, OUT_ABORTED, FAILED)
ABORTABLE = (OUT_WAITING, OUT_SENDING)
FINAL_OUT = (OUT_SENT, OUT_ABORTED, FAILED)
_DONE_ITEMS = (ITEM_SENT, ITEM_STORED, ITEM_DUPLICATE)

# DICOM C-STORE Priority (0000,0700): 0 MEDIUM, 1 HIGH, 2 LOW.
PRIORITIES: dict[str, int] = {"medium": 0, "high": 1, "low": 2}
PRIORITY_NAMES: dict[int, str] = {value: name for name, value in PRIORITIES.items()}

# Change events (``core.events.TransferEvent``): "queued" (a transfer became waiting),
# "aborted", "deleted".


class TransferRow(TypedDict):
    """One transfer as the log lists it (``list``, ``get``, ``TransfersChanged.rows``)."""

    id: int
    direction: str  # "out" or "in"; "" for a deleted transfer
    status: str
    node: str
    ae_title: str
    peer: str
    priority: str  # "low", "medium", "high" for outgoing transfers; "" for incoming ones
    created: str | None  # ISO 8601 UTC times
    started: str | None
    finished: str | None
    images: int
    bytes: int
    done: int
    failed: int
    error: str
    description: str
    attempts: int


class LevelRow(TypedDict):
    """One study, series or image of a transfer (``levels``)."""

    level: str  # "study", "series" or "image"
    uid: str
    label: str
    total: int
    done: int
    failed: int
    status: str
    error: str
    status_code: NotRequired[int]  # images only: the DICOM status the peer answered


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class ItemRecord:
    """One image of an incoming transfer, as the receiver saw it."""

    sop_uid: str
    series_uid: str
    study_uid: str
    patient_name: str
    status: str
    status_code: int
    size: int
    error: str = ""


_TRANSFER = cast(Table, Transfer.__table__)
_INSERT_ITEM = insert(cast(Table, TransferItem.__table__))
# Built once: the engine caches its compiled form for every batch of received images.
_ADD_TO_TOTALS = (
    update(_TRANSFER)
    .where(_TRANSFER.c.id == bindparam("b_id"))
    .values(
        total_images=_TRANSFER.c.total_images + bindparam("b_images"),
        total_bytes=_TRANSFER.c.total_bytes + bindparam("b_bytes"),
        done_images=_TRANSFER.c.done_images + bindparam("b_done"),
        failed_images=_TRANSFER.c.failed_images + bindparam("b_failed"),
        updated_at=bindparam("b_now"),
    )
)


def recount(session: Session, transfer_id: int) -> None:
    """Set a transfer's done/failed counters from its items (inside the caller's transaction)."""
    done = (
        select(func.count(TransferItem.id))
        .where(TransferItem.transfer_pk == transfer_id, TransferItem.status.in_(_DONE_ITEMS))
        .scalar_subquery()
    )
    failed = (
        select(func.count(TransferItem.id))
        .where(TransferItem.transfer_pk == transfer_id, TransferItem.status == ITEM_FAILED)
        .scalar_subquery()
    )
    session.execute(
        update(Transfer)
        .where(Transfer.id == transfer_id)
        .values(done_images=done, failed_images=failed, updated_at=_now())
    )


class TransferLog:
    """Writes and reads the transfer tables (short sessions; call off the GUI thread)."""

    def __init__(self, sessions: sessionmaker[Session], events: ChangeBus | None = None) -> None:
        """Changes go out on ``events``: ``TransferEvent`` at once, ``TransfersChanged``
        (coalesced, and including other processes' changes) while someone subscribes."""
        self._sessions = sessions
        self.events = events if events is not None else LocalBus()
        self._feed = _ChangeFeed(sessions, self.events)

    # -- incoming -------------------------------------------------------------------------------
    def start_incoming(self, ae_title: str, peer: str, node_name: str = "") -> int:
        with self._sessions.begin() as session:
            now = _now()
            row = Transfer(
                direction="in",
                status=IN_RECEIVING,
                node_name=node_name,
                ae_title=ae_title[:16],
                peer_address=peer,
                priority=0,
                created_at=now,
                started_at=now,
                total_images=0,
                total_bytes=0,
                done_images=0,
                failed_images=0,
                error="",
                description="",
                attempts=0,
                owner="",
                updated_at=now,
            )
            session.add(row)
            session.flush()
            transfer_id = row.id
        self._feed.poke()
        return transfer_id

    def add_items(self, session: Session, transfer_id: int, items: Sequence[ItemRecord]) -> None:
        """Record items inside the caller's transaction and bump the transfer's totals."""
        if not items:
            return
        conn = session.connection()
        conn.execute(  # one executemany on the Core table: no ORM work per item
            _INSERT_ITEM,
            [
                {
                    "transfer_pk": transfer_id,
                    "sop_uid": i.sop_uid[:UID_LEN],
                    "series_uid": i.series_uid[:UID_LEN],
                    "study_uid": i.study_uid[:UID_LEN],
                    "patient_name": i.patient_name,
                    "status": i.status,
                    "status_code": i.status_code,
                    "size": i.size,
                    "error": i.error,
                }
                for i in items
            ],
        )
        failed = sum(i.status == ITEM_FAILED for i in items)
        conn.execute(
            _ADD_TO_TOTALS,
            {
                "b_id": transfer_id,
                "b_images": len(items),
                "b_bytes": sum(i.size for i in items),
                "b_done": len(items) - failed,
                "b_failed": failed,
                "b_now": _now(),
            },
        )
        self._feed.poke()

    def record_items(self, transfer_id: int, items: Sequence[ItemRecord]) -> None:
        """``add_items`` in a transaction of its own."""
        with self._sessions.begin() as session:
            self.add_items(session, transfer_id, items)

    def finish(self, transfer_id: int, error: str = "") -> None:
        with self._sessions.begin() as session:
            row = session.get(Transfer, transfer_id)
            if row is None:
                return
            row.finished_at = row.updated_at = _now()
            if error:
                row.error = error
            row.status = FAILED if (error or row.failed_images) else IN_RECEIVED
            if row.failed_images and not row.error:
                row.error = (
                    f"{row.failed_images} image{'s' if row.failed_images != 1 else ''} refused"
                )
        self._feed.poke()

    def received_since(self, since: datetime) -> int:
        """Images stored by incoming transfers started at or after ``since`` (naive UTC)."""
        with self._sessions() as session:
            total = session.scalar(
                select(func.coalesce(func.sum(Transfer.done_images), 0)).where(
                    Transfer.direction == "in", Transfer.started_at >= since
                )
            )
        return int(total or 0)

    def fail_unfinished(self) -> int:
        """Mark incoming transfers left 'receiving' by an interrupted run as failed."""
        with self._sessions.begin() as session:
            now = _now()
            result = session.execute(
                update(Transfer)
                .where(Transfer.direction == "in", Transfer.status == IN_RECEIVING)
                .values(
                    status=FAILED,
                    error="interrupted: the node stopped",
                    finished_at=now,
                    updated_at=now,
                )
            )
            count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            self._feed.poke()
        return count

    # -- reading ----------------------------------------------------------------------------------
    def list(
        self, direction: Direction | None = None, limit: int = 100, offset: int = 0
    ) -> builtins.list[TransferRow]:
        """Transfers, newest first."""
        with self._sessions() as session:
            query = select(Transfer).order_by(Transfer.id.desc()).limit(limit).offset(offset)
            if direction:
                query = query.where(Transfer.direction == direction)
            return [transfer_json(t) for t in session.scalars(query)]

    def count(self, direction: Direction | None = None, status: str | None = None) -> int:
        """How many transfers (of one direction, with one status) the log holds."""
        with self._sessions() as session:
            query = select(func.count(Transfer.id))
            if direction:
                query = query.where(Transfer.direction == direction)
            if status:
                query = query.where(Transfer.status == status)
            return int(session.scalar(query) or 0)

    def get(self, transfer_id: int) -> TransferRow:
        with self._sessions() as session:
            return transfer_json(self._row(session, transfer_id))

    def levels(
        self, transfer_id: int, study_uid: str | None = None, series_uid: str | None = None
    ) -> builtins.list[LevelRow]:
        """Drill-down rows: studies; with ``study_uid`` its series; with both, its images."""
        with self._sessions() as session:
            transfer = self._row(session, transfer_id)
            if study_uid is None:
                return _study_rows(session, transfer)
            if series_uid is None:
                return _series_rows(session, transfer, study_uid)
            return _image_rows(session, transfer, study_uid, series_uid)

    def drill_down(self, transfer_id: int) -> builtins.list[dict[str, Any]]:
        """Items grouped by study and series with counts: [{study, series: [{...}]}]."""
        with self._sessions() as session:
            rows = session.execute(
                select(
                    TransferItem.study_uid,
                    TransferItem.series_uid,
                    func.count(TransferItem.id),
                    func.sum(TransferItem.size),
                    func.min(TransferItem.patient_name),
                )
                .where(TransferItem.transfer_pk == transfer_id)
                .group_by(TransferItem.study_uid, TransferItem.series_uid)
                .order_by(TransferItem.study_uid, TransferItem.series_uid)
            ).all()
        studies: dict[str, dict[str, Any]] = {}
        for study_uid, series_uid, count, size, name in rows:
            study = studies.setdefault(
                study_uid,
                {"study_uid": study_uid, "patient_name": name, "images": 0, "series": []},
            )
            study["images"] += count
            study["series"].append(
                {"series_uid": series_uid, "images": count, "bytes": int(size or 0)}
            )
        return builtins.list(studies.values())

    # -- operations (the Transfer Log's buttons) ---------------------------------------------
    def resend(self, transfer_id: int) -> None:
        """Queue a sent, aborted or failed outgoing transfer again for the same destination."""
        with self._sessions.begin() as session:
            row = self._row(session, transfer_id)
            self._require_outgoing(row, "resent")
            if row.status not in RESENDABLE:
                raise TransferStateError(
                    f"Transfer {transfer_id} is {row.status}: only sent, aborted or failed"
                    " transfers can be resent."
                )
            unsent = session.scalar(
                select(func.count(TransferItem.id)).where(
                    TransferItem.transfer_pk == transfer_id, TransferItem.status != ITEM_SENT
                )
            )
            items = update(TransferItem).where(TransferItem.transfer_pk == transfer_id)
            if unsent:  # send what did not arrive; otherwise everything again
                items = items.where(TransferItem.status != ITEM_SENT)
            session.execute(items.values(status=ITEM_PENDING, status_code=0, error=""))
            claimed = session.execute(
                update(Transfer)
                .where(Transfer.id == transfer_id, Transfer.status.in_(RESENDABLE))
                .values(
                    status=OUT_WAITING,
                    attempts=0,
                    next_attempt_at=None,
                    started_at=None,
                    finished_at=None,
                    owner="",
                    error="",
                )
            )
            if not getattr(claimed, "rowcount", 0):  # changed since we read it: roll back
                raise TransferStateError(f"Transfer {transfer_id} changed meanwhile; try again.")
            recount(session, transfer_id)
        self._notify("queued", transfer_id)

    def abort(self, transfer_id: int) -> None:
        """Abort a waiting or sending outgoing transfer (a running send stops within a second)."""
        with self._sessions.begin() as session:
            row = self._row(session, transfer_id)
            self._require_outgoing(row, "aborted")
            now = _now()
            result = session.execute(
                update(Transfer)
                .where(Transfer.id == transfer_id, Transfer.status.in_(ABORTABLE))
                .values(
                    status=OUT_ABORTED,
                    finished_at=now,
                    next_attempt_at=None,
                    error="aborted by the user",
                    updated_at=now,
                )
            )
            if not getattr(result, "rowcount", 0):
                session.refresh(row)
                raise TransferStateError(
                    f"Transfer {transfer_id} is {row.status}: only waiting or sending transfers"
                    " can be aborted."
                )
        self._notify("aborted", transfer_id)

    def delete(self, transfer_id: int) -> None:
        """Remove a transfer and its items; a transfer being sent is stopped first."""
        with self._sessions.begin() as session:
            row = self._row(session, transfer_id)
            if row.direction == "in" and row.status == IN_RECEIVING:
                raise TransferStateError(
                    f"Transfer {transfer_id} is still receiving: it can be deleted when the"
                    " sending node has finished."
                )
            session.execute(delete(TransferItem).where(TransferItem.transfer_pk == transfer_id))
            session.execute(delete(Transfer).where(Transfer.id == transfer_id))
        # A sender working on it sees the row gone (other processes) or is told now.
        self._notify("deleted", transfer_id)

    def clear(self, direction: Direction) -> int:
        """Remove every sent (outgoing) or received (incoming) transfer; return how many."""
        if direction not in ("in", "out"):
            raise KioskError(f"direction must be 'in' or 'out', not {direction!r}")
        status = OUT_SENT if direction == "out" else IN_RECEIVED
        with self._sessions.begin() as session:
            ids = builtins.list(
                session.scalars(
                    select(Transfer.id).where(
                        Transfer.direction == direction, Transfer.status == status
                    )
                )
            )
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                session.execute(delete(TransferItem).where(TransferItem.transfer_pk.in_(chunk)))
                session.execute(delete(Transfer).where(Transfer.id.in_(chunk)))
        self._feed.poke(deleted=ids)
        return len(ids)

    # -- change events ------------------------------------------------------------------------
    def changed(self, event: str | None = None, transfer_id: int | None = None) -> None:
        """Tell subscribers and listeners that a transfer changed (used by the send queue)."""
        if event is not None and transfer_id is not None:
            self._notify(event, transfer_id)
        else:
            self._feed.poke()

    def close(self) -> None:
        """Stop the change watcher (subscribers are dropped)."""
        self._feed.close()

    # -- internals ---------------------------------------------------------------------------
    def _notify(self, event: str, transfer_id: int) -> None:
        self._feed.poke(deleted=[transfer_id] if event == "deleted" else ())
        self.events.publish(TransferEvent(event, transfer_id))

    @staticmethod
    def _row(session: Session, transfer_id: int) -> Transfer:
        row = session.get(Transfer, transfer_id)
        if row is None:
            raise NotFoundError(f"Transfer {transfer_id} does not exist (deleted or cleared?).")
        return row

    @staticmethod
    def _require_outgoing(row: Transfer, verb: str) -> None:
        if row.direction != "out":
            raise TransferStateError(
                f"Transfer {row.id} is incoming: only outgoing transfers can be {verb}."
            )


# -- JSON shapes ----------------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def priority_name(transfer: Transfer) -> str:
    if transfer.direction != "out":
        return ""
    return PRIORITY_NAMES.get(transfer.priority, "medium")


def transfer_json(t: Transfer) -> TransferRow:
    return {
        "id": t.id,
        "direction": t.direction,
        "status": t.status,
        "node": t.node_name,
        "ae_title": t.ae_title,
        "peer": t.peer_address,
        "priority": priority_name(t),
        "created": _iso(t.created_at),
        "started": _iso(t.started_at),
        "finished": _iso(t.finished_at),
        "images": t.total_images,
        "bytes": t.total_bytes,
        "done": t.done_images,
        "failed": t.failed_images,
        "error": t.error,
        "description": t.description,
        "attempts": t.attempts,
    }


def _deleted_json(transfer_id: int) -> TransferRow:
    return {
        "id": transfer_id,
        "direction": "",
        "status": DELETED,
        "node": "",
        "ae_title": "",
        "peer": "",
        "priority": "",
        "created": None,
        "started": None,
        "finished": None,
        "images": 0,
        "bytes": 0,
        "done": 0,
        "failed": 0,
        "error": "",
        "description": "",
        "attempts": 0,
    }


# -- drill-down -----------------------------------------------------------------------------------
def _counts() -> tuple[Any, Any, Any]:
    done = func.sum(case((TransferItem.status.in_(_DONE_ITEMS), 1), else_=0))
    failed = func.sum(case((TransferItem.status == ITEM_FAILED, 1), else_=0))
    return func.count(TransferItem.id), done, failed


def _aggregate_status(transfer: Transfer, total: int, done: int, failed: int) -> str:
    if failed:
        return FAILED
    if total and done == total:
        return OUT_SENT if transfer.direction == "out" else IN_RECEIVED
    return transfer.status


def _first_errors(
    session: Session, transfer_id: int, column: Any, keys: Iterable[str], **where: str
) -> dict[str, str]:
    """The first failed item's error text per ``column`` value."""
    wanted = builtins.list(keys)
    if not wanted:
        return {}
    query = (
        select(column, TransferItem.error)
        .where(
            TransferItem.transfer_pk == transfer_id,
            TransferItem.status == ITEM_FAILED,
            column.in_(wanted),
            *(getattr(TransferItem, k) == v for k, v in where.items()),
        )
        .order_by(TransferItem.id)
    )
    errors: dict[str, str] = {}
    for key, error in session.execute(query):
        errors.setdefault(key, error or "failed")
    return errors


def _date(text: str) -> str:
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else text


def _study_rows(session: Session, transfer: Transfer) -> builtins.list[LevelRow]:
    total, done, failed = _counts()
    query = (
        select(
            TransferItem.study_uid,
            func.min(TransferItem.patient_name),
            func.min(TransferItem.id),
            total,
            done,
            failed,
            func.max(Study.study_description),
            func.max(Study.study_date),
        )
        .outerjoin(Study, Study.study_uid == TransferItem.study_uid)
        .where(TransferItem.transfer_pk == transfer.id)
        .group_by(TransferItem.study_uid)
        .order_by(func.min(TransferItem.id))
    )
    rows = session.execute(query).all()
    errors = _first_errors(
        session, transfer.id, TransferItem.study_uid, (r[0] for r in rows if r[5])
    )
    result = []
    for uid, name, _first, n, ok, bad, description, date in rows:
        detail = description or _date(date or "")
        label = " - ".join(part for part in (name or "", detail or "") if part) or uid
        result.append(_row("study", uid, label, transfer, n, ok, bad, errors.get(uid, "")))
    return result


def _series_rows(session: Session, transfer: Transfer, study_uid: str) -> builtins.list[LevelRow]:
    total, done, failed = _counts()
    query = (
        select(
            TransferItem.series_uid,
            total,
            done,
            failed,
            func.max(Series.modality),
            func.max(Series.series_description),
            func.max(Series.series_number),
        )
        .outerjoin(Series, Series.series_uid == TransferItem.series_uid)
        .where(TransferItem.transfer_pk == transfer.id, TransferItem.study_uid == study_uid)
        .group_by(TransferItem.series_uid)
        .order_by(func.max(Series.series_number), func.min(TransferItem.id))
    )
    rows = session.execute(query).all()
    errors = _first_errors(
        session,
        transfer.id,
        TransferItem.series_uid,
        (r[0] for r in rows if r[3]),
        study_uid=study_uid,
    )
    result = []
    for uid, n, ok, bad, modality, description, number in rows:
        detail = description or (f"series {number}" if number is not None else "")
        label = " ".join(part for part in (modality or "", detail) if part) or uid
        result.append(_row("series", uid, label, transfer, n, ok, bad, errors.get(uid, "")))
    return result


def _image_rows(
    session: Session, transfer: Transfer, study_uid: str, series_uid: str
) -> builtins.list[LevelRow]:
    query = (
        select(TransferItem, Instance.instance_number)
        .outerjoin(Instance, Instance.sop_uid == TransferItem.sop_uid)
        .where(
            TransferItem.transfer_pk == transfer.id,
            TransferItem.study_uid == study_uid,
            TransferItem.series_uid == series_uid,
        )
        .order_by(Instance.instance_number, TransferItem.id)
    )
    result = []
    for item, number in session.execute(query):
        done = item.status in _DONE_ITEMS
        failed = item.status == ITEM_FAILED
        if failed:
            status = FAILED
        elif done:
            status = OUT_SENT if transfer.direction == "out" else IN_RECEIVED
        else:
            status = transfer.status
        label = f"image {number}" if number is not None else item.sop_uid
        row = _row("image", item.sop_uid, label, transfer, 1, int(done), int(failed), item.error)
        row["status"] = status
        row["status_code"] = item.status_code
        result.append(row)
    return result


def _row(
    level: str,
    uid: str,
    label: str,
    transfer: Transfer,
    total: int,
    done: int | None,
    failed: int | None,
    error: str,
) -> LevelRow:
    ok, bad = int(done or 0), int(failed or 0)
    return {
        "level": level,
        "uid": uid,
        "label": label,
        "total": int(total),
        "done": ok,
        "failed": bad,
        "status": _aggregate_status(transfer, int(total), ok, bad),
        "error": error,
    }


# -- coalesced change events ----------------------------------------------------------------------
class _ChangeFeed:
    """Publishes changed transfers to subscribers, at most ten times a second.

    A watcher thread (running only while someone subscribes) reads the transfers whose
    ``updated_at`` falls in the last few seconds, compares them with what it sent last and
    publishes the differences. Writes in this process wake it at once; writes by other
    processes are seen at the next poll.
    """

    POLL_SECONDS = 0.5
    MIN_INTERVAL = 0.1  # at most ten calls a second
    WINDOW = timedelta(seconds=5)  # covers commit latency between processes

    def __init__(self, sessions: sessionmaker[Session], events: ChangeBus) -> None:
        self._sessions = sessions
        self._events = events
        self._lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._deleted: builtins.list[int] = []
        self._seen: dict[int, tuple[TransferRow, datetime | None]] = {}

        events.on_subscribe(TransfersChanged, self._start)

    def _start(self) -> None:
        """A ``TransfersChanged`` subscriber came: watch the log while there is one."""
        with self._lock:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(
                    target=self._run, name="transfer-events", daemon=True
                )
                self._thread.start()

    def _watched(self) -> bool:
        return not self._closed and self._events.has_subscribers(TransfersChanged)

    def poke(self, deleted: Iterable[int] = ()) -> None:
        ids = builtins.list(deleted)
        with self._lock:
            if self._thread is None:
                return
            self._deleted.extend(ids)
        self._wake.set()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        try:
            self._poll(publish=False)  # what is current when the first subscriber came
        except Exception:
            log.exception("transfer events: reading the log failed")
        last = 0.0
        while True:
            self._wake.wait(self.POLL_SECONDS)
            with self._lock:
                if not self._watched():
                    self._thread = None
                    self._seen.clear()
                    self._deleted.clear()
                    return
            self._wake.clear()
            # Coalesce: whatever changes before the next slot goes out in one call.
            remaining = last + self.MIN_INTERVAL - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
            try:
                changed = self._poll(publish=True)
            except Exception:
                log.exception("transfer events: reading the log failed")
                continue
            if not changed:
                continue
            last = time.monotonic()
            self._events.publish(TransfersChanged(tuple(changed)))

    def _poll(self, publish: bool) -> builtins.list[TransferRow]:
        since = _now() - self.WINDOW
        with self._sessions() as session:
            # With the row, its updated_at (to the microsecond): a transfer sent again within
            # the second its JSON times show is still a change.
            found = [
                (transfer_json(t), t.updated_at)
                for t in session.scalars(select(Transfer).where(Transfer.updated_at >= since))
            ]
        with self._lock:
            deleted, self._deleted = self._deleted, []
        rows = [row for row, _updated in found]
        changed = [row for row, updated in found if self._seen.get(row["id"]) != (row, updated)]
        self._seen = {row["id"]: (row, updated) for row, updated in found}
        gone = set(deleted) - {row["id"] for row in rows}
        changed.extend(_deleted_json(i) for i in sorted(gone))
        return changed if publish else []
