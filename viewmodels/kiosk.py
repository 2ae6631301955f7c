"""Start the kiosk: Qt application, qasync loop, Core, view models and the QML window."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.app import Core
from core.config import Settings, load_settings

log = logging.getLogger(__name__)

QML_DIR = Path(__file__).resolve().parent.parent / "qml"
NO_DISPLAY_HELP = """\
dicom-kiosk: no display to open the kiosk window on (DISPLAY and WAYLAND_DISPLAY are unset).
  On a desktop or kiosk session, run it from there.
  Under a virtual X server:   xvfb-run -a dicom-kiosk
  Headless, no window:        QT_QPA_PLATFORM=offscreen dicom-kiosk
  Pictures of the views:      dicom-kiosk screenshot database out.png --demo
"""


def display_available() -> bool:
    """False when Qt would fail to find a display (Linux without X11 or Wayland)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return True  # offscreen, eglfs, linuxfb, vnc...: no desktop session needed
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def prepare_qt(*, virtual_keyboard: bool, software: bool = False) -> None:
    """Process-wide Qt settings; call before the QGuiApplication exists."""
    from PySide6.QtQuick import QQuickWindow, QSGRendererInterface
    from PySide6.QtQuickControls2 import QQuickStyle

    if virtual_keyboard:
        os.environ["QT_IM_MODULE"] = "qtvirtualkeyboard"
    else:
        os.environ.pop("QT_IM_MODULE", None)
    if software:
        QQuickWindow.setGraphicsApi(QSGRendererInterface.GraphicsApi.Software)
    QQuickStyle.setStyle("Material")


@dataclass
class Kiosk:
    """Everything one kiosk window needs, built the same way by run, screenshots and tests."""

    core: Core
    app_model: object
    engine: object
    thumbnails: object

    def window(self) -> Any:
        roots = self.engine.rootObjects()  # type: ignore[attr-defined]
        return roots[0] if roots else None

    def close(self) -> None:
        """Stop live updates, let thumbnails finish, then drop the QML before the models."""
        import shiboken6

        self.app_model.stop()  # type: ignore[attr-defined]
        self.thumbnails.wait_idle()  # type: ignore[attr-defined]
        if shiboken6.isValid(self.engine):
            for root in self.engine.rootObjects():  # type: ignore[attr-defined]
                root.close()
            shiboken6.delete(self.engine)  # type: ignore[arg-type]


def start_engine(component: str = "Main") -> Any:
    """The QML engine, with the view models' types registered and ``component`` of module
    Kiosk loading on its loader thread (its files' compiled units, the style's plugins) while
    the caller goes on; ``build_kiosk`` makes the window from what it loaded."""
    from PySide6.QtQml import QQmlApplicationEngine, QQmlComponent

    # Importing a view model registers its QML types; the Transfer Log tab's come after the
    # first frame (AppModel.show_rest).
    from viewmodels import app, database, filters, importing, levels, viewer  # noqa: F401

    engine = QQmlApplicationEngine()
    engine.addImportPath(str(QML_DIR))
    ahead = QQmlComponent(engine, engine)  # the engine's: deleted with it, never while it loads
    ahead.loadFromModule("Kiosk", component, QQmlComponent.CompilationMode.Asynchronous)
    return engine


def build_kiosk(
    core: Core,
    *,
    theme: str | None = None,
    fullscreen: bool = False,
    component: str = "Main",
    before_load: Callable[[Any], None] | None = None,
    engine: Any = None,
) -> Kiosk:
    """Make the view models and the window: ``component`` of module Kiosk, on ``engine``
    (``start_engine``'s; one is started when None).

    ``before_load(app_model)`` runs before the window is made (while its QML loads): the kiosk
    reads the Database list's first page there, so that the window is made with its rows and its
    first frame shows them (not an empty list, then the rows a frame later)."""
    if engine is None:
        engine = start_engine(component)
    from viewmodels import app
    from viewmodels.images import FrameProvider, ThumbnailProvider

    frames = FrameProvider()
    thumbnails = ThumbnailProvider(core)
    model = app.AppModel(core, frames, theme=theme, fullscreen=fullscreen)
    if before_load is not None:
        before_load(model)
    engine.addImageProvider("thumbs", thumbnails)
    engine.addImageProvider("viewer", frames)
    engine.setInitialProperties({"app": model})
    engine.loadFromModule("Kiosk", component)
    if not engine.rootObjects():
        raise RuntimeError(f"the kiosk's QML ({component}) failed to load; see the log")
    return Kiosk(core, model, engine, thumbnails)


FIRST_FRAME_ENV = "DICOM_KIOSK_REPORT_FIRST_FRAME"
PROBE_ENV = "DICOM_KIOSK_TEST_PROBE"  # a socket path: see viewmodels.probe
FIRST_FRAME_TIMEOUT = 5.0  # a window that is not exposed (minimised, no screen) shows none


