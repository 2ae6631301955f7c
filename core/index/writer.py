"""The single index writer: places incoming files and commits their rows in batches.

Only one IndexWriter runs per store. Callers hand it files already durable in
``incoming/`` (see core.store.files), or the bytes of received images the intake journal keeps
(core.store.journal); it links or writes each at its final path, commits the batch, then
removes the incoming names. Re-running a batch after a crash is harmless.

A batch costs a few statements whatever the number of new studies in it: its series, studies
and patients are looked up, and the new ones inserted, with one statement a level. Bytes written
at their final paths are synced once for the batch (one ``syncfs``, with the fsync setting on)
before its rows commit, so no row reaches the disk before its file and new directories.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar, cast

from sqlalchemy import (
    Connection,
    Row,
    Select,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import BindParameter

from core.db.models import Instance, Patient, Series, Study
from core.db.patterns import fold
from core.errors import KioskError, NotFoundError, RejectedFile
from core.events import ChangeBus, IndexChanged, LocalBus
from core.store.files import FileStore

if TYPE_CHECKING:  # pydicom is loaded only when a header is read (recover, the importer)
    from core.dicom.header import InstanceHeader

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
    data: bytes | bytearray | None = field(default=None, repr=False)


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
        events: ChangeBus | None = None,
    ) -> None:
        """``events``: the change bus that hears ``IndexChanged`` after every commit."""
        self._sessions = sessions
        self.store = store
        self.duplicate_policy = duplicate_policy
        self.events = events if events is not None else LocalBus()
        # A batch (commit, then dropping its incoming names) and a delete never interleave: a
        # delete then sees every incoming name of what it deletes already dropped, and makes
        # those drops durable before it commits (FileStore.settle_discards).
        self._lock = threading.Lock()

    def _settle_duplicate(
        self,
        item: IngestItem,
        old: _Existing | None,
        relative: str,
        to_discard: list[Path],
    ) -> Outcome:
        """What becomes of ``item`` whose SOP Instance UID is indexed (``old``) or came
        earlier in its batch (``old`` None): ALREADY (the very file), DUPLICATE (kept out) or
        REPLACED (the caller drops ``old``; its file's space is released here when the new
        version takes its path). An indexed image whose file is gone from the store (removed by
        hand, or lost in a power cut with ``fsync`` off) is REPLACED by this copy, whatever the
        duplicate policy: keeping it out would leave a row that no file backs, and lose the
        only copy (a recovered incoming file is one)."""
        incoming = item.incoming
        if old is not None and not self.store.absolute(old.file_path).is_file():
            log.warning(
                "an indexed image's file was missing from the store: the copy received again"
                " takes its place (%s)", old.file_path,
            )  # fmt: skip
            if old.file_path == relative:
                self.store.release(old.file_size)
            return Outcome.REPLACED
        if (
            old is not None
            and incoming is not None
            and self.store.same_file(old.file_path, incoming)
        ):
            to_discard.append(incoming)
            return Outcome.ALREADY
        if self.duplicate_policy == "keep" or old is None:
            if incoming is not None:
                to_discard.append(incoming)
            self.store.release(item.size)
            return Outcome.DUPLICATE
        if old.file_path == relative:
            self.store.release(old.file_size)
        return Outcome.REPLACED

    # -- ingest ------------------------------------------------------------------------------
    def write_batch(
        self,
        items: Sequence[IngestItem],
        *,
        record: Callable[[Session, Sequence[Outcome]], None] | None = None,
    ) -> list[Outcome]:
        """Index ``items`` in one transaction; return one outcome per item, in order.

        ``record(session, outcomes)``, when given, runs inside that transaction once the rows
        are written and the files synced: what it writes commits, or rolls back, with them (the
        receiving node records its transfer log items and the journal's mark so, saving a
        transaction per batch).
        """
        with self._lock:
            return self._write_batch(items, record)

    def _write_batch(
        self,
        items: Sequence[IngestItem],
        record: Callable[[Session, Sequence[Outcome]], None] | None,
    ) -> list[Outcome]:
        outcomes: list[Outcome] = []
        to_discard: list[Path] = []
        removed_files: list[tuple[str, int]] = []
        with self._sessions.begin() as session:
            conn = session.connection()
            existing = _existing(conn, [it.header.sop_uid for it in items])
            if existing and self.duplicate_policy == "replace":
                # a replaced version must not come back through its incoming name either
                self.store.settle_discards()
            seen: set[str] = set()
            touched = _Touched()
            vacated: set[int] = set()  # series a replaced instance was in
            kept: list[tuple[IngestItem, str]] = []  # what this batch stores, at which path
            for item in items:
                h = item.header
                old = existing.get(h.sop_uid)
                relative = FileStore.relative_path(h.study_uid, h.series_uid, h.sop_uid)
                if h.sop_uid in seen or old is not None:
                    outcome = self._settle_duplicate(item, old, relative, to_discard)
                    outcomes.append(outcome)
                    if outcome is not Outcome.REPLACED:
                        continue
                    assert old is not None  # only a stored old version is replaced
                    touched.add(old.series_pk, old.study_pk, old.patient_pk)
                    vacated.add(old.series_pk)
                    if old.file_path != relative:
                        removed_files.append((old.file_path, old.file_size))
                    conn.execute(_DELETE_INSTANCE, {"b_id": old.id})
                    del existing[h.sop_uid]
                else:
                    outcomes.append(Outcome.STORED)
                seen.add(h.sop_uid)
                kept.append((item, relative))
            for item, relative in kept:
                if item.incoming is not None:
                    self.store.place(item.incoming, relative)
                    to_discard.append(item.incoming)
                elif item.data is not None:
                    self.store.place_bytes(item.data, relative)
                else:
                    raise KioskError(
                        f"image {item.header.sop_uid} has neither a file nor its bytes"
                    )
            if self.store.fsync and any(item.data is not None for item, _ in kept):
                # Their bytes went to their final paths without a sync, and the journal
                # that holds them skips, after a crash, what the index says is indexed: the
                # files (and new directories) are on disk before the rows can be. One syncfs
                # for the whole batch, whatever the number of new studies in it, before the
                # batch's first insert (on SQLite, no other writer waits for it).
                self.store.sync()
            # The batch's series, studies and patients: looked up, and the new ones inserted,
            # a few statements a batch whatever the number of new studies in it.
            series_by_uid = _parents(conn, [item.header for item, _ in kept], touched)
            rows: list[dict[str, object]] = []
            for item, relative in kept:
                parents = series_by_uid[item.header.series_uid]
                rows.append(_instance_row(item, parents.series, relative))
                touched.add(parents.series, parents.study, parents.patient)
            if rows:
                conn.execute(_INSERT_INSTANCE, rows)
            # A replaced instance that came in another series may leave its old series (and
            # study, and patient) empty: those are removed, as a deletion would.
            moved = vacated - {row["series_pk"] for row in rows}
            _refresh_counts(
                conn,
                touched.series,
                touched.studies,
                touched.patients,
                modalities_of=touched.studies if moved else touched.new_series_studies,
                prune=bool(moved),
            )
            if record is not None:
                record(session, outcomes)
        for path in to_discard:
            self.store.discard(path)
        for relative, size in removed_files:
            self.store.remove(relative, size)
        stored = [
            it.header
            for it, o in zip(items, outcomes, strict=True)
            if o in (Outcome.STORED, Outcome.REPLACED)
        ]
        if stored:
            study_uids = tuple(dict.fromkeys(h.study_uid for h in stored))
            self.events.publish(IndexChanged(tuple(h.sop_uid for h in stored), study_uids))
        return outcomes

    # -- deletion ------------------------------------------------------------------------------
    def delete(self, level: Level, key: str) -> DeleteResult:
        """Delete a patient (by PatientID), study, series or instance (by UID) and its files.

        Deleted stays deleted: nothing it deletes can come back after a crash or a power loss,
        neither from the intake journal (its replay starts after the high-water mark the index
        keeps, core.index.intake) nor from an incoming name still in ``incoming/``.
        """
        with self._lock:
            self.store.settle_discards()
            return self._delete(level, key)

    def _delete(self, level: Level, key: str) -> DeleteResult:
        with self._sessions.begin() as session:
            query = select(
                Instance.id,
                Instance.sop_uid,
                Instance.file_path,
                Instance.file_size,
                Instance.series_pk,
            )
            # The level's series, those without instances too (a replaced instance that came
            # again in another series leaves its old series empty): all go with it.
            series_query = select(Series.id)
            if level == "patient":
                ids = session.scalars(select(Patient.id).where(Patient.patient_id == key)).all()
                if not ids:
                    raise NotFoundError(f"no patient with ID {key!r}")
                query = query.join(Series).join(Study).where(Study.patient_pk.in_(ids))
                series_query = series_query.join(Study).where(Study.patient_pk.in_(ids))
            elif level == "study":
                query = query.join(Series).join(Study).where(Study.study_uid == key)
                series_query = series_query.join(Study).where(Study.study_uid == key)
            elif level == "series":
                query = query.join(Series).where(Series.series_uid == key)
                series_query = series_query.where(Series.series_uid == key)
            elif level == "instance":
                query = query.where(Instance.sop_uid == key)
            else:
                raise KioskError(f"unknown level {level!r}")
            rows = session.execute(query).all()
            series_ids = {r.series_pk for r in rows}
            if level != "instance":
                series_ids.update(session.scalars(series_query))
            if not series_ids:
                raise NotFoundError(f"no {level} {key!r} in the database")
            instance_ids = [r.id for r in rows]
            for chunk in _chunks(instance_ids):
                session.execute(delete(Instance).where(Instance.id.in_(chunk)))
            refresh_counts(session, series_ids, prune=True)
        total = 0
        for row in rows:
            self.store.remove(row.file_path, row.file_size)
            total += row.file_size
        self.events.publish(IndexChanged(deleted=tuple(r.sop_uid for r in rows)))
        return DeleteResult(
            instances=len(rows), bytes=total, sop_uids=tuple(r.sop_uid for r in rows)
        )

    # -- recovery ------------------------------------------------------------------------------
    def recover(self, batch_size: int = 200) -> tuple[int, list[tuple[Path, str]]]:
        """Index files left in ``incoming/`` by a crash; return (indexed, rejected)."""
        pending = self.store.pending()
        if not pending:
            return 0, []  # the usual start: nothing to read, pydicom stays unloaded
        from core.dicom.header import parse_instance_file

        indexed = 0
        rejected: list[tuple[Path, str]] = []
        batch: list[IngestItem] = []
        for path in pending:  # each read as far as its header (a file may be 2 GiB)
            try:
                parsed = parse_instance_file(path)
                size = path.stat().st_size
            except (RejectedFile, OSError) as exc:
                reason = exc.reason if isinstance(exc, RejectedFile) else str(exc)
                log.error("incoming file %s cannot be indexed: %s; moved aside", path.name, reason)
                rejected.append((path, reason))
                path.rename(path.with_suffix(".rejected"))
                continue
            batch.append(IngestItem(path, parsed.header, size, source="recovered"))
            if len(batch) >= batch_size:
                indexed += sum(o != Outcome.DUPLICATE for o in self.write_batch(batch))
                batch = []
        if batch:
            indexed += sum(o != Outcome.DUPLICATE for o in self.write_batch(batch))
        log.info("recovered %d incoming files after an interrupted run", indexed)
        return indexed, rejected


# -- statements ----------------------------------------------------------------------------------
# Built once on Core tables: the compiled forms are cached by the engine, IN lists are expanding
# parameters, and no ORM bookkeeping runs. The index writer runs them for every batch.
_PATIENT = cast(Table, Patient.__table__)
_STUDY = cast(Table, Study.__table__)
_SERIES = cast(Table, Series.__table__)
_INSTANCE = cast(Table, Instance.__table__)


def _ids(name: str = "b_ids") -> BindParameter[Any]:
    return bindparam(name, expanding=True)


_SELECT_EXISTING = (
    select(
        _INSTANCE.c.sop_uid,
        _INSTANCE.c.id,
        _INSTANCE.c.file_path,
        _INSTANCE.c.file_size,
        _INSTANCE.c.series_pk,
        _SERIES.c.study_pk,
        _STUDY.c.patient_pk,
    )
    .select_from(
        _INSTANCE.join(_SERIES, _SERIES.c.id == _INSTANCE.c.series_pk).join(
            _STUDY, _STUDY.c.id == _SERIES.c.study_pk
        )
    )
    .where(_INSTANCE.c.sop_uid.in_(_ids("b_uids")))
)
_SELECT_SERIES_IN = (
    select(_SERIES.c.series_uid, _SERIES.c.id, _SERIES.c.study_pk, _STUDY.c.patient_pk)
    .select_from(_SERIES.join(_STUDY, _STUDY.c.id == _SERIES.c.study_pk))
    .where(_SERIES.c.series_uid.in_(_ids("b_keys")))
)
_SELECT_STUDY_IN = select(_STUDY.c.study_uid, _STUDY.c.id, _STUDY.c.patient_pk).where(
    _STUDY.c.study_uid.in_(_ids("b_keys"))
)
_SELECT_PATIENT_IN = select(_PATIENT.c.patient_key, _PATIENT.c.id).where(
    _PATIENT.c.patient_key.in_(_ids("b_keys"))
)
_SELECT_PARENTS = (
    select(_SERIES.c.id, _SERIES.c.study_pk, _STUDY.c.patient_pk)
    .select_from(_SERIES.join(_STUDY, _STUDY.c.id == _SERIES.c.study_pk))
    .where(_SERIES.c.id.in_(_ids()))
)
# Each new row's key back with its unique column, for many rows in one statement.
_INSERT_RETURNING = {
    table.name: insert(table).returning(table.c.id, table.c[key])
    for table, key in (
        (_PATIENT, "patient_key"),
        (_STUDY, "study_uid"),
        (_SERIES, "series_uid"),
    )
}
_INSERT_INSTANCE = insert(_INSTANCE)
_DELETE_INSTANCE = delete(_INSTANCE).where(_INSTANCE.c.id == bindparam("b_id"))

_UPDATE_SERIES_COUNTS = (
    update(_SERIES)
    .where(_SERIES.c.id == bindparam("b_id"))
    .values(
        num_instances=select(func.count(_INSTANCE.c.id))
        .where(_INSTANCE.c.series_pk == _SERIES.c.id)
        .scalar_subquery()
    )
)
_PRUNE_SERIES = delete(_SERIES).where(_SERIES.c.id.in_(_ids()), _SERIES.c.num_instances == 0)
_SELECT_MODALITIES = (
    select(_SERIES.c.study_pk, _SERIES.c.modality).where(_SERIES.c.study_pk.in_(_ids())).distinct()
)
_UPDATE_STUDY_COUNTS = (
    update(_STUDY)
    .where(_STUDY.c.id == bindparam("b_id"))
    .values(
        num_series=select(func.count(_SERIES.c.id))
        .where(_SERIES.c.study_pk == _STUDY.c.id)
        .scalar_subquery(),
        num_instances=select(func.coalesce(func.sum(_SERIES.c.num_instances), 0))
        .where(_SERIES.c.study_pk == _STUDY.c.id)
        .scalar_subquery(),
        updated_at=bindparam("b_now"),
    )
)
_UPDATE_STUDY_MODALITIES = (
    update(_STUDY)
    .where(_STUDY.c.id == bindparam("b_id"))
    .values(modalities=bindparam("b_modalities"))
)
_PRUNE_STUDIES = delete(_STUDY).where(_STUDY.c.id.in_(_ids()), _STUDY.c.num_series == 0)
_UPDATE_PATIENT_COUNTS = (
    update(_PATIENT)
    .where(_PATIENT.c.id == bindparam("b_id"))
    .values(
        num_studies=select(func.count(_STUDY.c.id))
        .where(_STUDY.c.patient_pk == _PATIENT.c.id)
        .scalar_subquery(),
        num_series=select(func.coalesce(func.sum(_STUDY.c.num_series), 0))
        .where(_STUDY.c.patient_pk == _PATIENT.c.id)
        .scalar_subquery(),
        num_instances=select(func.coalesce(func.sum(_STUDY.c.num_instances), 0))
        .where(_STUDY.c.patient_pk == _PATIENT.c.id)
        .scalar_subquery(),
    )
)
_PRUNE_PATIENTS = delete(_PATIENT).where(_PATIENT.c.id.in_(_ids()), _PATIENT.c.num_studies == 0)


class _Parents(NamedTuple):
    """A series row's key with the keys of its study and patient."""

    series: int
    study: int
    patient: int


