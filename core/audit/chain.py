"""The audit trail: an append-only, hash-chained table of audit events.

Each record carries ``prev_hash``, the hash of the record before it, and ``hash`` =
SHA-256(``prev_hash`` LF ``id`` LF canonical JSON of the event). Ids are given here, one after
the other from 1, and the head of the chain (last id and hash) is kept in ``audit_state``; so
``verify`` finds a record that was edited (its hash), deleted (a gap, or a ``prev_hash`` that
no longer matches), moved (the id is hashed) or cut from the end (the head).

Appends are serialized: a lock for this process's threads, and inside the transaction the
``audit_state`` row is updated before it is read, which takes the database's write lock (SQLite)
or the row lock (PostgreSQL) until commit; two processes on one database cannot both take the
same id or both chain onto the same hash.

Records are never updated or deleted by this code. ``forwarded_id`` (the syslog forwarder's mark)
is the only column of ``audit_state`` that moves independently of the chain.
"""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, bindparam, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.audit.entry import (
    GENESIS,
    STATE_ID,
    AuditEntry,
    append_event,
    patients_fold,
    record_hash,
)
from core.audit.records import AuditEvent
from core.db.models import AuditRecord, AuditState

log = logging.getLogger(__name__)

_VERIFY_CHUNK = 500


@dataclass(frozen=True, slots=True)
class VerifyResult:
    checked: int
    problems: tuple[tuple[int, str], ...]  # (record id, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.problems


class AuditTrail:
    """Appends, lists and verifies audit records (blocking; call off the GUI thread)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def on_append(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after each committed append (the syslog forwarder's wake-up)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- writing --------------------------------------------------------------------------
    def append(self, event: AuditEvent, *, key: str | None = None) -> AuditEntry | None:
        """Add ``event`` at the end of the chain; ``None`` when ``key`` was recorded before."""
        content = event.canonical()
        with self._lock:
            try:
                with self._sessions.begin() as session:
                    entry = self._append(session, event, content, key)
            except IntegrityError:
                if key is None:
                    raise
                return None  # another process recorded the same key first
        if entry is not None:
            log.info("audit %d: %s %s", entry.id, event.event.code, event.event.text)
            for listener in list(self._listeners):
                listener()
        return entry

    def _append(
        self, session: Session, event: AuditEvent, content: str, key: str | None
    ) -> AuditEntry | None:
        def execute(sql: str, params: Mapping[str, Any]) -> Any:
            # Typed datetimes: SQLite stores them as the ORM's DateTime does.
            typed = [
                bindparam(k, type_=DateTime()) for k, v in params.items() if isinstance(v, datetime)
            ]
            return session.execute(text(sql).bindparams(*typed), dict(params))

        return append_event(execute, event, content, key)

    # -- reading ----------------------------------------------------------------------------
    def list(
        self,
        *,
        since: datetime | None = None,
        patient: str = "",
        limit: int = 100,
        offset: int = 0,
        newest_first: bool = True,
    ) -> list[AuditEntry]:
        """Records (``since``: naive UTC; ``patient``: part of a patient's ID or name)."""
        query = select(AuditRecord)
        if since is not None:
            query = query.where(AuditRecord.recorded_at >= since)
        if patient:
            escaped = (
                patient.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            )
            query = query.where(AuditRecord.patients_fold.like(f"%{escaped}%", escape="\\"))
        order = AuditRecord.id.desc() if newest_first else AuditRecord.id
        query = query.order_by(order).limit(limit).offset(offset)
        with self._sessions() as session:
            return [_entry(row) for row in session.scalars(query)]

    def count(self) -> int:
        with self._sessions() as session:
            state = session.get(AuditState, STATE_ID)
            return state.last_id if state else 0

    def after(self, record_id: int, limit: int = 100) -> builtins.list[AuditEntry]:
        """Records after ``record_id``, oldest first (what the forwarder has not sent)."""
        query = (
            select(AuditRecord)
            .where(AuditRecord.id > record_id)
            .order_by(AuditRecord.id)
            .limit(limit)
        )
        with self._sessions() as session:
            return [_entry(row) for row in session.scalars(query)]

    # -- the forwarding mark ------------------------------------------------------------------
    def forwarded_id(self) -> int:
        with self._sessions() as session:
            value = session.scalar(select(AuditState.forwarded_id).where(AuditState.id == STATE_ID))
            return int(value or 0)

    def mark_forwarded(self, record_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(AuditState)
                .where(AuditState.id == STATE_ID, AuditState.forwarded_id < record_id)
                .values(forwarded_id=record_id)
            )

    # -- verification --------------------------------------------------------------------------
    def verify(self) -> VerifyResult:
        """Walk the chain from record 1; every problem names the record it was found at."""
        problems: list[tuple[int, str]] = []
        expected_id, prev_hash, checked = 1, GENESIS, 0
        with self._sessions() as session:
            for row in _rows_in_order(session):
                checked += 1
                if row.id != expected_id:
                    missing = (
                        f"record {expected_id}"
                        if row.id == expected_id + 1
                        else f"records {expected_id}-{row.id - 1}"
                    )
                    problems.append((row.id, f"{missing} missing before record {row.id}"))
                elif row.prev_hash != prev_hash:
                    problems.append(
                        (row.id, f"record {row.id} does not follow record {row.id - 1}"
                         " (a record was deleted, edited or moved)")
                    )  # fmt: skip
                problem = _check_row(row)
                if problem:
                    problems.append((row.id, f"record {row.id} {problem}"))
                expected_id, prev_hash = row.id + 1, row.hash
            state = session.get(AuditState, STATE_ID)
        last_id, last_hash = (state.last_id, state.last_hash) if state else (0, GENESIS)
        if (last_id, last_hash) != (expected_id - 1, prev_hash):
            if last_id >= expected_id:
                problems.append(
                    (last_id, f"records {expected_id}-{last_id} missing at the end")
                    if last_id > expected_id
                    else (last_id, f"record {last_id} missing at the end")
                )
            else:
                problems.append(
                    (expected_id - 1, f"the chain's head is not record {expected_id - 1}")
                )
        return VerifyResult(checked, tuple(problems))


def _rows_in_order(session: Session) -> Iterator[AuditRecord]:
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditRecord)
                .where(AuditRecord.id > last)
                .order_by(AuditRecord.id)
                .limit(_VERIFY_CHUNK)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def _check_row(row: AuditRecord) -> str:
    """What is wrong with one record on its own, or ``""``."""
    if record_hash(row.prev_hash, row.id, row.content) != row.hash:
        return "was edited (its hash does not match its content)"
    try:
        event = AuditEvent.from_canonical(row.content)
    except (ValueError, KeyError, TypeError, IndexError):
        return "cannot be read"
    requestor = event.requestor
    columns = (
        row.recorded_at.replace(microsecond=row.recorded_at.microsecond),
        row.event_code,
        row.action,
        row.outcome,
        row.user_id,
        row.patients_fold,
    )
    expected = (
        event.timestamp,
        event.event.code,
        event.action,
        event.outcome,
        requestor.user_id if requestor else "",
        patients_fold(event),
    )
    if columns != expected:
        return "was edited (its columns differ from its content)"
    return ""


def _entry(row: AuditRecord) -> AuditEntry:
    return AuditEntry(row.id, AuditEvent.from_canonical(row.content), row.prev_hash, row.hash)
