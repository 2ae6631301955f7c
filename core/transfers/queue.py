"""The outgoing send queue, kept in the transfer tables.

A transfer is a destination node, a priority and a selection (patients, studies, series,
images) expanded into one item per image when it is queued. Senders take the next transfer in
order (priority HIGH, MEDIUM, LOW, then first in first out) with an atomic
``UPDATE ... WHERE status = 'waiting'``, so two processes never send the same transfer.

While sending, the sender records item results in batches and stamps the transfer as its
heartbeat; a transfer left ``sending`` by a process that died goes back to ``waiting`` when a
sender starts, and only its unsent items are sent again.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, case, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import Instance, Patient, Series, Study
from core.errors import KioskError, NotFoundError
from core.net.tls import TlsClientConfig
from core.registry import NodeRegistry
from core.transfers.log import (
    FAILED,
    ITEM_FAILED,
    ITEM_PENDING,
    ITEM_SENT,
    OUT_SENDING,
    OUT_SENT,
    OUT_WAITING,
    PRIORITIES,
    Transfer,
    TransferItem,
    TransferLog,
    _now,
    recount,
)

log = logging.getLogger(__name__)

LEVELS = ("patient", "study", "series", "instance")
_CHUNK = 500  # keys per IN (...) list
# A sender stamps the transfers it works on at least this often...
HEARTBEAT_SECONDS = 2.0
# ...and a transfer not stamped for this long is taken as abandoned (its sender is gone).
STALE_AFTER = timedelta(seconds=60)

# HIGH first, then MEDIUM, then LOW (the DICOM values are 1, 0, 2).
_RANK = case((Transfer.priority == PRIORITIES["high"], 0), (Transfer.priority == 0, 1), else_=2)


@dataclass(frozen=True, slots=True)
class Destination:
    name: str
    ae_title: str
    host: str
    port: int
    tls: TlsClientConfig | None = None  # the node is reached over TLS


@dataclass(frozen=True, slots=True)
class PendingItem:
    """One image still to send."""

    id: int
    sop_class_uid: str
    sop_uid: str
    transfer_syntax: str
    path: Path


@dataclass(frozen=True, slots=True)
class Claim:
    """A transfer a sender has taken: where it goes and with which priority."""

    transfer_id: int
    destination: Destination
    priority: int  # DICOM: 0 MEDIUM, 1 HIGH, 2 LOW
    attempt: int


@dataclass(frozen=True, slots=True)
class ItemResult:
    item_id: int
    sent: bool
    status_code: int
    error: str = ""


def parse_priority(priority: str) -> int:
    try:
        return PRIORITIES[priority.strip().lower()]
    except (KeyError, AttributeError):
        raise KioskError(f"priority {priority!r} must be high, medium or low") from None


def make_owner() -> str:
    """Who is sending: host, process and a token unique to this sender."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def _owner_is_dead(owner: str) -> bool:
    """True when ``owner`` names a process on this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# -- queueing -------------------------------------------------------------------------------------
def enqueue(
    sessions: sessionmaker[Session],
    transfers: TransferLog,
    targets: Sequence[tuple[str, str]],
    destination: str,
    priority: str = "medium",
) -> int:
    """Queue the images of ``targets`` for ``destination``; return the new transfer's id.

    ``targets`` are ``(level, key)`` pairs as the Database tab selects them: ("patient",
    PatientID), ("study", uid), ("series", uid), ("instance" or "image", SOP Instance UID).
    """
    value = parse_priority(priority)
    try:
        node = NodeRegistry(sessions).get(destination)
    except NotFoundError:
        raise NotFoundError(
            f"There is no remote node named {destination!r}: add it under Settings first."
        ) from None
    keys: dict[str, list[str]] = {level: [] for level in LEVELS}
    for level, key in targets:
        name = "instance" if level == "image" else level
        if name not in keys:
            raise KioskError(f"cannot send a {level!r}: choose patients, studies, series or images")
        if key not in keys[name]:
            keys[name].append(key)
    if not any(keys.values()):
        raise KioskError("Nothing is selected to send: select patients, studies, series or images.")
    with sessions.begin() as session:
        rows, labels = _expand(session, keys)
        if not rows:
            raise KioskError("The selection holds no images to send.")
        now = _now()
        transfer = Transfer(
            direction="out",
            status=OUT_WAITING,
            node_name=node.name,
            ae_title=node.ae_title,
            peer_address=f"{node.host}:{node.port}",
            priority=value,
            created_at=now,
            total_images=len(rows),
            total_bytes=sum(r["size"] for r in rows),
            done_images=0,
            failed_images=0,
            error="",
            description=_describe(keys, rows, labels),
            attempts=0,
            owner="",
            updated_at=now,
        )
        session.add(transfer)
        session.flush()
        transfer_id = transfer.id
        for row in rows:
            row["transfer_pk"] = transfer_id
        # A plain executemany on the table: twice as fast as the ORM's bulk insert.
        session.execute(insert(cast(Table, TransferItem.__table__)), rows)
    log.info("transfer %d queued: %d images for %s", transfer_id, len(rows), node.name)
    transfers.changed("queued", transfer_id)
    return transfer_id


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _expand(
    session: Session, keys: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One item row per selected image, de-duplicated, in patient/study/series/number order;
    and a label per study and series UID for the transfer's description."""
    base = (
        select(
            Instance.id.label("instance_pk"),
            Instance.sop_uid,
            Instance.sop_class_uid,
            Instance.transfer_syntax,
            Instance.file_path,
            Instance.file_size,
            Instance.instance_number,
            Series.id.label("series_pk"),
            Series.series_uid,
            Series.series_number,
            Series.modality,
            Series.series_description,
            Study.id.label("study_pk"),
            Study.study_uid,
            Study.study_date,
            Study.study_description,
            Patient.id.label("patient_pk"),
            Patient.patient_id,
            Patient.patient_key,
            Patient.patient_name,
        )
        .join(Series, Instance.series_pk == Series.id)
        .join(Study, Series.study_pk == Study.id)
        .join(Patient, Study.patient_pk == Patient.id)
    )
    found: dict[str, set[str]] = {level: set() for level in LEVELS}
    seen: dict[str, Any] = {}
    for level, values in keys.items():
        for chunk in _chunks(values):
            if level == "patient":
                condition = or_(Patient.patient_id.in_(chunk), Patient.patient_key.in_(chunk))
            elif level == "study":
                condition = Study.study_uid.in_(chunk)
            elif level == "series":
                condition = Series.series_uid.in_(chunk)
            else:
                condition = Instance.sop_uid.in_(chunk)
            for row in session.execute(base.where(condition)):
                if level == "patient":
                    found[level].update((row.patient_id, row.patient_key))
                else:
                    found[level].add(getattr(row, _KEY_COLUMN[level]))
                seen[row.sop_uid] = row
    for level, values in keys.items():
        missing = [v for v in values if v not in found[level]]
        if missing:
            name = {"instance": "image"}.get(level, level)
            raise NotFoundError(f"There is no {name} {missing[0]!r} in the database.")

    last = 1 << 30

    def order(row: Any) -> tuple[Any, ...]:
        return (
            row.patient_name,
            row.patient_pk,
            row.study_date,
            row.study_pk,
            last if row.series_number is None else row.series_number,
            row.series_pk,
            last if row.instance_number is None else row.instance_number,
            row.instance_pk,
        )

    ordered = sorted(seen.values(), key=order)
    labels: dict[str, str] = {}
    for row in ordered:
        labels[row.study_uid] = row.study_description or _date(row.study_date)
        number = f"series {row.series_number}" if row.series_number is not None else ""
        labels[row.series_uid] = " ".join(
            part for part in (row.modality, row.series_description or number) if part
        )
    items = [
        {
            "sop_uid": row.sop_uid,
            "series_uid": row.series_uid,
            "study_uid": row.study_uid,
            "patient_name": row.patient_name,
            "status": ITEM_PENDING,
            "status_code": 0,
            "size": row.file_size,
            "error": "",
            "sop_class_uid": row.sop_class_uid,
            "transfer_syntax": row.transfer_syntax,
            "file_path": row.file_path,
        }
        for row in ordered
    ]
    return items, labels


