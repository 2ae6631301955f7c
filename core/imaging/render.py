"""Rendering any stored DICOM instance to an 8-bit display image.

The pipeline for one frame (PS3.3 C.11 and PS3.4 N.2, grayscale and colour pipelines):

1. decode the frame with pydicom's decoders (native, RLE, JPEG family, JPEG-LS, JPEG 2000 via
   the installed pylibjpeg plugins); YBR_FULL and YBR_FULL_422 become RGB;
2. monochrome: the Modality LUT (Rescale Slope/Intercept or a Modality LUT Sequence, also from
   the shared or per-frame functional groups of enhanced objects) gives *modality values*
   (Hounsfield units for CT);
3. the VOI transform to 0..255: an explicit window from the caller, else the header's VOI LUT
   Sequence, else its Window Center/Width, else an automatic window from the histogram;
4. MONOCHROME1 is inverted; PALETTE COLOR goes through its lookup tables; RGB is scaled
   to 8 bits.

Objects without pixel data (structured reports, RT plans and structure sets, waveforms,
encapsulated documents, presentation states ...) and files that cannot be decoded render as a
*placeholder*: a card drawn with Pillow that says what the object is. Rendering never raises
for a bad file; it logs and returns a placeholder that says so.
"""

from __future__ import annotations

import asyncio
import logging
import math
import struct
import warnings
from concurrent.futures import Executor
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import get_nr_frames
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from core.errors import NotFoundError

log = logging.getLogger(__name__)

PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
PLACEHOLDER_SIZE = 256
_AUTO_SAMPLES = 16384  # pixels sampled for the automatic window
_AUTO_PERCENTILES = (0.5, 99.5)

Source = str | PathLike[str] | Dataset


# -- results -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Window:
    """A VOI window in modality units (HU for CT): center and width, PS3.3 C.11.2.1.2."""

    center: float
    width: float

    @property
    def low(self) -> float:
        return self.center - self.width / 2

    @property
    def high(self) -> float:
        return self.center + self.width / 2


@dataclass(frozen=True)
class RenderedImage:
    """An 8-bit display image: ``pixels`` is uint8, HxW (grayscale) or HxWx3 (RGB)."""

    pixels: np.ndarray
    window: Window | None = None  # the window applied (None: colour, VOI LUT or placeholder)
    voi: str = "none"  # how the grayscale mapping was chosen: explicit, header, lut, auto, none
    placeholder: bool = False
    kind: str = "image"  # what the object is: "image", "structured report", "RT plan", ...
    modality: str = ""
    reason: str = ""  # for placeholders: why there is no picture
    frame: int = 0
    frames: int = 1

    @property
    def is_color(self) -> bool:
        return self.pixels.ndim == 3

    def to_pil(self) -> Image.Image:
        return Image.fromarray(self.pixels, "RGB" if self.is_color else "L")


@dataclass
class DecodedFrame:
    """One decoded frame with what the display and value read-out need.

    ``stored`` holds the stored values (after colour-space conversion for colour images);
    ``values`` the modality values (float32) for monochrome images, else None.
    """

    stored: np.ndarray
    photometric: str
    values: np.ndarray | None
    frame: int
    frames: int
    modality: str
    header_windows: list[Window] = field(default_factory=list)
    voi_lut: tuple[int, np.ndarray] | None = None  # (first mapped value, LUT data)
    voi_function: str = "LINEAR"
    bits_stored: int = 8
    units: str = ""  # of the modality values: "HU" for CT, else RescaleType or ""
    palette: np.ndarray | None = None  # RGB uint8 image for PALETTE COLOR

    @property
    def rows(self) -> int:
        return int(self.stored.shape[0])

    @property
    def columns(self) -> int:
        return int(self.stored.shape[1])

    @property
    def is_color(self) -> bool:
        return self.values is None


class DecodeError(Exception):
    """Pixel data present but not decodable here (unsupported syntax, corrupt data)."""


# -- reading and classifying -------------------------------------------------------------------
def read_dataset(source: Source) -> Dataset:
    """Read a file (Part 10 or bare dataset) or pass a Dataset through."""
    if isinstance(source, Dataset):
        return source
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = dcmread(Path(source), force=True)
    if len(ds) == 0:
        raise ValueError("not a DICOM file")
    return ds


