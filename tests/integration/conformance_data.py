"""The data set and the peers of the C-FIND comparison battery (test_conformance_battery.py).

The same files go into our node, dcmqrscp and Orthanc: a dozen of pydicom's bundled files (CT,
MR, US, secondary capture, RT plan and dose, SR, ECG; one big endian with an ACR-NEMA date and
time) and a few generated ones (a two-series study in UTF-8, two patients without a Patient ID).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydicom.uid import generate_uid

from tests.support.data import TEST_FILES, make_dataset, write
from tests.support.dcmtk import Dcmqrscp, dcmtk, run
from tests.support.node import AE, KioskServer
from tests.support.orthanc import Orthanc

BUNDLED = [
    "CT_small.dcm",
    "MR_small.dcm",
    "ExplVR_BigEnd.dcm",  # big endian; StudyDate 1997.04.24, StudyTime 14:04:38, no Patient ID
    "SC_rgb_small_odd.dcm",
    "examples_overlay.dcm",
    "examples_palette.dcm",
    "examples_rgb_color.dcm",
    "rtplan.dcm",
    "rtdose.dcm",
    "test-SR.dcm",
    "waveform_ecg.dcm",
    "reportsi.dcm",
]

MULLER_STUDY = generate_uid()
MULLER_SERIES = {"CT": generate_uid(), "MR": generate_uid()}


def generated(folder: Path) -> list[Path]:
    """A study of two series (three images) in UTF-8, and two patients without Patient ID."""
    files = []
    for number, (modality, series) in enumerate(MULLER_SERIES.items(), start=1):
        for instance in range(1, 3 if modality == "CT" else 2):
            ds = make_dataset(
                patient_name="Müller^Jürgen",
                patient_id="PID-M",
                study_uid=MULLER_STUDY,
                series_uid=series,
                study_date="20240115",
                modality=modality,
                instance_number=instance,
            )
            ds.StudyTime = "101500.250"
            ds.AccessionNumber = "ACC-17"
            ds.StudyID = "S17"
            ds.StudyDescription = "Kopf nativ"
            ds.ReferringPhysicianName = "Ärzte^Öskar"
            ds.PatientBirthDate = "19750302"
            ds.PatientSex = "M"
            ds.SeriesNumber = number
            ds.SeriesDescription = f"{modality} axial"
            ds.BodyPartExamined = "HEAD"
            ds.SeriesDate = "20240115"
            ds.SeriesTime = "101600"
            files.append(write(ds, folder / f"muller-{modality}-{instance}.dcm"))
    for name in ("Nobody^One", "Nobody^Two"):
        ds = make_dataset(patient_name=name, patient_id="", study_date="20240102")
        files.append(write(ds, folder / f"{name.split('^')[1].lower()}.dcm"))
    return files


def dataset(folder: Path) -> list[Path]:
    return [TEST_FILES / name for name in BUNDLED] + generated(folder)


@dataclass(frozen=True)
class Peer:
    name: str
    ae_title: str
    port: int


@contextmanager
def loaded_peers(folder: Path) -> Iterator[tuple[list[Path], dict[str, Peer]]]:
    """Our node, dcmqrscp and Orthanc, each started once and loaded with ``dataset``."""
    files = dataset(folder / "generated")
    with ExitStack() as stack:
        kiosk = KioskServer(folder / "kiosk").start()
        stack.callback(kiosk.stop)
        qrscp = stack.enter_context(Dcmqrscp())
        orthanc = stack.enter_context(Orthanc(folder / "orthanc"))
        paths = [str(f) for f in files]
        run([dcmtk("storescu"), "-aec", AE, "127.0.0.1", str(kiosk.port), *paths])
        qrscp.store(files)
        for path in files:
            orthanc.upload(path.read_bytes())
        kiosk.wait_count(len(files))
        yield (
            files,
            {
                "kiosk": Peer("kiosk", AE, kiosk.port),
                "dcmqrscp": Peer("dcmqrscp", qrscp.ae_title, qrscp.port),
                "orthanc": Peer("orthanc", orthanc.ae_title, orthanc.dicom_port),
            },
        )
