"""Synthetic but realistic DICOM data: demo patients and benchmark series.

Pixel data are phantoms (Shepp-Logan-like head slices for CT and MR, a chest for CR, an
ultrasound sector with anatomy-like echoes), not noise, so thumbnails look like images.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
US_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.6.1"

FIRST_NAMES = [
    ("Jürgen", "M"),
    ("Ingrid", "F"),
    ("Søren", "M"),
    ("Åsa", "F"),
    ("François", "M"),
    ("Maria", "F"),
    ("John", "M"),
    ("Aisha", "F"),
    ("Kenji", "M"),
    ("Olga", "F"),
    ("Björn", "M"),
    ("Élodie", "F"),
    ("Piotr", "M"),
    ("Núria", "F"),
    ("Tomás", "M"),
    ("Emma", "F"),
    ("Lars", "M"),
    ("Chloë", "F"),
    ("Mehmet", "M"),
    ("Sofia", "F"),
]
LAST_NAMES = [
    "Müller",
    "Hansen",
    "Øvergaard",
    "Lindqvist",
    "Dubois",
    "García",
    "Smith",
    "Khan",
    "Tanaka",
    "Ivanova",
    "Berg",
    "Łukasik",
    "Fernández",
    "O'Brien",
    "Nakamura",
    "Schäfer",
    "Johansson",
    "Rossi",
    "Yılmaz",
    "Andersen",
]


@dataclass(frozen=True)
class SeriesPlan:
    modality: str
    description: str
    body_part: str
    images: int


STUDY_PLANS: list[tuple[str, list[SeriesPlan]]] = [
    (
        "CT HEAD WITHOUT CONTRAST",
        [
            SeriesPlan("CT", "Axial 5mm", "HEAD", 24),
            SeriesPlan("CT", "Axial 2mm bone", "HEAD", 16),
        ],
    ),
    (
        "MR BRAIN",
        [
            SeriesPlan("MR", "T1 SE axial", "BRAIN", 16),
            SeriesPlan("MR", "T2 TSE axial", "BRAIN", 16),
            SeriesPlan("MR", "FLAIR axial", "BRAIN", 12),
        ],
    ),
    (
        "XR CHEST PA AND LATERAL",
        [SeriesPlan("CR", "Chest PA", "CHEST", 1), SeriesPlan("CR", "Chest LAT", "CHEST", 1)],
    ),
    (
        "US ABDOMEN",
        [SeriesPlan("US", "Liver", "ABDOMEN", 4), SeriesPlan("US", "Kidneys", "ABDOMEN", 3)],
    ),
    ("CT THORAX WITH CONTRAST", [SeriesPlan("CT", "Thorax 3mm", "CHEST", 20)]),
]


def new_uid(rng: random.Random) -> str:
    """A 2.25 (UUID-derived) UID from ``rng``: unique, and reproducible with a seed."""
    return f"2.25.{rng.getrandbits(126)}"


# -- phantoms -------------------------------------------------------------------------------
_ELLIPSES = [  # value, a, b, x0, y0, angle (degrees): the modified Shepp-Logan head
    (1.0, 0.69, 0.92, 0.0, 0.0, 0),
    (-0.8, 0.6624, 0.874, 0.0, -0.0184, 0),
    (-0.2, 0.11, 0.31, 0.22, 0.0, -18),
    (-0.2, 0.16, 0.41, -0.22, 0.0, 18),
    (0.1, 0.21, 0.25, 0.0, 0.35, 0),
    (0.1, 0.046, 0.046, 0.0, 0.1, 0),
    (0.1, 0.046, 0.046, 0.0, -0.1, 0),
    (0.1, 0.046, 0.023, -0.08, -0.605, 0),
    (0.1, 0.023, 0.023, 0.0, -0.606, 0),
    (0.1, 0.023, 0.046, 0.06, -0.605, 0),
]


# Additive Hounsfield contributions of the head ellipses (with -1000 for air): skull +1000,
# brain 40, CSF 5.
CT_HEAD_HU = (2000, -960, -35, -35, 20, 15, 15, 15, 15, 15)


def head_phantom(
    size: int, z: float = 0.0, contrast: tuple[float, ...] | None = None
) -> np.ndarray:
    """A Shepp-Logan head slice at height ``z`` in [-1, 1]; values roughly in [0, 1]."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    image = np.zeros((size, size), dtype=np.float32)
    shrink = float(np.sqrt(max(0.05, 1.0 - z * z)))
    for index, (value, a, b, x0, y0, angle) in enumerate(_ELLIPSES):
        weight = contrast[index] if contrast and index < len(contrast) else value
        theta = np.radians(angle)
        xr = (x - x0 * shrink) * np.cos(theta) + (y - y0 * shrink) * np.sin(theta)
        yr = -(x - x0 * shrink) * np.sin(theta) + (y - y0 * shrink) * np.cos(theta)
        image[(xr / (a * shrink)) ** 2 + (yr / (b * shrink)) ** 2 <= 1.0] += weight
    return image


