"""What the kiosk makes before its first frame: the Database list with its first page, and
nothing else. It needs neither pydicom nor pynetdicom, numpy or PIL (the viewer, imports,
exports, Query/Retrieve and the node load them when first used; the node is built after that
frame), nor the Transfer Log's view models, nor SQLAlchemy and the ORM: the first page and the
counts are read with the standard library (core.db.light) and the core opens (engine, writer,
intake) right after that frame, unless the index must be migrated or a crash left images to
index first. The window has no dialog, no other tab and no on-screen keyboard yet (they are
made right after that frame, the other tabs without being shown). The Settings tab and the lock
screen show the state of a node not started yet without building it."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from pathlib import Path
from typing import Any, cast

from core.app import Core
from core.cli import choices
from core.config import load_settings
from core.dicom import synth
from core.export.deidentify import DATES_OPTIONS
from core.export.exporter import FORMATS
from core.index.importer import MemorySource
from core.node.server import DicomNode, NodeState
from tests.support.ports import free_port
from tests.support.probe import run_probe
from tests.support.qt import run_until
from viewmodels import exporting
from viewmodels.app import AppModel
from viewmodels.images import FrameProvider
from viewmodels.settings import NodeNotBuilt, SettingsModel

HEAVY = {"pydicom", "pynetdicom", "numpy", "PIL", "highdicom", "alembic", "sqlalchemy"}
# Our modules that come with SQLAlchemy: the ORM, its queries, the engine, the index writer and
# intake, the transfer log; and the Transfer Log tab's view models.
AFTER_FIRST_FRAME = (
    "core.db.models",
    "core.db.queries",
    "core.db.engine",
    "core.index",
    "core.transfers",
    "core.node",
    "viewmodels.transfers",
)
# What the window makes after its first frame (by objectName): dialogs, the other tabs, the
# filter panel, the first-run view (for an empty database) and the lock screen.
LATER = (
    "filterPanel",
    "firstRunSetPin",
    "lockScreen",
    "sendDialog",
    "exportDialog",
    "importDialog",
    "sendQueuedDialog",
    "pinDialog",
    "transferDetailsDialog",
    "datePicker",
    "transferLogView",
    "queryRetrieveView",
)
# The kiosk's own start (viewmodels.kiosk.run), stopped at its first frame: the modules, what
# the window has made (of the objectNames in argv[2]) and the Database list's rows then; then
# what the window has made once told to make the rest (AppModel.show_rest, as the kiosk does).
PROBE = """
import argparse, asyncio, json, sys, time
from PySide6.QtCore import QCoreApplication, QObject
from viewmodels import kiosk

NAMES = json.loads(sys.argv[2])

class Shown(Exception):
    pass

first_frame, build_kiosk, built = kiosk._first_frame, kiosk.build_kiosk, []

def build(*args, **kwargs):
    built.append(build_kiosk(*args, **kwargs))
    return built[-1]

def record(window):
    first_frame(window)
    app = built[0].app_model
    made = lambda: sorted(n for n in NAMES if window.findChild(QObject, n) is not None)
    report = {
        "window": window is not None,
        "modules": sorted(sys.modules),
        "made": made(),
        "ready": app.ready,
        "loop_running": asyncio.get_event_loop().is_running(),
        "patients": app.database.patients.rowCount(),
        "studies": app.database.studies.rowCount(),
    }
    app.show_rest()  # as the kiosk does next; the other tabs then come without being shown
    for _ in range(200):  # Qt's loop, as before the kiosk's asyncio loop runs
        if set(made()) == set(NAMES):
            break
        QCoreApplication.processEvents()
        time.sleep(0.05)
    report["made_after"] = made()
    report["modules_after"] = sorted(sys.modules)
    with open(sys.argv[3], "w") as out:
        json.dump(report, out)
    raise Shown

kiosk._first_frame, kiosk.build_kiosk = record, build
args = argparse.Namespace(data_dir=sys.argv[1], db_url=None, theme=None, fullscreen=False)
try:
    kiosk.run(args)
except Shown:
    pass
