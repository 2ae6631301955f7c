"""The C-FIND answers of core.node.answers, byte for byte against the reference: pynetdicom's
encoding of core.node.matching.find's Datasets (what pynetdicom's associations send), for a
battery of queries at every level (wildcards, ranges, UID lists, universal matching, keys of
every VR, keys asked with another VR, sequences, keys read from the files) over names in
several scripts and index values chosen to be awkward, in every transfer syntax the node
accepts for queries."""

from __future__ import annotations

from typing import Any, cast

import pytest
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom.dsutils import encode
from sqlalchemy import update

from core.app import Core
from core.db.models import Instance, Patient, Series, Study
from core.index.importer import MemorySource
from core.node import answers, matching
from core.node.context import HandlerContext
from core.node.handlers import file_reader
from tests.core.node.test_matching import EVERY_VR
from tests.support.data import encode as part10
from tests.support.data import make_dataset

SYNTAXES = [
    str(ImplicitVRLittleEndian),
    str(ExplicitVRLittleEndian),
    str(ExplicitVRBigEndian),
    str(DeflatedExplicitVRLittleEndian),
]
LITTLE = SYNTAXES[:2]

NAMES = [
    ("Müller^Jürgen", "PID1", "20240115", "CT"),
    ("Smith^John", "PID2", "20240301", "MR"),
    ("smithson^anna", "PID3", "20231201", "US"),
    ("Διονυσιος^Ανδρεας", "PID4", "20150610", "CR"),
    ("山田^太郎=やまだ^たろう", "PID5", "20260101", "CT"),
    ("Nobody^One", "", "1997.04.24", "MR"),
    ("Nobody^Two", "", "20240102", "CT"),
]
# Index values a real image rarely holds, written straight into the rows after the import.
AWKWARD: list[dict[Any, Any]] = [
    {Study.study_description: " leading space", Series.series_description: "trailing  "},
    {Study.study_description: "tab\there", Study.accession_number: "é-accent"},
    {Study.study_description: "back\\slash", Series.modality: "é"},
    {Study.study_description: "x" * 70, Series.body_part: "HEAD\\NECK"},
    {Instance.rows: 70000, Instance.columns: -1, Series.series_number: 2**40},
    {Study.study_id: "ＩＤ全角", Patient.sex: "", Study.referring_physician: "Ärzte^Öskar"},
    {Study.study_time: "101500.123456", Series.series_time: " 0930"},
]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from core.config import load_settings

    core = Core(load_settings(tmp_path_factory.mktemp("answers"), {"fsync": False}))
    core.open()
    sources = []
    for number, (name, pid, date, modality) in enumerate(NAMES):
        for image in (1, 2):
            ds = make_dataset(
                patient_name=name,
                patient_id=pid,
                study_date=date,
                modality=modality,
                instance_number=image,
                study_uid=f"1.2.826.0.1.3680043.10.1071.9.{number}",
                series_uid=f"1.2.826.0.1.3680043.10.1071.8.{number}",
            )
            ds.StudyDescription = f"Study {number}"
            ds.ImageComments = "stored comment"
            ds.ImagePositionPatient = [1.5, -2, 3]
            ds.ReferencedImageSequence = Sequence([Dataset()])
            ds.ReferencedImageSequence[0].ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
            ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID = f"1.2.3.{number}.{image}"
            sources.append(MemorySource(f"{number}-{image}", part10(ds)))
    assert core.importer.run_sources(sources).imported == len(sources)
    with core.sessions.begin() as session:
        for row, values in enumerate(AWKWARD, start=1):
            for column, value in values.items():
                entity = column.class_
                session.execute(update(entity).where(entity.id == row).values({column: value}))
    yield core
    core.close()


def _key(keyword: str, vr: str | None = None, value: Any = None) -> DataElement:
    tag = BaseTag(tag_for_keyword(keyword) or 0)
    vr = vr or str(dictionary_VR(tag)).split(" or ")[0]
    if vr == "SQ":
        return DataElement(tag, vr, Sequence() if value is None else value)
    return DataElement(tag, vr, value)