_KINDS_BY_PREFIX: tuple[tuple[str, str, str], ...] = (
    # (SOP class UID prefix, kind, modality shown when the header has none)
    ("1.2.840.10008.5.1.4.1.1.88.59", "key object selection", "KO"),
    ("1.2.840.10008.5.1.4.1.1.88.", "structured report", "SR"),
    ("1.2.840.10008.5.1.4.1.1.481.5", "RT plan", "RTPLAN"),
    ("1.2.840.10008.5.1.4.1.1.481.8", "RT plan", "RTPLAN"),
    ("1.2.840.10008.5.1.4.1.1.481.3", "RT structure set", "RTSTRUCT"),
    ("1.2.840.10008.5.1.4.1.1.481.", "RT record", "RTRECORD"),
    ("1.2.840.10008.5.1.4.1.1.9.", "waveform", "ECG"),
    ("1.2.840.10008.5.1.4.1.1.104.1", "encapsulated PDF", "DOC"),
    ("1.2.840.10008.5.1.4.1.1.104.2", "encapsulated CDA", "DOC"),
    ("1.2.840.10008.5.1.4.1.1.104.", "encapsulated document", "DOC"),
    ("1.2.840.10008.5.1.4.1.1.11.", "presentation state", "PR"),
    ("1.2.840.10008.5.1.4.1.1.66", "raw data or registration", "OT"),
    ("1.2.840.10008.5.1.4.39.", "colour palette", "OT"),
    ("1.2.840.10008.1.3.10", "media directory", "OT"),
)


def _sop_class(ds: Dataset) -> str:
    sop_class = str(ds.get("SOPClassUID", "") or "")
    meta = getattr(ds, "file_meta", None)
    if not sop_class and meta is not None:
        sop_class = str(meta.get("MediaStorageSOPClassUID", "") or "")
    return sop_class


def object_kind(ds: Dataset) -> str:
    """What ``ds`` is: "image" when it has pixel data, else a short kind for the placeholder."""
    if any(keyword in ds for keyword in PIXEL_KEYWORDS):
        return "image"
    sop_class = _sop_class(ds)
    for prefix, kind, _ in _KINDS_BY_PREFIX:
        if sop_class.startswith(prefix):
            return kind
    if "WaveformSequence" in ds:
        return "waveform"
    if "EncapsulatedDocument" in ds:
        return "encapsulated document"
    if "Image Storage" in (UID(sop_class).name if sop_class else ""):
        return "image without pixel data"
    return "non-image object"


def modality_of(ds: Dataset) -> str:
    modality = str(ds.get("Modality", "") or "").strip()
    if modality:
        return modality
    sop_class = _sop_class(ds)
    for prefix, _, shown in _KINDS_BY_PREFIX:
        if sop_class.startswith(prefix):
            return shown
    return "OT"


def _transfer_syntax(ds: Dataset) -> UID:
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts:
        return UID(str(ts))
    implicit, little = ds.original_encoding
    if implicit or implicit is None:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def frame_count(ds: Dataset) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return max(1, int(get_nr_frames(ds, warn=False)))
        except (TypeError, ValueError):
            return 1


# -- functional groups (enhanced multi-frame objects) ------------------------------------------
def frame_item(ds: Dataset, frame: int, sequence: str) -> Dataset | None:
    """The item of functional group ``sequence`` that applies to ``frame``: per-frame first."""
    for groups_keyword, index in (
        ("PerFrameFunctionalGroupsSequence", frame),
        ("SharedFunctionalGroupsSequence", 0),
    ):
        groups = ds.get(groups_keyword)
        if groups and index < len(groups):
            seq = groups[index].get(sequence)
            if seq:
                item: Dataset = seq[0]
                return item
    return None


def _first_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        value = value[0] if len(value) else None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _windows_of(item: Dataset) -> list[Window]:
    centers, widths = item.get("WindowCenter"), item.get("WindowWidth")
    if centers is None or widths is None:
        return []

    def values(v: Any) -> list[Any]:
        return list(v) if isinstance(v, list | tuple) or type(v).__name__ == "MultiValue" else [v]

    result = []
    for c, w in zip(values(centers), values(widths), strict=False):
        center, width = _first_float(c), _first_float(w)
        if center is not None and width is not None and width >= 1:
            result.append(Window(center, width))
    return result