_KEY_COLUMN = {"study": "study_uid", "series": "series_uid", "instance": "sop_uid"}


def _date(text: str) -> str:
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else text


def _describe(
    keys: dict[str, list[str]], rows: list[dict[str, Any]], labels: dict[str, str]
) -> str:
    """What was selected, for the transfer list: "Study CT HEAD (DOE^JOHN)", "3 series"."""
    kinds = [(level, len(values)) for level, values in keys.items() if values]
    names = sorted({r["patient_name"] for r in rows})
    who = f" ({names[0]})" if len(names) == 1 and names[0] else ""
    if len(kinds) == 1 and kinds[0][1] == 1:
        level = kinds[0][0]
        if level == "patient":
            return f"Patient {names[0] if names else keys['patient'][0]}"
        if level == "study":
            text = labels.get(rows[0]["study_uid"]) or "without description"
            return f"Study {text}{who}"
        if level == "series":
            text = labels.get(rows[0]["series_uid"]) or "without description"
            return f"Series {text}{who}"
        return f"1 image{who}"
    plural = {"patient": "patients", "study": "studies", "series": "series", "instance": "images"}
    single = {"patient": "patient", "study": "study", "series": "series", "instance": "image"}
    parts = [f"{n} {plural[level] if n > 1 else single[level]}" for level, n in kinds]
    return ", ".join(parts) + who


