"""``AuditRecorder``: what the core calls when something touches patient data.

``Core`` owns one. Its facades (export, delete, import) call it with what they did; the change
bus brings it what the node and the send queue did: a ``TransfersChanged`` row whose incoming
or outgoing transfer reached a final status is one record (one per association for received
images, one per send job), and a ``NodeStateChanged`` that flips ``running`` is the node's start
or stop. Those records are written on the recorder's own thread, never on the receive path.

A failure to record is logged and does not undo or fail the action it describes. Log lines
name the event, never a patient.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.audit import records, subjects
from core.audit.chain import AuditEntry, AuditTrail
from core.audit.records import AuditEvent, Local, StudySubject, local_user
from core.audit.syslog import SyslogForwarder
from core.config import Settings
from core.db.models import Transfer
from core.events import ChangeBus, NodeStateChanged, QueryAnswered, TransfersChanged
from core.transfers.log import transfer_json

log = logging.getLogger(__name__)

FINAL_STATUSES = {"in": ("received", "failed"), "out": ("sent", "aborted", "failed")}


class AuditRecorder:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Callable[[], Settings],
        *,
        user: str | None = None,
    ) -> None:
        """``settings`` returns the current settings (they change while the kiosk runs)."""
        self._sessions = sessions
        self._settings = settings
        self.trail = AuditTrail(sessions)
        self.user = user or local_user()
        self._host = socket.gethostname()
        self.forwarder: SyslogForwarder | None = None
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._worker_lock = threading.Lock()
        self._seen_keys: set[str] = set()
        self._node_running = False

    @property
    def local(self) -> Local:
        """Our application (AE title, host, process) and the local user."""
        return Local(self._settings().ae_title, self._host, os.getpid(), self.user)

    # -- lifecycle ------------------------------------------------------------------------------
    def open(self) -> None:
        """Start forwarding to the syslog collector when one is configured."""
        s = self._settings()
        if s.audit_syslog_host and self.forwarder is None:
            self.forwarder = SyslogForwarder(
                self.trail,
                s.audit_syslog_host,
                s.audit_syslog_port,
                source_id=s.ae_title,
                tls=s.audit_syslog_tls,
                ca_file=s.audit_syslog_ca_file,
            )
            self.forwarder.start()

    def close(self) -> None:
        self.flush()
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._jobs.put(None)
            worker.join(timeout=10)
        if self.forwarder is not None:
            self.forwarder.close()
            self.forwarder = None

    def watch(self, events: ChangeBus) -> Callable[[], None]:
        """Record finished transfers and the node's start/stop from the bus; returns the
        unsubscribe function."""
        stops = [
            events.subscribe(TransfersChanged, self._transfers_changed),
            events.subscribe(NodeStateChanged, self._node_state_changed),
            events.subscribe(QueryAnswered, self._query_answered),
        ]

        def unsubscribe() -> None:
            for stop in stops:
                stop()

        return unsubscribe

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until the records handed to the recorder's thread are written."""
        done = threading.Event()
        with self._worker_lock:
            if self._worker is None:
                return True
        self._jobs.put(done.set)
        return done.wait(timeout)

    # -- recording --------------------------------------------------------------------------
    def record(self, event: AuditEvent, *, key: str | None = None) -> AuditEntry | None:
        """Append ``event`` (blocking); a failure is logged, never raised."""
        try:
            return self.trail.append(event, key=key)
        except Exception:
            log.exception("audit: could not record %s (%s)", event.event.code, event.event.text)
            return None

    def record_later(self, make: Callable[[], AuditEvent | None], key: str | None = None) -> None:
        """Build and append an event on the recorder's thread (for bus subscribers)."""

        def job() -> None:
            try:
                event = make()
            except Exception:
                log.exception("audit: could not build a record")
                return
            if event is not None:
                self.record(event, key=key)

        with self._worker_lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="audit", daemon=True)
                self._worker.start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    def _look_up(self, find: Callable[[Session], list[StudySubject]]) -> list[StudySubject]:
        """The studies an action touched; on a database error none (the record still goes)."""
        try:
            with self._sessions() as session:
                return find(session)
        except Exception:
            log.exception("audit: could not read what the action touched")
            return []

    def subjects_for_targets(self, targets: Iterable[tuple[str, str]]) -> list[StudySubject]:
        chosen = list(targets)
        return self._look_up(lambda session: subjects.for_targets(session, chosen))

    def exported(
        self,
        found: Sequence[StudySubject],
        destination: str,
        fmt: str,
        *,
        exported: int,
        skipped: int,
        deidentified: bool,
        cancelled: bool = False,
        error: str = "",
    ) -> AuditEntry | None:
        return self.record(
            records.exported(
                self.local, destination, fmt, found, exported=exported, skipped=skipped,
                deidentified=deidentified, cancelled=cancelled, error=error,
            )
        )  # fmt: skip

    def deleted(
        self, level: str, found: Sequence[StudySubject], instances: int
    ) -> AuditEntry | None:
        return self.record(records.deleted(self.local, level, found, instances=instances))

    def imported(
        self, paths: Sequence[str], *, imported: int, rejected: int, stopped: str = "",
        since: datetime | None = None,
    ) -> AuditEntry | None:  # fmt: skip
        found = self._look_up(lambda session: subjects.for_import(session, paths, since))
        return self.record(
            records.imported(
                self.local, paths, found, imported=imported, rejected=rejected, stopped=stopped
            )
        )

    def viewed(self, sop_uids: Sequence[str]) -> AuditEntry | None:
        found = self._look_up(lambda session: subjects.for_instances(session, sop_uids))
        return self.record(records.viewed(self.local, found))

    def settings_changed(self, names: Iterable[str]) -> AuditEntry | None:
        return self.record(records.settings_changed(self.local, names))

    def remote_node_changed(self, name: str, change: str) -> AuditEntry | None:
        return self.record(records.remote_node_changed(self.local, name, change))

    def kiosk_access(self, unlocked: bool, user: str = "") -> AuditEntry | None:
        return self.record(records.kiosk_access(self.local, unlocked, user))

    def pin_refused(self, purpose: str) -> AuditEntry | None:
        return self.record(records.pin_refused(self.local, purpose))

    def queried(
        self, node: str, ae_title: str, address: str, sop_class: str, identifier: bytes,
        matches: int, error: str = "",
    ) -> AuditEntry | None:  # fmt: skip
        destination = records.peer(ae_title, address, False, records.ROLE_DESTINATION, node)
        return self.record(
            records.queried(self.local, destination, sop_class, identifier, matches, error)
        )

    # -- from the bus -------------------------------------------------------------------------
    def _query_answered(self, event: QueryAnswered) -> None:
        source = records.peer(event.ae_title, event.address, True, records.ROLE_SOURCE)
        self.record_later(
            lambda: records.query_answered(
                self.local, source, event.sop_class, event.identifier, event.matches, event.error
            )
        )

    def _node_state_changed(self, event: NodeStateChanged) -> None:
        state = event.state
        running = bool(getattr(state, "running", False))
        if running == self._node_running:
            return
        self._node_running = running
        detail = f"{state.ae_title} on {state.bind}:{state.port}"
        self.record_later(lambda: records.node_activity(self.local, running, detail))

    def _transfers_changed(self, event: TransfersChanged) -> None:
        for row in event.rows:
            self.transfer_finished(row)

    def transfer_finished(self, row: Mapping[str, Any]) -> None:
        """Record a transfer that reached a final status (once per transfer and finish)."""
        direction, status = row.get("direction", ""), row.get("status", "")
        if status not in FINAL_STATUSES.get(direction, ()):
            return
        key = f"transfer:{row['id']}:{row.get('finished') or ''}"
        if key in self._seen_keys:
            return
        self._seen_keys.add(key)
        self.record_later(lambda: self._transfer_event(dict(row)), key=key)

    def _transfer_event(self, row: dict[str, Any]) -> AuditEvent:
        with self._sessions() as session:
            found = subjects.for_transfer(session, int(row["id"]))
        done, failed, error = int(row["done"]), int(row["failed"]), str(row["error"])
        time = _iso_z(row.get("finished"))
        if row["direction"] == "in":
            source = records.peer(
                row["ae_title"], row["peer"], True, records.ROLE_SOURCE, row.get("node", "")
            )
            return records.received(
                self.local, source, found, done=done, failed=failed, error=error, time=time
            )
        destination = records.peer(
            row["ae_title"], row["peer"], False, records.ROLE_DESTINATION, row.get("node", "")
        )
        return records.sent(
            self.local, destination, found, status=row["status"], done=done, failed=failed,
            error=error, time=time,
        )  # fmt: skip

    def sweep_transfers(self, since: datetime) -> None:
        """Record the transfers that finished since ``since`` (naive UTC) and were not seen on
        the bus (they finished as the node stopped); already recorded ones are skipped."""
        with self._sessions() as session:
            rows = [
                transfer_json(t)
                for t in session.scalars(
                    select(Transfer).where(Transfer.finished_at >= since).order_by(Transfer.id)
                )
            ]
        for row in rows:
            self.transfer_finished(row)


def _iso_z(value: Any) -> str | None:
    """A transfer's naive-UTC ISO time as A.5 EventDateTime."""
    if not value:
        return None
    text = str(value)
    if text.endswith("Z") or "+" in text[10:]:
        return text.replace("+00:00", "Z")
    parsed = datetime.fromisoformat(text)
    return parsed.isoformat(timespec="microseconds") + "Z"