def _voi_lut_of(ds: Dataset) -> tuple[int, np.ndarray] | None:
    """The first VOI LUT Sequence item as (first mapped value, LUT data), PS3.3 C.11.2.1.1."""
    seq = ds.get("VOILUTSequence")
    if not seq:
        return None
    item = seq[0]
    descriptor = item.get("LUTDescriptor")
    data = item.get("LUTData")
    if descriptor is None or data is None or len(descriptor) != 3:
        return None
    entries = int(descriptor[0]) or 65536
    first = int(descriptor[1])
    if first >= 32768 and ds.get("PixelRepresentation", 0) == 1:
        first -= 65536  # US-encoded negative first mapped value
    if isinstance(data, bytes | bytearray):
        little = _transfer_syntax(ds) != ExplicitVRBigEndian
        count = min(entries, len(data) // 2)
        table = np.asarray(struct.unpack(f"{'<' if little else '>'}{count}H", data[: 2 * count]))
    else:
        table = np.asarray(list(data) if not isinstance(data, int) else [data])
    if table.size == 0:
        return None
    return first, table.astype(np.float32)


# -- decoding ----------------------------------------------------------------------------------
def decode_frame(ds: Dataset, frame: int = 0) -> DecodedFrame:
    """Decode ``frame`` of an image dataset and apply the Modality LUT.

    Raises NotFoundError for a frame outside the object and DecodeError when the pixel data
    cannot be decoded.
    """
    frames = frame_count(ds)
    if not 0 <= frame < frames:
        raise NotFoundError(f"frame {frame} does not exist; the image has {frames} frame(s)")
    ts = _transfer_syntax(ds)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if "PixelData" in ds:
                decoder = get_decoder(ts)
                arr, props = decoder.as_array(ds, index=frame)
                photometric = str(
                    props.get("photometric_interpretation", ds.get("PhotometricInterpretation"))
                )
            else:  # float pixel data: always native
                arr = ds.pixel_array
                if frames > 1:
                    arr = arr[frame]
                photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    except NotImplementedError as exc:
        raise DecodeError(f"no decoder for {ts.name or ts}: {exc}") from exc
    except Exception as exc:
        raise DecodeError(f"cannot decode {ts.name or ts}: {exc}") from exc
    photometric = photometric.strip().upper()
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] != 3):
        raise DecodeError(f"unexpected pixel array shape {arr.shape} ({samples} samples)")

    modality = modality_of(ds)
    bits_stored = int(ds.get("BitsStored", arr.dtype.itemsize * 8) or 8)
    decoded = DecodedFrame(
        stored=arr,
        photometric=photometric,
        values=None,
        frame=frame,
        frames=frames,
        modality=modality,
        bits_stored=bits_stored,
    )
    if photometric == "PALETTE COLOR" and arr.ndim == 2:
        try:
            rgb = apply_color_lut(arr, ds)
        except Exception as exc:
            raise DecodeError(f"unusable palette colour lookup tables: {exc}") from exc
        decoded.palette = _to_uint8_color(rgb, 16 if rgb.dtype.itemsize > 1 else 8)
        return decoded
    if arr.ndim == 3:
        return decoded

    decoded.values = _modality_values(ds, arr, frame)
    voi_item = frame_item(ds, frame, "FrameVOILUTSequence")
    decoded.header_windows = _windows_of(voi_item) if voi_item is not None else []
    if not decoded.header_windows:
        decoded.header_windows = _windows_of(ds)
    decoded.voi_lut = _voi_lut_of(ds)
    function_source = voi_item if voi_item is not None and "VOILUTFunction" in voi_item else ds
    decoded.voi_function = str(function_source.get("VOILUTFunction", "LINEAR") or "LINEAR")
    rescale_type = str(ds.get("RescaleType", "") or "").strip()
    decoded.units = "HU" if modality == "CT" and rescale_type in ("", "HU") else rescale_type
    if not decoded.units and "DoseGridScaling" in ds:
        decoded.units = str(ds.get("DoseUnits", "") or "").strip()
    return decoded


