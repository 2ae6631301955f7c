"""Derived objects the viewer saves, made with highdicom, and the presentation state it loads.

- A Grayscale Softcopy Presentation State (PS3.3 A.33.1) for the images of a stack as shown:
  the window (Softcopy VOI LUT module, C.11.8) and the displayed area (C.10.4: the image
  region on screen, top left and bottom right corners in image pixels, 1-based, clipped to
  the image, SCALE TO FIT),
  so that another viewer opens them the same way.
- A Key Object Selection document (A.35.4, TID 2010 "Of Interest") referencing flagged images.
- A Secondary Capture image (A.8.1) of the pixels on screen, referencing its source image.

Each is a new instance of its own new series in the study of its sources, and enters the
store like any image: through the one intake (``save_objects``), so it is indexed, shown in
the database, sent and exported like the rest. ``latest_presentation`` finds the newest stored
presentation state referencing a series, and ``read_presentation`` tells what it shows.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID, generate_uid
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import Instance, Series, Study
from core.dicom.header import parse_instance
from core.errors import KioskError
from core.imaging.render import Window
from core.index.intake import Intake
from core.index.writer import IngestItem, Outcome
from core.store.files import FileStore

if TYPE_CHECKING:
    import highdicom as hd

log = logging.getLogger(__name__)

GSPS_CLASS = UID("1.2.840.10008.5.1.4.1.1.11.1")  # Grayscale Softcopy Presentation State
KOS_CLASS = UID("1.2.840.10008.5.1.4.1.1.88.59")  # Key Object Selection Document
SC_CLASS = UID("1.2.840.10008.5.1.4.1.1.7")  # Secondary Capture Image
MANUFACTURER = "dicom-kiosk"
MODEL = "dicom-kiosk viewer"
SOFTWARE = "1"
SOURCE = "viewer"  # Instance.source of what the viewer saved
# Series numbers of the derived series (one new series for each saved object)
SERIES_NUMBERS = {GSPS_CLASS: 9001, KOS_CLASS: 9002, SC_CLASS: 9003}


class DerivedError(KioskError):
    """A derived object cannot be made from these images (a sentence for the user)."""


@dataclass(frozen=True, slots=True)
class DisplayedArea:
    """The image region on screen: corners in image pixels (column, row), 1-based, inclusive;
    they may lie outside the image when it is shown smaller than the screen."""

    left: int
    top: int
    right: int
    bottom: int

    @classmethod
    def whole(cls, columns: int, rows: int) -> DisplayedArea:
        return cls(1, 1, columns, rows)

    def clipped(self, columns: int, rows: int) -> DisplayedArea:
        """The part inside a ``columns`` x ``rows`` image (a corner outside the image is valid
        DICOM, SL, but dicom3tools reads it as unsigned; the part on screen is what counts)."""
        left, top = min(max(self.left, 1), columns), min(max(self.top, 1), rows)
        return DisplayedArea(
            left, top, max(left, min(self.right, columns)), max(top, min(self.bottom, rows))
        )


@dataclass(frozen=True, slots=True)
class PresentationView:
    """What a presentation state shows: its window (None: the images' own) and area."""

    sop_uid: str
    window: Window | None
    area: DisplayedArea | None
    label: str = ""


# -- reading sources ---------------------------------------------------------------------------
# Type 2 attributes of the Patient and General Study modules a derived object copies from its
# sources: present (empty when unknown) even where a source leaves them out.
_COPIED_TYPE_2 = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
)


def read_headers(paths: Sequence[Path]) -> list[Dataset]:
    """The headers (no pixel data) of the files a derived object references."""
    headers: list[Dataset] = []
    for path in paths:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(path, stop_before_pixels=True)
        for keyword in _COPIED_TYPE_2:
            if keyword not in ds:
                setattr(ds, keyword, "")
        headers.append(ds)
    return headers


def _check_one_study(sources: Sequence[Dataset]) -> None:
    if not sources:
        raise DerivedError("No images to reference.")
    studies = {str(ds.get("StudyInstanceUID", "")) for ds in sources}
    if len(studies) != 1 or "" in studies:
        raise DerivedError("The images belong to more than one study.")


def _now() -> tuple[str, str]:
    now = datetime.now()
    return now.strftime("%Y%m%d"), now.strftime("%H%M%S")


def _set_series(ds: Dataset, description: str, source: Dataset | None = None) -> None:
    """Series description and date; for a General Series module, the sources' Laterality
    (type 2C: an unknown body part may be paired, so it is present, empty when unknown)."""
    ds.SeriesDescription = description
    if source is not None and "Laterality" not in ds:
        ds.Laterality = source.get("Laterality", "")
    date, time = _now()
    ds.SeriesDate, ds.SeriesTime = date, time