def _query(level: str, *elements: DataElement, **values: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    ds.SpecificCharacterSet = "ISO_IR 192"
    for element in elements:
        ds.add(element)
    for keyword, value in values.items():
        ds.add(_key(keyword, value=value))
    return ds


def _all_keys(level: str) -> list[DataElement]:
    return [_key(k) for k, key in matching.KEYS.items() if key.level in matching.LEVELS]


STUDY = [_key(k) for k in ("StudyInstanceUID", "PatientName", "PatientID", "StudyDate",
         "StudyTime", "AccessionNumber", "StudyDescription", "ModalitiesInStudy",
         "NumberOfStudyRelatedInstances", "ReferringPhysicianName", "StudyID")]  # fmt: skip

QUERIES: dict[str, Dataset] = {
    **{f"{level} every key": _query(level, *_all_keys(level)) for level in matching.LEVELS},
    "PATIENT name wildcard": _query("PATIENT", _key("PatientID"), PatientName="smith*"),
    "PATIENT without ID merged": _query(
        "PATIENT", _key("PatientName"), _key("NumberOfPatientRelatedStudies"),
        _key("NumberOfPatientRelatedInstances"), _key("NumberOfPatientRelatedSeries"),
        PatientID="",
    ),
    "PATIENT Greek": _query("PATIENT", _key("PatientID"), PatientName="διονυσιος*"),
    "STUDY universal": _query("STUDY", *STUDY),
    "STUDY date range": _query("STUDY", *STUDY[:3], StudyDate="20240101-20241231"),
    "STUDY ACR-NEMA date": _query("STUDY", *STUDY[:3], StudyDate="1997.04.24"),
    "STUDY time range": _query("STUDY", *STUDY[:3], StudyTime="0900-1100"),
    "STUDY UID list": _query(
        "STUDY", *STUDY[1:],
        StudyInstanceUID="1.2.826.0.1.3680043.10.1071.9.1\\1.2.826.0.1.3680043.10.1071.9.4",
    ),
    "STUDY modalities": _query("STUDY", *STUDY[:8], ModalitiesInStudy="CT\\MR"),
    "STUDY ? wildcard": _query("STUDY", *STUDY[:3], PatientName="?mith^john"),
    "STUDY Japanese": _query("STUDY", *STUDY[:3], PatientName="山田*"),
    "STUDY keys with other VRs": _query(
        "STUDY",
        _key("PatientName", "LO"), _key("StudyDate", "LO"), _key("StudyInstanceUID", "LO"),
        _key("NumberOfStudyRelatedInstances", "US"), _key("AccessionNumber", "UN"),
        _key("StudyDescription", "UT"), _key("StudyID", "SL"), _key("StudyTime", "FD"),
    ),
    "STUDY keys of every VR outside the index": _query(
        "STUDY", _key("StudyInstanceUID"),
        *[_key(keyword) for keyword in EVERY_VR.values()],
    ),
    "STUDY private and unknown keys": _query(
        "STUDY", _key("StudyInstanceUID"),
        DataElement(0x00091001, "LO", None), DataElement(0x00191010, "UN", None),
    ),
    "STUDY ambiguous VR": _query(
        "STUDY", _key("StudyInstanceUID"), DataElement(0x00280106, "US or SS", None),
    ),
    "STUDY sequence key": _query("STUDY", _key("StudyInstanceUID"),
                                 _key("ReferencedStudySequence")),
    "SERIES modality wildcard": _query(
        "SERIES", _key("SeriesInstanceUID"), _key("SeriesNumber"), _key("SeriesDescription"),
        _key("BodyPartExamined"), _key("SeriesTime"), Modality="C?",
    ),
    "SERIES of a study": _query(
        "SERIES", _key("SeriesInstanceUID"), _key("Modality"),
        _key("NumberOfSeriesRelatedInstances"),
        StudyInstanceUID="1.2.826.0.1.3680043.10.1071.9.2",
    ),
    "IMAGE numbers": _query(
        "IMAGE", _key("SOPInstanceUID"), _key("Rows"), _key("Columns"), _key("InstanceNumber"),
        _key("NumberOfFrames"), _key("SOPClassUID"), _key("Rows", "IS"),
    ),
    "IMAGE instance number": _query("IMAGE", _key("SOPInstanceUID"), InstanceNumber="2"),
    "IMAGE keys from the files": _query(
        "IMAGE", _key("SOPInstanceUID"), _key("ImageComments"), _key("ImagePositionPatient"),
        _key("ReferencedImageSequence", value=Sequence([Dataset()])),
        StudyInstanceUID="1.2.826.0.1.3680043.10.1071.9.0",
    ),
}  # fmt: skip
QUERIES["IMAGE sequence with item keys"] = _query(
    "IMAGE", _key("SOPInstanceUID"), StudyInstanceUID="1.2.826.0.1.3680043.10.1071.9.1"
)
_item = Dataset()
_item.add(_key("ReferencedSOPClassUID"))
QUERIES["IMAGE sequence with item keys"].add(_key("ReferencedImageSequence", value=[_item]))


def _reference(core: Core, identifier: Dataset, syntax: str, **options: Any) -> list[bytes]:
    from pydicom.uid import UID

    uid = UID(syntax)
    with core.sessions() as session:
        return [
            encode(answer, uid.is_implicit_VR, uid.is_little_endian, uid.is_deflated) or b""
            for answer in matching.find(session, identifier, **options)
        ]


def _ours(core: Core, identifier: Dataset, syntax: str, **options: Any) -> list[bytes]:
    with core.sessions() as session:
        return list(answers.encoded_answers(session, identifier, syntax, **options))


@pytest.mark.parametrize("syntax", SYNTAXES)
@pytest.mark.parametrize("name", list(QUERIES))
def test_answers_are_the_bytes_pynetdicom_sends(indexed: Core, name: str, syntax: str) -> None:
    # the node's own reader of stored files (it uses only the store)
    options = {"retrieve_ae": "KIOSK", "read_file": file_reader(cast(HandlerContext, indexed))}
    reference = _reference(indexed, QUERIES[name], syntax, **options)
    assert reference, name  # every query of the battery matches something
    assert _ours(indexed, QUERIES[name], syntax, **options) == reference


@pytest.mark.parametrize("limit", [1, 3])
def test_a_limit_gives_the_same_first_answers(indexed: Core, limit: int) -> None:
    for name in ("PATIENT without ID merged", "STUDY universal", "SERIES modality wildcard"):
        got = _ours(indexed, QUERIES[name], LITTLE[1], limit=limit)
        assert got == _reference(indexed, QUERIES[name], LITTLE[1], limit=limit), name


def test_the_common_queries_take_the_short_path(indexed: Core) -> None:
    """Only keys read from the files, ambiguous VRs and the rarer syntaxes leave it."""
    for name, identifier in QUERIES.items():
        for syntax in SYNTAXES:
            plan = answers.AnswerPlan(identifier, syntax, "KIOSK", True)
            expected = syntax in LITTLE and not any(
                part in name for part in ("files", "item keys", "ambiguous")
            )
            assert plan.fast is expected, (name, syntax)


def test_awkward_values_are_in_the_index(indexed: Core) -> None:
    """The battery's values reach the answers (the rows were written as meant)."""
    with indexed.sessions() as session:
        descriptions = {s.study_description for s in session.query(Study)}
        rows = {i.rows for i in session.query(Instance)}
    assert " leading space" in descriptions and "back\\slash" in descriptions
    assert 70000 in rows


def test_memory_does_not_hold_the_rows(indexed: Core) -> None:
    """The query is streamed: rows are fetched ``FETCH_ROWS`` at a time."""
    plan = answers.AnswerPlan(QUERIES["STUDY universal"], LITTLE[0], "KIOSK", False)
    query = plan.query(QUERIES["STUDY universal"])
    assert query.get_execution_options()["yield_per"] == answers.FETCH_ROWS