def _modality_values(ds: Dataset, arr: np.ndarray, frame: int) -> np.ndarray:
    """Apply the Modality LUT (PS3.3 C.11.1); enhanced objects carry it per frame."""
    item = frame_item(ds, frame, "PixelValueTransformationSequence")
    source = item if item is not None else ds
    slope = _first_float(source.get("RescaleSlope"))
    intercept = _first_float(source.get("RescaleIntercept"))
    if slope is None and "DoseGridScaling" in ds:  # RT Dose: stored * scaling = dose
        slope = _first_float(ds.get("DoseGridScaling"))
    if item is None and "ModalityLUTSequence" in ds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(apply_modality_lut(arr, ds), dtype=np.float32)
    values = arr.astype(np.float32)
    if slope is not None and slope != 1.0:
        values *= np.float32(slope)
    if intercept:
        values += np.float32(intercept)
    return values


# -- display mapping ---------------------------------------------------------------------------
def _to_uint8_color(rgb: np.ndarray, bits: int) -> np.ndarray:
    if rgb.dtype == np.uint8:
        return rgb
    top = int(rgb.max()) if rgb.size else 0
    if top <= 255:
        return rgb.astype(np.uint8)
    shift = max(0, min(bits, rgb.dtype.itemsize * 8) - 8)
    if top >> shift > 255:  # BitsStored understated: scale by what is there
        shift = max(0, int(top).bit_length() - 8)
    return (rgb >> shift).astype(np.uint8)


def auto_window(values: np.ndarray, padding: float | None = None) -> Window:
    """A window covering the 0.5th to 99.5th percentile of the (sub-sampled) values."""
    # A strided sub-grid: no full-size copy, and the percentiles of ~16k pixels are stable.
    step = max(1, int(math.sqrt(values.size / _AUTO_SAMPLES)))
    sample = (values[::step, ::step] if values.ndim == 2 else values[::step]).ravel()
    if padding is not None:
        kept = sample[sample != padding]
        sample = kept if kept.size else sample
    if not np.isfinite(sample).all():
        sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return Window(0.5, 1.0)
    low, high = (float(v) for v in np.percentile(sample, _AUTO_PERCENTILES))
    if high <= low:
        low, high = float(sample.min()), float(sample.max())
    if high <= low:
        return Window(low, 1.0)  # a flat image: show it mid-grey-free, below/above the value
    return Window((low + high) / 2, high - low)


def apply_window(values: np.ndarray, window: Window, function: str = "LINEAR") -> np.ndarray:
    """Map modality values through a window to 0..255 (PS3.3 C.11.2.1.2 and C.11.2.1.3)."""
    c, w = window.center, max(window.width, 1e-6)
    function = function.strip().upper()
    if function == "SIGMOID":
        out = 255.0 / (1.0 + np.exp(-4.0 * (values - c) / w))
    elif function == "LINEAR_EXACT":
        out = ((values - c) / w + 0.5) * 255.0
    else:  # LINEAR
        w1 = max(w - 1.0, 1e-6)
        out = ((values - (c - 0.5)) / w1 + 0.5) * 255.0
    return np.clip(out, 0, 255).astype(np.uint8)


def _apply_voi_lut(values: np.ndarray, lut: tuple[int, np.ndarray]) -> np.ndarray:
    first, table = lut
    index = np.clip(np.rint(values).astype(np.int64) - first, 0, table.size - 1)
    low, high = float(table.min()), float(table.max())
    out = (table[index] - low) * (255.0 / (high - low)) if high > low else table[index] * 0
    return np.clip(out, 0, 255).astype(np.uint8)


def _padding_value(ds: Dataset, decoded: DecodedFrame) -> float | None:
    padding = _first_float(ds.get("PixelPaddingValue")) if ds is not None else None
    if padding is None or decoded.values is None:
        return None
    # The padding value is a stored value; compare in modality units.
    mapped = _modality_values(ds, np.asarray([[padding]], dtype=np.float32), decoded.frame)
    return float(mapped[0, 0])