# -- the queue as the sender sees it --------------------------------------------------------------
class SendQueue:
    """Queue operations for senders; every method is a short transaction (call off the loop)."""

    def __init__(self, sessions: sessionmaker[Session], transfers: TransferLog) -> None:
        self._sessions = sessions
        self._transfers = transfers

    def recover(self) -> list[int]:
        """Put transfers abandoned while ``sending`` back to ``waiting``; return their ids.

        Abandoned: the sender's process on this host is gone, or nobody stamped the transfer
        for ``STALE_AFTER``. Items already sent keep their status, so nothing is sent or
        counted twice.
        """
        stale_before = _now() - STALE_AFTER
        recovered: list[int] = []
        with self._sessions.begin() as session:
            rows = session.execute(
                select(Transfer.id, Transfer.owner, Transfer.updated_at).where(
                    Transfer.direction == "out", Transfer.status == OUT_SENDING
                )
            ).all()
            for transfer_id, owner, updated in rows:
                if not (_owner_is_dead(owner) or updated is None or updated < stale_before):
                    continue
                result = session.execute(
                    update(Transfer)
                    .where(
                        Transfer.id == transfer_id,
                        Transfer.status == OUT_SENDING,
                        Transfer.owner == owner,
                    )
                    .values(status=OUT_WAITING, owner="", next_attempt_at=None, updated_at=_now())
                )
                if getattr(result, "rowcount", 0):
                    recovered.append(transfer_id)
        for transfer_id in recovered:
            log.warning("transfer %d was interrupted while sending; it resumes", transfer_id)
            self._transfers.changed("queued", transfer_id)
        return recovered

    def claim_next(
        self, owner: str, busy: Iterable[str] = (), only: Iterable[int] | None = None
    ) -> Claim | None:
        """Take the next waiting transfer (priority, then FIFO) whose destination is free."""
        now = _now()
        busy_nodes = set(busy)
        with self._sessions() as session:
            sending = set(
                session.scalars(
                    select(Transfer.node_name).where(
                        Transfer.direction == "out", Transfer.status == OUT_SENDING
                    )
                )
            )
            query = (
                select(Transfer.id, Transfer.node_name)
                .where(
                    Transfer.direction == "out",
                    Transfer.status == OUT_WAITING,
                    or_(Transfer.next_attempt_at.is_(None), Transfer.next_attempt_at <= now),
                )
                .order_by(_RANK, Transfer.id)
                .limit(50)
            )
            if only is not None:
                query = query.where(Transfer.id.in_(list(only)))
            candidates = [
                (tid, node)
                for tid, node in session.execute(query)
                if node not in busy_nodes and node not in sending
            ]
        for transfer_id, _node in candidates:
            claim = self._claim(transfer_id, owner)
            if claim is not None:
                return claim
        return None

    def _claim(self, transfer_id: int, owner: str) -> Claim | None:
        now = _now()
        with self._sessions.begin() as session:
            result = session.execute(
                update(Transfer)
                .where(Transfer.id == transfer_id, Transfer.status == OUT_WAITING)
                .values(
                    status=OUT_SENDING,
                    owner=owner,
                    attempts=Transfer.attempts + 1,
                    started_at=func.coalesce(Transfer.started_at, now),
                    finished_at=None,
                    next_attempt_at=None,
                    updated_at=now,
                )
            )
            if not getattr(result, "rowcount", 0):
                return None  # another sender was faster
            row = session.get(Transfer, transfer_id)
            if row is None:
                return None
            destination = self._destination(session, row)
            claim = Claim(transfer_id, destination, row.priority, row.attempts)
        self._transfers.changed()
        return claim

    @staticmethod
    def _destination(session: Session, row: Transfer) -> Destination:
        """The node as registered now (it may have been edited), else as it was queued."""
        from core.db.models import RemoteNode

        node = session.scalar(select(RemoteNode).where(RemoteNode.name == row.node_name))
        if node is not None:
            row.ae_title, row.peer_address = node.ae_title, f"{node.host}:{node.port}"
            tls = (
                TlsClientConfig(node.tls_ca_file, node.tls_cert_file, node.tls_key_file)
                if node.tls
                else None
            )
            return Destination(node.name, node.ae_title, node.host, node.port, tls)
        host, _, port = row.peer_address.rpartition(":")
        return Destination(row.node_name, row.ae_title, host, int(port or 0))

    def pending_items(self, transfer_id: int, store_dir: Path) -> list[PendingItem]:
        with self._sessions() as session:
            rows = session.execute(
                select(
                    TransferItem.id,
                    TransferItem.sop_class_uid,
                    TransferItem.sop_uid,
                    TransferItem.transfer_syntax,
                    TransferItem.file_path,
                )
                .where(TransferItem.transfer_pk == transfer_id, TransferItem.status == ITEM_PENDING)
                .order_by(TransferItem.id)
            ).all()
        return [
            PendingItem(i, sop_class, sop_uid, syntax, store_dir / path)
            for i, sop_class, sop_uid, syntax, path in rows
        ]

    def record(self, transfer_id: int, results: Sequence[ItemResult]) -> None:
        """Store item outcomes and the transfer's counters in one transaction."""
        if not results:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(TransferItem),
                [
                    {
                        "id": r.item_id,
                        "status": ITEM_SENT if r.sent else ITEM_FAILED,
                        "status_code": r.status_code,
                        "error": r.error[:1000],
                    }
                    for r in results
                ],
            )
            recount(session, transfer_id)
        self._transfers.changed()

    def status(self, transfer_id: int) -> tuple[str, str] | None:
        """(status, owner) of a transfer, or None when it was deleted."""
        with self._sessions() as session:
            row = session.execute(
                select(Transfer.status, Transfer.owner).where(Transfer.id == transfer_id)
            ).first()
        return (row[0], row[1]) if row else None

    def heartbeat(self, transfer_id: int, owner: str) -> None:
        with self._sessions.begin() as session:
            session.execute(
                update(Transfer)
                .where(
                    Transfer.id == transfer_id,
                    Transfer.status == OUT_SENDING,
                    Transfer.owner == owner,
                )
                .values(updated_at=_now())
            )

    def _end(self, transfer_id: int, owner: str, **values: Any) -> bool:
        """Change a transfer this sender holds; False when it was aborted or deleted meanwhile."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(Transfer)
                .where(
                    Transfer.id == transfer_id,
                    Transfer.status == OUT_SENDING,
                    Transfer.owner == owner,
                )
                .values(owner="", updated_at=_now(), **values)
            )
            changed = bool(getattr(result, "rowcount", 0))
        if changed:
            self._transfers.changed()
        return changed

    def finish(self, transfer_id: int, owner: str) -> str | None:
        """Mark a transfer sent, or failed when images failed; return the status set."""
        with self._sessions() as session:
            counts = dict(
                session.execute(
                    select(TransferItem.status, func.count(TransferItem.id))
                    .where(TransferItem.transfer_pk == transfer_id)
                    .group_by(TransferItem.status)
                ).all()
            )
            first_error = session.scalar(
                select(TransferItem.error)
                .where(TransferItem.transfer_pk == transfer_id, TransferItem.status == ITEM_FAILED)
                .order_by(TransferItem.id)
                .limit(1)
            )
        failed, pending = counts.get(ITEM_FAILED, 0), counts.get(ITEM_PENDING, 0)
        total = sum(counts.values())
        if failed or pending:
            status = FAILED
            parts = []
            if failed:
                parts.append(f"{failed} of {total} images failed: {first_error}")
            if pending:
                parts.append(f"{pending} of {total} images were not sent")
            error = "; ".join(parts)
        else:
            status, error = OUT_SENT, ""
        ok = self._end(transfer_id, owner, status=status, error=error, finished_at=_now())
        return status if ok else None

    def retry_or_fail(
        self, transfer_id: int, owner: str, error: str, attempt: int, retries: int, delay: float
    ) -> str | None:
        """After a connection failure: back to waiting with a delay, or failed when out of tries."""
        if attempt <= retries:
            wait = delay * (2 ** (attempt - 1))
            text = f"{error} (attempt {attempt} of {retries + 1}; next try in {wait:g} s)"
            ok = self._end(
                transfer_id,
                owner,
                status=OUT_WAITING,
                error=text,
                next_attempt_at=_now() + timedelta(seconds=wait),
            )
            return OUT_WAITING if ok else None
        text = f"{error} (gave up after {attempt} attempts)" if attempt > 1 else error
        ok = self._end(transfer_id, owner, status=FAILED, error=text, finished_at=_now())
        return FAILED if ok else None

    def release(self, transfer_id: int, owner: str) -> bool:
        """The sender stops (shutdown): the transfer waits for the next sender."""
        return self._end(transfer_id, owner, status=OUT_WAITING)

    def fail(self, transfer_id: int, owner: str, error: str) -> bool:
        return self._end(transfer_id, owner, status=FAILED, error=error, finished_at=_now())

    def next_due(self) -> datetime | None:
        """When the earliest delayed waiting transfer may be tried again."""
        with self._sessions() as session:
            return session.scalar(
                select(func.min(Transfer.next_attempt_at)).where(
                    Transfer.direction == "out",
                    Transfer.status == OUT_WAITING,
                    Transfer.next_attempt_at.is_not(None),
                )
            )
