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

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.db.models import Instance, Patient, Series, Study
from core.db.patterns import LIKE_ESCAPE, fold, has_wildcard, wildcard_to_like
from core.dicom.header import dicom_date
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
# Not matched: the level, the character set (answers are UTF-8, ISO_IR 192) and the two keys
# the node fills itself (Retrieve AE Title: our AE title, in every answer).
IGNORED = {"QueryRetrieveLevel", "SpecificCharacterSet", "RetrieveAETitle", "TimezoneOffsetFromUTC"}
RETRIEVE_AE_TITLE = Tag(0x0008, 0x0054)
_QR_LEVEL = Tag(0x0008, 0x0052)
_CHARSET = Tag(0x0008, 0x0005)
_UNANSWERED = {_QR_LEVEL, _CHARSET, RETRIEVE_AE_TITLE}
# Binary numbers (PS3.5 6.2): the value goes in as a Python int or float, never as text.
_INTEGER_VRS = {"US", "SS", "UL", "SL", "UV", "SV", "AT"}
_FLOAT_VRS = {"FL", "FD"}
_MULTI_VALUED = {"ModalitiesInStudy"}
_PATIENT_COUNTS = ("num_studies", "num_series", "num_instances")

# Reads the return keys the index does not hold from one stored file (IMAGE level).
FileReader = Callable[[str, list[BaseTag]], Dataset | None]


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
    if kind == "date":
        low, high = dicom_date(low), dicom_date(high)
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
        if key.kind == "date" and not has_wildcard(value):
            value = dicom_date(value)  # the index holds YYYYMMDD; a legacy YYYY.MM.DD matches
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


def find(
    session: Session,
    identifier: Dataset,
    limit: int = 0,
    *,
    retrieve_ae: str = "",
    read_file: FileReader | None = None,
) -> Iterator[Dataset]:
    """Yield one response identifier per match, with the requested keys filled in.

    Every requested key is answered, with the VR it was asked with, filled from the index or
    empty. ``retrieve_ae`` goes into Retrieve AE Title (0008,0054) of every answer. At the
    IMAGE level, keys the index does not hold are read from the image's file by ``read_file``
    (stored path, tags). At the PATIENT level, patients without a Patient ID are one answer,
    as Patient ID is the level's unique key (PS3.4 C.6.1.1.2).
    """
    level = level_of(identifier)
    depth = _LEVEL_DEPTH[level]
    entities = _ENTITIES[: depth + 1]
    query = _joined(select(*entities), depth).where(*conditions(identifier, level))
    query = query.order_by(entities[-1].id)
    if limit and level != "PATIENT":
        query = query.limit(limit)
    requested = [e for e in identifier if e.tag not in _UNANSWERED]
    from_file: list[BaseTag] = []
    if level == "IMAGE" and read_file is not None:
        from_file = [e.tag for e in requested if e.keyword not in KEYS]
    answers: Iterator[dict[str, dict[str, Any]]] = (
        {lvl: _columns(entity) for lvl, entity in zip(LEVELS, row, strict=False)}
        for row in session.execute(query)
    )
    if level == "PATIENT":
        answers = _one_per_patient_id(answers, limit)
    for rows in answers:
        stored = None
        if from_file and read_file is not None:
            stored = read_file(rows["IMAGE"]["file_path"], from_file)
        yield _response(level, requested, rows, retrieve_ae, stored)


def _columns(entity: Any) -> dict[str, Any]:
    return {c.key: getattr(entity, c.key) for c in entity.__mapper__.column_attrs}


def _one_per_patient_id(
    answers: Iterator[dict[str, dict[str, Any]]], limit: int
) -> Iterator[dict[str, dict[str, Any]]]:
    """Patients of the index that share a Patient ID (the empty one: the index tells them
    apart by name and birth date) as one answer: the first one's attributes, counts summed.
    Orthanc and dcmqrscp give one answer for them too."""
    without_id: dict[str, dict[str, Any]] | None = None
    given = 0
    for rows in answers:
        patient = rows["PATIENT"]
        if patient["patient_id"]:
            if limit and given >= limit:
                return
            given += 1
            yield rows
        elif without_id is None:
            without_id = {"PATIENT": dict(patient)}
        else:
            for count in _PATIENT_COUNTS:
                without_id["PATIENT"][count] += patient[count]
    if without_id is not None and not (limit and given >= limit):
        yield without_id


def _response(
    level: str,
    requested: list[DataElement],
    rows: dict[str, dict[str, Any]],
    retrieve_ae: str,
    stored: Dataset | None,
) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.QueryRetrieveLevel = level
    if retrieve_ae:
        ds.RetrieveAETitle = retrieve_ae
    for asked in requested:
        key = KEYS.get(asked.keyword)
        if key is not None:
            value = rows[key.level][key.column.key] if key.level in rows else None
            answer = _element(asked, value, key.kind)
        elif stored is not None and asked.tag in stored:
            answer = _from_file(asked, stored[asked.tag])
        else:
            answer = _element(asked, None, "")
        ds.add(answer)
    return ds


def _vr(asked: DataElement) -> str:
    """The VR to answer ``asked`` with: the request's, or the dictionary's when that is UN."""
    vr = str(asked.VR)
    if vr in ("UN", "") and dictionary_has_tag(asked.tag):
        vr = str(dictionary_VR(asked.tag)).split(" or ")[0]
    return vr


def _element(asked: DataElement, value: Any, kind: str) -> DataElement:
    """An answer element for ``asked`` holding the index's ``value`` in the element's VR,
    or empty when there is none or it does not fit the VR (it always encodes)."""
    vr = _vr(asked)
    if vr == "SQ":
        return DataElement(asked.tag, vr, Sequence())
    converted: Any = None
    if value is not None and value != "":
        try:
            if vr in _INTEGER_VRS:
                converted = int(value)
            elif vr in _FLOAT_VRS:
                converted = float(value)
            elif kind == "modalities" or asked.keyword in _MULTI_VALUED:
                converted = str(value).split("\\")
            else:
                converted = str(value)
        except (TypeError, ValueError):
            converted = None
    answer = DataElement(asked.tag, vr, converted)
    return answer if _encodes(answer) else DataElement(asked.tag, vr, None)


def _from_file(asked: DataElement, stored: DataElement) -> DataElement:
    """The stored element as an answer; a sequence key with keys in its item gets each
    stored item with those keys only (PS3.4 C.2.2.2.6), a key without them every item."""
    if stored.VR == "SQ" and asked.VR == "SQ" and asked.value and len(asked.value[0]):
        wanted = list(asked.value[0])
        items = []
        for item in stored.value:
            item_answer = Dataset()
            for sub in wanted:
                item_answer.add(
                    _from_file(sub, item[sub.tag]) if sub.tag in item else _element(sub, None, "")
                )
            items.append(item_answer)
        return DataElement(asked.tag, "SQ", Sequence(items))
    answer = DataElement(stored.tag, stored.VR, stored.value)
    return answer if _encodes(answer) else _element(asked, None, "")


def _encodes(element: DataElement) -> bool:
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            write_data_element(buffer, element, "utf_8")
    except Exception:  # pydicom raises many types for a value that does not fit its VR
        return False
    return True


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


__all__ = ["KEYS", "LEVELS", "FileReader", "conditions", "false", "find", "instances", "level_of"]