def display(
    decoded: DecodedFrame, window: Window | None = None, ds: Dataset | None = None
) -> RenderedImage:
    """Turn a decoded frame into 8-bit display pixels with ``window`` or the default VOI."""
    common = {"frame": decoded.frame, "frames": decoded.frames, "modality": decoded.modality}
    if decoded.palette is not None:
        return RenderedImage(decoded.palette, **common)  # type: ignore[arg-type]
    if decoded.values is None:
        rgb = _to_uint8_color(np.ascontiguousarray(decoded.stored), decoded.bits_stored)
        return RenderedImage(rgb, **common)  # type: ignore[arg-type]
    used: Window | None
    if window is not None:
        used, voi = window, "explicit"
        pixels = apply_window(decoded.values, window, decoded.voi_function)
    elif decoded.voi_lut is not None:
        used, voi = None, "lut"
        pixels = _apply_voi_lut(decoded.values, decoded.voi_lut)
    elif decoded.header_windows:
        used, voi = decoded.header_windows[0], "header"
        pixels = apply_window(decoded.values, used, decoded.voi_function)
    else:
        padding = _padding_value(ds, decoded) if ds is not None else None
        used, voi = auto_window(decoded.values, padding), "auto"
        pixels = apply_window(decoded.values, used)
    if decoded.photometric == "MONOCHROME1":
        pixels = 255 - pixels
    return RenderedImage(pixels, window=used, voi=voi, **common)  # type: ignore[arg-type]


# -- the public entry points -------------------------------------------------------------------
def render_dataset(ds: Dataset, frame: int = 0, window: Window | None = None) -> RenderedImage:
    """Render ``frame`` of a dataset; placeholders for non-images and undecodable data."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid header values are rendered as found
        return _render_dataset(ds, frame, window)


def _render_dataset(ds: Dataset, frame: int, window: Window | None) -> RenderedImage:
    kind = object_kind(ds)
    modality = modality_of(ds)
    if kind != "image":
        return placeholder(modality, kind)
    try:
        decoded = decode_frame(ds, frame)
    except NotFoundError:
        raise
    except DecodeError as exc:
        log.warning("cannot render %s: %s", ds.get("SOPInstanceUID", "an image"), exc)
        return placeholder(modality, "image", reason=str(exc), frames=frame_count(ds))
    except Exception as exc:  # corrupt headers make pydicom raise anything
        log.warning("cannot render %s", ds.get("SOPInstanceUID", "an image"), exc_info=True)
        return placeholder(modality, "image", reason=f"cannot decode: {exc}")
    return display(decoded, window, ds)


def render_frame(source: Source, frame: int = 0, window: Window | None = None) -> RenderedImage:
    """Render a file path or dataset. Only a frame that does not exist raises (NotFoundError)."""
    try:
        ds = read_dataset(source)
    except Exception as exc:
        log.warning("cannot read %s: %s", source, exc)
        return placeholder("?", "unreadable file", reason=f"cannot read: {exc}")
    return render_dataset(ds, frame, window)


async def render_frame_async(
    source: str | PathLike[str],
    frame: int = 0,
    window: Window | None = None,
    executor: Executor | None = None,
) -> RenderedImage:
    """``render_frame`` in ``executor`` (a process pool, e.g. ``ThumbnailCache.executor``)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, render_frame, str(source), frame, window)


def thumbnail_frame(ds: Dataset) -> int:
    """The frame a thumbnail shows: the middle one of a multi-frame object."""
    return frame_count(ds) // 2


def fit(image: Image.Image, size: int) -> Image.Image:
    """Scale ``image`` so its longer side is ``size`` pixels, keeping the aspect ratio."""
    width, height = image.size
    scale = size / max(width, height)
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    if target == image.size:
        return image
    return image.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def render_thumbnail(source: Source, size: int = 128) -> Image.Image:
    """A thumbnail whose longer side is ``size``: the middle frame, or a placeholder card."""
    try:
        ds = read_dataset(source)
    except Exception as exc:
        log.warning("cannot read %s: %s", source, exc)
        return placeholder_image("?", "unreadable file", f"cannot read: {exc}", size)
    kind = object_kind(ds)
    if kind != "image":
        return placeholder_image(modality_of(ds), kind, "", size)
    rendered = render_dataset(ds, thumbnail_frame(ds))
    if rendered.placeholder:
        return placeholder_image(rendered.modality, rendered.kind, rendered.reason, size)
    return fit(rendered.to_pil(), size)


# -- placeholders ------------------------------------------------------------------------------
_BACKGROUND = (28, 33, 41)
_CARD = (44, 52, 64)
_INK = (226, 232, 240)
_MUTED = (148, 163, 184)
_ACCENT = {"error": (248, 113, 113), "default": (96, 165, 250)}