# -- the objects -------------------------------------------------------------------------------
def presentation_state(
    sources: Sequence[Dataset],
    window: Window,
    area: DisplayedArea | None,
    *,
    label: str = "VIEW",
    explanation: str = "",
) -> hd.pr.GrayscaleSoftcopyPresentationState:
    """A GSPS for ``sources`` (the images of one series or study, headers are enough)."""
    import highdicom as hd  # only for saving: slow to import

    _check_one_study(sources)
    colour = [ds for ds in sources if int(ds.get("SamplesPerPixel", 1) or 1) != 1]
    if colour:
        raise DerivedError("A colour image has no grayscale presentation state.")
    voi = hd.pr.SoftcopyVOILUTTransformation(
        window_center=float(window.center),
        window_width=max(1.0, float(window.width)),
        window_explanation=explanation or None,
    )
    # A content label is a CS: capitals, digits, space and underscore, 16 characters at most.
    label = "".join(c if c.isalnum() else "_" for c in label.upper())[:16] or "VIEW"
    gsps = hd.pr.GrayscaleSoftcopyPresentationState(
        referenced_images=list(sources),
        series_instance_uid=generate_uid(),
        series_number=SERIES_NUMBERS[GSPS_CLASS],
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=MODEL,
        software_versions=SOFTWARE,
        device_serial_number="1",
        content_label=label,
        content_description="As shown in the viewer",
        voi_lut_transformations=[voi],
    )
    if area is not None:
        area = area.clipped(int(sources[0].Columns), int(sources[0].Rows))
        item = Dataset()
        item.DisplayedAreaTopLeftHandCorner = [int(area.left), int(area.top)]
        item.DisplayedAreaBottomRightHandCorner = [int(area.right), int(area.bottom)]
        item.PresentationSizeMode = "SCALE TO FIT"
        item.PresentationPixelAspectRatio = [1, 1]
        gsps.DisplayedAreaSelectionSequence = DicomSequence([item])
    else:
        for item in gsps.DisplayedAreaSelectionSequence:
            if "PixelOriginInterpretation" in item and "TotalPixelMatrixRows" not in sources[0]:
                del item.PixelOriginInterpretation  # only for tiled (slide) images, C.10.4
    _set_series(gsps, "Presentation state", sources[0])
    return gsps


def key_object_selection(
    flagged: Sequence[Dataset], *, description: str = "Key images"
) -> hd.ko.KeyObjectSelectionDocument:
    """A KOS document "Of Interest" (CID 7010) referencing ``flagged`` images."""
    import highdicom as hd  # only for saving: slow to import
    from pydicom.sr.codedict import codes

    _check_one_study(flagged)
    content = hd.ko.KeyObjectSelection(
        document_title=codes.DCM.OfInterest,
        referenced_objects=list(flagged),
        description=description,
    )
    kos = hd.ko.KeyObjectSelectionDocument(
        evidence=list(flagged),
        content=content,
        series_instance_uid=generate_uid(),
        series_number=SERIES_NUMBERS[KOS_CLASS],
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
    )
    _set_series(kos, description)
    return kos


def secondary_capture(
    source: Dataset, pixels: np.ndarray, *, orientation: tuple[str, str] | None = None
) -> hd.sc.SCImage:
    """A Secondary Capture of ``pixels`` (uint8, HxW grey or HxWx3 RGB) shown from ``source``.

    ``orientation``: the patient directions of its rows and columns (Patient Orientation),
    when the source has them."""
    import highdicom as hd  # only for saving: slow to import

    _check_one_study([source])
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise DerivedError("A screen capture is 8-bit grey or RGB.")
    rgb = pixels.ndim == 3
    sc = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=np.ascontiguousarray(pixels),
        photometric_interpretation="RGB" if rgb else "MONOCHROME2",
        bits_allocated=8,
        coordinate_system="PATIENT",
        series_instance_uid=generate_uid(),
        series_number=SERIES_NUMBERS[SC_CLASS],
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer=MANUFACTURER,
        patient_orientation=("L", "P"),  # replaced below: highdicom takes single letters only
    )
    # Patient Orientation (type 2C): the directions of rows and columns ("PF" when oblique),
    # empty when the source tells none.
    sc.PatientOrientation = list(orientation) if orientation and all(orientation) else []
    sc.ConversionType = "WSD"  # workstation
    sc.ImageType = ["DERIVED", "SECONDARY"]
    sc.DerivationDescription = "Screen capture of the viewer"
    reference = Dataset()
    reference.ReferencedSOPClassUID = source.SOPClassUID
    reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
    sc.SourceImageSequence = DicomSequence([reference])
    _set_series(sc, "Screen capture", source)
    return sc


# -- storing -----------------------------------------------------------------------------------
def encode(ds: Dataset) -> bytes:
    """``ds`` as a Part 10 file."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def save_objects(intake: Intake, objects: Sequence[Dataset], detail: str = "") -> list[Outcome]:
    """Store ``objects`` through the one intake, as an import does: each file is made durable
    in ``incoming/``, then indexed in one batch; the outcomes in order."""
    store = intake.writer.store
    items = []
    for ds in objects:
        data = encode(ds)
        parsed = parse_instance(data)
        payload = parsed.rewritten if parsed.rewritten is not None else data
        incoming = store.write_incoming(payload, len(payload), durable=False)
        items.append(IngestItem(incoming, parsed.header, len(payload), SOURCE, detail))
    store.sync()
    return intake.write(items)


@dataclass(frozen=True, slots=True)
class SavedView:
    """What ``save_view`` stored: the new objects' SOP Instance UIDs ("" for none)."""

    presentation_uid: str = ""
    key_object_uid: str = ""
    capture_uid: str = ""
    keys: int = 0


