"""The viewer: a series (or chosen images) as a stack, with window/level and a value probe.

Pixels come from viewmodels.pixels (``load_frame``/``window_to_gray``); zoom and pan are
view state and live in the QML view.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import Property, QObject, Signal, Slot
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from viewmodels import pixels
from viewmodels.images import FrameProvider, to_qimage

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

CT_PRESETS: list[tuple[str, float, float]] = [
    ("Brain", 40, 80),
    ("Soft tissue", 40, 400),
    ("Lung", -600, 1500),
    ("Bone", 500, 2000),
]
SCRUB_PIXELS = 16.0  # finger travel per image when swiping through the stack
CACHE_FRAMES = 48


@QmlElement
@QmlUncreatable("The viewer model is made by the kiosk.")
class ViewerModel(QObject):  # type: ignore[operator]
    stackChanged = Signal()
    frameChanged = Signal()
    windowChanged = Signal()
    probeChanged = Signal()
    busyChanged = Signal()
    resetRequested = Signal()
    errorOccurred = Signal(str)

    def __init__(self, provider: FrameProvider, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._provider = provider
        self._stack: list[tuple[Path, int]] = []
        self._title = ""
        self._index = 0
        self._center = 0.0
        self._width = 1.0
        self._default: tuple[float, float] = (0.0, 1.0)
        self._modality = ""
        self._generation = 0
        self._probe = ""
        self._busy = False
        self._frame: pixels.Frame | None = None
        self._cache: OrderedDict[tuple[Path, int], pixels.Frame] = OrderedDict()
        self._scrub = 0.0
        self._rendering = False
        self._pending = False
        self._window_set = False

    # -- properties ---------------------------------------------------------------------------
    @Property(str, notify=stackChanged, final=True)
    def title(self) -> str:
        return self._title

    @Property(int, notify=stackChanged, final=True)
    def count(self) -> int:
        return len(self._stack)

    @Property(int, notify=frameChanged, final=True)
    def index(self) -> int:
        return self._index

    @Property(str, notify=frameChanged, final=True)
    def source(self) -> str:
        return f"image://viewer/{self._generation}" if self._generation else ""

    @Property(int, notify=frameChanged, final=True)
    def imageWidth(self) -> int:  # noqa: N802
        return int(self._frame.values.shape[1]) if self._frame is not None else 0

    @Property(int, notify=frameChanged, final=True)
    def imageHeight(self) -> int:  # noqa: N802
        return int(self._frame.values.shape[0]) if self._frame is not None else 0

    @Property(str, notify=frameChanged, final=True)
    def positionText(self) -> str:  # noqa: N802
        return f"{self._index + 1} / {len(self._stack)}" if self._stack else ""

    @Property(float, notify=windowChanged, final=True)
    def windowCenter(self) -> float:  # noqa: N802
        return self._center

    @Property(float, notify=windowChanged, final=True)
    def windowWidth(self) -> float:  # noqa: N802
        return self._width

    @Property(str, notify=windowChanged, final=True)
    def windowText(self) -> str:  # noqa: N802
        return f"W {self._width:.0f}  L {self._center:.0f}"

    @Property(list, notify=stackChanged, final=True)
    def presets(self) -> list[str]:
        names = ["Default"]
        if self._modality == "CT":
            names += [name for name, _c, _w in CT_PRESETS]
        names.append("Full range")
        return names

    @Property(str, notify=probeChanged, final=True)
    def probeText(self) -> str:  # noqa: N802
        return self._probe

    @Property(bool, notify=busyChanged, final=True)
    def busy(self) -> bool:
        return self._busy

    # -- Python API ------------------------------------------------------------------------------
    async def open_stack(self, stack: list[tuple[Path, int]], title: str) -> None:
        self._stack = list(stack)
        self._title = title
        self._index = 0
        self._probe = ""
        self._window_set = False
        self._cache.clear()
        self._frame = None
        self.stackChanged.emit()
        self.probeChanged.emit()
        self.resetRequested.emit()
        await self.render()

    async def render(self) -> None:
        """Decode (off the GUI thread) and window the current frame; the latest wins."""
        if not self._stack:
            return
        if self._rendering:
            self._pending = True
            return
        self._rendering = True
        self._set_busy(True)
        try:
            while True:
                self._pending = False
                key = self._stack[self._index]
                frame = self._cache.get(key)
                if frame is None:
                    frame = await asyncio.to_thread(pixels.load_frame, key[0], key[1])
                    self._cache[key] = frame
                    while len(self._cache) > CACHE_FRAMES:
                        self._cache.popitem(last=False)
                if not self._window_set:
                    self._modality = frame.modality
                    self._default = (frame.center, frame.width)
                    self._center, self._width = frame.center, frame.width
                    self._window_set = True
                    self.stackChanged.emit()
                    self.windowChanged.emit()
                center, width = self._center, self._width
                image = await asyncio.to_thread(_render, frame, center, width)
                self._frame = frame
                self._provider.image = image
                self._generation += 1
                self.frameChanged.emit()
                if not self._pending:
                    break
        finally:
            self._rendering = False
            self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit()

    async def _safe_render(self) -> None:
        try:
            await self.render()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("rendering failed")
            self.errorOccurred.emit(f"Could not show this image: {exc}")

    # -- slots ---------------------------------------------------------------------------------
    @asyncSlot(int)
    async def step(self, delta: int) -> None:
        try:
            index = min(max(self._index + delta, 0), max(len(self._stack) - 1, 0))
            if index != self._index:
                self._index = index
                await self._safe_render()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("viewer action failed")
            self.errorOccurred.emit(f"Could not update the image: {exc}")
        finally:
            self._set_busy(self._rendering)

    @asyncSlot(float)
    async def scrub(self, pixels_moved: float) -> None:
        """Swipe through the stack: every SCRUB_PIXELS of finger travel is one image."""
        try:
            self._scrub += pixels_moved
            steps = int(self._scrub / SCRUB_PIXELS)
            if steps:
                self._scrub -= steps * SCRUB_PIXELS
                index = min(max(self._index + steps, 0), max(len(self._stack) - 1, 0))
                if index != self._index:
                    self._index = index
                    await self._safe_render()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("viewer action failed")
            self.errorOccurred.emit(f"Could not update the image: {exc}")
        finally:
            self._set_busy(self._rendering)

    @asyncSlot(float, float)
    async def adjustWindow(self, dx: float, dy: float) -> None:  # noqa: N802
        """Drag right widens the window, drag down raises the level (like most viewers)."""
        try:
            scale = max(self._default[1], 1.0) / 256.0
            self._width = max(1.0, self._width + dx * scale)
            self._center = self._center + dy * scale
            self.windowChanged.emit()
            await self._safe_render()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("viewer action failed")
            self.errorOccurred.emit(f"Could not update the image: {exc}")
        finally:
            self._set_busy(self._rendering)

    @asyncSlot(str)
    async def applyPreset(self, name: str) -> None:  # noqa: N802
        try:
            if name == "Default":
                self._center, self._width = self._default
            elif name == "Full range" and self._frame is not None and not self._frame.rgb:
                low, high = float(self._frame.values.min()), float(self._frame.values.max())
                self._center, self._width = (low + high) / 2, max(high - low, 1.0)
            else:
                match = next((p for p in CT_PRESETS if p[0] == name), None)
                if match is None:
                    return
                self._center, self._width = match[1], match[2]
            self.windowChanged.emit()
            await self._safe_render()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("viewer action failed")
            self.errorOccurred.emit(f"Could not update the image: {exc}")
        finally:
            self._set_busy(self._rendering)

    @asyncSlot()
    async def reset(self) -> None:
        try:
            self._center, self._width = self._default
            self._probe = ""
            self.windowChanged.emit()
            self.probeChanged.emit()
            self.resetRequested.emit()
            await self._safe_render()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("viewer action failed")
            self.errorOccurred.emit(f"Could not update the image: {exc}")
        finally:
            self._set_busy(self._rendering)

    @Slot(float, float)
    def probe(self, fx: float, fy: float) -> None:
        """The value under the finger; ``fx``/``fy`` are 0..1 across the image."""
        frame = self._frame
        if frame is None:
            return
        height, width = frame.values.shape[:2]
        if not (0 <= fx < 1 and 0 <= fy < 1):
            text = ""
        else:
            x, y = int(fx * width), int(fy * height)
            value = frame.values[y, x]
            if frame.rgb:
                text = f"x {x}  y {y}:  RGB {int(value[0])}, {int(value[1])}, {int(value[2])}"
            else:
                unit = " HU" if frame.modality == "CT" else ""
                text = f"x {x}  y {y}:  {float(value):.0f}{unit}"
        if text != self._probe:
            self._probe = text
            self.probeChanged.emit()

    @Slot()
    def clearProbe(self) -> None:  # noqa: N802
        if self._probe:
            self._probe = ""
            self.probeChanged.emit()


def _render(frame: pixels.Frame, center: float, width: float):
    if frame.rgb:
        return to_qimage(frame.values, rgb=True)
    return to_qimage(pixels.window_to_gray(frame.values, center, width))
