"""C-FIND with DCMTK findscu at every level, Patient Root and Study Root (PS3.4 C.2.2.2)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.support.data import make_dataset, write
from tests.support.dcmtk import dcmtk, run
from tests.support.node import AE, KioskServer

pytestmark = pytest.mark.integration

UIDS = {name: generate_uid() for name in ("A", "B", "C", "D")}
SERIES = {name: generate_uid() for name in ("A-CT", "A-MR", "B-CT", "C-CR", "D-US")}


def _datasets() -> Iterator[pydicom.Dataset]:
    plan = [
        # patient, id, study, date, time, series, modality, images
        ("Müller^Jürgen", "PID1", "A", "20240115", "101500", "A-CT", "CT", 2),
        ("Müller^Jürgen", "PID1", "A", "20240115", "101500", "A-MR", "MR", 1),
        ("Smith^John", "PID2", "B", "20240301", "143000", "B-CT", "CT", 1),
        ("Smith^John", "PID2", "C", "20231201", "090000", "C-CR", "CR", 1),
        ("smithson^anna", "PID3", "D", "20240620", "160000", "D-US", "US", 1),
    ]
    for name, pid, study, date, time, series, modality, count in plan:
        for number in range(1, count + 1):
            ds = make_dataset(
                patient_name=name,
                patient_id=pid,
                study_uid=UIDS[study],
                series_uid=SERIES[series],
                study_date=date,
                modality=modality,
                instance_number=number,
            )
            ds.StudyTime = time
            ds.StudyDescription = f"Study {study}"
            ds.ReferringPhysicianName = "Ärzte^Öskar" if study == "A" else "Doe^Jane"
            yield ds


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KioskServer]:
    base = tmp_path_factory.mktemp("find")
    files = [write(ds, base / "in" / f"{i}.dcm") for i, ds in enumerate(_datasets())]
    server = KioskServer(base / "kiosk").start()
    try:
        run([dcmtk("storescu"), "-aec", AE, "127.0.0.1", str(server.port), *map(str, files)])
        server.wait_count(len(files))
        yield server
    finally:
        server.stop()


_counter = itertools.count()


def find(
    server: KioskServer, tmp_path: Path, keys: dict[str, str], root: str = "-S"
) -> list[pydicom.Dataset]:
    out = tmp_path / f"rsp{next(_counter)}"
    out.mkdir()
    args = [dcmtk("findscu"), root, "-X", "-od", str(out), "-aec", AE, "127.0.0.1"]
    args.append(str(server.port))
    args += ["-k", "SpecificCharacterSet=ISO_IR 192"]
    for key, value in keys.items():
        args += ["-k", f"{key}={value}" if value else key]
    run(args)
    return [pydicom.dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


def values(responses: list[pydicom.Dataset], keyword: str) -> set[str]:
    return {str(r.get(keyword, "")) for r in responses}


def test_patient_level_case_insensitive_wildcard(loaded: KioskServer, tmp_path: Path) -> None:
    rsp = find(
        loaded,
        tmp_path,
        {
            "QueryRetrieveLevel": "PATIENT",
            "PatientName": "SMITH*",
            "PatientID": "",
            "NumberOfPatientRelatedStudies": "",
            "NumberOfPatientRelatedInstances": "",
        },
        root="-P",
    )
    assert values(rsp, "PatientID") == {"PID2", "PID3"}
    smith = next(r for r in rsp if r.PatientID == "PID2")
    assert str(smith.PatientName) == "Smith^John"
    assert int(smith.NumberOfPatientRelatedStudies) == 2
    assert int(smith.NumberOfPatientRelatedInstances) == 2
    # ? matches exactly one character; names fold case and keep accents
    assert values(
        find(
            loaded,
            tmp_path,
            {"QueryRetrieveLevel": "PATIENT", "PatientName": "?mith^john", "PatientID": ""},
            "-P",
        ),
        "PatientID",
    ) == {"PID2"}
    assert values(
        find(
            loaded,
            tmp_path,
            {"QueryRetrieveLevel": "PATIENT", "PatientName": "müller*", "PatientID": ""},
            "-P",
        ),
        "PatientID",
    ) == {"PID1"}
    assert (
        find(
            loaded,
            tmp_path,
            {"QueryRetrieveLevel": "PATIENT", "PatientName": "muller*", "PatientID": ""},
            "-P",
        )
        == []
    )


def test_referring_physician_matches_case_insensitively_beyond_ascii(
    loaded: KioskServer, tmp_path: Path
) -> None:
    def studies(pattern: str) -> set[str]:
        keys = {"QueryRetrieveLevel": "STUDY", "ReferringPhysicianName": pattern}
        return values(find(loaded, tmp_path, {**keys, "StudyInstanceUID": ""}), "StudyInstanceUID")

    assert studies("ärzte*") == {UIDS["A"]}  # Ä and Ö fold like A-Z
    assert studies("ÄRZTE^ÖSKAR") == {UIDS["A"]}
    assert studies("arzte*") == set()  # accents are kept
    assert studies("doe^jane") == {UIDS["B"], UIDS["C"], UIDS["D"]}


def test_study_level_dates_and_counts(loaded: KioskServer, tmp_path: Path) -> None:
    keys = {
        "QueryRetrieveLevel": "STUDY",
        "StudyInstanceUID": "",
        "PatientName": "",
        "ModalitiesInStudy": "",
        "NumberOfStudyRelatedSeries": "",
        "NumberOfStudyRelatedInstances": "",
    }
    everything = find(loaded, tmp_path, keys)
    assert values(everything, "StudyInstanceUID") == set(UIDS.values())
    a = next(r for r in everything if r.StudyInstanceUID == UIDS["A"])
    assert list(a.ModalitiesInStudy) == ["CT", "MR"]
    assert int(a.NumberOfStudyRelatedSeries) == 2
    assert int(a.NumberOfStudyRelatedInstances) == 3
    assert str(a.PatientName) == "Müller^Jürgen"

    in_2024 = find(loaded, tmp_path, {**keys, "StudyDate": "20240101-20240630"})
    assert values(in_2024, "StudyInstanceUID") == {UIDS["A"], UIDS["B"], UIDS["D"]}
    before = find(loaded, tmp_path, {**keys, "StudyDate": "-20231231"})
    assert values(before, "StudyInstanceUID") == {UIDS["C"]}
    since = find(loaded, tmp_path, {**keys, "StudyDate": "20240301-"})
    assert values(since, "StudyInstanceUID") == {UIDS["B"], UIDS["D"]}
    single = find(loaded, tmp_path, {**keys, "StudyDate": "20240115"})
    assert values(single, "StudyInstanceUID") == {UIDS["A"]}
    morning = find(loaded, tmp_path, {**keys, "StudyTime": "0800-1100"})
    assert values(morning, "StudyInstanceUID") == {UIDS["A"], UIDS["C"]}
    mr = find(loaded, tmp_path, {**keys, "ModalitiesInStudy": "MR"})
    assert values(mr, "StudyInstanceUID") == {UIDS["A"]}
    listed = find(loaded, tmp_path, {**keys, "StudyInstanceUID": f"{UIDS['A']}\\{UIDS['D']}"})
    assert values(listed, "StudyInstanceUID") == {UIDS["A"], UIDS["D"]}
    described = find(loaded, tmp_path, {**keys, "StudyDescription": "*y B"})
    assert values(described, "StudyInstanceUID") == {UIDS["B"]}


def test_patient_root_study_level(loaded: KioskServer, tmp_path: Path) -> None:
    rsp = find(
        loaded,
        tmp_path,
        {
            "QueryRetrieveLevel": "STUDY",
            "PatientID": "PID2",
            "StudyInstanceUID": "",
            "StudyDate": "",
        },
        root="-P",
    )
    assert values(rsp, "StudyInstanceUID") == {UIDS["B"], UIDS["C"]}
    assert values(rsp, "StudyDate") == {"20240301", "20231201"}


def test_series_and_image_levels(loaded: KioskServer, tmp_path: Path) -> None:
    series = find(
        loaded,
        tmp_path,
        {
            "QueryRetrieveLevel": "SERIES",
            "StudyInstanceUID": UIDS["A"],
            "SeriesInstanceUID": "",
            "Modality": "",
            "NumberOfSeriesRelatedInstances": "",
        },
    )
    assert values(series, "SeriesInstanceUID") == {SERIES["A-CT"], SERIES["A-MR"]}
    ct = next(r for r in series if r.Modality == "CT")
    assert int(ct.NumberOfSeriesRelatedInstances) == 2
    wildcard = find(
        loaded,
        tmp_path,
        {"QueryRetrieveLevel": "SERIES", "Modality": "C?", "SeriesInstanceUID": ""},
    )
    assert values(wildcard, "SeriesInstanceUID") == {SERIES["A-CT"], SERIES["B-CT"], SERIES["C-CR"]}

    images = find(
        loaded,
        tmp_path,
        {
            "QueryRetrieveLevel": "IMAGE",
            "StudyInstanceUID": UIDS["A"],
            "SeriesInstanceUID": SERIES["A-CT"],
            "SOPInstanceUID": "",
            "InstanceNumber": "",
            "SOPClassUID": "",
        },
    )
    assert len(images) == 2
    assert values(images, "InstanceNumber") == {"1", "2"}
    assert values(images, "SOPClassUID") == {"1.2.840.10008.5.1.4.1.1.2"}
    sop = images[0].SOPInstanceUID
    one = find(
        loaded,
        tmp_path,
        {"QueryRetrieveLevel": "IMAGE", "SOPInstanceUID": sop, "InstanceNumber": ""},
        root="-P",
    )
    assert values(one, "SOPInstanceUID") == {sop}


def test_bad_level_fails(loaded: KioskServer, tmp_path: Path) -> None:
    args = [dcmtk("findscu"), "-v", "-S", "-aec", AE, "127.0.0.1", str(loaded.port)]
    args += ["-k", "QueryRetrieveLevel=NOPE", "-k", "PatientName"]
    result = run(args, check=False)
    output = result.stderr + result.stdout
    assert "Final Find Response (Failed: UnableToProcess)" in output, output
