"""Our C-FIND SCU against DCMTK findscu, the same queries to the same Orthanc: every answer
findscu received (``-X``: each written to a file as it came), read the way the previous client
read answers (a pydicom Dataset, the query's character set for an answer without one), is the
match our client returns, for answers in Latin-1, UTF-8 and ISO 2022 IR 87 (Orthanc's
``DefaultEncoding``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.charset import convert_encodings
from pydicom.dataset import Dataset

from core.net.qr import STUDY_KEYS, QueryRetrieveClient, StudyMatch, StudyQuery
from core.net.remote import RemoteAE
from tests.core.net.test_identifier import _old_int, _old_str
from tests.support.data import make_dataset, write
from tests.support.dcmtk import dcmtk, have_dcmtk, run
from tests.support.orthanc import Orthanc, orthanc_binary

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        orthanc_binary() is None or not have_dcmtk(), reason="needs Orthanc and DCMTK"
    ),
]

PATIENTS = [
    ("Smith^John", "P-1", "CT HEAD"),
    ("Müller^Jürgen", "P-2", "Schädel nativ"),
    ("Yamada^Tarou=山田^太郎=やまだ^たろう", "P-3", "頭部"),
    ("山田^花子", "P-4", ""),
    ("Łukasik^Piotr", "P-5", "Głowa"),
    ("Smith^Ann", "P-6", "MR KNEE"),
]
# Orthanc's DefaultEncoding -> the Specific Character Set its answers carry
ENCODINGS = {"Latin1": "ISO_IR 100", "Utf8": "ISO_IR 192", "JapaneseKanji": "ISO 2022 IR 87"}
# name key -> the Specific Character Set our client sends with it
KEYS = {"": "", "Smith*": "", "M*": "", "山田*": "ISO_IR 192"}


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Orthanc]:
    folder = tmp_path_factory.mktemp("find-data")
    files = []
    for name, patient_id, description in PATIENTS:
        ds = make_dataset(patient_name=name, patient_id=patient_id, charset="ISO_IR 192")
        ds.StudyDescription = description
        ds.AccessionNumber = f"A{patient_id}"
        ds.StudyTime = "101500"
        ds.PatientBirthDate = "19700101"
        files.append(write(ds, folder / f"{patient_id}.dcm"))
    with Orthanc() as server:
        for path in files:
            server.upload(path.read_bytes())
        yield server


def old_match(ds: Dataset, charset: str) -> StudyMatch:
    """An answer as the previous client made it a match."""
    if charset and "SpecificCharacterSet" not in ds:
        ds.SpecificCharacterSet = charset
        implicit, little = ds.original_encoding
        ds.set_original_encoding(implicit, little, convert_encodings(charset))
    return StudyMatch(
        study_uid=_old_str(ds, "StudyInstanceUID"),
        patient_name=_old_str(ds, "PatientName"),
        patient_id=_old_str(ds, "PatientID"),
        birth_date=_old_str(ds, "PatientBirthDate"),
        study_date=_old_str(ds, "StudyDate"),
        study_time=_old_str(ds, "StudyTime"),
        study_description=_old_str(ds, "StudyDescription"),
        modalities=_old_str(ds, "ModalitiesInStudy"),
        accession_number=_old_str(ds, "AccessionNumber"),
        num_series=_old_int(ds, "NumberOfStudyRelatedSeries"),
        num_instances=_old_int(ds, "NumberOfStudyRelatedInstances"),
    )


def findscu(orthanc: Orthanc, name: str, charset: str, folder: Path) -> list[Dataset]:
    """The answers findscu receives for our client's query, in the order they came."""
    folder.mkdir()
    keys = ["-k", "QueryRetrieveLevel=STUDY", "-k", f"PatientName={name}"]
    if charset:
        keys += ["-k", f"SpecificCharacterSet={charset}"]
    for keyword in STUDY_KEYS:
        if keyword != "PatientName":
            keys += ["-k", keyword]
    run(
        [dcmtk("findscu"), "-S", "-X", "-od", str(folder), "-aec", orthanc.ae_title, *keys,
         "127.0.0.1", str(orthanc.dicom_port)],
    )  # fmt: skip
    return [dcmread(path) for path in sorted(folder.glob("rsp*.dcm"))]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("name", KEYS)
def test_the_answers_findscu_receives(
    orthanc: Orthanc, tmp_path: Path, encoding: str, name: str
) -> None:
    orthanc.set_default_encoding(encoding)
    charset = KEYS[name]
    received = findscu(orthanc, name, charset, tmp_path / "findscu")
    assert received, "findscu received no answers"
    assert {ds.get("SpecificCharacterSet") for ds in received} <= {ENCODINGS[encoding]}
    remote = RemoteAE(orthanc.ae_title, "127.0.0.1", orthanc.dicom_port, name="orthanc")
    result = QueryRetrieveClient("KIOSK", timeout=20).find_studies(
        remote, StudyQuery(patient_name=name)
    )
    assert result.charset == charset
    expected = [old_match(ds, charset) for ds in received]
    assert sorted(result.matches, key=lambda m: m.study_uid) == sorted(
        expected, key=lambda m: m.study_uid
    )


def test_names_come_back_whole(orthanc: Orthanc) -> None:
    orthanc.set_default_encoding("JapaneseKanji")
    remote = RemoteAE(orthanc.ae_title, "127.0.0.1", orthanc.dicom_port, name="orthanc")
    result = QueryRetrieveClient("KIOSK", timeout=20).find_studies(remote, StudyQuery())
    names = {m.patient_id: m.patient_name for m in result.matches}
    assert names["P-3"] == "Yamada^Tarou=山田^太郎=やまだ^たろう"
    assert names["P-4"] == "山田^花子"
    assert {m.study_description for m in result.matches if m.patient_id == "P-3"} == {"頭部"}