def chest_phantom(size: int, lateral: bool = False) -> np.ndarray:
    """A radiograph-like chest: soft tissue, two lungs, spine, ribs, heart; values in [0, 1]."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    body = ((x / 0.85) ** 2 + (y / 1.05) ** 2 <= 1).astype(np.float32) * 0.55
    if lateral:
        lungs = ((x / 0.5) ** 2 + ((y + 0.05) / 0.7) ** 2 <= 1).astype(np.float32)
    else:
        lungs = (((x - 0.38) / 0.3) ** 2 + ((y + 0.05) / 0.65) ** 2 <= 1) | (
            ((x + 0.38) / 0.3) ** 2 + ((y + 0.05) / 0.65) ** 2 <= 1
        )
    image = body - 0.4 * lungs.astype(np.float32)
    heart = (((x + 0.12) / 0.28) ** 2 + ((y - 0.25) / 0.25) ** 2 <= 1).astype(np.float32)
    image += 0.3 * heart
    spine = (np.abs(x - (0.45 if lateral else 0.0)) < 0.07).astype(np.float32) * 0.35
    image += spine * (np.abs(y) < 0.95)
    ribs = (np.sin(y * 28) > 0.85).astype(np.float32) * (np.abs(x) < 0.75) * 0.12
    image += ribs * (body > 0)
    return np.clip(image, 0, 1)


def thorax_slice_hu(size: int, z: float = 0.0) -> np.ndarray:
    """An axial chest CT slice in Hounsfield units: fat, muscle, lungs, heart, aorta, spine."""
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    hu = np.full((size, size), -1000.0, dtype=np.float32)
    hu[(x / 0.92) ** 2 + (y / 0.66) ** 2 <= 1] = -100  # subcutaneous fat
    hu[(x / 0.86) ** 2 + (y / 0.6) ** 2 <= 1] = 45  # muscle and mediastinum
    lung = 0.42 * float(np.sqrt(max(0.2, 1 - z * z)))
    for cx in (-0.4, 0.4):
        hu[((x - cx) / 0.3) ** 2 + ((y + 0.02) / lung) ** 2 <= 1] = -850
    hu[((x + 0.08) / 0.26) ** 2 + ((y + 0.08) / 0.22) ** 2 <= 1] = 40  # heart
    hu[((x - 0.1) / 0.07) ** 2 + ((y - 0.2) / 0.07) ** 2 <= 1] = 250  # contrast-filled aorta
    hu[(x / 0.1) ** 2 + ((y - 0.42) / 0.1) ** 2 <= 1] = 700  # vertebral body
    return hu


def ultrasound_frame(width: int, height: int, rng: np.random.Generator, organ: int) -> np.ndarray:
    """A sector scan with a bright capsule, a darker organ and speckle; values in [0, 1]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, depth = width / 2, np.hypot(x - width / 2, y + height * 0.1)
    angle = np.degrees(np.arctan2(x - cx, y + height * 0.1))
    sector = (np.abs(angle) < 38) & (depth < height * 1.05) & (depth > height * 0.12)
    speckle = rng.rayleigh(0.25, size=(height, width)).astype(np.float32)
    ox, oy = width * (0.45 + 0.05 * organ), height * 0.55
    organ_mask = ((x - ox) / (width * 0.28)) ** 2 + ((y - oy) / (height * 0.22)) ** 2
    tissue = 0.45 + 0.1 * np.sin(depth / 9.0)
    tissue = np.where(organ_mask < 1, 0.28, tissue)
    tissue = np.where(np.abs(organ_mask - 1) < 0.08, 0.95, tissue)
    image = tissue * speckle * 2.2 * sector
    return np.clip(image, 0, 1)


