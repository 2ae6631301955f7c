"""Test data: pydicom's bundled files, dataset builders, and small seeded databases.

Everything is generated or bundled (pydicom's test files cover many transfer syntaxes and
broken files); databases are filled through the real importer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from core.app import Core
from core.dicom.transcode import parse_meta
from core.index.importer import MemorySource

PYDICOM_DATA = Path(pydicom.__file__).resolve().parent / "data"
TEST_FILES = PYDICOM_DATA / "test_files"
CHARSET_FILES = PYDICOM_DATA / "charset_files"

CT = "1.2.840.10008.5.1.4.1.1.2"


# -- single datasets ------------------------------------------------------------------------------
def make_dataset(
    *,
    patient_name: str = "Test^Patient",
    patient_id: str = "P1",
    study_uid: str | None = None,
    series_uid: str | None = None,
    sop_uid: str | None = None,
    study_date: str = "20240101",
    modality: str = "CT",
    charset: str = "ISO_IR 192",
    instance_number: int = 1,
) -> Dataset:
    """A small valid CT image (2x2 pixels) with the given identity."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CT
    ds.SpecificCharacterSet = charset
    ds.SOPClassUID = CT
    ds.SOPInstanceUID = sop_uid or generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.StudyDate = study_date
    ds.Modality = modality
    ds.InstanceNumber = instance_number
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelRepresentation = 0
    ds.PixelData = b"\x00\x01\x02\x03"
    return ds


def encode(ds: Dataset) -> bytes:
    """``ds`` as a Part 10 file."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write(ds: Dataset, path: Path) -> Path:
    """Write ``ds`` as a Part 10 file at ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(ds))
    return path


def dataset_bytes(data: bytes) -> bytes:
    """A Part 10 file's data set, without preamble and meta header."""
    return data[parse_meta(data).dataset_offset :]


# -- the browse tabs' database: a few patients, two images per series ------------------------------
# (name, ID, study date, modalities of its series) per study; UIDs are generated.
PEOPLE: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("Müller^Anna", "P-001", "20240105", ("CT",)),
    ("MULLER^Bob", "P-002", "20240110", ("MR", "MR")),
    ("Smith^John", "X-100", "20231231", ("CT",)),
    ("Smith^John", "X-100", "20240301", ("US",)),
    ("Jones^Mary", "J_7%", "20220615", ("CR",)),
]


@dataclass
class Seeded:
    images: int
    studies: int


def seed(core: Core, people: list[tuple[str, str, str, tuple[str, ...]]] = PEOPLE) -> Seeded:
    """Index a few patients (two images per series) through the real importer."""
    sources = []
    for name, pid, date, modalities in people:
        study_uid = generate_uid()
        for modality in modalities:
            series_uid = generate_uid()
            for number in (1, 2):
                ds = make_dataset(
                    patient_name=name,
                    patient_id=pid,
                    study_uid=study_uid,
                    series_uid=series_uid,
                    study_date=date,
                    modality=modality,
                    instance_number=number,
                )
                sources.append(MemorySource(f"{name} {modality} {number}", encode(ds)))
    summary = core.importer.run_sources(sources)
    return Seeded(images=summary.imported, studies=len(people))


def seed_transfers(core: Core) -> dict[str, int]:
    """Log transfers through the core: one outgoing (waiting, no sender runs) to a node that
    is registered but never contacted, and one incoming with a refused image."""
    from core.db.queries import StudyFilter
    from core.transfers.log import ITEM_FAILED, ITEM_STORED, ItemRecord

    core.registry.add("Archive", "ARCHIVE", "127.0.0.1", 11119)
    study = core.list_rows("study", StudyFilter(), limit=1)[0]
    out = core.send([("study", study["StudyInstanceUID"])], "Archive", "high")  # type: ignore[attr-defined]
    log = core.transfers  # type: ignore[attr-defined]
    incoming = log.start_incoming("SCANNER", "127.0.0.1:40000", "")
    study_uid, series_uid = generate_uid(), generate_uid()
    items = [
        ItemRecord(generate_uid(), series_uid, study_uid, "DOE^JANE", ITEM_STORED, 0, 5000),
        ItemRecord(
            generate_uid(), series_uid, study_uid, "DOE^JANE", ITEM_FAILED, 0xA700, 0, "disk full"
        ),
    ]
    log.record_items(incoming, items)
    log.finish(incoming)
    return {"out": int(out), "in": incoming}


# -- the send queue's library: known patients, studies and series ---------------------------------
@dataclass
class Library:
    """UIDs of what was loaded: patient id -> study uid -> series uid -> SOP UIDs."""

    tree: dict[str, dict[str, dict[str, list[str]]]] = field(default_factory=dict)
    data: dict[str, bytes] = field(default_factory=dict)  # SOP UID -> stored bytes

    def studies(self, patient: str) -> list[str]:
        return list(self.tree[patient])

    def series(self, study: str) -> list[str]:
        for studies in self.tree.values():
            if study in studies:
                return list(studies[study])
        raise KeyError(study)

    def images(self, series: str) -> list[str]:
        for studies in self.tree.values():
            for all_series in studies.values():
                if series in all_series:
                    return all_series[series]
        raise KeyError(series)

    def all_images(self) -> list[str]:
        return [
            sop
            for studies in self.tree.values()
            for all_series in studies.values()
            for sops in all_series.values()
            for sop in sops
        ]


SOP_CLASSES = {"CT": "1.2.840.10008.5.1.4.1.1.2", "CR": "1.2.840.10008.5.1.4.1.1.1"}

# patient id, name, [(study description, [(modality, series description, images)])]
LAYOUT = [
    ("P1", "DOE^JOHN", [("CT HEAD", [("CT", "AXIAL", 3), ("CT", "CORONAL", 2)])]),
    ("P2", "ROE^JANE", [("CHEST", [("CR", "PA", 2)]), ("ABDOMEN", [("CT", "", 1)])]),
]


def load_library(core: Core, layout: list = LAYOUT) -> Library:  # type: ignore[type-arg]
    """Import ``layout`` through the real importer; what was loaded, by UID."""
    library = Library()
    sources = []
    for patient_id, name, studies in layout:
        patient = library.tree.setdefault(patient_id, {})
        for description, series_list in studies:
            study_uid = generate_uid()
            patient[study_uid] = {}
            for number, (modality, series_description, count) in enumerate(series_list, 1):
                series_uid = generate_uid()
                patient[study_uid][series_uid] = []
                for index in range(1, count + 1):
                    ds = make_dataset(
                        patient_name=name,
                        patient_id=patient_id,
                        study_uid=study_uid,
                        series_uid=series_uid,
                        modality=modality,
                        instance_number=index,
                    )
                    ds.SOPClassUID = SOP_CLASSES[modality]
                    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
                    ds.StudyDescription = description
                    ds.SeriesDescription = series_description
                    ds.SeriesNumber = number
                    data = encode(ds)
                    patient[study_uid][series_uid].append(ds.SOPInstanceUID)
                    library.data[ds.SOPInstanceUID] = data
                    sources.append(MemorySource(ds.SOPInstanceUID, data))
    summary = core.importer.run_sources(sources)
    if summary.imported != len(sources):
        raise AssertionError(f"imported {summary.imported} of {len(sources)}: {summary.rejected}")
    return library
