"""Test data for the send queue: a small database with known patients, studies and series."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from core.app import Core
from core.importer import Importer, MemorySource
from core.transcode import parse_meta
from tests.helpers import make_dataset
from tests.peers import DCMTK_ENV, _stop, free_port, wait_for_port


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


# -- DCMTK storescp as a destination ---------------------------------------------------------------
STORESCP = "/usr/bin/storescp"


@dataclass
class StoreSCP:
    """A running storescp: where it listens, where it writes, its debug log."""

    ae_title: str
    port: int
    folder: Path
    log_path: Path

    def files(self) -> dict[str, Path]:
        """Received files by SOP Instance UID (storescp names them MODALITY.UID)."""
        return {p.name.split(".", 1)[1]: p for p in self.folder.iterdir() if p.is_file()}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def requests(self) -> list[tuple[str, str]]:
        """(SOP Instance UID, priority) of each C-STORE request, in the order received."""
        uids = re.findall(r"Affected SOP Instance UID\s*:\s*(\S+)", self.log())
        priorities = re.findall(r"Priority\s*:\s*(\w+)", self.log())
        return list(zip(uids, priorities, strict=False))


@contextmanager
def storescp(folder: Path, *options: str, ae_title: str = "STORESCP") -> Iterator[StoreSCP]:
    """DCMTK storescp (debug log on) writing into ``folder``; stopped on exit."""
    folder.mkdir(parents=True)
    port = free_port()
    log_path = folder.with_suffix(".log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [STORESCP, "-d", "-aet", ae_title, "-od", str(folder), *options, str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=DCMTK_ENV,
        )
        try:
            wait_for_port(port, process=process)
            yield StoreSCP(ae_title, port, folder, log_path)
        finally:
            _stop(process)


def dataset_bytes(data: bytes) -> bytes:
    """A Part 10 file's data set, without preamble and meta header."""
    return data[parse_meta(data).dataset_offset :]
