"""An audit record's chaining, written once for both ways a record is appended: through
SQLAlchemy (``core.audit.chain.AuditTrail``) and through the standard library's ``sqlite3``
(``core.audit.light``, for ``dicom-kiosk query``, which records its Query event without
loading SQLAlchemy). ``append_event`` runs the same SQL statements on either connection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from core.audit.records import EVENT_NAMES, AuditEvent

GENESIS = "0" * 64  # the prev_hash of record 1 (migrations/versions/0006_audit.py)
STATE_ID = 1  # the one row of audit_state


def record_hash(prev_hash: str, record_id: int, content: str) -> str:
    """SHA-256 over the previous hash, the record's id and its canonical content."""
    data = f"{prev_hash}\n{record_id}\n{content}".encode()
    return hashlib.sha256(data).hexdigest()


def patients_fold(event: AuditEvent) -> str:
    """The ``patients_fold`` column: one case-folded ``id<TAB>name`` line per patient."""
    return "\n".join(f"{pid}\t{name}".casefold() for pid, name in event.patients)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored record, as listed."""

    id: int
    event: AuditEvent
    prev_hash: str
    hash: str

    @property
    def event_name(self) -> str:
        return EVENT_NAMES.get(self.event.event.code, self.event.event.text)

    def as_json(self) -> dict[str, Any]:
        """For ``audit list --json``: the record's fields, the patients and studies it names."""
        requestor = self.event.requestor
        return {
            "id": self.id,
            "time": self.event.time,
            "event_id": self.event.event.code,
            "event": self.event_name,
            "event_types": [t.text for t in self.event.types],
            "action": self.event.action,
            "outcome": self.event.outcome,
            "outcome_description": self.event.outcome_description,
            "summary": self.event.summary,
            "user": requestor.user_id if requestor else "",
            "participants": [
                {
                    "user_id": p.user_id,
                    "name": p.user_name,
                    "address": p.access_point,
                    "requestor": p.requestor,
                    "roles": [r.text for r in p.roles],
                }
                for p in self.event.participants
            ],
            "patients": [{"id": pid, "name": name} for pid, name in self.event.patients],
            "studies": self.event.studies,
            "hash": self.hash,
        }


class Rows(Protocol):
    """What a statement gives back, on either connection."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...


# Runs one statement (named parameters, ``:name``) in the caller's transaction.
Execute = Callable[[str, Mapping[str, Any]], Rows]

# Write first: the update takes the write lock (SQLite) or the row lock (PostgreSQL), so the
# head read next is the newest and stays so until commit.
_TAKE = "UPDATE audit_state SET last_id = last_id WHERE id = :id"
_CREATE = (
    "INSERT INTO audit_state (id, last_id, last_hash, forwarded_id) VALUES (:id, 0, :genesis, 0)"
)
_HEAD = "SELECT last_id, last_hash FROM audit_state WHERE id = :id"
_KEY = "SELECT id FROM audit_record WHERE source_key = :key"
_INSERT = (
    "INSERT INTO audit_record (id, recorded_at, event_code, action, outcome, user_id,"
    " patients_fold, content, source_key, prev_hash, hash) VALUES (:id, :recorded_at,"
    " :event_code, :action, :outcome, :user_id, :patients_fold, :content, :source_key,"
    " :prev_hash, :hash)"
)
_MOVE = "UPDATE audit_state SET last_id = :last_id, last_hash = :last_hash WHERE id = :id"


def append_event(
    execute: Execute, event: AuditEvent, content: str, key: str | None
) -> AuditEntry | None:
    """Chain ``event`` (its canonical ``content``) onto the head, inside the caller's
    transaction; None when ``key`` was recorded before."""
    if not execute(_TAKE, {"id": STATE_ID}).rowcount:
        execute(_CREATE, {"id": STATE_ID, "genesis": GENESIS})
    last_id, last_hash = execute(_HEAD, {"id": STATE_ID}).fetchone()
    if key is not None and execute(_KEY, {"key": key}).fetchone() is not None:
        return None
    record_id = last_id + 1
    digest = record_hash(last_hash, record_id, content)
    requestor = event.requestor
    execute(
        _INSERT,
        {
            "id": record_id,
            "recorded_at": event.timestamp,
            "event_code": event.event.code,
            "action": event.action,
            "outcome": event.outcome,
            "user_id": requestor.user_id if requestor else "",
            "patients_fold": patients_fold(event),
            "content": content,
            "source_key": key,
            "prev_hash": last_hash,
            "hash": digest,
        },
    )
    execute(_MOVE, {"id": STATE_ID, "last_id": record_id, "last_hash": digest})
    return AuditEntry(record_id, event, last_hash, digest)