"""


def _demo(data_dir: Path) -> dict[str, int]:
    with Core(load_settings(data_dir, {"fsync": False})) as core:
        sources = [MemorySource(f"demo #{i}", d) for i, d in enumerate(synth.demo_instances(2, 5))]
        assert core.importer.run_sources(sources, source_name="demo").imported > 0
        return core.stats()


def _first_frame(data_dir: Path, tmp_path: Path) -> dict[str, Any]:
    """The kiosk started on ``data_dir`` up to its first frame (PROBE's report)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    names = json.dumps([*LATER, "databaseView"])
    probe, _ = run_probe(PROBE, str(data_dir), names, report=tmp_path / "modules.json", env=env)
    assert probe["window"]
    return probe


def test_the_first_frame_needs_none_of_the_heavy_packages(data_dir: Path, tmp_path: Path) -> None:
    stats = _demo(data_dir)
    probe = _first_frame(data_dir, tmp_path)
    modules = set(probe["modules"])
    assert {"PySide6.QtQuick", "viewmodels.database", "core.db.light"} <= modules  # it did start
    assert {name.split(".")[0] for name in modules} & HEAVY == set()
    assert {name for name in modules if name.startswith(AFTER_FIRST_FRAME)} == set()
    # The first frame shows the Database list with its first page, and nothing else yet.
    assert (probe["patients"], probe["studies"]) == (stats["patients"], stats["studies"]) > (0, 0)
    assert probe["made"] == ["databaseView"] and not probe["ready"]
    assert not probe["loop_running"]  # shown from Qt's own loop: no asyncio work before it
    # Right after it: the dialogs, and the other tabs, without being shown.
    assert probe["made_after"] == sorted([*LATER, "databaseView"])
    assert "viewmodels.transfers" in probe["modules_after"]


def test_settings_show_the_node_not_started_until_the_core_builds_it(
    core: Core, loop: asyncio.AbstractEventLoop
) -> None:
    model = AppModel(core, FrameProvider())
    settings = cast(SettingsModel, model.settings)  # a Qt Property, to mypy
    assert not core.built("node")
    s = core.settings
    assert (settings.nodeAeTitle, settings.nodeState, settings.imagesToday) == (
        s.ae_title,
        "stopped",
        0,
    )
    assert settings.nodeAddress == f"{s.bind}:{s.port} (not listening)"
    assert model.nodeText == f"AE title {s.ae_title} · port {s.port}"
    assert not core.built("node")  # none of that built it
    assert model.node is core.node and core.built("node")
    assert settings.nodeState == "stopped"


def test_the_stand_in_is_the_state_of_a_node_not_started(core: Core) -> None:
    fields = [f.name for f in dataclasses.fields(NodeNotBuilt)]
    assert sorted(fields) == sorted(f.name for f in dataclasses.fields(NodeState))
    s = core.settings
    stand_in = NodeNotBuilt(ae_title=s.ae_title, bind=s.bind, port=s.port)
    assert dataclasses.asdict(stand_in) == dataclasses.asdict(DicomNode(core).state)


def test_the_export_choices_are_the_exporters_in_its_order() -> None:
    assert exporting.FORMATS == choices.EXPORT_FORMATS == FORMATS
    assert exporting.DATES_OPTIONS == choices.EXPORT_DATES == DATES_OPTIONS


def test_the_settings_hear_the_node_start_after_showing_the_stand_in(
    data_dir: Path, loop: asyncio.AbstractEventLoop
) -> None:
    overrides = {"fsync": False, "port": free_port(), "bind": "127.0.0.1"}
    with Core(load_settings(data_dir, overrides)) as core:
        model = AppModel(core, FrameProvider())
        loop.run_until_complete(model.start_first_page())  # as the kiosk, up to its first frame
        settings = cast(SettingsModel, model.settings)
        assert settings.nodeState == "stopped" and not core.built("node")
        heard: list[str] = []
        settings.nodeStateChanged.connect(lambda: heard.append(str(settings.nodeState)))
        loop.run_until_complete(core.start(sender=False))  # builds the node off the loop
        try:
            run_until(loop, lambda: "listening" in heard)
            assert settings.nodeRunning and str(model.nodeText).startswith("AE title")
        finally:
            loop.run_until_complete(core.stop())
            model.stop()


def test_images_a_crash_left_are_in_the_first_frame(data_dir: Path, tmp_path: Path) -> None:
    """An image left in ``incoming/`` (acknowledged, not indexed when the power went): the core
    opens before the window, as the standard library's reader cannot answer for the index then,
    and the first frame lists that image's patient."""
    stats = _demo(data_dir)
    settings = load_settings(data_dir)
    data = next(iter(synth.demo_instances(1, seed=11)))
    (settings.store_dir / "incoming" / "p1-left.dcm").write_bytes(data)
    probe = _first_frame(data_dir, tmp_path)
    assert {"sqlalchemy", "core.db.engine", "core.index.intake"} <= set(probe["modules"])
    assert probe["patients"] == stats["patients"] + 1
    assert not list((settings.store_dir / "incoming").glob("*.dcm"))