# -- datasets -----------------------------------------------------------------------------------
def _base_dataset(sop_class: str, sop_uid: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    return ds


def _set_pixels(ds: Dataset, pixels: np.ndarray, *, rgb: bool = False) -> None:
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    bits = pixels.dtype.itemsize * 8
    ds.BitsAllocated = bits
    ds.BitsStored = 12 if bits == 16 else 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()


def encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@dataclass(frozen=True)
class PatientInfo:
    name: str
    patient_id: str
    birth_date: str
    sex: str


def random_patient(rng: random.Random) -> PatientInfo:
    first, sex = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    born = date(1935, 1, 1) + timedelta(days=rng.randrange(0, 365 * 85))
    return PatientInfo(
        f"{last}^{first}", f"PID{rng.randrange(10**6, 10**7)}", born.strftime("%Y%m%d"), sex
    )


def _pixels_for(
    modality: str, plan: SeriesPlan, index: int, nprng: np.random.Generator, series_index: int
) -> tuple[np.ndarray, dict[str, object]]:
    z = -0.8 + 1.6 * (index + 0.5) / max(1, plan.images)
    if modality == "CT":
        if plan.body_part == "CHEST":
            hu = thorax_slice_hu(256, z)
            preset = (-600, 1500)
        else:
            hu = head_phantom(256, z, CT_HEAD_HU) - 1000
            preset = (40, 80) if "bone" not in plan.description else (500, 2000)
        hu = hu + nprng.normal(0, 4, (256, 256))
        stored = np.clip(hu + 1024, 0, 4095).astype(np.int16)
        return stored, {
            "RescaleIntercept": -1024,
            "RescaleSlope": 1,
            "WindowCenter": preset[0],
            "WindowWidth": preset[1],
            "KVP": 120,
            "SliceThickness": 5,
            "PixelSpacing": [0.9, 0.9],
        }
    if modality == "MR":
        weights = [
            (1.0, -0.7, 0.35, 0.35, 0.15, 0.1, 0.1, 0.1, 0.1, 0.1),
            (0.8, -0.2, 0.6, 0.6, -0.1, 0.2, 0.2, 0.2, 0.2, 0.2),
            (0.9, -0.5, 0.1, 0.1, 0.3, 0.25, 0.1, 0.1, 0.1, 0.1),
        ][series_index % 3]
        img = np.clip(head_phantom(256, z, weights), 0, None) * 1400 + nprng.normal(
            0, 12, (256, 256)
        )
        return np.clip(img, 0, 4095).astype(np.uint16), {
            "MagneticFieldStrength": 1.5,
            "SliceThickness": 4,
            "PixelSpacing": [0.9, 0.9],
        }
    if modality == "CR":
        img = chest_phantom(512, lateral=series_index == 1) * 3600 + nprng.normal(0, 20, (512, 512))
        return np.clip(img, 0, 4095).astype(np.uint16), {
            "ViewPosition": "LL" if series_index else "PA",
            "PixelSpacing": [0.7, 0.7],
        }
    frame = ultrasound_frame(320, 240, nprng, index + series_index) * 255
    return frame.astype(np.uint8), {}


def demo_instances(patients: int, seed: int | None = None) -> Iterator[bytes]:
    """Encoded Part 10 files for ``patients`` realistic patients with 1-3 studies each.

    Every patient-level and study-level attribute is drawn once per patient or study, so all
    instances of a study agree on them (archives that index per study keep one value)."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(rng.getrandbits(32))
    for _ in range(patients):
        patient = random_patient(rng)
        for plan_index in rng.sample(range(len(STUDY_PLANS)), rng.randint(1, 3)):
            description, series_plans = STUDY_PLANS[plan_index]
            study_uid = new_uid(rng)
            study_day = date.today() - timedelta(days=rng.randrange(0, 900))
            study_date = study_day.strftime("%Y%m%d")
            study_time = f"{rng.randrange(7, 19):02d}{rng.randrange(60):02d}{rng.randrange(60):02d}"
            accession = f"A{rng.randrange(10**7, 10**8)}"
            study_id = str(rng.randrange(1000, 9999))
            referring = f"{rng.choice(LAST_NAMES)}^{rng.choice(FIRST_NAMES)[0]}"
            for series_index, plan in enumerate(series_plans):
                series_uid = new_uid(rng)
                frame_uid = new_uid(rng)
                for index in range(plan.images):
                    sop_class = {
                        "CT": CT_IMAGE_STORAGE,
                        "MR": MR_IMAGE_STORAGE,
                        "CR": CR_IMAGE_STORAGE,
                        "US": US_IMAGE_STORAGE,
                    }[plan.modality]
                    ds = _base_dataset(sop_class, new_uid(rng))
                    ds.PatientName = patient.name
                    ds.PatientID = patient.patient_id
                    ds.PatientBirthDate = patient.birth_date
                    ds.PatientSex = patient.sex
                    ds.StudyInstanceUID = study_uid
                    ds.StudyDate = ds.SeriesDate = ds.ContentDate = study_date
                    ds.StudyTime = ds.SeriesTime = study_time
                    ds.AccessionNumber = accession
                    ds.StudyDescription = description
                    ds.StudyID = study_id
                    ds.ReferringPhysicianName = referring
                    ds.InstitutionName = "Demo General Hospital"
                    ds.Manufacturer = "dicom-kiosk demo"
                    ds.Modality = plan.modality
                    ds.SeriesInstanceUID = series_uid
                    ds.SeriesNumber = series_index + 1
                    ds.SeriesDescription = plan.description
                    ds.BodyPartExamined = plan.body_part
                    ds.InstanceNumber = index + 1
                    ds.FrameOfReferenceUID = frame_uid
                    pixels, extra = _pixels_for(plan.modality, plan, index, nprng, series_index)
                    for key, value in extra.items():
                        setattr(ds, key, value)
                    if plan.modality in ("CT", "MR"):
                        ds.ImagePositionPatient = [-115.0, -115.0, float(index * 5)]
                        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
                        ds.SliceLocation = float(index * 5)
                    _set_pixels(ds, pixels)
                    yield encode(ds)


def ct_series(count: int, size: int = 144, seed: int = 7) -> Iterator[bytes]:
    """``count`` CT slices of one series (about 40 KB each at the default size), for benchmarks."""
    rng = random.Random(seed)
    patient = random_patient(rng)
    study_uid, series_uid = new_uid(rng), new_uid(rng)
    for index in range(count):
        ds = _base_dataset(CT_IMAGE_STORAGE, new_uid(rng))
        ds.PatientName, ds.PatientID = patient.name, patient.patient_id
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
        ds.StudyDate = ds.SeriesDate = "20260101"
        ds.Modality = "CT"
        ds.SeriesNumber = 1
        ds.InstanceNumber = index + 1
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        z = -0.9 + 1.8 * index / max(1, count - 1)
        hu = head_phantom(size, z, CT_HEAD_HU) - 1000
        pixels = np.clip(hu + 1024, 0, 4095).astype(np.int16)
        _set_pixels(ds, pixels)
        yield encode(ds)
