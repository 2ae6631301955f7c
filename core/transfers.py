"""The transfer log: one ``transfer`` per association (incoming) or send job (outgoing).

Incoming: one transfer per association that stores images; status receiving -> received, or
failed (with the error text) when the association was aborted or images were refused.
Outgoing transfers (waiting/sending/sent/aborted/failed) use the same tables.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from core.db.models import UID_LEN, Base

Direction = Literal["in", "out"]
IN_RECEIVING, IN_RECEIVED, FAILED = "receiving", "received", "failed"
ITEM_STORED, ITEM_DUPLICATE, ITEM_FAILED = "stored", "duplicate", "failed"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Transfer(Base):
    __tablename__ = "transfer"
    __table_args__ = (Index("ix_transfer_direction_created", "direction", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    # in: receiving | received | failed; out: waiting | sending | sent | aborted | failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    node_name: Mapped[str] = mapped_column(String(), default="")  # registry name, if known
    ae_title: Mapped[str] = mapped_column(String(16), default="")  # calling (in) / called (out)
    peer_address: Mapped[str] = mapped_column(String(), default="")  # host:port
    priority: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    total_images: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    done_images: Mapped[int] = mapped_column(Integer, default=0)
    failed_images: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(), default="")


class TransferItem(Base):
    __tablename__ = "transfer_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_pk: Mapped[int] = mapped_column(
        ForeignKey("transfer.id", ondelete="CASCADE"), index=True
    )
    sop_uid: Mapped[str] = mapped_column(String(UID_LEN), index=True)  # (0008,0018), UI
    series_uid: Mapped[str] = mapped_column(String(UID_LEN), default="")  # (0020,000E), UI
    study_uid: Mapped[str] = mapped_column(String(UID_LEN), default="")  # (0020,000D), UI
    patient_name: Mapped[str] = mapped_column(String(), default="")  # (0010,0010), PN
    status: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int] = mapped_column(Integer, default=0)  # DIMSE status
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str] = mapped_column(String(), default="")


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


class TransferLog:
    """Writes and reads the transfer tables (short sessions; call off the GUI thread)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

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
            )
            session.add(row)
            session.flush()
            return row.id

    def add_items(self, session: Session, transfer_id: int, items: Sequence[ItemRecord]) -> None:
        """Record items inside the caller's transaction and bump the transfer's totals."""
        if not items:
            return
        session.execute(  # one executemany: much cheaper than ORM objects per item
            insert(TransferItem),
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
        session.execute(
            update(Transfer)
            .where(Transfer.id == transfer_id)
            .values(
                total_images=Transfer.total_images + len(items),
                total_bytes=Transfer.total_bytes + sum(i.size for i in items),
                done_images=Transfer.done_images + len(items) - failed,
                failed_images=Transfer.failed_images + failed,
            )
        )

    def record_items(self, transfer_id: int, items: Sequence[ItemRecord]) -> None:
        """``add_items`` in a transaction of its own."""
        with self._sessions.begin() as session:
            self.add_items(session, transfer_id, items)

    def finish(self, transfer_id: int, error: str = "") -> None:
        with self._sessions.begin() as session:
            row = session.get(Transfer, transfer_id)
            if row is None:
                return
            row.finished_at = _now()
            if error:
                row.error = error
            row.status = FAILED if (error or row.failed_images) else IN_RECEIVED
            if row.failed_images and not row.error:
                row.error = f"{row.failed_images} images refused"

    def fail_unfinished(self) -> int:
        """Mark incoming transfers left 'receiving' by an interrupted run as failed."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(Transfer)
                .where(Transfer.direction == "in", Transfer.status == IN_RECEIVING)
                .values(status=FAILED, error="interrupted: the node stopped", finished_at=_now())
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def list(
        self, direction: Direction | None = None, limit: int = 100, offset: int = 0
    ) -> builtins.list[dict[str, Any]]:
        with self._sessions() as session:
            query = select(Transfer).order_by(Transfer.id.desc()).limit(limit).offset(offset)
            if direction:
                query = query.where(Transfer.direction == direction)
            return [_transfer_json(t) for t in session.scalars(query)]

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
        return list(studies.values())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _transfer_json(t: Transfer) -> dict[str, Any]:
    return {
        "id": t.id,
        "direction": t.direction,
        "status": t.status,
        "node": t.node_name,
        "ae_title": t.ae_title,
        "peer": t.peer_address,
        "priority": t.priority,
        "created": _iso(t.created_at),
        "started": _iso(t.started_at),
        "finished": _iso(t.finished_at),
        "images": t.total_images,
        "bytes": t.total_bytes,
        "done": t.done_images,
        "failed": t.failed_images,
        "error": t.error,
    }