def _first_frame(window: Any) -> None:
    """Until the window has shown the frame it draws next (the Database list, once its first page
    is in), or ``FIRST_FRAME_TIMEOUT`` s, in Qt's own event loop: no asyncio work runs before that
    frame (qasync's first timer alone makes PySide build the whole ``Qt`` namespace). With
    ``DICOM_KIOSK_REPORT_FIRST_FRAME`` set (the start-up benchmark) print
    ``first-frame <time.monotonic()> <time.process_time()>`` then."""
    if window is None:
        return
    import time

    from PySide6.QtCore import QEventLoop, QTimer

    waiting = QEventLoop()
    shown: list[tuple[float, float]] = []

    def swapped() -> None:  # on the render thread when Qt renders in one
        if not shown:
            shown.append((time.monotonic(), time.process_time()))

    window.frameSwapped.connect(swapped)
    window.frameSwapped.connect(waiting.quit)  # the loop's slot: queued to this thread
    timeout = QTimer()
    timeout.setSingleShot(True)
    timeout.timeout.connect(waiting.quit)
    timeout.start(int(FIRST_FRAME_TIMEOUT * 1000))
    window.update()
    try:
        waiting.exec()
    finally:
        timeout.stop()
        window.frameSwapped.disconnect(swapped)
        window.frameSwapped.disconnect(waiting.quit)
    if not shown:
        log.warning("no frame shown within %.0f s; starting the node anyway", FIRST_FRAME_TIMEOUT)
    elif os.environ.get(FIRST_FRAME_ENV):
        at, cpu = shown[0]
        print(f"first-frame {at:.6f} {cpu:.6f}", flush=True)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "data_dir", None), {"db_url": getattr(args, "db_url", None)})


def run(args: argparse.Namespace) -> int:
    """``dicom-kiosk`` with no subcommand: open the kiosk window until it is closed."""
    if not display_available():
        print(NO_DISPLAY_HELP, file=sys.stderr, end="")
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication

    settings = _settings(args)
    theme = getattr(args, "theme", None) or settings.theme
    fullscreen = bool(getattr(args, "fullscreen", False))
    prepare_qt(virtual_keyboard=settings.virtual_keyboard)
    qt_app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    qt_app.setApplicationName("dicom-kiosk")
    engine = start_engine()  # the window's QML loads meanwhile (on the engine's thread)
    import qasync  # after PySide6: it takes the Qt binding loaded, trying no other first

    loop = qasync.QEventLoop(qt_app)
    asyncio.set_event_loop(loop)
    core = Core(settings)
    # An index that can be read as it is (SQLite at the newest schema, nothing a crash left):
    # the first frame reads it with the standard library, and the core opens after that frame
    # (SQLAlchemy, the writer, the intake). Else it opens first (migrate, recover), as ever.
    open_later = core.readable_before_open()
    if not open_later:
        core.open()

    def first_page(model: Any) -> None:
        model.start_first_page_now(loop)

    # The first frame shows the Database list: its first page is read before the window is made;
    # the node, the send worker, the rest of the window (other tabs, dialogs, the on-screen
    # keyboard) and the rest of the first load (filter choices, settings, remote nodes,
    # transfers) come right after that frame.
    try:
        kiosk = build_kiosk(
            core, theme=theme, fullscreen=fullscreen, before_load=first_page, engine=engine
        )
    except BaseException:
        core.close()
        raise
    probe = None
    if probe_path := os.environ.get(PROBE_ENV, ""):  # the real-window tests' probe, or none
        from viewmodels.probe import start_probe

        probe = start_probe(kiosk.window(), kiosk.app_model, probe_path)
    closed = asyncio.Event()
    qt_app.setQuitOnLastWindowClosed(False)  # type: ignore[attr-defined]  # the loop ends it
    qt_app.lastWindowClosed.connect(closed.set)  # type: ignore[attr-defined]
    kiosk.app_model.quitRequested.connect(closed.set)  # type: ignore[attr-defined]
    # Ctrl+C and SIGTERM (systemd stopping a kiosk) close it the same way. Python runs signal
    # handlers only between bytecodes: a light timer keeps it looking while Qt waits.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: loop.call_soon_threadsafe(closed.set))
    wake = QTimer()
    wake.start(250)
    wake.timeout.connect(lambda: None)

    async def main() -> None:
        kiosk.app_model.show_rest()  # type: ignore[attr-defined]
        if open_later:  # off the loop: the window makes the rest of itself meanwhile
            await asyncio.to_thread(core.open)
        try:
            await core.start()
            node = core.node
            log.info("DICOM node %s listening on %s:%d", node.ae_title, node.bind, node.port)
        except Exception as exc:  # e.g. the port is taken by a `dicom-kiosk serve` service
            log.error("the DICOM node did not start: %s", exc)
        try:
            await kiosk.app_model.finish_start()  # type: ignore[attr-defined]
            await closed.wait()
        finally:
            await core.stop()

    try:
        _first_frame(kiosk.window())
        with loop:
            loop.run_until_complete(main())
    finally:
        wake.stop()
        if probe is not None:
            probe.close()
        kiosk.close()
        core.close()
    return 0
