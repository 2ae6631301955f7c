"""One audit event recorded with the standard library's ``sqlite3``.

``dicom-kiosk query`` records its Query event (PS3.15 A.5.3.12) like every other C-FIND we
send, but through ``AuditRecorder`` it would import SQLAlchemy and build the ORM's tables
(about 0.3 s of CPU, more than the query itself takes from a PACS). When the index is a
SQLite file at the newest schema and no syslog collector is configured (forwarding is the
recorder's thread), the command appends the event here instead: the same chaining
(``core.audit.entry.append_event``: the same statements, the same hash), in one immediate
transaction, with the engine's pragmas; ``audit list`` and ``audit verify`` read it like any
other record (tests/core/audit/test_light.py checks).
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from core.audit import records
from core.audit.entry import AuditEntry, append_event
from core.audit.records import AuditEvent, Local
from core.net.remote import RemoteAE

log = logging.getLogger(__name__)

_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's DateTime is stored in SQLite


def _value(value: Any) -> Any:
    return value.strftime(_SQLITE_DATETIME) if isinstance(value, datetime) else value


class LightTrail:
    """Appends events to the audit trail of the SQLite index at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, event: AuditEvent, *, key: str | None = None) -> AuditEntry | None:
        """As ``AuditTrail.append`` (without its listeners: nothing forwards here)."""
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA synchronous=NORMAL")  # as core.db.engine's connections
            connection.execute("PRAGMA busy_timeout=30000")

            def execute(sql: str, params: Mapping[str, Any]) -> sqlite3.Cursor:
                return connection.execute(sql, {k: _value(v) for k, v in params.items()})

            connection.execute("BEGIN IMMEDIATE")
            try:
                entry = append_event(execute, event, event.canonical(), key)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()
        if entry is not None:
            log.info("audit %d: %s %s", entry.id, event.event.code, event.event.text)
        return entry


def record_queried(
    path: Path, ae_title: str, remote: RemoteAE, *, sop_class: str, identifier: bytes,
    matches: int, error: str = "",
) -> AuditEntry | None:  # fmt: skip
    """``AuditRecorder.queried``'s record, appended by ``LightTrail``; a failure is logged,
    never raised (the query's answers matter more than its record), as the recorder does."""
    local = Local(ae_title, socket.gethostname(), os.getpid(), records.local_user())
    destination = records.peer(
        remote.ae_title, remote.host, False, records.ROLE_DESTINATION, remote.name
    )
    event = records.queried(local, destination, sop_class, identifier, matches, error)
    try:
        return LightTrail(path).append(event)
    except Exception:
        log.exception("audit: could not record %s (%s)", event.event.code, event.event.text)
        return None