class _Existing(NamedTuple):
    """What a batch needs of an already indexed instance (to keep, replace or recognise it)."""

    sop_uid: str
    id: int
    file_path: str
    file_size: int
    series_pk: int
    study_pk: int
    patient_pk: int


@dataclass(slots=True)
class _Touched:
    """The rows whose counts a batch changed, and the studies that gained a series."""

    series: set[int] = field(default_factory=set)
    studies: set[int] = field(default_factory=set)
    patients: set[int] = field(default_factory=set)
    new_series_studies: set[int] = field(default_factory=set)

    def add(self, series: int, study: int, patient: int) -> None:
        self.series.add(series)
        self.studies.add(study)
        self.patients.add(patient)


def _instance_row(item: IngestItem, series_pk: int, relative: str) -> dict[str, object]:
    """The ``instance`` row of ``item``, stored at ``relative`` in series ``series_pk``."""
    h = item.header
    return {
        "series_pk": series_pk,
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


def _existing(conn: Connection, uids: Sequence[str]) -> dict[str, _Existing]:
    found: dict[str, _Existing] = {}
    for chunk in _chunks(sorted(set(uids))):
        for row in conn.execute(_SELECT_EXISTING, {"b_uids": list(chunk)}):
            found[row.sop_uid] = _Existing(*row)
    return found


def _insert_rows(
    conn: Connection, table: Table, key: str, values: Sequence[dict[str, object]]
) -> dict[str, int]:
    """Insert ``values`` into ``table``; return each new row's primary key by its unique
    ``key`` column: one statement for them all (INSERT ... RETURNING) where the database
    returns keys from a multi-row insert, else one each."""
    if not values:
        return {}
    if conn.dialect.insert_executemany_returning:
        statement = _INSERT_RETURNING[table.name]
        new = {str(row[1]): int(row[0]) for row in conn.execute(statement, list(values))}
    else:
        new = {}
        for value in values:
            primary = conn.execute(insert(table), value).inserted_primary_key
            if primary is not None and primary[0] is not None:
                new[str(value[key])] = int(primary[0])
    missing = [str(value[key]) for value in values if str(value[key]) not in new]
    if missing:
        raise KioskError(f"the database returned no key for {len(missing)} new {table} rows")
    return new


def _select_in(conn: Connection, statement: Select[Any], keys: Iterable[str]) -> Iterator[Row[Any]]:
    """The rows ``statement`` selects for ``keys`` (its expanding parameter ``b_keys``)."""
    for chunk in _chunks(sorted(set(keys))):
        yield from conn.execute(statement, {"b_keys": list(chunk)})


def _parents(
    conn: Connection, headers: Sequence[InstanceHeader], touched: _Touched
) -> dict[str, _Parents]:
    """The series of ``headers`` (by Series Instance UID) with their parents' keys; the new
    ones created, with their studies and patients when those are new too.

    A new study takes its attributes from the first image of its first new series in the
    batch, a new patient from that of its first new study: as if the images came one by one.
    Three lookups and at most three inserts a batch, however many studies are new in it.
    """
    first_of_series: dict[str, InstanceHeader] = {}
    for h in headers:
        first_of_series.setdefault(h.series_uid, h)
    found = {
        row.series_uid: _Parents(row.id, row.study_pk, row.patient_pk)
        for row in _select_in(conn, _SELECT_SERIES_IN, first_of_series)
    }
    new_series = [h for uid, h in first_of_series.items() if uid not in found]
    if not new_series:
        return found
    first_of_study: dict[str, InstanceHeader] = {}
    for h in new_series:
        first_of_study.setdefault(h.study_uid, h)
    studies = {
        row.study_uid: (int(row.id), int(row.patient_pk))
        for row in _select_in(conn, _SELECT_STUDY_IN, first_of_study)
    }
    new_studies = [h for uid, h in first_of_study.items() if uid not in studies]
    if new_studies:
        first_of_patient: dict[str, InstanceHeader] = {}
        for h in new_studies:
            first_of_patient.setdefault(patient_key(h), h)
        patients = {
            row.patient_key: int(row.id)
            for row in _select_in(conn, _SELECT_PATIENT_IN, first_of_patient)
        }
        patients.update(
            _insert_rows(
                conn,
                _PATIENT,
                "patient_key",
                [
                    _patient_row(key, h)
                    for key, h in first_of_patient.items()
                    if key not in patients
                ],
            )
        )
        now = _now()
        study_pk = _insert_rows(
            conn,
            _STUDY,
            "study_uid",
            [_study_row(h, patients[patient_key(h)], now) for h in new_studies],
        )
        studies.update(
            (h.study_uid, (study_pk[h.study_uid], patients[patient_key(h)])) for h in new_studies
        )
    series_pk = _insert_rows(
        conn, _SERIES, "series_uid", [_series_row(h, studies[h.study_uid][0]) for h in new_series]
    )
    for h in new_series:
        study, patient = studies[h.study_uid]
        found[h.series_uid] = _Parents(series_pk[h.series_uid], study, patient)
        touched.new_series_studies.add(study)
    return found


def _patient_row(key: str, h: InstanceHeader) -> dict[str, object]:
    return {
        "patient_key": key,
        "patient_id": h.patient_id,
        "patient_id_fold": fold(h.patient_id),
        "patient_name": h.patient_name,
        "patient_name_fold": fold(h.patient_name),
        "birth_date": h.birth_date,
        "sex": h.sex,
        "num_studies": 0,
        "num_series": 0,
        "num_instances": 0,
    }


def _study_row(h: InstanceHeader, patient_pk: int, now: datetime) -> dict[str, object]:
    return {
        "patient_pk": patient_pk,
        "study_uid": h.study_uid,
        "study_date": h.study_date,
        "study_time": h.study_time,
        "accession_number": h.accession_number,
        "study_description": h.study_description,
        "study_id": h.study_id,
        "referring_physician": h.referring_physician,
        "referring_physician_fold": fold(h.referring_physician),
        "modalities": "",
        "num_series": 0,
        "num_instances": 0,
        "updated_at": now,
    }


def _series_row(h: InstanceHeader, study_pk: int) -> dict[str, object]:
    return {
        "study_pk": study_pk,
        "series_uid": h.series_uid,
        "modality": h.modality,
        "series_number": h.series_number,
        "series_description": h.series_description,
        "body_part": h.body_part,
        "series_date": h.series_date,
        "series_time": h.series_time,
        "num_instances": 0,
    }


def refresh_counts(session: Session, series_ids: set[int], *, prune: bool = False) -> None:
    """Recompute the related-entity counts (and ModalitiesInStudy) upward from ``series_ids``.

    With ``prune``, series, studies and patients left without instances are removed.
    """
    if not series_ids:
        return
    conn = session.connection()
    studies: set[int] = set()
    patients: set[int] = set()
    for chunk in _chunks(sorted(series_ids)):
        for _series_pk, study_pk, patient_pk in conn.execute(_SELECT_PARENTS, {"b_ids": chunk}):
            studies.add(study_pk)
            patients.add(patient_pk)
    _refresh_counts(conn, series_ids, studies, patients, modalities_of=studies, prune=prune)


def _refresh_counts(
    conn: Connection,
    series_ids: set[int],
    study_ids: set[int],
    patient_ids: set[int],
    *,
    modalities_of: set[int],
    prune: bool,
) -> None:
    """Recompute the counts of the given rows, series first, then studies, then patients.

    ModalitiesInStudy is recomputed for the studies in ``modalities_of`` only: it changes
    when a study gains or loses a series, never when instances come or go.
    """
    # One row per parameter set (an executemany): a statement without an IN list is compiled
    # once and reused as it is, whatever the number of rows.
    if series_ids:
        conn.execute(_UPDATE_SERIES_COUNTS, [{"b_id": sid} for sid in sorted(series_ids)])
    if prune:
        for chunk in _chunks(sorted(series_ids)):
            conn.execute(_PRUNE_SERIES, {"b_ids": chunk})
    recompute = sorted(study_ids & modalities_of)
    for chunk in _chunks(recompute):
        modalities: dict[int, set[str]] = {sid: set() for sid in chunk}
        for study_pk, modality in conn.execute(_SELECT_MODALITIES, {"b_ids": chunk}):
            if modality:
                modalities[study_pk].add(modality)
        conn.execute(
            _UPDATE_STUDY_MODALITIES,
            [
                {"b_id": sid, "b_modalities": "\\".join(sorted(values))}
                for sid, values in modalities.items()
            ],
        )
    if study_ids:
        now = _now()
        conn.execute(
            _UPDATE_STUDY_COUNTS, [{"b_id": sid, "b_now": now} for sid in sorted(study_ids)]
        )
    if prune:
        for chunk in _chunks(sorted(study_ids)):
            conn.execute(_PRUNE_STUDIES, {"b_ids": chunk})
    if patient_ids:
        conn.execute(_UPDATE_PATIENT_COUNTS, [{"b_id": pid} for pid in sorted(patient_ids)])
    if prune:
        for chunk in _chunks(sorted(patient_ids)):
            conn.execute(_PRUNE_PATIENTS, {"b_ids": chunk})
