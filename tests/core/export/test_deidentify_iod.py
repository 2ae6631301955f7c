"""De-identified instances stay valid objects of their IOD.

Table E.1-1's compound actions (Z/D, X/Z, X/D, X/Z/D, X/Z/U*) are resolved by the attribute's
type in the instance's IOD: a dummy only for a Type 1 attribute, an empty value for Type 2, the
attribute removed for Type 3. References to instances outside the export leave no empty
required sequence behind, and an overlay goes whole. The inputs are pydicom's bundled files
(SR, ECG, Segmentation, RT, overlays, Secondary Capture, CT) and an Enhanced MR built here;
each is de-identified as an export of that one file would do it (``exported``: its own UID).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from core.app import Core
from core.export.annex_e import iod_attribute_types
from core.export.deidentify import (
    DUMMY_DATE,
    DUMMY_DATETIME,
    Deidentifier,
    DeidentifyOptions,
    DeidentifyReport,
    iod_action,
)
from core.export.exporter import ExportOptions, Selection, export_selection
from core.index.importer import MemorySource
from tests.support.data import TEST_FILES

ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
CT = "1.2.840.10008.5.1.4.1.1.2"


def _item(**elements: object) -> Dataset:
    item = Dataset()
    for keyword, value in elements.items():
        setattr(item, keyword, value)
    return item


def _reference(sop_uid: str, sop_class: str = CT) -> Dataset:
    return _item(ReferencedSOPClassUID=sop_class, ReferencedSOPInstanceUID=sop_uid)


def enhanced_mr(outside: str = "") -> Dataset:
    """A one-frame Enhanced MR: Type 1 dates, a derived frame, a Common Instance Reference.

    ``outside``: the SOP Instance UID of a source image that is not exported.
    """
    outside = outside or generate_uid()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = ENHANCED_MR
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID = "Enhanced^Mara", "EMR-1"
    ds.PatientBirthDate, ds.PatientSex = "19600101", "F"
    ds.StudyInstanceUID, ds.StudyID = generate_uid(), "7"
    ds.StudyDate, ds.StudyTime = "20240102", "101010"
    ds.AccessionNumber = ds.ReferringPhysicianName = ""
    ds.SeriesInstanceUID, ds.SeriesNumber, ds.Modality = generate_uid(), "1", "MR"
    ds.SeriesDate, ds.SeriesTime = "20240102", "101011"
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = generate_uid(), ""
    ds.Manufacturer, ds.ManufacturerModelName = "ACME", "Magnet"
    ds.DeviceSerialNumber, ds.SoftwareVersions = "SN-4711", "1.0"
    ds.InstitutionName = "Secret Hospital"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
    ds.AcquisitionDateTime = "20240102101012"
    ds.ContentDate, ds.ContentTime = "20240102", "101013"
    ds.InstanceNumber = "1"
    ds.NumberOfFrames = 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = bytes(8)
    derivation = _item(
        DerivationCodeSequence=Sequence(
            [_item(CodeValue="113076", CodingSchemeDesignator="DCM", CodeMeaning="Segmentation")]
        ),
        SourceImageSequence=Sequence([_reference(outside)]),
    )
    frame = _item(
        FrameContentSequence=Sequence(
            [_item(FrameAcquisitionDateTime="20240102101012", FrameAcquisitionNumber=1)]
        ),
        DerivationImageSequence=Sequence([derivation]),
    )
    ds.PerFrameFunctionalGroupsSequence = Sequence([frame])
    ds.SharedFunctionalGroupsSequence = Sequence([_item()])
    ds.ReferencedSeriesSequence = Sequence(
        [
            _item(
                SeriesInstanceUID=generate_uid(),
                ReferencedInstanceSequence=Sequence([_reference(outside)]),
            )
        ]
    )
    return ds


def _bundled(name: str) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(TEST_FILES / name, force=True)


def _export_alone(ds: Dataset) -> tuple[Dataset, DeidentifyReport]:
    """``ds`` de-identified as in an export of that file alone."""
    deid = Deidentifier(DeidentifyOptions(), [str(ds.SOPInstanceUID)])
    report = deid.apply(ds)
    return ds, report


def _encoded(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


class TestCompoundActions:
    @pytest.mark.parametrize(
        ("action", "kind", "expected"),
        [
            ("Z/D", "1", "D"),
            ("Z/D", "2", "Z"),
            ("Z/D", "3", "Z"),
            ("X/Z", "2", "Z"),
            ("X/Z", "3", "X"),
            ("X/D", "1", "D"),
            ("X/D", "2", "Z"),
            ("X/D", "3", "X"),
            ("X/Z/D", "1", "D"),
            ("X/Z/D", "2", "Z"),
            ("X/Z/D", "3", "X"),
            ("X/Z/U*", "1", "U"),
            ("X/Z/U*", "2", "Z"),
            ("X/Z/U*", "3", "X"),
            ("D", "3", "D"),
            ("Z", "3", "Z"),
            ("X", "1", "X"),
            # IOD unknown: the choice valid for every type
            ("X/Z/D", None, "D"),
            ("X/Z", None, "Z"),
            ("X/Z/U*", None, "U"),
        ],
    )
    def test_ps3_15_e_1_1(self, action: str, kind: str | None, expected: str) -> None:
        assert iod_action(action, kind) == expected

    def test_types_come_from_the_iod(self) -> None:
        ecg, seg, ct = (iod_attribute_types(uid) for uid in (ECG, SEGMENTATION, CT))
        assert ecg is not None and seg is not None and ct is not None
        assert ecg[("AcquisitionDateTime",)] == "1"  # Waveform Identification
        assert seg[("DeviceSerialNumber",)] == "1"  # Enhanced General Equipment
        assert ct[("ContentDate",)] == "2"  # General Image, 2C
        assert ("SeriesDate",) not in ct  # General Series: Type 3
        assert iod_attribute_types("1.2.3.4.5") is None


class TestDummies:
    """A dummy date where the IOD makes the attribute Type 1, and nowhere else."""

    def test_ecg_acquisition_datetime_and_content_date(self) -> None:
        ds, _ = _export_alone(_bundled("waveform_ecg.dcm"))
        assert ds.AcquisitionDateTime == DUMMY_DATETIME
        assert ds.ContentDate == DUMMY_DATE
        assert "InstanceCreationDate" not in ds  # SOP Common: Type 3

    def test_sr_content_date(self) -> None:
        ds, _ = _export_alone(_bundled("reportsi.dcm"))
        assert ds.ContentDate == DUMMY_DATE and ds.ContentTime
        assert "InstanceCreationDate" not in ds

    def test_segmentation_device_serial_number(self) -> None:
        ds, _ = _export_alone(_bundled("liver_1frame.dcm"))
        assert ds.DeviceSerialNumber and ds.DeviceSerialNumber != "SN-4711"
        assert "SeriesDate" not in ds  # General Series: Type 3, X/D

    def test_enhanced_mr_dates(self) -> None:
        ds, _ = _export_alone(enhanced_mr())
        assert ds.AcquisitionDateTime == DUMMY_DATETIME  # Type 1C (ORIGINAL image)
        assert (ds.ContentDate, ds.ContentTime) == (DUMMY_DATE, "000000")
        assert ds.DeviceSerialNumber != "SN-4711" and ds.DeviceSerialNumber
        assert "SeriesDate" not in ds and "InstitutionName" not in ds

    def test_no_dummy_date_in_an_image_without_type_1_dates(self) -> None:
        ds, _ = _export_alone(_bundled("CT_small.dcm"))
        assert "SeriesDate" not in ds and "InstanceCreationDate" not in ds
        assert "ContentDate" in ds and not ds.ContentDate  # Type 2C: emptied
        assert DUMMY_DATE.encode() not in _encoded(ds)


class TestReferences:
    """No sequence the IOD requires to have items is left empty."""

    def test_type_3_sequence_is_removed_when_emptied(self) -> None:
        ds, report = _export_alone(_bundled("JPEG-lossy.dcm"))
        assert "SourceImageSequence" not in ds
        assert report.removed_references == 1

    def test_type_3_sequence_keeps_references_inside_the_export(self) -> None:
        ds = _bundled("JPEG-lossy.dcm")
        source = str(ds.SourceImageSequence[0].ReferencedSOPInstanceUID)
        deid = Deidentifier(DeidentifyOptions(), [str(ds.SOPInstanceUID), source])
        deid.apply(ds)
        assert [str(r.ReferencedSOPInstanceUID) for r in ds.SourceImageSequence] == [
            deid.new_uid(source)
        ]

    def test_type_1_sequence_keeps_its_item(self) -> None:
        original = _bundled("rtplan.dcm")
        old = str(original.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID)
        deid = Deidentifier(DeidentifyOptions(), [str(original.SOPInstanceUID)])
        deid.apply(original)
        kept = original.ReferencedStructureSetSequence
        assert [str(r.ReferencedSOPInstanceUID) for r in kept] == [deid.new_uid(old)]
        assert "ReferencedRTPlanSequence" not in original  # RT General Plan: Type 3

    def test_rt_dose_and_sr_evidence_keep_their_items(self) -> None:
        dose, _ = _export_alone(_bundled("rtdose.dcm"))
        assert len(dose.ReferencedRTPlanSequence) == 1
        sr, _ = _export_alone(_bundled("test-SR.dcm"))
        predecessor = sr.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0]
        assert len(predecessor.ReferencedSOPSequence) >= 1  # Hierarchical Series Reference

    def test_type_2_sequence_is_left_empty(self) -> None:
        ds, report = _export_alone(enhanced_mr())
        derivation = ds.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence[0]
        assert "SourceImageSequence" in derivation and len(derivation.SourceImageSequence) == 0
        assert report.removed_references == 1

    def test_instance_references_go_when_nothing_references(self) -> None:
        """Common Instance Reference (Type 1C): kept only while the instance references."""
        ds, _ = _export_alone(enhanced_mr())
        assert "ReferencedSeriesSequence" not in ds
        seg, _ = _export_alone(_bundled("liver_1frame.dcm"))
        assert "ReferencedSeriesSequence" not in seg


class TestOverlays:
    def test_the_whole_overlay_group_is_removed(self) -> None:
        original = _bundled("examples_overlay.dcm")
        assert 0x60003000 in original and 0x60000010 in original  # Overlay Data, Rows
        ds, _ = _export_alone(original)
        assert [e.tag for e in ds if 0x6000 <= e.tag.group <= 0x601E] == []


class TestDicomdirStudyRecord:
    def test_no_dummy_date_in_the_study_record(self, core: Core, tmp_path: Path) -> None:
        """An SR without a Study Date: the STUDY record takes no 19000101 from its dummy."""
        ds = _bundled("reportsi.dcm")
        ds.StudyDate = ds.StudyTime = ""
        imported = core.importer.run_sources([MemorySource("sr", _encoded(ds))])
        assert imported.imported == 1
        out = tmp_path / "media"
        export_selection(
            core,
            Selection(studies=(str(ds.StudyInstanceUID),)),
            ExportOptions(out, format="dicomdir", deidentify=DeidentifyOptions()),
        )
        dicomdir = pydicom.dcmread(out / "DICOMDIR")
        studies = [r for r in dicomdir.DirectoryRecordSequence if r.DirectoryRecordType == "STUDY"]
        assert len(studies) == 1
        assert studies[0].StudyDate != DUMMY_DATE and len(studies[0].StudyDate) == 8
        assert studies[0].StudyTime != "000000"
