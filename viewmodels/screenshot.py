"""``dicom-kiosk screenshot VIEW OUT.png``: render a kiosk view offscreen to a PNG."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from core.app import Core
from core.config import load_settings
from core.importer import Importer, MemorySource
from core.synth import demo_instances


def _process(app: object, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def run_screenshot(args: argparse.Namespace) -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    import qasync
    from PySide6.QtGui import QGuiApplication

    from viewmodels.kiosk import build_kiosk, prepare_qt

    width, height = args.size
    temp: tempfile.TemporaryDirectory[str] | None = None
    if args.demo:
        temp = tempfile.TemporaryDirectory(prefix="dicom-kiosk-shot-")
        settings = load_settings(temp.name, {"fsync": False})
    else:
        settings = load_settings(args.data_dir, {"db_url": args.db_url})
    prepare_qt(virtual_keyboard=False, software=True)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    core = Core(settings)
    core.open()
    try:
        if args.demo and args.view != "first-run":
            importer = Importer(core.writer, core.sessions)
            importer.run_sources(
                [MemorySource(f"demo #{i}", d) for i, d in enumerate(demo_instances(6, 1234))],
                source_name="demo",
            )
        kiosk = build_kiosk(core, theme=args.shot_theme or getattr(args, "theme", None))
        window = kiosk.window()
        window.resize(width, height)
        model = kiosk.app_model
        with loop:
            loop.run_until_complete(model.start())  # type: ignore[attr-defined]
            loop.run_until_complete(stage(kiosk, args.view))
            _process(app, 0.3)
            kiosk.thumbnails.wait_idle()  # type: ignore[attr-defined]
            _process(app, 0.5)
            image = window.grabWindow()
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out)):
            print(f"dicom-kiosk: cannot write {out}", file=sys.stderr)
            return 1
        print(f"{args.view}: {out} ({image.width()}x{image.height()})")
        model.stop()  # type: ignore[attr-defined]
        return 0
    finally:
        core.close()
        if temp is not None:
            temp.cleanup()


async def stage(kiosk: object, view: str) -> None:
    """Put the kiosk into the state ``view`` shows: a selection, an open dialog..."""
    model = kiosk.app_model  # type: ignore[attr-defined]
    window = kiosk.window()  # type: ignore[attr-defined]
    db = model.database
    if view == "first-run":
        return
    studies = db.level_model("study")
    patients = db.level_model("patient")
    # A patient with a CT or MR study makes the most telling pictures.
    rows = studies.rows()
    pick = next((r for r in rows if "CT" in r["ModalitiesInStudy"]), rows[0] if rows else None)
    if pick is not None:
        index = next(
            i for i, r in enumerate(patients.rows()) if r["PatientID"] == pick["PatientID"]
        )
        patients.select(index, False)
        await _settle()
        index = next(
            i
            for i, r in enumerate(studies.rows())
            if r["StudyInstanceUID"] == pick["StudyInstanceUID"]
        )
        studies.select(index, False)
        await _settle()
    if view == "database":
        return
    if view == "database-images":
        series = db.level_model("series")
        if series.rowCount() > 0:
            series.select(0, False)
            await _settle()
        db.toggleLevel("image")
        await _settle()
        return
    if view == "database-filters":
        current = db.level_model("patient").current_row()
        if current is not None:
            db.filter_model.setPatientName(str(current["PatientName"])[:3] + "*")
        db.filter_model.lastDays(900)
        db.filter_model.set_shown(True)
        await db.filter_model.load_choices()
        return
    if view in ("send-dialog", "export-dialog"):
        dialog = window.findChild(object, "sendDialog" if view == "send-dialog" else "exportDialog")
        dialog.open()
        await _settle()
        return
    if view == "viewer":
        series = db.level_model("series")
        if series.rowCount() > 0:
            series.select(0, False)
            await _settle()
        await db.load_selection()
        viewer = model.viewer
        await _settle()
        viewer.step(viewer.count // 2)
        await _settle()
        viewer.applyPreset("Lung")
        await _settle()
        viewer.probe(0.5, 0.3)


async def _settle(seconds: float = 0.4) -> None:
    """Let queued loads (selection cascades run as tasks) finish."""
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if pending:
        await asyncio.wait(pending, timeout=seconds * 10)
    await asyncio.sleep(0.05)
