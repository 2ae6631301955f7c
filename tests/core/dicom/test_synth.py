"""The demo data (``dicom-kiosk demo``, the kiosk's demo button, the peers' test data) is
consistent: within a study every study-level and patient-level attribute has one value, and
a patient's attributes agree across the patient's studies. Archives index those attributes
once per study or patient (Orthanc, dcmqrscp, our own index): inconsistent files make them
disagree about the same study."""

from __future__ import annotations

import io
from collections import defaultdict

import pydicom
import pytest

from core.dicom.synth import ct_series, demo_instances

# PS3.3 C.7.1.1 Patient Module (PS3.4 C.6.1.1.2 Patient level keys)
PATIENT_LEVEL = {
    "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientBirthTime",
    "PatientSex", "OtherPatientIDsSequence", "OtherPatientNames", "EthnicGroup",
    "PatientComments", "PatientSpeciesDescription", "PatientBreedDescription",
    "ResponsiblePerson", "PatientIdentityRemoved",
}  # fmt: skip
# PS3.3 C.7.2.1 General Study and C.7.2.2 Patient Study Modules (PS3.4 C.6.2.1.2 Study level)
STUDY_LEVEL = {
    "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",
    "AccessionNumber", "StudyDescription", "PhysiciansOfRecord",
    "NameOfPhysiciansReadingStudy", "ProcedureCodeSequence", "AdmittingDiagnosesDescription",
    "PatientAge", "PatientSize", "PatientWeight", "Occupation", "AdditionalPatientHistory",
    "MedicalAlerts", "Allergies", "SmokingStatus", "PregnancyStatus", "OtherStudyNumbers",
}  # fmt: skip
# Everything else the demo files hold: series (equipment, frame of reference) and image level.
LOWER_LEVELS = {
    "SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "Modality", "SeriesInstanceUID",
    "SeriesNumber", "SeriesDescription", "SeriesDate", "SeriesTime", "BodyPartExamined",
    "InstitutionName", "Manufacturer", "FrameOfReferenceUID", "InstanceNumber", "ContentDate",
    "ImagePositionPatient", "ImageOrientationPatient", "SliceLocation", "SliceThickness",
    "PixelSpacing", "KVP", "MagneticFieldStrength", "ViewPosition", "RescaleIntercept",
    "RescaleSlope", "WindowCenter", "WindowWidth", "Rows", "Columns", "SamplesPerPixel",
    "PhotometricInterpretation", "PlanarConfiguration", "BitsAllocated", "BitsStored",
    "HighBit", "PixelRepresentation", "PixelData",
}  # fmt: skip

Values = dict[str, set[str]]


def _values(payloads: list[bytes]) -> tuple[dict[str, Values], dict[str, Values], set[str]]:
    """(study UID -> keyword -> values, patient ID -> keyword -> values, keywords seen)."""
    studies: dict[str, Values] = defaultdict(lambda: defaultdict(set))
    patients: dict[str, Values] = defaultdict(lambda: defaultdict(set))
    seen: set[str] = set()
    for data in payloads:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        seen |= {element.keyword for element in ds}
        for keyword in STUDY_LEVEL | PATIENT_LEVEL:
            value = str(ds[keyword].value) if keyword in ds else "<absent>"
            studies[ds.StudyInstanceUID][keyword].add(value)
            if keyword in PATIENT_LEVEL:
                patients[ds.PatientID][keyword].add(value)
    return studies, patients, seen


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, Values], dict[str, Values], set[str]]:
    return _values(list(demo_instances(4, seed=2)))


class TestDemoConsistency:
    def test_study_and_patient_attributes_agree_across_instances(
        self, demo: tuple[dict[str, Values], dict[str, Values], set[str]]
    ) -> None:
        studies, patients, seen = demo
        assert len(studies) > len(patients)  # some patient has several studies
        assert seen - PATIENT_LEVEL - STUDY_LEVEL - LOWER_LEVELS == set(), "classify them"
        mismatches = {
            (uid, keyword): values
            for uid, attributes in studies.items()
            for keyword, values in attributes.items()
            if len(values) > 1
        }
        assert mismatches == {}
        assert {
            (pid, keyword): values
            for pid, attributes in patients.items()
            for keyword, values in attributes.items()
            if len(values) > 1
        } == {}

    def test_every_study_has_the_attributes_archives_index(
        self, demo: tuple[dict[str, Values], dict[str, Values], set[str]]
    ) -> None:
        for attributes in demo[0].values():
            for keyword in ("StudyID", "ReferringPhysicianName", "AccessionNumber", "StudyDate"):
                assert attributes[keyword] != {"<absent>"}, keyword

    def test_benchmark_series_is_one_consistent_study(self) -> None:
        studies, patients, _ = _values(list(ct_series(5, size=16)))
        assert len(studies) == len(patients) == 1
        (attributes,) = studies.values()
        assert all(len(values) == 1 for values in attributes.values())
