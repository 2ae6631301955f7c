"""C-FIND answers of core.node.matching against a temporary index: every return key of every VR
encodes, empty or filled; ACR-NEMA dates; one patient per Patient ID; Retrieve AE Title; keys
read from the stored file at the IMAGE level."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from core.app import Core
from core.dicom.header import dicom_date
from core.index.importer import MemorySource
from core.node import matching
from tests.support.data import encode, make_dataset

# One attribute of each VR a key can have (PS3.5 Table 6.2-1), none of them in the index.
EVERY_VR = {
    "AE": "ScheduledStationAETitle",
    "AS": "PatientAge",
    "AT": "FrameIncrementPointer",
    "CS": "ImageType",
    "DA": "ContentDate",
    "DS": "SliceThickness",
    "DT": "AcquisitionDateTime",
    "FL": "RecommendedDisplayFrameRateInFloat",
    "FD": "RealWorldValueLUTData",
    "IS": "AcquisitionNumber",
    "LO": "Manufacturer",
    "LT": "ImageComments",
    "OB": "IconImageSequence",
    "PN": "OperatorsName",
    "SH": "StationName",
    "SL": "ReferencePixelX0",
    "SQ": "ReferencedImageSequence",
    "SS": "TagAngleSecondAxis",
    "ST": "InstitutionAddress",
    "SV": "SelectorSVValue",
    "TM": "ContentTime",
    "UC": "StrainAdditionalInformation",
    "UI": "FrameOfReferenceUID",
    "UL": "SimpleFrameList",
    "UR": "RetrieveURL",
    "US": "BitsAllocated",
    "UT": "PixelDataProviderURL",
    "UV": "SelectorUVValue",
}


@pytest.fixture
def indexed(core: Core) -> Core:
    sources = []
    for name, pid, date in (
        ("Müller^Jürgen", "PID1", "20240115"),
        ("Nobody^One", "", "1997.04.24"),
        ("Nobody^Two", "", "20240102"),
    ):
        ds = make_dataset(patient_name=name, patient_id=pid, study_date=date)
        ds.ImageComments = "stored comment"
        ds.ImagePositionPatient = [1.5, -2, 3]
        ds.ReferencedImageSequence = Sequence([Dataset(), Dataset()])
        for item, uid in zip(ds.ReferencedImageSequence, ("1.2.3", "1.2.4"), strict=True):
            item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
            item.ReferencedSOPInstanceUID = uid
        sources.append(MemorySource(name, encode(ds)))
    assert core.importer.run_sources(sources).imported == 3
    return core


def _identifier(level: str, keywords: list[str], **values: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword in keywords:
        tag = BaseTag(tag_for_keyword(keyword) or 0)
        vr = str(dictionary_VR(tag)).split(" or ")[0]
        ds.add(DataElement(tag, vr, Sequence() if vr == "SQ" else None))
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds


def _reader(core: Core) -> matching.FileReader:
    def read(relative: str, tags: list[BaseTag]) -> Dataset | None:
        return dcmread(core.store.absolute(relative), stop_before_pixels=True)

    return read


def _find(core: Core, identifier: Dataset, **options: object) -> list[Dataset]:
    with core.sessions() as session:
        return list(matching.find(session, identifier, **options))  # type: ignore[arg-type]


def _encodes(ds: Dataset, implicit: bool) -> None:
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = implicit
    write_dataset(buffer, ds)


class TestEveryReturnKeyEncodes:
    @pytest.mark.parametrize("level", matching.LEVELS)
    def test_every_indexed_key_at_every_level(self, indexed: Core, level: str) -> None:
        keywords = [k for k, key in matching.KEYS.items() if key.level in matching.LEVELS]
        answers = _find(indexed, _identifier(level, keywords))
        assert answers
        for answer in answers:
            for implicit in (True, False):
                _encodes(answer, implicit)
            assert [e.keyword for e in answer][2:] != []

    def test_numbers_of_binary_vr_are_numbers(self, indexed: Core) -> None:
        answers = _find(indexed, _identifier("IMAGE", ["Rows", "Columns", "SOPInstanceUID"]))
        assert len(answers) == 3
        assert {(a.Rows, a.Columns) for a in answers} == {(2, 2)}

    @pytest.mark.parametrize("vr", sorted(EVERY_VR))
    @pytest.mark.parametrize("level", ["STUDY", "IMAGE"])
    def test_a_key_of_every_vr(self, indexed: Core, vr: str, level: str) -> None:
        keyword = EVERY_VR[vr]
        identifier = _identifier(level, ["StudyInstanceUID", keyword])
        answers = _find(indexed, identifier, read_file=_reader(indexed))
        assert len(answers) == 3
        for answer in answers:
            _encodes(answer, implicit=False)
            _encodes(answer, implicit=True)
            assert keyword in answer


class TestValues:
    def test_acr_nema_dates(self, indexed: Core) -> None:
        assert dicom_date("1997.04.24") == "19970424"
        assert dicom_date(" 20240102 ") == "20240102"
        for key in ("1997.04.24", "19970424", "19970101-19971231", "1997.01.01-1997.12.31"):
            found = _find(indexed, _identifier("STUDY", ["StudyDate"], StudyDate=key))
            assert [str(a.StudyDate) for a in found] == ["19970424"], key

    def test_patients_without_id_are_one_answer(self, indexed: Core) -> None:
        keywords = ["PatientName", "PatientID", "NumberOfPatientRelatedStudies"]
        answers = _find(indexed, _identifier("PATIENT", keywords))
        by_id = {a.PatientID or "": a for a in answers}
        assert len(answers) == 2 and set(by_id) == {"PID1", ""}
        assert str(by_id[""].PatientName) == "Nobody^One"
        assert int(by_id[""].NumberOfPatientRelatedStudies) == 2
        two = _find(indexed, _identifier("PATIENT", keywords, PatientName="Nobody^Two"))
        assert [str(a.PatientName) for a in two] == ["Nobody^Two"]
        assert len(_find(indexed, _identifier("PATIENT", keywords), limit=1)) == 1

    def test_retrieve_ae_title_in_every_answer(self, indexed: Core) -> None:
        for level in matching.LEVELS:
            answers = _find(indexed, _identifier(level, []), retrieve_ae="KIOSK")
            assert answers and {a.RetrieveAETitle for a in answers} == {"KIOSK"}

    def test_image_keys_outside_the_index_come_from_the_file(self, indexed: Core) -> None:
        identifier = _identifier("IMAGE", ["ImageComments", "ImagePositionPatient"])
        identifier.ReferencedImageSequence = Sequence([Dataset()])
        identifier.ReferencedImageSequence[0].ReferencedSOPInstanceUID = None
        answers = _find(indexed, identifier, read_file=_reader(indexed))
        for answer in answers:
            assert answer.ImageComments == "stored comment"
            assert [float(v) for v in answer.ImagePositionPatient] == [1.5, -2.0, 3.0]
            items = answer.ReferencedImageSequence
            assert [[e.keyword for e in item] for item in items] == [
                ["ReferencedSOPInstanceUID"]
            ] * 2
            assert [item.ReferencedSOPInstanceUID for item in items] == ["1.2.3", "1.2.4"]
        without_reader = _find(indexed, identifier)
        assert all(not a.ImageComments for a in without_reader)


def test_a_stored_file_that_cannot_be_read_leaves_its_keys_empty(
    indexed: Core, tmp_path: Path
) -> None:
    identifier = _identifier("IMAGE", ["ImageComments", "Rows"])
    answers = _find(indexed, identifier, read_file=lambda relative, tags: None)
    assert len(answers) == 3
    assert all(not a.ImageComments and a.Rows == 2 for a in answers)
