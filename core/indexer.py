"""The single index writer: places incoming files and commits their rows in batches.

Only one IndexWriter runs per store. Callers hand it files already durable in
``incoming/`` (see core.store); it links each to its final path, commits the batch, then
removes the incoming names. Re-running a batch after a crash is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal, TypeVar

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import Instance, Patient, Series, Study
from core.db.patterns import fold
from core.dicomfile import InstanceHeader, parse_instance
from core.errors import KioskError, NotFoundError, RejectedFile
from core.store import FileStore

log = logging.getLogger(__name__)

Level = Literal["patient", "study", "series", "instance"]
_IN_CHUNK = 500
_T = TypeVar("_T")


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    REPLACED = "replaced"
    ALREADY = "already"  # recovered after a crash: the row was committed before the crash


@dataclass(frozen=True, slots=True)
class IngestItem:
    """A durable image with its parsed header, waiting for the index.

    Either a file in ``incoming/`` (``incoming``), or the bytes of an image kept durable by the
    intake journal (``data``, with ``incoming`` None), written straight to its final path.
    """

    incoming: Path | None
    header: InstanceHeader
    size: int
    source: str = "import"
    source_detail: str = ""
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class DeleteResult:
    instances: int
    bytes: int
    sop_uids: tuple[str, ...] = ()


def patient_key(header: InstanceHeader) -> str:
    if header.patient_id:
        return f"id:{header.patient_id}"
    return f"name:{header.patient_name}|{header.birth_date}"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _chunks(values: Sequence[_T], size: int = _IN_CHUNK) -> Iterable[Sequence[_T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class IndexWriter:
    """Commits ingested instances and deletions; the only code that writes the index."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: FileStore,
        duplicate_policy: Literal["keep", "replace"] = "keep",
    ) -> None:
        self._sessions = sessions
        self.store = store
        self.duplicate_policy = duplicate_policy
        self._listeners: list[Callable[[], None]] = []

    # -- change notification -----------------------------------------------------------------
    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every committed change to the index.

        It runs on the committing thread (an import worker, a network thread): it must return
        fast and hand over to its own loop (``loop.call_soon_threadsafe``).
        """
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _changed(self) -> None:
        for callback in list(self._listeners):
            try:
                callback()
            except Exception:
                log.exception("index change listener failed")

    # -- ingest ------------------------------------------------------------------------------
    def write_batch(self, items: Sequence[IngestItem]) -> list[Outcome]:
        """Index ``items`` in one transaction; return one outcome per item, in order."""
        outcomes: list[Outcome] = []
        to_discard: list[Path] = []
        removed_files: list[tuple[str, int]] = []
        with self._sessions.begin() as session:
            existing = self._existing(session, [it.header.sop_uid for it in items])
            patients: dict[str, Patient] = {}
            studies: dict[str, Study] = {}
            series_by_uid: dict[str, Series] = {}
            seen: set[str] = set()
            touched: set[int] = set()
            rows: list[dict[str, object]] = []
            for item in items:
                h = item.header
                old = existing.get(h.sop_uid)
                relative = FileStore.relative_path(h.study_uid, h.series_uid, h.sop_uid)
                incoming = item.incoming
                if h.sop_uid in seen or old is not None:
                    if (
                        old is not None
                        and incoming is not None
                        and self.store.same_file(old.file_path, incoming)
                    ):
                        outcomes.append(Outcome.ALREADY)
                        to_discard.append(incoming)
                        continue
                    if self.duplicate_policy == "keep" or old is None:
                        outcomes.append(Outcome.DUPLICATE)
                        if incoming is not None:
                            to_discard.append(incoming)
                        self.store.release(item.size)
                        continue
                    touched.add(old.series_pk)
                    if old.file_path != relative:
                        removed_files.append((old.file_path, old.file_size))
                    else:
                        self.store.release(old.file_size)
                    session.delete(old)
                    session.flush()
                    del existing[h.sop_uid]
                    outcomes.append(Outcome.REPLACED)
                else:
                    outcomes.append(Outcome.STORED)
                seen.add(h.sop_uid)
                series = self._series(session, h, patients, studies, series_by_uid)
                if incoming is not None:
                    self.store.place(incoming, relative)
                    to_discard.append(incoming)
                elif item.data is not None:
                    self.store.place_bytes(item.data, relative)
                else:
                    raise KioskError(f"image {h.sop_uid} has neither a file nor its bytes")
                rows.append(
                    {
                        "series_pk": series.id,
                        "sop_uid": h.sop_uid,
                        "sop_class_uid": h.sop_class_uid,
                        "instance_number": h.instance_number,
                        "transfer_syntax": h.transfer_syntax,
                        "num_frames": h.num_frames,
                        "rows": h.rows,
                        "columns": h.columns,
                        "file_path": relative,
                        "file_size": item.size,
                        "received_at": item.received_at,
                        "source": item.source[:80],
                        "source_detail": item.source_detail,
                    }
                )
                touched.add(series.id)
            if rows:
                session.execute(insert(Instance), rows)
            session.flush()
            refresh_counts(session, touched)
        for path in to_discard:
            self.store.discard(path)
        for relative, size in removed_files:
            self.store.remove(relative, size)
        if any(o in (Outcome.STORED, Outcome.REPLACED) for o in outcomes):
            self._changed()
        return outcomes

    @staticmethod
    def _existing(session: Session, uids: Sequence[str]) -> dict[str, Instance]:
        found: dict[str, Instance] = {}
        unique = sorted(set(uids))
        for chunk in _chunks(unique):
            for inst in session.scalars(select(Instance).where(Instance.sop_uid.in_(chunk))):
                found[inst.sop_uid] = inst
        return found

    @staticmethod
    def _series(
        session: Session,
        h: InstanceHeader,
        patients: dict[str, Patient],
        studies: dict[str, Study],
        series_by_uid: dict[str, Series],
    ) -> Series:
        series = series_by_uid.get(h.series_uid)
        if series is not None:
            return series
        series = session.scalar(select(Series).where(Series.series_uid == h.series_uid))
        if series is None:
            study = _study(session, h, patients, studies)
            series = Series(
                study_pk=study.id,
                series_uid=h.series_uid,
                modality=h.modality,
                series_number=h.series_number,
                series_description=h.series_description,
                body_part=h.body_part,
                series_date=h.series_date,
                series_time=h.series_time,
                num_instances=0,
            )
            session.add(series)
            session.flush()
        series_by_uid[h.series_uid] = series
        return series

    # -- deletion ------------------------------------------------------------------------------
    def delete(self, level: Level, key: str) -> DeleteResult:
        """Delete a patient (by PatientID), study, series or instance (by UID) and its files."""
        with self._sessions.begin() as session:
            query = select(
                Instance.id,
                Instance.sop_uid,
                Instance.file_path,
                Instance.file_size,
                Instance.series_pk,
            )
            if level == "patient":
                ids = session.scalars(select(Patient.id).where(Patient.patient_id == key)).all()
                if not ids:
                    raise NotFoundError(f"no patient with ID {key!r}")
                query = query.join(Series).join(Study).where(Study.patient_pk.in_(ids))
            elif level == "study":
                query = query.join(Series).join(Study).where(Study.study_uid == key)
            elif level == "series":
                query = query.join(Series).where(Series.series_uid == key)
            elif level == "instance":
                query = query.where(Instance.sop_uid == key)
            else:
                raise KioskError(f"unknown level {level!r}")
            rows = session.execute(query).all()
            if not rows:
                raise NotFoundError(f"no {level} {key!r} in the database")
            instance_ids = [r.id for r in rows]
            for chunk in _chunks(instance_ids):
                session.execute(delete(Instance).where(Instance.id.in_(chunk)))
            refresh_counts(session, {r.series_pk for r in rows}, prune=True)
        total = 0
        for row in rows:
            self.store.remove(row.file_path, row.file_size)
            total += row.file_size
        self._changed()
        return DeleteResult(
            instances=len(rows), bytes=total, sop_uids=tuple(r.sop_uid for r in rows)
        )

    # -- recovery ------------------------------------------------------------------------------
    def recover(self, batch_size: int = 200) -> tuple[int, list[tuple[Path, str]]]:
        """Index files left in ``incoming/`` by a crash; return (indexed, rejected)."""
        pending = self.store.pending()
        indexed = 0
        rejected: list[tuple[Path, str]] = []
        batch: list[IngestItem] = []
        for path in pending:
            try:
                data = path.read_bytes()
                parsed = parse_instance(data)
            except (RejectedFile, OSError) as exc:
                reason = exc.reason if isinstance(exc, RejectedFile) else str(exc)
                log.error("incoming file %s cannot be indexed: %s; moved aside", path.name, reason)
                rejected.append((path, reason))
                path.rename(path.with_suffix(".rejected"))
                continue
            batch.append(IngestItem(path, parsed.header, len(data), source="recovered"))
            if len(batch) >= batch_size:
                indexed += sum(o != Outcome.DUPLICATE for o in self.write_batch(batch))
                batch = []
        if batch:
            indexed += sum(o != Outcome.DUPLICATE for o in self.write_batch(batch))
        if pending:
            log.info("recovered %d incoming files after an interrupted run", indexed)
        return indexed, rejected


def _study(
    session: Session, h: InstanceHeader, patients: dict[str, Patient], studies: dict[str, Study]
) -> Study:
    study = studies.get(h.study_uid)
    if study is None:
        study = session.scalar(select(Study).where(Study.study_uid == h.study_uid))
    if study is None:
        key = patient_key(h)
        patient = patients.get(key) or session.scalar(
            select(Patient).where(Patient.patient_key == key)
        )
        if patient is None:
            patient = Patient(
                patient_key=key,
                patient_id=h.patient_id,
                patient_id_fold=fold(h.patient_id),
                patient_name=h.patient_name,
                patient_name_fold=fold(h.patient_name),
                birth_date=h.birth_date,
                sex=h.sex,
                num_studies=0,
                num_series=0,
                num_instances=0,
            )
            session.add(patient)
            session.flush()
        patients[key] = patient
        study = Study(
            patient_pk=patient.id,
            study_uid=h.study_uid,
            study_date=h.study_date,
            study_time=h.study_time,
            accession_number=h.accession_number,
            study_description=h.study_description,
            study_id=h.study_id,
            referring_physician=h.referring_physician,
            modalities="",
            num_series=0,
            num_instances=0,
            updated_at=_now(),
        )
        session.add(study)
        session.flush()
    studies[h.study_uid] = study
    return study


def refresh_counts(session: Session, series_ids: set[int], *, prune: bool = False) -> None:
    """Recompute the related-entity counts (and ModalitiesInStudy) upward from ``series_ids``.

    With ``prune``, series, studies and patients left without instances are removed.
    """
    if not series_ids:
        return
    sids = sorted(series_ids)
    study_ids: set[int] = set()
    for chunk in _chunks(sids):
        session.execute(
            update(Series)
            .where(Series.id.in_(chunk))
            .values(
                num_instances=select(func.count(Instance.id))
                .where(Instance.series_pk == Series.id)
                .scalar_subquery()
            )
        )
        study_ids.update(session.scalars(select(Series.study_pk).where(Series.id.in_(chunk))))
        if prune:
            session.execute(delete(Series).where(Series.id.in_(chunk), Series.num_instances == 0))
    patient_ids: set[int] = set()
    for chunk in _chunks(sorted(study_ids)):
        modalities: dict[int, set[str]] = {sid: set() for sid in chunk}
        for study_pk, modality in session.execute(
            select(Series.study_pk, Series.modality).where(Series.study_pk.in_(chunk)).distinct()
        ):
            if modality:
                modalities[study_pk].add(modality)
        session.execute(
            update(Study)
            .where(Study.id.in_(chunk))
            .values(
                num_series=select(func.count(Series.id))
                .where(Series.study_pk == Study.id)
                .scalar_subquery(),
                num_instances=select(func.coalesce(func.sum(Series.num_instances), 0))
                .where(Series.study_pk == Study.id)
                .scalar_subquery(),
                updated_at=_now(),
            ),
            execution_options={"synchronize_session": False},
        )
        for study_pk, values in modalities.items():
            session.execute(
                update(Study)
                .where(Study.id == study_pk)
                .values(modalities="\\".join(sorted(values))),
                execution_options={"synchronize_session": False},
            )
        patient_ids.update(session.scalars(select(Study.patient_pk).where(Study.id.in_(chunk))))
        if prune:
            session.execute(delete(Study).where(Study.id.in_(chunk), Study.num_series == 0))
    for chunk in _chunks(sorted(patient_ids)):
        session.execute(
            update(Patient)
            .where(Patient.id.in_(chunk))
            .values(
                num_studies=select(func.count(Study.id))
                .where(Study.patient_pk == Patient.id)
                .scalar_subquery(),
                num_series=select(func.coalesce(func.sum(Study.num_series), 0))
                .where(Study.patient_pk == Patient.id)
                .scalar_subquery(),
                num_instances=select(func.coalesce(func.sum(Study.num_instances), 0))
                .where(Study.patient_pk == Patient.id)
                .scalar_subquery(),
            ),
            execution_options={"synchronize_session": False},
        )
        if prune:
            session.execute(delete(Patient).where(Patient.id.in_(chunk), Patient.num_studies == 0))
