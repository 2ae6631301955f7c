"""The viewer's core: a series as an ordered stack of frames, window/level, read-out, zoom, pan.

Plain Python, no Qt: a viewmodel drives a ``Viewer`` from a worker thread (decoding is
blocking work) and shows ``render()``'s pixels; it maps touches with ``view_to_image``.

Ordering (``order_entries``): by InstanceNumber when every image has a distinct one, else by
the position along the slice normal (ImagePositionPatient projected on the cross product of
ImageOrientationPatient's row and column vectors) when every image has one, else by
InstanceNumber with missing numbers last. Multi-frame images contribute all their frames.

The overlay (``overlay_of``) is what the four corners of a radiology viewer show, read from the
header of the frame on screen: patient, study, series and slice, and the orientation markers
of the image's edges from Image Orientation (Patient) (PS3.3 C.7.6.2.1.1: the row and column
direction cosines in the patient's LPS frame). An enhanced multi-frame object's per-frame
functional groups come first, its shared groups next, the top level last.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import Instance, Series
from core.errors import NotFoundError
from core.imaging.render import (
    DecodedFrame,
    DecodeError,
    RenderedImage,
    Window,
    auto_window,
    decode_frame,
    display,
    frame_count,
    frame_item,
    modality_of,
    object_kind,
    placeholder,
    read_dataset,
)
from core.store.files import FileStore

log = logging.getLogger(__name__)

MIN_ZOOM, MAX_ZOOM = 0.1, 40.0


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    center: float
    width: float

    @property
    def window(self) -> Window:
        return Window(self.center, self.width)


# Common CT windows in HU (center, width).
CT_PRESETS = (
    Preset("Brain", 40, 80),
    Preset("Subdural", 75, 215),
    Preset("Stroke", 32, 8),
    Preset("Lung", -600, 1500),
    Preset("Mediastinum", 50, 350),
    Preset("Abdomen", 50, 400),
    Preset("Liver", 60, 150),
    Preset("Bone", 400, 1800),
)
PRESETS_BY_MODALITY: dict[str, tuple[Preset, ...]] = {"CT": CT_PRESETS}


@dataclass(frozen=True, slots=True)
class StackEntry:
    """One frame of the stack."""

    sop_uid: str
    path: Path
    frame: int
    frames: int
    instance_number: int | None = None
    position: float | None = None  # along the slice normal, mm


@dataclass(frozen=True, slots=True)
class PixelValue:
    """What lies under a point: stored value(s) and the modality (rescaled) value."""

    x: int
    y: int
    stored: float | tuple[float, ...]
    value: float | None  # modality value (HU for CT); None for colour images
    units: str


@dataclass(frozen=True, slots=True)
class _Header:
    sop_uid: str
    path: Path
    frames: int
    instance_number: int | None
    position: float | None


def _int_or_none(value: object) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None


def slice_position(ds: Dataset) -> float | None:
    """ImagePositionPatient projected on the slice normal, or None."""
    try:
        ipp = [float(v) for v in ds.ImagePositionPatient]
        iop = [float(v) for v in ds.ImageOrientationPatient]
    except (AttributeError, TypeError, ValueError):
        return None
    if len(ipp) != 3 or len(iop) != 6:
        return None
    normal = np.cross(np.asarray(iop[:3]), np.asarray(iop[3:]))
    if not np.all(np.isfinite(normal)) or not np.any(normal):
        return None
    return float(np.dot(normal, np.asarray(ipp)))


# -- the overlay ---------------------------------------------------------------------------------
# Patient-frame letters of a direction cosine's components (LPS): +x is the patient's left,
# +y posterior, +z head.
_AXIS_LETTERS = (("L", "R"), ("P", "A"), ("H", "F"))
_OBLIQUE_MIN = 0.25  # a component smaller than this adds no letter


def orientation_label(vector: Sequence[float]) -> str:
    """The letters of the patient direction ``vector`` points to, strongest first ("L", "PF")."""
    order = sorted(range(3), key=lambda i: -abs(vector[i]))
    return "".join(
        _AXIS_LETTERS[i][0 if vector[i] > 0 else 1] for i in order if abs(vector[i]) >= _OBLIQUE_MIN
    )


@dataclass(frozen=True, slots=True)
class Orientation:
    """The patient directions at the image's edges: the text at the middle of each edge."""

    left: str
    right: str
    top: str
    bottom: str


