"""Browse queries with the GUI's semantics, shared by the CLI and the viewmodels.

Patient name and ID: ``*`` and ``?`` are wildcards, no wildcard means an exact match, both
case-insensitive (Unicode case folding) and accent-preserving; ``%`` and ``_`` are literal.
Study date range and modality narrow every level. Results are paged (limit/offset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.db.models import Instance, Patient, Series, Study
from core.db.patterns import LIKE_ESCAPE, fold, has_wildcard, wildcard_to_like
from core.errors import QueryError

BrowseLevel = Literal["patient", "study", "series", "image"]
LEVELS: tuple[BrowseLevel, ...] = ("patient", "study", "series", "image")


@dataclass(frozen=True)
class StudyFilter:
    """What the filter panel (and the list command) can ask for. Empty means no constraint."""

    patient_name: str = ""
    patient_id: str = ""
    date_from: str = ""  # YYYYMMDD, inclusive
    date_to: str = ""  # YYYYMMDD, inclusive
    modality: str = ""
    patient_pk: int | None = None
    study_uid: str = ""
    series_uid: str = ""

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value and not (len(value) == 8 and value.isdigit()):
                raise QueryError(f"{name.replace('_', '-')} must be YYYYMMDD, not {value!r}")


# Columns per level: DICOM keyword (or a plain name for non-DICOM data) -> model column.
COLUMNS: dict[BrowseLevel, dict[str, InstrumentedAttribute[Any]]] = {
    "patient": {
        "PatientName": Patient.patient_name,
        "PatientID": Patient.patient_id,
        "PatientBirthDate": Patient.birth_date,
        "PatientSex": Patient.sex,
        "NumberOfPatientRelatedStudies": Patient.num_studies,
        "NumberOfPatientRelatedSeries": Patient.num_series,
        "NumberOfPatientRelatedInstances": Patient.num_instances,
    },
    "study": {
        "PatientName": Patient.patient_name,
        "PatientID": Patient.patient_id,
        "StudyDate": Study.study_date,
        "StudyTime": Study.study_time,
        "StudyDescription": Study.study_description,
        "ModalitiesInStudy": Study.modalities,
        "AccessionNumber": Study.accession_number,
        "StudyID": Study.study_id,
        "ReferringPhysicianName": Study.referring_physician,
        "NumberOfStudyRelatedSeries": Study.num_series,
        "NumberOfStudyRelatedInstances": Study.num_instances,
        "StudyInstanceUID": Study.study_uid,
    },
    "series": {
        "SeriesNumber": Series.series_number,
        "Modality": Series.modality,
        "SeriesDescription": Series.series_description,
        "BodyPartExamined": Series.body_part,
        "SeriesDate": Series.series_date,
        "SeriesTime": Series.series_time,
        "NumberOfSeriesRelatedInstances": Series.num_instances,
        "SeriesInstanceUID": Series.series_uid,
        "StudyInstanceUID": Study.study_uid,
    },
    "image": {
        "InstanceNumber": Instance.instance_number,
        "SOPClassUID": Instance.sop_class_uid,
        "NumberOfFrames": Instance.num_frames,
        "Rows": Instance.rows,
        "Columns": Instance.columns,
        "TransferSyntaxUID": Instance.transfer_syntax,
        "FileSize": Instance.file_size,
        "ReceivedAt": Instance.received_at,
        "Source": Instance.source,
        "SOPInstanceUID": Instance.sop_uid,
        "SeriesInstanceUID": Series.series_uid,
    },
}

DEFAULT_SORT: dict[BrowseLevel, tuple[str, bool]] = {
    "patient": ("PatientName", False),
    "study": ("StudyDate", True),
    "series": ("SeriesNumber", False),
    "image": ("InstanceNumber", False),
}

_PK = {"patient": Patient.id, "study": Study.id, "series": Series.id, "image": Instance.id}


def _text_match(column: InstrumentedAttribute[str], pattern: str) -> ColumnElement[bool]:
    folded = fold(pattern)
    if has_wildcard(folded):
        return column.like(wildcard_to_like(folded), escape=LIKE_ESCAPE)
    return column == folded


def _study_conditions(f: StudyFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.date_from:
        conds.append(Study.study_date >= f.date_from)
    if f.date_to:
        conds.append(Study.study_date <= f.date_to)
        conds.append(Study.study_date != "")  # a study without a date is in no range
    if f.modality:
        # IN (a list the modality index yields once) rather than a correlated EXISTS per study.
        conds.append(
            Study.id.in_(select(Series.study_pk).where(Series.modality == f.modality.upper()))
        )
    if f.study_uid:
        conds.append(Study.study_uid == f.study_uid)
    if f.series_uid:
        conds.append(Study.id.in_(select(Series.study_pk).where(Series.series_uid == f.series_uid)))
    return conds


def _patient_conditions(f: StudyFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.patient_name:
        conds.append(_text_match(Patient.patient_name_fold, f.patient_name))
    if f.patient_id:
        conds.append(_text_match(Patient.patient_id_fold, f.patient_id))
    if f.patient_pk is not None:
        conds.append(Patient.id == f.patient_pk)
    return conds


def _base(level: BrowseLevel, f: StudyFilter) -> Select[Any]:
    """The filtered FROM/WHERE of a level, selecting its primary key."""
    patient_conds = _patient_conditions(f)
    study_conds = _study_conditions(f)
    if level == "patient":
        query = select(Patient.id).where(*patient_conds)
        if study_conds:
            query = query.where(Patient.id.in_(select(Study.patient_pk).where(*study_conds)))
        return query
    query = select(Study.id).join(Patient, Study.patient_pk == Patient.id)
    if patient_conds:  # an IN list the name/ID indexes yield once, not a probe per study
        query = query.where(Study.patient_pk.in_(select(Patient.id).where(*patient_conds)))
    query = query.where(*study_conds)
    if level == "study":
        return query
    query = query.with_only_columns(Series.id).join(Series, Series.study_pk == Study.id)
    if f.modality:
        query = query.where(Series.modality == f.modality.upper())
    if f.series_uid:
        query = query.where(Series.series_uid == f.series_uid)
    if level == "series":
        return query
    return query.with_only_columns(Instance.id).join(Instance, Instance.series_pk == Series.id)


def count(session: Session, level: BrowseLevel, f: StudyFilter) -> int:
    return int(session.scalar(select(func.count()).select_from(_base(level, f).subquery())) or 0)


def list_rows(
    session: Session,
    level: BrowseLevel,
    f: StudyFilter,
    sort: str | None = None,
    descending: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """One page of ``level`` rows as dicts keyed by DICOM keyword (plus ``_pk``)."""
    if level not in COLUMNS:
        raise QueryError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    columns = COLUMNS[level]
    default_sort, default_desc = DEFAULT_SORT[level]
    if descending is None:  # the level's default order, else ascending (first tap)
        descending = default_desc if sort is None else False
    sort = sort or default_sort
    if sort not in columns:
        raise QueryError(f"cannot sort {level} rows by {sort!r}; columns: {', '.join(columns)}")
    desc = descending
    if limit < 0 or offset < 0:
        raise QueryError("limit and offset cannot be negative")
    pk = _PK[level]
    # _base already joins every table a level's columns come from: select them from it.
    query = _base(level, f).with_only_columns(
        pk.label("_pk"), *(col.label(name) for name, col in columns.items())
    )
    order = columns[sort]
    direction: list[ColumnElement[Any]] = [
        order.desc() if desc else order.asc(),
        pk.desc() if desc else pk.asc(),
    ]
    # NULLs last in both directions, the same on SQLite and PostgreSQL; only nullable
    # columns need the extra key (it would keep the database from ordering by an index).
    if any(c.nullable for c in order.property.columns):
        direction.insert(0, order.is_(None))
    query = query.order_by(*direction)
    query = query.limit(limit).offset(offset)
    rows = []
    for row in session.execute(query):
        mapping = dict(row._mapping)
        if "ReceivedAt" in mapping and mapping["ReceivedAt"] is not None:
            mapping["ReceivedAt"] = mapping["ReceivedAt"].isoformat(timespec="seconds")
        rows.append(mapping)
    return rows


def suggestions(
    session: Session, field: Literal["name", "id"], prefix: str, limit: int = 20
) -> list[str]:
    """Distinct patient names or IDs starting with ``prefix`` (case-insensitive), for combos."""
    column = Patient.patient_name if field == "name" else Patient.patient_id
    folded = Patient.patient_name_fold if field == "name" else Patient.patient_id_fold
    query = select(column).distinct().where(column != "")
    if prefix:
        query = query.where(folded.like(wildcard_to_like(fold(prefix)) + "%", escape=LIKE_ESCAPE))
    return list(session.scalars(query.order_by(column).limit(limit)))


def modalities(session: Session) -> list[str]:
    """The modalities present in the database (for the filter chips)."""
    query = select(Series.modality).distinct().where(Series.modality != "")
    return list(session.scalars(query.order_by(Series.modality)))


def stats(session: Session) -> dict[str, int]:
    return {
        "patients": int(session.scalar(select(func.count(Patient.id))) or 0),
        "studies": int(session.scalar(select(func.count(Study.id))) or 0),
        "series": int(session.scalar(select(func.count(Series.id))) or 0),
        "instances": int(session.scalar(select(func.count(Instance.id))) or 0),
        "bytes": int(session.scalar(select(func.coalesce(func.sum(Instance.file_size), 0))) or 0),
    }