def save_view(
    intake: Intake,
    paths: Sequence[Path],
    *,
    window: Window | None,
    area: DisplayedArea | None,
    keys: Sequence[str] = (),
    capture: tuple[str, np.ndarray] | None = None,
    orientation: tuple[str, str] | None = None,
) -> SavedView:
    """Store what the viewer shows of the images at ``paths`` (blocking): a presentation
    state with ``window`` and ``area`` (none for colour images: ``window`` None), a key object
    selection of the ``keys`` SOP Instance UIDs, and a capture ``(source UID, pixels)``."""
    sources = read_headers(list(dict.fromkeys(paths)))
    by_uid = {str(ds.SOPInstanceUID): ds for ds in sources}
    objects: list[Dataset] = []
    gsps = kos = sc = None
    if window is not None:
        gsps = presentation_state(sources, window, area)
        objects.append(gsps)
    flagged = [by_uid[uid] for uid in dict.fromkeys(keys) if uid in by_uid]
    if flagged:
        kos = key_object_selection(flagged)
        objects.append(kos)
    if capture is not None:
        uid, pixels = capture
        if uid not in by_uid:
            raise DerivedError("The captured image is not in the stack.")
        sc = secondary_capture(by_uid[uid], pixels, orientation=orientation)
        objects.append(sc)
    if not objects:
        raise DerivedError("Nothing to save: a colour image has no view state; flag key images.")
    outcomes = save_objects(intake, objects, "viewer")
    if any(o not in (Outcome.STORED, Outcome.REPLACED) for o in outcomes):
        raise DerivedError("The database did not take every object.")
    return SavedView(
        presentation_uid=str(gsps.SOPInstanceUID) if gsps is not None else "",
        key_object_uid=str(kos.SOPInstanceUID) if kos is not None else "",
        capture_uid=str(sc.SOPInstanceUID) if sc is not None else "",
        keys=len(flagged),
    )


# -- loading -----------------------------------------------------------------------------------
def _first_window(ds: Dataset) -> Window | None:
    for item in ds.get("SoftcopyVOILUTSequence", []):
        centers, widths = item.get("WindowCenter"), item.get("WindowWidth")
        if centers is None or widths is None:
            continue
        center = centers[0] if isinstance(centers, Sequence) else centers
        width = widths[0] if isinstance(widths, Sequence) else widths
        try:
            return Window(float(center), max(1.0, float(width)))
        except (TypeError, ValueError):
            continue
    return None


def _first_area(ds: Dataset) -> DisplayedArea | None:
    for item in ds.get("DisplayedAreaSelectionSequence", []):
        tlhc = item.get("DisplayedAreaTopLeftHandCorner")
        brhc = item.get("DisplayedAreaBottomRightHandCorner")
        if tlhc is None or brhc is None or len(tlhc) != 2 or len(brhc) != 2:
            continue
        area = DisplayedArea(int(tlhc[0]), int(tlhc[1]), int(brhc[0]), int(brhc[1]))
        if area.right >= area.left and area.bottom >= area.top:
            return area
    return None


def read_presentation(ds: Dataset) -> PresentationView:
    """The window and displayed area of a presentation state (the first of each)."""
    return PresentationView(
        sop_uid=str(ds.get("SOPInstanceUID", "")),
        window=_first_window(ds),
        area=_first_area(ds),
        label=str(ds.get("ContentLabel", "") or ""),
    )


def _references_series(ds: Dataset, series_uid: str) -> bool:
    return any(
        str(item.get("SeriesInstanceUID", "")) == series_uid
        for item in ds.get("ReferencedSeriesSequence", [])
    )


def latest_presentation(
    sessions: sessionmaker[Session], store: FileStore, series_uid: str
) -> PresentationView | None:
    """The newest stored GSPS (by creation date and time) that references ``series_uid``."""
    with sessions() as session:
        study_pk = session.scalar(select(Series.study_pk).where(Series.series_uid == series_uid))
        if study_pk is None:
            return None
        paths = session.scalars(
            select(Instance.file_path)
            .join(Series)
            .join(Study)
            .where(Study.id == study_pk, Instance.sop_class_uid == GSPS_CLASS)
        ).all()
    found: list[tuple[str, Dataset]] = []
    for relative in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = dcmread(store.absolute(relative), stop_before_pixels=True)
        except (OSError, ValueError) as exc:
            log.warning("cannot read a presentation state %s: %s", relative, exc)
            continue
        if _references_series(ds, series_uid):
            date = ds.get("PresentationCreationDate", "")
            when = f"{date}{ds.get('PresentationCreationTime', '')}"
            found.append((when, ds))
    if not found:
        return None
    return read_presentation(max(found, key=lambda pair: pair[0])[1])
