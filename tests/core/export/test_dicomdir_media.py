"""DICOMDIR media: the record type of each SOP Class, bad files, and the STUDY record's date.

The media are written through the real exporter from a database filled by the real importer,
then read back with pydicom's ``FileSet`` and checked with DCMTK and dicom3tools when they
are installed. Expected record types are those PS3.3 Annex F gives each SOP Class (F.5.18 RT
Dose, F.5.20 RT Plan, F.5.24 Waveform, F.5.25 SR Document, F.5.4 Image).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.fileset import FileSet
from pydicom.uid import (
    ExplicitVRLittleEndian,
    RTIonPlanStorage,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from core.app import Core
from core.config import load_settings
from core.db.queries import StudyFilter
from core.export.deidentify import DeidentifyOptions
from core.export.exporter import ExportOptions, ExportSummary, Selection, export_selection
from core.index.importer import MemorySource
from tests.support.data import TEST_FILES

# SOP Class UID -> the record type PS3.3 Annex F gives it.
EXPECTED = {
    "1.2.840.10008.5.1.4.1.1.481.8": "RT PLAN",  # RT Ion Plan (F.5.20)
    "1.2.840.10008.5.1.4.1.1.481.5": "RT PLAN",  # RT Plan (F.5.20)
    "1.2.840.10008.5.1.4.1.1.481.2": "RT DOSE",  # RT Dose (F.5.18)
    "1.2.840.10008.5.1.4.1.1.7": "IMAGE",  # Secondary Capture (F.5.4)
    "1.2.840.10008.5.1.4.1.1.88.11": "SR DOCUMENT",  # Basic Text SR (F.5.25)
    "1.2.840.10008.5.1.4.1.1.9.1.1": "WAVEFORM",  # 12-lead ECG (F.5.24)
    "1.2.840.10008.5.1.4.1.1.2": "IMAGE",  # CT
}
BUNDLED = ("rtplan.dcm", "rtdose.dcm", "reportsi.dcm", "waveform_ecg.dcm", "CT_small.dcm")
BUILT = 3  # two RT Ion Plans and a Secondary Capture, made here
SC_SERIES_DATE = "20200304"


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _base(sop_class: str, modality: str, patient_id: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientName = "Media^Test"
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = generate_uid()
    ds.StudyID = "S1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = "1"
    ds.Modality = modality
    ds.Manufacturer = ""
    return ds


def rt_ion_plan(label: bool = True) -> Dataset:
    """A minimal RT Ion Plan (RT General Plan, RT Ion Beams left out), with or without label.

    Without its (Type 1) RT Plan Label it is still an RT Plan: the SOP Class decides.
    """
    ds = _base(RTIonPlanStorage, "RTPLAN", "MEDIA-ION" if label else "MEDIA-ION-NOLABEL")
    ds.StudyDate, ds.StudyTime = "20210405", "101500"
    ds.InstanceNumber = "1"
    if label:
        ds.RTPlanLabel = "IonPlan1"
    ds.RTPlanDate, ds.RTPlanTime = "20210405", "101500"
    ds.PlanIntent = "CURATIVE"
    ds.RTPlanGeometry = "PATIENT"
    ds.OperatorsName = ""
    return ds


def secondary_capture() -> Dataset:
    """A Secondary Capture with the Type 2 Study Date/Time and Instance Number empty."""
    ds = _base(SecondaryCaptureImageStorage, "OT", "MEDIA-SC")
    ds.StudyDate, ds.StudyTime = "", ""
    ds.SeriesDate, ds.SeriesTime = SC_SERIES_DATE, "080910"
    ds.InstanceNumber = ""
    ds.ConversionType = "WSD"
    ds.PatientOrientation = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 4
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes(range(16))
    return ds


@dataclass
class Media:
    summary: ExportSummary
    root: Path
    fileset: FileSet
    records: list[Dataset]  # every directory record, in order


def _read_media(root: Path, summary: ExportSummary) -> Media:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dicomdir = pydicom.dcmread(root / "DICOMDIR")
    return Media(summary, root, FileSet(dicomdir), list(dicomdir.DirectoryRecordSequence))


def _export(core: Core, out: Path, deidentify: bool) -> Media:
    studies = tuple(
        r["StudyInstanceUID"] for r in core.list_rows("study", StudyFilter(), limit=10**6)
    )
    options = ExportOptions(
        out, format="dicomdir", deidentify=DeidentifyOptions() if deidentify else None
    )
    return _read_media(out, export_selection(core, Selection(studies=studies), options))


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Media]]:
    tmp = tmp_path_factory.mktemp("dicomdir-media")
    sources = [MemorySource(name, (TEST_FILES / name).read_bytes()) for name in BUNDLED]
    sources += [
        MemorySource("rt ion plan", _bytes(rt_ion_plan())),
        MemorySource("rt ion plan, no label", _bytes(rt_ion_plan(label=False))),
        MemorySource("secondary capture", _bytes(secondary_capture())),
    ]
    with Core(load_settings(tmp / "data", {"fsync": False})) as core:
        imported = core.importer.run_sources(sources)
        assert imported.imported == len(sources), imported.as_json()
        yield {
            "plain": _export(core, tmp / "plain", deidentify=False),
            "anonymized": _export(core, tmp / "anonymized", deidentify=True),
        }


def _leaf_types(media: Media) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for record in media.records:
        if "ReferencedSOPClassUIDInFile" in record:
            sop_class = str(record.ReferencedSOPClassUIDInFile)
            found.setdefault(sop_class, []).append(str(record.DirectoryRecordType))
    return found


def _validator_errors(dicomdir: Path) -> list[str]:
    """Error lines of dicom3tools' dciodvfy, else of DCMTK's dcmdump, on the DICOMDIR."""
    if shutil.which("dciodvfy"):
        done = subprocess.run(
            ["dciodvfy", str(dicomdir)], capture_output=True, text=True, check=False
        )
        lines = (done.stdout + done.stderr).splitlines()
        return [line for line in lines if line.startswith("Error")]
    if shutil.which("dcmdump"):
        done = subprocess.run(
            ["dcmdump", "-q", str(dicomdir)], capture_output=True, text=True, check=False
        )
        return [] if done.returncode == 0 and not done.stderr.strip() else [done.stderr]
    pytest.skip("neither dicom3tools' dciodvfy nor DCMTK's dcmdump is installed")


@pytest.mark.parametrize("form", ["plain", "anonymized"])
class TestRecordTypes:
    def test_every_instance_is_listed(self, exports: dict[str, Media], form: str) -> None:
        media = exports[form]
        assert media.summary.exported == len(BUNDLED) + BUILT
        assert not media.summary.skipped
        assert len(list(media.fileset)) == len(BUNDLED) + BUILT

    def test_each_leaf_has_the_annex_f_record_type(
        self, exports: dict[str, Media], form: str
    ) -> None:
        found = _leaf_types(exports[form])
        two = "1.2.840.10008.5.1.4.1.1.481.8"  # the RT Ion Plans
        assert found == {uid: [kind] * (2 if uid == two else 1) for uid, kind in EXPECTED.items()}

    def test_no_private_records(self, exports: dict[str, Media], form: str) -> None:
        kinds = {str(r.DirectoryRecordType) for r in exports[form].records}
        assert "PRIVATE" not in kinds

    def test_dciodvfy_finds_no_errors(self, exports: dict[str, Media], form: str) -> None:
        assert _validator_errors(exports[form].root / "DICOMDIR") == []

    def test_dcmdump_reads_the_dicomdir(self, exports: dict[str, Media], form: str) -> None:
        if not shutil.which("dcmdump"):
            pytest.skip("DCMTK's dcmdump is not installed")
        done = subprocess.run(
            ["dcmdump", "-q", str(exports[form].root / "DICOMDIR")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0 and "E:" not in done.stderr, done.stderr[-500:]


class TestStudyRecordDates:
    def test_a_missing_study_date_takes_the_files_series_date(
        self, exports: dict[str, Media]
    ) -> None:
        records = exports["plain"].records
        sc_study = None
        for index, record in enumerate(records):
            if str(record.DirectoryRecordType) == "STUDY":
                study = record
            if str(record.get("ReferencedSOPClassUIDInFile", "")) == SecondaryCaptureImageStorage:
                sc_study = study
                assert index > 0
        assert sc_study is not None
        assert sc_study.StudyDate == SC_SERIES_DATE
        assert sc_study.StudyTime == "080910"

    @pytest.mark.parametrize("form", ["plain", "anonymized"])
    def test_study_record_dates_come_from_the_files(
        self, exports: dict[str, Media], form: str
    ) -> None:
        """The file's Study Date, else its other dates; never a made-up 1900-01-01."""
        media = exports[form]
        checked = 0
        study = Dataset()
        for record in media.records:
            if str(record.DirectoryRecordType) == "STUDY":
                study = record
            if "ReferencedFileID" not in record:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(media.root.joinpath(*record.ReferencedFileID))
            dates = [
                str(ds.get(f"{level}Date") or "")
                for level in ("Study", "Series", "Acquisition", "Content")
            ]
            # A de-identified Type 1 date holds a dummy, which is no date of the file.
            in_file = next((d for d in dates if d and d != "19000101"), "")
            assert len(study.StudyDate) == 8 and study.StudyTime
            if in_file:
                assert study.StudyDate == in_file[:8]
            else:
                assert study.StudyDate != "19000101"
            checked += 1
        assert checked == len(BUNDLED) + BUILT


class TestMalformedFile:
    def test_a_file_that_cannot_be_written_is_skipped_with_a_reason(self, tmp_path: Path) -> None:
        folder = tmp_path / "in"
        folder.mkdir()
        for name in ("SC_rgb_jpeg.dcm", "CT_small.dcm", "MR_small.dcm"):
            shutil.copy(TEST_FILES / name, folder / name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bad_uid = str(
                pydicom.dcmread(
                    TEST_FILES / "SC_rgb_jpeg.dcm", stop_before_pixels=True
                ).SOPInstanceUID
            )
        with Core(load_settings(tmp_path / "data", {"fsync": False})) as core:
            assert core.importer.run([folder]).imported == 3
            media = _export(core, tmp_path / "out", deidentify=False)
        assert media.summary.exported == 2
        assert [uid for uid, _ in media.summary.skipped] == [bad_uid]
        assert all(reason for _, reason in media.summary.skipped)
        assert media.summary.as_json()["skipped"]
        assert any("left out" in w for w in media.summary.warnings)
        listed = {str(instance.SOPInstanceUID) for instance in media.fileset}
        assert len(listed) == 2 and bad_uid not in listed
        assert _validator_errors(media.root / "DICOMDIR") == []
