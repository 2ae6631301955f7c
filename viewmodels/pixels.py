"""A small pydicom + numpy renderer for the viewer and the thumbnails.

Kept apart on purpose: ``load_frame`` and ``window_to_gray`` are the only two entry points the
viewmodels use, so a fuller renderer (core.viewer / core.thumbnails) can replace this module
without touching the views. No Qt here: the results are numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmread


@dataclass(frozen=True)
class Frame:
    """One frame in modality values (HU for CT), or RGB uint8 with ``rgb`` set."""

    values: np.ndarray
    rgb: bool
    center: float  # the file's default window, else the data's range
    width: float
    modality: str
    frames: int
    pixel_spacing: tuple[float, float] | None


def _first(value: object, default: float) -> float:
    if value is None or value == "":
        return default
    if (
        isinstance(value, list | tuple)
        or hasattr(value, "__getitem__")
        and not isinstance(value, str)
    ):
        try:
            value = value[0]
        except (IndexError, TypeError):
            return default
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


def load_frame(path: Path, frame: int = 0) -> Frame:
    """Decode ``frame`` of the file at ``path`` (blocking: call it off the GUI thread)."""
    ds = dcmread(path)
    pixels = ds.pixel_array
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    samples = int(getattr(ds, "SamplesPerPixel", 1) or 1)
    if frames > 1:
        pixels = pixels[min(max(frame, 0), frames - 1)]
    spacing = getattr(ds, "PixelSpacing", None)
    pixel_spacing = (float(spacing[0]), float(spacing[1])) if spacing else None
    modality = str(getattr(ds, "Modality", "") or "")
    if samples == 3:
        photometric = str(getattr(ds, "PhotometricInterpretation", "RGB"))
        if photometric.startswith("YBR"):
            from pydicom.pixels import convert_color_space

            pixels = convert_color_space(pixels, photometric, "RGB")
        rgb = np.ascontiguousarray(pixels.astype(np.uint8))
        return Frame(rgb, True, 127.5, 255.0, modality, frames, pixel_spacing)
    slope = _first(getattr(ds, "RescaleSlope", None), 1.0)
    intercept = _first(getattr(ds, "RescaleIntercept", None), 0.0)
    values = pixels.astype(np.float32) * slope + intercept
    if str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1":
        values = values.max() + values.min() - values
    low, high = float(values.min()), float(values.max())
    center = _first(getattr(ds, "WindowCenter", None), (low + high) / 2)
    width = _first(getattr(ds, "WindowWidth", None), max(high - low, 1.0))
    return Frame(values, False, center, max(width, 1.0), modality, frames, pixel_spacing)


def window_to_gray(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """Linear VOI window (PS3.3 C.11.2.1.2, simplified) to uint8 grey levels."""
    width = max(width, 1.0)
    low = center - width / 2
    scaled = (values - low) * (255.0 / width)
    return np.clip(scaled, 0, 255).astype(np.uint8)
