"""The viewer: a series (or chosen images) as a stack, with window/level and a value probe.

Decoding, windowing, presets and the value read-out are the core viewer's (``core.imaging.viewer``),
the same pipeline that makes the thumbnails; zoom and pan are view state and live in QML.

The overlay's four corners and orientation markers come from the header of the frame on screen
(``core.imaging.viewer.overlay_of``), formatted as the database tables format them. A drag
through the stack moves one image per ``min(SCRUB_PIXELS_MAX, extent / count)`` pixels (one
stage height covers the whole stack of a long series); a W/L drag moves by the image's value
range over ``WINDOW_DRAG_PIXELS``. Cine steps at the header's frame rate (Cine Rate,
Recommended Display Frame Rate or Frame Time), dropping frames while a decode is under way.
Save stores a presentation state of what is shown and a key object selection of the flagged
images (and on request a screen capture) through the core's intake (``core.imaging.derived``);
opening a series applies the newest presentation state stored for it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Property, QObject, QTimer, Signal, Slot
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from viewmodels.base import guarded
from viewmodels.images import FrameProvider, to_qimage
from viewmodels.levels import format_cell

if TYPE_CHECKING:  # pydicom, numpy and PIL: loaded when the viewer first opens a stack
    from core.app import Core
    from core.imaging import derived
    from core.imaging.render import Window
    from core.imaging.viewer import ImageOverlay, SeriesStack, Viewer, ViewFrame

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

SCRUB_PIXELS = 16.0  # finger travel per image when the stage height is not known
SCRUB_PIXELS_MAX = 48.0  # at most this much travel per image, however short the stack
WINDOW_DRAG_PIXELS = 1000.0  # a drag this long sweeps the image's whole value range
CINE_RATE = 10.0  # frames per second without a rate in the header
CINE_RATES = (1.0, 60.0)  # the frame rates a person can choose from
CACHE_FRAMES = 48


@functools.cache
def colour_window() -> Window:
    """The window shown for colour images, which have no VOI window."""
    from core.imaging.render import Window

    return Window(127.5, 255.0)


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
    message = Signal(str)
    overlayChanged = Signal()
    cineChanged = Signal()
    keyChanged = Signal()
    zoomChanged = Signal()
    # the displayed area a presentation state asks for: image fractions left, top, right, bottom
    areaRequested = Signal(float, float, float, float)

    def __init__(
        self, provider: FrameProvider, parent: QObject | None = None, core: Core | None = None
    ) -> None:
        super().__init__(parent)
        self._provider = provider
        self._core = core
        self._shown_overlay: ImageOverlay | None = None  # none yet: an empty one (_overlay)
        self._overlay_shown = True
        self._zoom = 1.0
        self._extent = 0.0  # the stage height (pixels) a drag through the stack relates to
        self._keys: set[str] = set()
        self._saving = False
        self._rate = CINE_RATE
        self._cine = QTimer(self)
        self._cine.timeout.connect(self._cine_tick)
        self._area: tuple[float, float, float, float] | None = None
        self._viewer: Viewer | None = None
        self._title = ""
        self._index = 0
        self._window: Window | None = None  # None: the image's own window
        self._default_window: Window | None = None  # none yet: colour_window() (_default)
        self._presets: list[str] = []
        self._generation = 0
        self._probe = ""
        self._busy = False
        self._frame: ViewFrame | None = None
        self._scrub = 0.0
        self._rendering = False
        self._pending = False

    # -- properties ---------------------------------------------------------------------------
    @property
    def _overlay(self) -> ImageOverlay:
        """What the corners show: the frame on screen's, an empty overlay before the first."""
        if self._shown_overlay is None:
            from core.imaging.viewer import ImageOverlay

            self._shown_overlay = ImageOverlay()
        return self._shown_overlay

    @property
    def _default(self) -> Window:
        """The window of the image on screen ("Default"), ``colour_window()`` before one."""
        if self._default_window is None:
            self._default_window = colour_window()
        return self._default_window

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

    @Property(str, notify=windowChanged, final=True)
    def activePreset(self) -> str:
        """The preset whose window is shown ("Default": the image's own), else ""."""
        if self._window is None:
            return "Default"
        frame = self._frame
        presets = frame.presets if frame is not None else ()
        match = next((p for p in presets if p.window == self._window), None)
        return match.name if match is not None else ""

    # -- the overlay ---------------------------------------------------------------------------
    @Property(bool, notify=overlayChanged, final=True)
    def overlayShown(self) -> bool:
        return self._overlay_shown

    @Property(str, notify=overlayChanged, final=True)
    def overlayTopLeft(self) -> str:
        """Patient: name as the tables show it, ID, birth date and sex."""
        o = self._overlay
        born = " ".join(t for t in (format_cell("PatientBirthDate", o.birth_date), o.sex) if t)
        lines = (format_cell("PatientName", o.patient_name), o.patient_id, born)
        return "\n".join(t for t in lines if t)

    @Property(str, notify=overlayChanged, final=True)
    def overlayTopRight(self) -> str:
        """Study: date, description, accession number."""
        o = self._overlay
        accession = f"Acc {o.accession}" if o.accession else ""
        lines = (format_cell("StudyDate", o.study_date), o.study_description, accession)
        return "\n".join(t for t in lines if t)

    @Property(str, notify=overlayChanged, final=True)
    def overlayBottomLeft(self) -> str:
        """Series number and description, image n / N, slice location and thickness."""
        o = self._overlay
        series = " ".join(
            t
            for t in (f"Se {o.series_number}" if o.series_number else "", o.series_description)
            if t
        )
        image = f"Im {self._index + 1} / {self._count()}" if self._viewer is not None else ""
        entry = self._frame.entry if self._frame is not None else None
        if entry is not None and entry.frames > 1:
            image += f"  (frame {entry.frame + 1} / {entry.frames})"
        location = f"Loc {o.slice_location:.1f} mm" if o.slice_location is not None else ""
        thickness = f"Thk {o.slice_thickness:g} mm" if o.slice_thickness is not None else ""
        slice_line = "  ".join(t for t in (location, thickness) if t)
        return "\n".join(t for t in (series, image, slice_line) if t)

    @Property(str, notify=overlayChanged, final=True)
    def overlayBottomRight(self) -> str:
        """Window and zoom."""
        if self._viewer is None:
            return ""
        return f"{self.windowText}\nZoom {self._zoom:.2f}"

    def _marker(self, side: str) -> str:
        orientation = self._overlay.orientation
        return getattr(orientation, side) if orientation is not None else ""

    @Property(str, notify=overlayChanged, final=True)
    def markerLeft(self) -> str:
        return self._marker("left")

    @Property(str, notify=overlayChanged, final=True)
    def markerRight(self) -> str:
        return self._marker("right")

    @Property(str, notify=overlayChanged, final=True)
    def markerTop(self) -> str:
        return self._marker("top")

    @Property(str, notify=overlayChanged, final=True)
    def markerBottom(self) -> str:
        return self._marker("bottom")

    @Slot()
    def toggleOverlay(self) -> None:
        self._overlay_shown = not self._overlay_shown
        self.overlayChanged.emit()

    @Slot(float)
    def setZoom(self, zoom: float) -> None:
        """Screen pixels per image pixel, as the view shows it (zoom lives in QML)."""
        if abs(zoom - self._zoom) > 1e-6:
            self._zoom = zoom
            self.zoomChanged.emit()
            self.overlayChanged.emit()

    # -- cine ----------------------------------------------------------------------------------
    @Property(bool, notify=cineChanged, final=True)
    def playing(self) -> bool:
        return self._cine.isActive()

    @Property(float, notify=cineChanged, final=True)
    def frameRate(self) -> float:
        return self._rate

    @Property(str, notify=cineChanged, final=True)
    def frameRateText(self) -> str:
        return f"{self._rate:g} fps"

    @Slot(float)
    def setFrameRate(self, rate: float) -> None:
        rate = min(max(float(rate), CINE_RATES[0]), CINE_RATES[1])
        if rate != self._rate:
            self._rate = rate
            self._cine.setInterval(round(1000 / rate))
            self.cineChanged.emit()

    @Slot()
    def togglePlay(self) -> None:
        if self._cine.isActive():
            self._cine.stop()
        elif self._count() > 1:
            self._cine.start(round(1000 / self._rate))
        self.cineChanged.emit()

    def _stop_cine(self) -> None:
        if self._cine.isActive():
            self._cine.stop()
            self.cineChanged.emit()

    def _cine_tick(self) -> None:
        if self._rendering or self._viewer is None:
            return  # the decode of the last frame is still under way: drop this one
        count = self._count()
        self._index = (self._index + 1) % count if count else 0
        asyncio.ensure_future(self._render_quietly())

    async def _render_quietly(self) -> None:
        try:
            await self.render()
        except Exception as exc:
            log.exception("cine: cannot show an image")
            self._stop_cine()
            self.errorOccurred.emit(f"Could not show this image: {exc}")

    # -- key images ----------------------------------------------------------------------------
    def _current_uid(self) -> str:
        """The image at the current index (the one the slider and overlay name), even while
        its frame is still being decoded: a Key tap right after a swipe marks that image."""
        viewer = self._viewer
        if viewer is None or not len(viewer.stack):
            return ""
        return viewer.stack[min(self._index, len(viewer.stack) - 1)].sop_uid

    @Property(bool, notify=keyChanged, final=True)
    def keyImage(self) -> bool:
        return self._current_uid() in self._keys

    @Property(int, notify=keyChanged, final=True)
    def keyCount(self) -> int:
        return len(self._keys)

    @Slot()
    def toggleKeyImage(self) -> None:
        uid = self._current_uid()
        if not uid:
            return
        self._keys.symmetric_difference_update({uid})
        self.keyChanged.emit()

    @Property(bool, notify=busyChanged, final=True)
    def saving(self) -> bool:
        return self._saving

    @Property(bool, notify=stackChanged, final=True)
    def canSave(self) -> bool:
        return self._core is not None and self._viewer is not None

    # -- Python API ------------------------------------------------------------------------------
    async def open_stack(self, stack: SeriesStack, title: str) -> None:
        from core.imaging.viewer import Viewer

        self._stop_cine()
        self._viewer = Viewer(stack, cache_size=CACHE_FRAMES)
        self._title = title
        self._index = 0
        self._probe = ""
        self._window = None
        self._presets = []
        self._frame = None
        self._keys = set()
        self._area = None
        self.stackChanged.emit()
        self.probeChanged.emit()
        self.windowChanged.emit()
        self.keyChanged.emit()
        self.resetRequested.emit()
        if self._core is not None:  # the audit trail: these images were loaded in the viewer
            await asyncio.to_thread(self._core.record_viewed, stack.instances)
        presentation = await self._saved_presentation(stack)
        if presentation is not None:
            self._window = presentation.window
            self.windowChanged.emit()
        await self.render()
        frame = self._frame
        if presentation is not None and presentation.area is not None and frame is not None:
            self._request_area(presentation.area, frame)
        rate = frame.frame_rate if frame is not None else None
        if rate is not None and rate != self._rate:
            self._rate = min(max(rate, CINE_RATES[0]), CINE_RATES[1])
            self.cineChanged.emit()

    async def _saved_presentation(self, stack: SeriesStack) -> derived.PresentationView | None:
        """The newest presentation state stored for the stack's series, if any."""
        from core.imaging import derived

        core = self._core
        if core is None:
            return None
        series_uid = stack.series_uid or await asyncio.to_thread(stack.first_series_uid)
        if not series_uid:
            return None
        try:
            return await asyncio.to_thread(
                derived.latest_presentation, core.sessions, core.store, series_uid
            )
        except Exception:  # the images still open; only the saved view is lost
            log.exception("cannot read the presentation states of a series")
            return None

    def _request_area(self, area: derived.DisplayedArea, frame: ViewFrame) -> None:
        """Ask the view to show ``area`` (pixel corners, 1-based) as image fractions."""
        height, width = frame.rendered.pixels.shape[:2]
        self._area = (
            (area.left - 1) / width,
            (area.top - 1) / height,
            area.right / width,
            area.bottom / height,
        )
        self.areaRequested.emit(*self._area)

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
                self._frame = frame  # first: the signals below read its presets
                names = [p.name for p in frame.presets]
                default = frame.default_window or colour_window()
                if names != self._presets or default != self._default:
                    self._presets, self._default_window = names, default
                    self.stackChanged.emit()
                    self.windowChanged.emit()
                pixels = frame.rendered.pixels
                self._provider.image = to_qimage(pixels, rgb=pixels.ndim == 3)
                self._generation += 1
                self._shown_overlay = frame.overlay
                self.frameChanged.emit()
                self.overlayChanged.emit()
                self.keyChanged.emit()
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
            self.keyChanged.emit()  # keyImage names the image at the new index
            await self.render()

    @asyncSlot(int)
    @guarded("Could not show this image")
    async def goTo(self, index: int) -> None:
        """Show image ``index`` (the slider)."""
        if self._go(index):
            self.keyChanged.emit()  # keyImage names the image at the new index
            await self.render()

    @Slot(float)
    def setDragExtent(self, pixels: float) -> None:
        """The height of the stage a drag through the stack is measured against."""
        self._extent = max(0.0, float(pixels))

    def scrub_pixels(self) -> float:
        """Finger travel per image: one stage height covers the whole stack of a long series,
        at most SCRUB_PIXELS_MAX per image for a short one."""
        count = self._count()
        if self._extent <= 0 or count < 1:
            return SCRUB_PIXELS
        return min(SCRUB_PIXELS_MAX, self._extent / count)

    @asyncSlot(float)
    @guarded("Could not show this image")
    async def scrub(self, pixels_moved: float) -> None:
        """Swipe through the stack: every ``scrub_pixels()`` of finger travel is one image."""
        per_image = self.scrub_pixels()
        self._scrub += pixels_moved
        steps = int(self._scrub / per_image)
        self._scrub -= steps * per_image
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
        """Drag right widens the window, drag down raises the level (like most viewers);
        a WINDOW_DRAG_PIXELS drag moves by the image's whole value range."""
        from core.imaging.render import Window

        base = self._effective()
        scale = self.window_drag_scale()
        window = Window(base.center + dy * scale, max(1.0, base.width + dx * scale))
        if self._set_window(window):
            await self.render()

    def window_drag_scale(self) -> float:
        """Modality units per pixel of a W/L drag."""
        frame = self._frame
        span = 0.0
        if frame is not None and frame.value_range is not None:
            low, high = frame.value_range
            span = high - low
        if span <= 0:
            span = max(self._default.width, 1.0)
        return span / WINDOW_DRAG_PIXELS

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
        self._area = None
        self.resetRequested.emit()
        if self._set_window(None):
            await self.render()

    @Slot(float, float)
    def probe(self, fx: float, fy: float) -> None:
        """The value under the finger; ``fx``/``fy`` are 0..1 across the image."""
        from core.imaging.viewer import value_at

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

    # -- saving derived objects ----------------------------------------------------------------
    @asyncSlot(float, float, float, float, bool)
    @guarded("Could not save the view", report=lambda self, text: self._saved(text, False))
    async def saveView(
        self, left: float, top: float, right: float, bottom: float, capture: bool
    ) -> None:
        """Store the view: a presentation state of the stack as shown (window, and the image
        region on screen given as fractions of the image), a key object selection of the
        flagged images, and a screen capture of the current frame when ``capture``."""
        from core.imaging import derived

        core, viewer, frame = self._core, self._viewer, self._frame
        if core is None or viewer is None or frame is None or self._saving:
            return
        self._saving = True
        self.busyChanged.emit()
        try:
            height, width = frame.rendered.pixels.shape[:2]
            area = derived.DisplayedArea(
                round(left * width) + 1,
                round(top * height) + 1,
                max(round(right * width), round(left * width) + 1),
                max(round(bottom * height), round(top * height) + 1),
            )
            window = self._effective() if frame.default_window is not None else None
            keys = [uid for uid in viewer.stack.instances if uid in self._keys]
            made = await asyncio.to_thread(
                self._save, core, viewer, frame, window, area, keys, capture
            )
            self._saved(made, True)
        finally:
            self._saving = False
            self.busyChanged.emit()

    @staticmethod
    def _save(
        core: Core,
        viewer: Viewer,
        frame: ViewFrame,
        window: Window | None,
        area: derived.DisplayedArea,
        keys: list[str],
        capture: bool,
    ) -> str:
        """Make and store the objects (a worker thread); what was saved, in a sentence."""
        from core.imaging import derived

        orientation = frame.overlay.orientation
        saved = derived.save_view(
            core.intake,
            [e.path for e in viewer.stack.entries],
            window=window,
            area=area,
            keys=keys,
            capture=(frame.entry.sop_uid, frame.rendered.pixels) if capture else None,
            orientation=(orientation.right, orientation.bottom) if orientation else None,
        )
        names = []
        if saved.presentation_uid:
            names.append("the view")
        if saved.keys:
            names.append(f"{saved.keys} key image{'s' if saved.keys != 1 else ''}")
        if saved.capture_uid:
            names.append("a screen capture")
        return "Saved " + " and ".join(names) + "."

    def _saved(self, text: str, ok: bool) -> None:
        (self.message if ok else self.errorOccurred).emit(text)