def orientation_of(iop: Sequence[float] | None) -> Orientation | None:
    """Markers from Image Orientation (Patient): a row runs toward the right edge, a column
    toward the bottom edge. None without a usable orientation."""
    if iop is None or len(iop) != 6:
        return None
    values = np.asarray(iop, dtype=float)
    if not np.all(np.isfinite(values)):
        return None
    row, col = values[:3], values[3:]
    if not np.any(row) or not np.any(col):
        return None
    row, col = row / np.linalg.norm(row), col / np.linalg.norm(col)
    return Orientation(
        left=orientation_label(-row),
        right=orientation_label(row),
        top=orientation_label(-col),
        bottom=orientation_label(col),
    )


@dataclass(frozen=True, slots=True)
class ImageOverlay:
    """What the corners of the viewer show about the image on screen, as the header has it
    (raw DICOM values: a person name with its ``^``, dates as YYYYMMDD)."""

    patient_name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_description: str = ""
    accession: str = ""
    series_number: str = ""
    series_description: str = ""
    slice_location: float | None = None  # mm
    slice_thickness: float | None = None  # mm
    orientation: Orientation | None = None


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _number(value: object) -> float | None:
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None  # type: ignore[arg-type, index]
    try:
        number = float(str(value))
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _frame_value(ds: Dataset, frame: int, sequence: str, keyword: str) -> object:
    item = frame_item(ds, frame, sequence)
    if item is not None and keyword in item:
        return item.get(keyword)
    return ds.get(keyword)


def _along_normal(position: object, cosines: list[float] | None) -> float | None:
    """A position projected on the slice normal (the slice location of a multi-frame frame)."""
    if position is None or cosines is None or len(cosines) != 6:
        return None
    try:
        ipp = np.asarray([float(v) for v in position])  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return None
    normal = np.cross(np.asarray(cosines[:3]), np.asarray(cosines[3:]))
    if ipp.size != 3 or not np.any(normal) or not np.all(np.isfinite(ipp)):
        return None
    return float(np.dot(normal, ipp))


def overlay_of(ds: Dataset, frame: int = 0) -> ImageOverlay:
    """The overlay of ``frame`` of ``ds`` (see the module docstring)."""
    iop = _frame_value(ds, frame, "PlaneOrientationSequence", "ImageOrientationPatient")
    try:
        cosines = [float(v) for v in iop] if iop is not None else None  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        cosines = None
    per_frame_position = frame_item(ds, frame, "PlanePositionSequence") is not None
    location = None if per_frame_position else _number(ds.get("SliceLocation"))
    if location is None:
        position = _frame_value(ds, frame, "PlanePositionSequence", "ImagePositionPatient")
        location = _along_normal(position, cosines)
    number = ds.get("SeriesNumber")
    return ImageOverlay(
        patient_name=_text(ds, "PatientName"),
        patient_id=_text(ds, "PatientID"),
        birth_date=_text(ds, "PatientBirthDate"),
        sex=_text(ds, "PatientSex"),
        study_date=_text(ds, "StudyDate"),
        study_description=_text(ds, "StudyDescription"),
        accession=_text(ds, "AccessionNumber"),
        series_number="" if number in (None, "") else str(number).strip(),
        series_description=_text(ds, "SeriesDescription"),
        slice_location=location,
        slice_thickness=_number(_frame_value(ds, frame, "PixelMeasuresSequence", "SliceThickness")),
        orientation=orientation_of(cosines),
    )


def window_names(ds: Dataset | None, frame: int, count: int) -> list[str]:
    """Names of an image's ``count`` stored windows: Window Center & Width Explanation
    (0028,1055) where the file has one, else "Header n"; every name distinct."""
    explanations: list[str] = []
    if ds is not None:
        item = frame_item(ds, frame, "FrameVOILUTSequence")
        source = item if item is not None and "WindowCenter" in item else ds
        value = source.get("WindowCenterWidthExplanation")
        if value is not None:
            multi = isinstance(value, list | tuple) or type(value).__name__ == "MultiValue"
            explanations = [str(v).strip() for v in (value if multi else [value])]
    names: list[str] = []
    for i in range(count):
        name = explanations[i] if i < len(explanations) and explanations[i] else f"Header {i + 1}"
        names.append(name if name not in names else f"{name} ({i + 1})")
    return names


def _read_header(path: Path, sop_uid: str = "") -> _Header:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcmread(path, force=True, stop_before_pixels=True)
    return _Header(
        sop_uid=sop_uid or str(ds.get("SOPInstanceUID", path.stem)),
        path=path,
        frames=frame_count(ds),
        instance_number=_int_or_none(ds.get("InstanceNumber")),
        position=slice_position(ds),
    )


