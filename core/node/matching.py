"""C-FIND / C-MOVE / C-GET identifier matching against the index (PS3.4 C.2.2.2).

Implemented matching types (PS3.4 C.2.2.2.1-C.2.2.2.5):
- universal matching: an empty value (or absent key) matches everything;
- single value matching: exact, except person names (PN), matched case-insensitively
  (Unicode case folding on the ``*_fold`` columns);
- wildcard matching: ``*`` (any run) and ``?`` (one character) in string values;
- range matching: ``A-B``, ``A-`` and ``-B`` for dates (DA) and times (TM);
- list of UID matching: backslash-separated UIDs.
Keys other than the level's unique keys narrow the result as filters at any level (relational
matching across the levels above), which DCMTK's findscu and Orthanc both accept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.db.models import Instance, Patient, Series, Study
from core.db.patterns import LIKE_ESCAPE, fold, has_wildcard, wildcard_to_like
from core.errors import QueryError

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
_LEVEL_DEPTH = {level: depth for depth, level in enumerate(LEVELS)}

# keyword -> (column, kind, level). kind: pn (folded), text, uid, date, time, int, count, cs
_Col = InstrumentedAttribute[Any]


@dataclass(frozen=True, slots=True)
class Key:
    column: _Col
    kind: str
    level: str
    fold_column: _Col | None = None


KEYS: dict[str, Key] = {
    # PATIENT
    "PatientName": Key(Patient.patient_name, "pn", "PATIENT", Patient.patient_name_fold),
    "PatientID": Key(Patient.patient_id, "text", "PATIENT"),
    "PatientBirthDate": Key(Patient.birth_date, "date", "PATIENT"),
    "PatientSex": Key(Patient.sex, "text", "PATIENT"),
    "NumberOfPatientRelatedStudies": Key(Patient.num_studies, "count", "PATIENT"),
    "NumberOfPatientRelatedSeries": Key(Patient.num_series, "count", "PATIENT"),
    "NumberOfPatientRelatedInstances": Key(Patient.num_instances, "count", "PATIENT"),
    # STUDY
    "StudyInstanceUID": Key(Study.study_uid, "uid", "STUDY"),
    "StudyDate": Key(Study.study_date, "date", "STUDY"),
    "StudyTime": Key(Study.study_time, "time", "STUDY"),
    "AccessionNumber": Key(Study.accession_number, "text", "STUDY"),
    "StudyID": Key(Study.study_id, "text", "STUDY"),
    "StudyDescription": Key(Study.study_description, "text", "STUDY"),
    "ReferringPhysicianName": Key(
        Study.referring_physician, "pn", "STUDY", Study.referring_physician_fold
    ),
    "ModalitiesInStudy": Key(Study.modalities, "modalities", "STUDY"),
    "NumberOfStudyRelatedSeries": Key(Study.num_series, "count", "STUDY"),
    "NumberOfStudyRelatedInstances": Key(Study.num_instances, "count", "STUDY"),
    # SERIES
    "SeriesInstanceUID": Key(Series.series_uid, "uid", "SERIES"),
    "Modality": Key(Series.modality, "text", "SERIES"),
    "SeriesNumber": Key(Series.series_number, "int", "SERIES"),
    "SeriesDescription": Key(Series.series_description, "text", "SERIES"),
    "BodyPartExamined": Key(Series.body_part, "text", "SERIES"),
    "SeriesDate": Key(Series.series_date, "date", "SERIES"),
    "SeriesTime": Key(Series.series_time, "time", "SERIES"),
    "NumberOfSeriesRelatedInstances": Key(Series.num_instances, "count", "SERIES"),
    # IMAGE
    "SOPInstanceUID": Key(Instance.sop_uid, "uid", "IMAGE"),
    "SOPClassUID": Key(Instance.sop_class_uid, "uid", "IMAGE"),
    "InstanceNumber": Key(Instance.instance_number, "int", "IMAGE"),
    "NumberOfFrames": Key(Instance.num_frames, "int", "IMAGE"),
    "Rows": Key(Instance.rows, "int", "IMAGE"),
    "Columns": Key(Instance.columns, "int", "IMAGE"),
}

_ENTITIES = (Patient, Study, Series, Instance)
IGNORED = {"QueryRetrieveLevel", "SpecificCharacterSet", "RetrieveAETitle", "TimezoneOffsetFromUTC"}


def _raw_value(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip()


def _pattern_match(column: Any, value: str, case_fold: bool) -> ColumnElement[bool]:
    if case_fold:
        value = fold(value)
    if has_wildcard(value):
        if value.strip("*") == "":
            return column.is_not(None) | column.is_(None)  # '*' alone: universal
        return column.like(wildcard_to_like(value), escape=LIKE_ESCAPE)
    return column == value


def _range(column: _Col, value: str, kind: str) -> ColumnElement[bool]:
    """Range matching (PS3.4 C.2.2.2.5) on DA/TM strings, which sort lexically."""
    low, _, high = value.partition("-")
    low, high = low.strip(), high.strip()
    if kind == "time" and high:
        high = high.ljust(6, "9") if "." not in high else high
        high += "\uffff"  # include fractional seconds of the upper bound
    conditions: list[ColumnElement[bool]] = []
    if low:
        conditions.append(column >= low)
    if high:
        conditions.append(column <= high)
    conditions.append(column != "")
    return and_(*conditions)


def condition(keyword: str, value: str) -> ColumnElement[bool] | None:
    """The SQL condition for one non-empty key, or None when it does not constrain."""
    key = KEYS.get(keyword)
    if key is None or value == "":
        return None
    col = key.column
    if key.kind == "count":
        return None  # return keys only
    if key.kind == "uid":
        # List of UID matching (PS3.4 C.2.2.2.2)
        uids = [u.strip() for u in value.split("\\") if u.strip()]
        return col.in_(uids) if len(uids) > 1 else col == uids[0]
    if key.kind in ("date", "time"):
        if "-" in value:
            return _range(col, value, key.kind)
        if key.kind == "time" and not has_wildcard(value):
            return col.like(wildcard_to_like(value) + "%", escape=LIKE_ESCAPE)
        return _pattern_match(col, value, False)
    if key.kind == "int":
        try:
            return col == int(value)
        except ValueError as exc:
            raise QueryError(f"{keyword}: {value!r} is not a number") from exc
    if key.kind == "pn":
        if key.fold_column is not None:
            return _pattern_match(key.fold_column, value, True)
        return _pattern_match(func.lower(col), value.lower(), False)
    if key.kind == "modalities":
        # ModalitiesInStudy: the study has a series of any of the listed modalities.
        wanted = [m.strip() for m in value.split("\\") if m.strip()]
        parts = [_pattern_match(Series.modality, m, False) for m in wanted]
        return exists(select(Series.id).where(Series.study_pk == Study.id, or_(*parts)))
    return _pattern_match(col, value, False)


def level_of(identifier: Dataset) -> str:
    level = _raw_value(identifier, "QueryRetrieveLevel").upper()
    if level not in LEVELS:
        raise QueryError(f"Query/Retrieve Level {level!r} is not one of {', '.join(LEVELS)}")
    return level


def _joined(query: Any, depth: int) -> Any:
    query = query.select_from(Patient)
    if depth >= 1:
        query = query.join(Study, Study.patient_pk == Patient.id)
    if depth >= 2:
        query = query.join(Series, Series.study_pk == Study.id)
    if depth >= 3:
        query = query.join(Instance, Instance.series_pk == Series.id)
    return query


def conditions(identifier: Dataset, level: str) -> list[ColumnElement[bool]]:
    depth = _LEVEL_DEPTH[level]
    found: list[ColumnElement[bool]] = []
    for elem in identifier:
        keyword = elem.keyword
        if not keyword or keyword in IGNORED:
            continue
        key = KEYS.get(keyword)
        if key is None:
            continue
        if _LEVEL_DEPTH[key.level] > depth:
            continue  # a key below the query level cannot constrain it (PS3.4 C.4.1.3.1)
        cond = condition(keyword, _raw_value(identifier, keyword))
        if cond is not None:
            found.append(cond)
    return found


def find(session: Session, identifier: Dataset, limit: int = 0) -> Iterator[Dataset]:
    """Yield one response identifier per match, with the requested keys filled in."""
    level = level_of(identifier)
    depth = _LEVEL_DEPTH[level]
    entities = _ENTITIES[: depth + 1]
    query = _joined(select(*entities), depth).where(*conditions(identifier, level))
    query = query.order_by(entities[-1].id)
    if limit:
        query = query.limit(limit)
    requested = [e.keyword for e in identifier if e.keyword and e.keyword not in IGNORED]
    for row in session.execute(query):
        rows = dict(zip(("PATIENT", "STUDY", "SERIES", "IMAGE"), row, strict=False))
        yield _response(identifier, level, requested, rows)


def _response(
    identifier: Dataset, level: str, requested: list[str], rows: dict[str, Any]
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.QueryRetrieveLevel = level
    for keyword in requested:
        key = KEYS.get(keyword)
        value: Any = ""
        if key is not None and key.level in rows:
            value = getattr(rows[key.level], key.column.key)
            if value is None:
                value = ""
            elif key.kind in ("count", "int"):
                value = str(value)
        if keyword == "ModalitiesInStudy" and value:
            value = value.split("\\")
        try:
            setattr(ds, keyword, value)
        except (ValueError, TypeError):
            setattr(ds, keyword, "")
    return ds


def instances(session: Session, identifier: Dataset) -> list[tuple[str, str, str]]:
    """For C-MOVE/C-GET: (file_path, sop_class_uid, transfer_syntax) of matching instances."""
    level = level_of(identifier)
    conds = conditions(identifier, level)
    if not conds:
        return []  # a retrieve must name what to retrieve; never the whole database
    query = _joined(
        select(Instance.file_path, Instance.sop_class_uid, Instance.transfer_syntax), 3
    ).where(*conds)
    return [
        (r[0], r[1], r[2]) for r in session.execute(query.order_by(Instance.series_pk, Instance.id))
    ]


__all__ = ["KEYS", "LEVELS", "conditions", "false", "find", "instances", "level_of"]