def placeholder(
    modality: str, kind: str, reason: str = "", frames: int = 1, size: int = PLACEHOLDER_SIZE
) -> RenderedImage:
    image = placeholder_image(modality, kind, reason, size)
    return RenderedImage(
        np.asarray(image),
        placeholder=True,
        kind=kind,
        modality=modality,
        reason=reason,
        frames=frames,
    )


def load_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=max(6, size))
    except (OSError, TypeError, ValueError):  # Pillow without FreeType
        return ImageFont.load_default()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: Any, width: int, lines: int) -> list[str]:
    words, result, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= width or not line:
            line = candidate
        else:
            result.append(line)
            line = word
        if len(result) == lines:
            break
    if line and len(result) < lines:
        result.append(line)
    if len(result) == lines and " ".join(result) != " ".join(words):
        last = result[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        result[-1] = last + "…"
    return result


def _glyph(
    draw: ImageDraw.ImageDraw, kind: str, box: tuple[int, int, int, int], error: bool
) -> None:
    """A small pictogram of the object kind inside ``box``."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    line = max(1, w // 18)
    colour = _ACCENT["error" if error else "default"]
    if error:  # a picture frame crossed out
        draw.rectangle(box, outline=colour, width=line)
        draw.line((x0, y0, x1, y1), fill=colour, width=line)
        draw.line((x0, y1, x1, y0), fill=colour, width=line)
    elif kind == "waveform":
        points = [
            (x0 + w * t / 40, y0 + h / 2 - h * 0.4 * math.sin(t / 40 * math.tau * 3) ** 15)
            for t in range(41)
        ]
        draw.line(points, fill=colour, width=line)
    elif kind.startswith("RT structure"):
        draw.ellipse((x0, y0 + h * 0.1, x1, y1 - h * 0.1), outline=colour, width=line)
        draw.ellipse(
            (x0 + w * 0.3, y0 + h * 0.3, x0 + w * 0.6, y0 + h * 0.6), outline=colour, width=line
        )
    elif kind.startswith("RT"):
        cx, cy = x0 + w / 2, y0 + h / 2
        for angle in range(0, 360, 72):
            rad = math.radians(angle)
            draw.line(
                (cx, cy, cx + w / 2 * math.cos(rad), cy + h / 2 * math.sin(rad)),
                fill=colour,
                width=line,
            )
        draw.ellipse((cx - w / 8, cy - h / 8, cx + w / 8, cy + h / 8), fill=colour)
    else:  # a document with lines of text
        draw.rectangle((x0 + w * 0.15, y0, x1 - w * 0.15, y1), outline=colour, width=line)
        for row in range(1, 5):
            y = y0 + h * row / 5.5
            draw.line((x0 + w * 0.27, y, x1 - w * 0.27, y), fill=colour, width=line)


def placeholder_image(modality: str, kind: str, reason: str = "", size: int = 128) -> Image.Image:
    """A square card naming the modality and kind of an object that has no picture."""
    size = max(32, size)
    image = Image.new("RGB", (size, size), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    margin = max(2, size // 24)
    draw.rounded_rectangle(
        (margin, margin, size - margin - 1, size - margin - 1), radius=size // 12, fill=_CARD
    )
    error = bool(reason)
    glyph = size // 4
    top = size // 9
    _glyph(draw, kind, ((size - glyph) // 2, top, (size + glyph) // 2, top + glyph), error)
    big = load_font(size // 6)
    y = top + glyph + size // 18
    title = modality or "?"
    while draw.textlength(title, font=big) > size - 4 * margin and len(title) > 1:
        title = title[:-1]
    draw.text((size / 2, y), title, font=big, fill=_INK, anchor="ma")
    y += size // 6 + size // 24
    small = load_font(size // 11)
    for text in _wrap(draw, kind, small, size - 4 * margin, 2):
        draw.text((size / 2, y), text, font=small, fill=_MUTED, anchor="ma")
        y += size // 10
    if reason:
        tiny = load_font(size // 14)
        for text in _wrap(draw, reason, tiny, size - 4 * margin, 3):
            if y > size - margin - size // 14:
                break
            draw.text((size / 2, y), text, font=tiny, fill=_ACCENT["error"], anchor="ma")
            y += size // 13
    return image
