"""Test data for the send queue: a small database with known patients, studies and series."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from core.app import Core
from core.dicom.transcode import parse_meta
from core.index.importer import Importer, MemorySource
from tests.helpers import make_dataset


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


def encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


SOP_CLASSES = {"CT": "1.2.840.10008.5.1.4.1.1.2", "CR": "1.2.840.10008.5.1.4.1.1.1"}

# patient id, name, [(study description, [(modality, series description, images)])]
LAYOUT = [
    ("P1", "DOE^JOHN", [("CT HEAD", [("CT", "AXIAL", 3), ("CT", "CORONAL", 2)])]),
    ("P2", "ROE^JANE", [("CHEST", [("CR", "PA", 2)]), ("ABDOMEN", [("CT", "", 1)])]),
]


def load_library(core: Core, layout: list = LAYOUT) -> Library:  # type: ignore[type-arg]
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
    summary = Importer(core.writer, core.sessions).run_sources(sources)
    if summary.imported != len(sources):
        raise AssertionError(f"imported {summary.imported} of {len(sources)}: {summary.rejected}")
    return library


def dataset_bytes(data: bytes) -> bytes:
    """A Part 10 file's data set, without preamble and meta header."""
    return data[parse_meta(data).dataset_offset :]
