"""The viewer: a series (or chosen images) as a stack, with window/level and a value probe.

Decoding, windowing, presets and the value read-out are the core viewer's (``core.imaging.viewer``),
the same pipeline that makes the thumbnails; zoom and pan are view state and live in QML.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import Property, QObject, Signal, Slot
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.imaging.render import Window
from core.imaging.viewer import SeriesStack, Viewer, ViewFrame, value_at
from viewmodels.base import guarded
from viewmodels.images import FrameProvider, to_qimage

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

SCRUB_PIXELS = 16.0  # finger travel per image when swiping through the stack
CACHE_FRAMES = 48
COLOUR_WINDOW = Window(127.5, 255.0)  # shown for colour images, which have no VOI window


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
        self._viewer: Viewer | None = None
        self._title = ""
        self._index = 0
        self._window: Window | None = None  # None: the image's own window
        self._default = COLOUR_WINDOW
        self._presets: list[str] = []
        self._generation = 0
        self._probe = ""
        self._busy = False
        self._frame: ViewFrame | None = None
        self._scrub = 0.0
        self._rendering = False
        self._pending = False

    # -- properties ---------------------------------------------------------------------------
    @Property(str, notify=stackChanged, final=True)
    def title(self) -> str:
        return self._title

    def _count(self) -> int:
        return len(self._viewer) if self._viewer is not None else 0

    @Property(int, notify=stackChanged, final=True)
    def count(self) -> int:
        return self._count()

    @Property(int, notify=frameChanged, final=True)
    def index(self) -> int:
        return self._index

    @Property(str, notify=frameChanged, final=True)
    def source(self) -> str:
        return f"image://viewer/{self._generation}" if self._generation else ""

    @Property(int, notify=frameChanged, final=True)
    def imageWidth(self) -> int:
        return int(self._frame.rendered.pixels.shape[1]) if self._frame is not None else 0

    @Property(int, notify=frameChanged, final=True)
    def imageHeight(self) -> int:
        return int(self._frame.rendered.pixels.shape[0]) if self._frame is not None else 0

    @Property(str, notify=frameChanged, final=True)
    def positionText(self) -> str:
        return f"{self._index + 1} / {self._count()}" if self._viewer is not None else ""

    def _effective(self) -> Window:
        return self._window or self._default

    @Property(float, notify=windowChanged, final=True)
    def windowCenter(self) -> float:
        return self._effective().center

    @Property(float, notify=windowChanged, final=True)
    def windowWidth(self) -> float:
        return self._effective().width

    @Property(str, notify=windowChanged, final=True)
    def windowText(self) -> str:
        window = self._effective()
        return f"W {window.width:.0f}  L {window.center:.0f}"

    @Property(list, notify=stackChanged, final=True)
    def presets(self) -> list[str]:
        return ["Default", *self._presets]

    @Property(str, notify=probeChanged, final=True)
    def probeText(self) -> str:
        return self._probe

    @Property(bool, notify=busyChanged, final=True)
    def busy(self) -> bool:
        return self._busy

    # -- Python API ------------------------------------------------------------------------------
    async def open_stack(self, stack: SeriesStack, title: str) -> None:
        self._viewer = Viewer(stack, cache_size=CACHE_FRAMES)
        self._title = title
        self._index = 0
        self._probe = ""
        self._window = None
        self._presets = []
        self._frame = None
        self.stackChanged.emit()
        self.probeChanged.emit()
        self.windowChanged.emit()
        self.resetRequested.emit()
        await self.render()

    async def render(self) -> None:
        """Decode (off the GUI thread) and window the current frame; the latest wins.

        Only this loop touches the core viewer, one call at a time, so its caches are never
        used from two threads at once.
        """
        viewer = self._viewer
        if viewer is None:
            return
        if self._rendering:
            self._pending = True
            return
        self._rendering = True
        self._set_busy(True)
        try:
            while True:
                self._pending = False
                frame = await asyncio.to_thread(viewer.frame_at, self._index, self._window)
                if viewer is not self._viewer:
                    return  # another stack was opened meanwhile
                names = [p.name for p in frame.presets]
                default = frame.default_window or COLOUR_WINDOW
                if names != self._presets or default != self._default:
                    self._presets, self._default = names, default
                    self.stackChanged.emit()
                    self.windowChanged.emit()
                self._frame = frame
                pixels = frame.rendered.pixels
                self._provider.image = to_qimage(pixels, rgb=pixels.ndim == 3)
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

    def _go(self, index: int) -> bool:
        last = max(self._count() - 1, 0)
        index = min(max(index, 0), last)
        if index == self._index:
            return False
        self._index = index
        return True

    # -- slots: each changes the view state, then renders when it changed ----------------------
    @asyncSlot(int)
    @guarded("Could not show this image")
    async def step(self, delta: int) -> None:
        if self._go(self._index + delta):
            await self.render()

    @asyncSlot(float)
    @guarded("Could not show this image")
    async def scrub(self, pixels_moved: float) -> None:
        """Swipe through the stack: every SCRUB_PIXELS of finger travel is one image."""
        self._scrub += pixels_moved
        steps = int(self._scrub / SCRUB_PIXELS)
        self._scrub -= steps * SCRUB_PIXELS
        if steps and self._go(self._index + steps):
            await self.render()

    def _set_window(self, window: Window | None) -> bool:
        if window == self._window:
            return False
        self._window = window
        self.windowChanged.emit()
        return True

    @asyncSlot(float, float)
    @guarded("Could not show this image")
    async def adjustWindow(self, dx: float, dy: float) -> None:
        """Drag right widens the window, drag down raises the level (like most viewers)."""
        base = self._effective()
        scale = max(self._default.width, 1.0) / 256.0
        window = Window(base.center + dy * scale, max(1.0, base.width + dx * scale))
        if self._set_window(window):
            await self.render()

    @asyncSlot(str)
    @guarded("Could not show this image")
    async def applyPreset(self, name: str) -> None:
        if name == "Default":
            window = None
        else:
            frame = self._frame
            presets = frame.presets if frame is not None else ()
            match = next((p for p in presets if p.name == name), None)
            if match is None:
                self.errorOccurred.emit(f"No window preset {name!r} for this image.")
                return
            window = match.window
        if self._set_window(window):
            await self.render()

    @asyncSlot()
    @guarded("Could not show this image")
    async def reset(self) -> None:
        self.clearProbe()
        self.resetRequested.emit()
        if self._set_window(None):
            await self.render()

    @Slot(float, float)
    def probe(self, fx: float, fy: float) -> None:
        """The value under the finger; ``fx``/``fy`` are 0..1 across the image."""
        frame = self._frame
        if frame is None:
            return
        height, width = frame.rendered.pixels.shape[:2]
        x, y = int(fx * width), int(fy * height)
        value = value_at(frame.decoded, x, y) if 0 <= fx < 1 and 0 <= fy < 1 else None
        if value is None:
            text = ""
        elif value.value is not None:
            unit = f" {value.units}" if value.units else ""
            text = f"x {x}  y {y}:  {value.value:.0f}{unit}"
        else:
            stored = value.stored if isinstance(value.stored, tuple) else (value.stored,)
            label = "RGB" if len(stored) == 3 else "value"
            text = f"x {x}  y {y}:  {label} {', '.join(f'{v:.0f}' for v in stored)}"
        if text != self._probe:
            self._probe = text
            self.probeChanged.emit()

    @Slot()
    def clearProbe(self) -> None:
        if self._probe:
            self._probe = ""
            self.probeChanged.emit()