def order_entries(headers: Sequence[_Header]) -> list[StackEntry]:
    """Order images (see the module docstring) and expand them into frames."""
    numbers = [h.instance_number for h in headers]
    if all(n is not None for n in numbers) and len(set(numbers)) == len(numbers):
        ordered = sorted(headers, key=lambda h: (h.instance_number, h.sop_uid))
    elif all(h.position is not None for h in headers):
        ordered = sorted(headers, key=lambda h: (h.position, h.instance_number or 0, h.sop_uid))
    else:
        ordered = sorted(
            headers,
            key=lambda h: (
                h.instance_number is None,
                h.instance_number or 0,
                math.inf if h.position is None else h.position,
                h.sop_uid,
            ),
        )
    return [
        StackEntry(h.sop_uid, h.path, frame, h.frames, h.instance_number, h.position)
        for h in ordered
        for frame in range(h.frames)
    ]


class SeriesStack:
    """The frames of a series in display order."""

    def __init__(self, entries: Sequence[StackEntry], series_uid: str = "") -> None:
        if not entries:
            raise NotFoundError("the series has no images")
        self.entries = list(entries)
        self.series_uid = series_uid

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> StackEntry:
        return self.entries[index]

    @property
    def instances(self) -> list[str]:
        return list(dict.fromkeys(e.sop_uid for e in self.entries))

    def first_series_uid(self) -> str:
        """The series of the first image, read from its header (blocking)."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = dcmread(self.entries[0].path, stop_before_pixels=True, force=True)
        except (OSError, ValueError):
            return ""
        return str(ds.get("SeriesInstanceUID", "") or "")

    @classmethod
    def from_paths(cls, paths: Iterable[Path]) -> SeriesStack:
        """A stack from files (read their headers to order them)."""
        return cls(order_entries([_read_header(Path(p)) for p in paths]))

    @classmethod
    def from_index(
        cls, sessions: sessionmaker[Session], store: FileStore, series_uid: str
    ) -> SeriesStack:
        """A stack of a stored series. Headers are read only when InstanceNumber cannot order."""
        with sessions() as session:
            rows = session.execute(
                select(
                    Instance.sop_uid,
                    Instance.instance_number,
                    Instance.num_frames,
                    Instance.file_path,
                )
                .join(Series)
                .where(Series.series_uid == series_uid)
            ).all()
        if not rows:
            raise NotFoundError(f"no series {series_uid!r} in the database")
        numbers = [r.instance_number for r in rows]
        if all(n is not None for n in numbers) and len(set(numbers)) == len(numbers):
            headers = [
                _Header(
                    r.sop_uid, store.absolute(r.file_path), r.num_frames, r.instance_number, None
                )
                for r in rows
            ]
        else:
            headers = [_read_header(store.absolute(r.file_path), r.sop_uid) for r in rows]
        return cls(order_entries(headers), series_uid)


def value_at(decoded: DecodedFrame | RenderedImage, x: float, y: float) -> PixelValue | None:
    """Stored and modality value of ``decoded`` at image coordinates (column ``x``, row ``y``)."""
    if isinstance(decoded, RenderedImage):
        return None
    col, row = math.floor(x), math.floor(y)
    if not (0 <= row < decoded.rows and 0 <= col < decoded.columns):
        return None
    sample = decoded.stored[row, col]
    if decoded.values is None or np.ndim(sample):
        stored: float | tuple[float, ...] = tuple(float(v) for v in np.ravel(sample))
        return PixelValue(col, row, stored, None, "")
    value = float(decoded.values[row, col])
    return PixelValue(col, row, float(sample), value, decoded.units)


@dataclass(frozen=True, slots=True)
class ViewFrame:
    """One displayed frame: its pixels, its decoded values (for the probe) and its windows."""

    rendered: RenderedImage
    decoded: DecodedFrame | RenderedImage
    default_window: Window | None  # None: colour or no picture
    presets: tuple[Preset, ...]
    entry: StackEntry
    overlay: ImageOverlay = ImageOverlay()
    value_range: tuple[float, float] | None = None  # of the modality values; None for colour
    frame_rate: float | None = None  # frames per second the header asks for (cine)


class Viewer:
    """State of one viewport showing a stack: current frame, window, zoom and pan.

    Geometry: the image is fitted into the viewport (``set_viewport``), then scaled by
    ``zoom`` about the viewport centre and moved by ``pan`` (viewport pixels).
    """

    def __init__(self, stack: SeriesStack, cache_size: int = 16) -> None:
        self.stack = stack
        self.index = 0
        self.window: Window | None = None  # None: the image's own (header or automatic)
        self.zoom = 1.0
        self.pan = (0.0, 0.0)
        self.viewport = (512.0, 512.0)
        self._cache_size = max(1, cache_size)
        self._frames: OrderedDict[tuple[str, int], DecodedFrame | RenderedImage] = OrderedDict()
        self._datasets: OrderedDict[str, Dataset] = OrderedDict()

    # -- navigation ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.stack)

    @property
    def current(self) -> StackEntry:
        return self.stack[self.index]

    def go_to(self, index: int) -> StackEntry:
        self.index = min(max(0, index), len(self.stack) - 1)
        return self.current

    def step(self, delta: int) -> StackEntry:
        return self.go_to(self.index + delta)

    # -- decoding (cached) ---------------------------------------------------------------------
    def _dataset(self, entry: StackEntry) -> Dataset:
        ds = self._datasets.get(entry.sop_uid)
        if ds is None:
            ds = read_dataset(entry.path)
            self._datasets[entry.sop_uid] = ds
            while len(self._datasets) > self._cache_size:
                self._datasets.popitem(last=False)
        else:
            self._datasets.move_to_end(entry.sop_uid)
        return ds

    def decoded(self) -> DecodedFrame | RenderedImage:
        """The current frame decoded, or a placeholder when it has no picture."""
        entry = self.current
        key = (entry.sop_uid, entry.frame)
        cached = self._frames.get(key)
        if cached is not None:
            self._frames.move_to_end(key)
            return cached
        result: DecodedFrame | RenderedImage
        modality = "?"
        try:
            ds = self._dataset(entry)
            modality = modality_of(ds)
            kind = object_kind(ds)
            if kind != "image":
                result = placeholder(modality, kind)
            else:
                result = decode_frame(ds, entry.frame)
        except DecodeError as exc:
            log.warning("cannot decode %s frame %d: %s", entry.sop_uid, entry.frame, exc)
            result = placeholder(modality, "image", reason=str(exc))
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s: %s", entry.path, exc)
            result = placeholder("", "unreadable file", reason=str(exc))
        self._frames[key] = result
        while len(self._frames) > self._cache_size:
            self._frames.popitem(last=False)
        return result

    @property
    def modality(self) -> str:
        decoded = self.decoded()
        return decoded.modality

    # -- window / level ------------------------------------------------------------------------
    def default_window(self) -> Window | None:
        """The window the image brings (header) or an automatic one; None for colour."""
        decoded = self.decoded()
        if isinstance(decoded, RenderedImage) or decoded.values is None:
            return None
        if decoded.header_windows:
            return decoded.header_windows[0]
        return auto_window(decoded.values)

    def effective_window(self) -> Window | None:
        return self.window or self.default_window()

    def presets(self) -> list[Preset]:
        """Window presets for the current image: its modality's, then its own."""
        decoded = self.decoded()
        if isinstance(decoded, RenderedImage) or decoded.values is None:
            return []
        result = list(PRESETS_BY_MODALITY.get(decoded.modality, ()))
        taken = {p.name.lower() for p in result}
        entry = self.current
        count = len(decoded.header_windows)
        names = window_names(self._datasets.get(entry.sop_uid), entry.frame, count)
        for name, window in zip(names, decoded.header_windows, strict=True):
            label = name if name.lower() not in taken else f"{name} (file)"
            result.append(Preset(label, window.center, window.width))
        auto = auto_window(decoded.values)
        result.append(Preset("Full range", auto.center, auto.width))
        return result

    def value_range(self) -> tuple[float, float] | None:
        """The lowest and highest modality value of the current frame; None for colour."""
        decoded = self.decoded()
        if isinstance(decoded, RenderedImage) or decoded.values is None:
            return None
        values = decoded.values
        finite = values if np.isfinite(values).all() else values[np.isfinite(values)]
        if finite.size == 0:
            return None
        return float(finite.min()), float(finite.max())

    def frame_rate(self) -> float | None:
        """The cine rate the current object's header gives: Cine Rate, Recommended Display
        Frame Rate, or 1000 / Frame Time (ms); None without one."""
        ds = self._datasets.get(self.current.sop_uid)
        if ds is None:
            return None
        for keyword in ("CineRate", "RecommendedDisplayFrameRate"):
            rate = _number(ds.get(keyword))
            if rate is not None and rate > 0:
                return rate
        frame_time = _number(ds.get("FrameTime"))
        return 1000.0 / frame_time if frame_time is not None and frame_time > 0 else None

    def overlay(self) -> ImageOverlay:
        """The corners' text of the current frame (empty for an unreadable file)."""
        try:
            return overlay_of(self._dataset(self.current), self.current.frame)
        except (OSError, ValueError) as exc:
            log.debug("no overlay for %s: %s", self.current.sop_uid, exc)
            return ImageOverlay()

    def apply_preset(self, name: str) -> Window:
        for preset in self.presets():
            if preset.name.lower() == name.lower():
                self.window = preset.window
                return self.window
        raise NotFoundError(f"no window preset {name!r} for this image")

    def set_window(self, center: float, width: float) -> Window:
        self.window = Window(float(center), max(1.0, float(width)))
        return self.window

    def adjust_window(self, d_center: float, d_width: float) -> Window | None:
        """Move the window relative to the current one (a drag gesture)."""
        base = self.effective_window()
        if base is None:
            return None
        return self.set_window(base.center + d_center, base.width + d_width)

    def reset_window(self) -> None:
        self.window = None

    # -- output --------------------------------------------------------------------------------
    def render(self) -> RenderedImage:
        """The current frame as display pixels with the current window."""
        decoded = self.decoded()
        if isinstance(decoded, RenderedImage):
            return decoded
        ds = self._datasets.get(self.current.sop_uid)
        rendered = display(decoded, self.window, ds)
        return replace(rendered, frame=self.current.frame, frames=self.current.frames)

    def value_at(self, x: float, y: float) -> PixelValue | None:
        """Stored and modality value at image coordinates (column ``x``, row ``y``)."""
        return value_at(self.decoded(), x, y)

    def frame_at(self, index: int, window: Window | None) -> ViewFrame:
        """Go to ``index``, apply ``window`` and return everything a display needs at once."""
        self.go_to(index)
        self.window = window
        return ViewFrame(
            self.render(),
            self.decoded(),
            self.default_window(),
            tuple(self.presets()),
            self.current,
            self.overlay(),
            self.value_range(),
            self.frame_rate(),
        )

    # -- geometry ------------------------------------------------------------------------------
    def set_viewport(self, width: float, height: float) -> None:
        self.viewport = (max(1.0, float(width)), max(1.0, float(height)))

    def _image_size(self) -> tuple[int, int]:
        decoded = self.decoded()
        if isinstance(decoded, RenderedImage):
            return int(decoded.pixels.shape[1]), int(decoded.pixels.shape[0])
        return decoded.columns, decoded.rows

    def scale(self) -> float:
        """Viewport pixels per image pixel."""
        cols, rows = self._image_size()
        vw, vh = self.viewport
        return min(vw / cols, vh / rows) * self.zoom

    def image_to_view(self, x: float, y: float) -> tuple[float, float]:
        cols, rows = self._image_size()
        s = self.scale()
        vw, vh = self.viewport
        return (
            vw / 2 + self.pan[0] + (x - cols / 2) * s,
            vh / 2 + self.pan[1] + (y - rows / 2) * s,
        )

    def view_to_image(self, vx: float, vy: float) -> tuple[float, float]:
        cols, rows = self._image_size()
        s = self.scale()
        vw, vh = self.viewport
        return (
            (vx - vw / 2 - self.pan[0]) / s + cols / 2,
            (vy - vh / 2 - self.pan[1]) / s + rows / 2,
        )

    def zoom_at(self, factor: float, vx: float | None = None, vy: float | None = None) -> float:
        """Zoom by ``factor`` keeping the image point under viewport point (vx, vy) in place."""
        vw, vh = self.viewport
        vx = vw / 2 if vx is None else vx
        vy = vh / 2 if vy is None else vy
        ix, iy = self.view_to_image(vx, vy)
        self.zoom = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom * factor))
        cols, rows = self._image_size()
        s = self.scale()
        self.pan = (vx - vw / 2 - (ix - cols / 2) * s, vy - vh / 2 - (iy - rows / 2) * s)
        return self.zoom

    def pan_by(self, dx: float, dy: float) -> None:
        self.pan = (self.pan[0] + dx, self.pan[1] + dy)

    def reset_view(self) -> None:
        self.zoom = 1.0
        self.pan = (0.0, 0.0)
