"""Every QML file compiles, and the kiosk opens in every state with zero QML warnings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtQml import QQmlComponent, QQmlEngine

from core.app import Core
from tests.qml.kiosk_window import (
    captured_warnings,
    find,
    open_kiosk,
    qml_files,
    serve_self_as_pacs,
    stop_node,
)
from tests.support.data import seed, seed_transfers
from tests.support.qt import settle
from viewmodels import app, database, filters, importing, levels, transfers, viewer  # noqa: F401
from viewmodels.kiosk import QML_DIR


@pytest.mark.parametrize("path", qml_files(), ids=lambda p: str(p.relative_to(QML_DIR)))
def test_file_compiles_without_warnings(path: Path, loop: asyncio.AbstractEventLoop) -> None:
    engine = QQmlEngine()
    engine.addImportPath(str(QML_DIR))
    with captured_warnings() as warnings:
        component = QQmlComponent(engine, QUrl.fromLocalFile(str(path)))
        errors = [e.toString() for e in component.errors()]
    assert component.isReady(), errors
    assert warnings.messages == []


def test_every_view_and_dialog_opens_without_warnings(
    core: Core, loop: asyncio.AbstractEventLoop
) -> None:
    seed(core)
    with captured_warnings() as warnings, open_kiosk(core, loop) as kiosk:
        model = kiosk.app_model
        db = model.database  # type: ignore[attr-defined]
        db.select("patient", 0)
        settle(loop)
        db.select("study", 0)
        settle(loop)
        db.select("series", 0)
        settle(loop)
        db.filters.shown = True
        settle(loop)
        for name in ("sendDialog", "exportDialog", "importDialog"):
            dialog = find(kiosk, name)
            dialog.open()
            settle(loop)
            dialog.close()
        for index in range(4):
            find(kiosk, f"tab_{index}").click()
            settle(loop)
        # The Transfer Log with both directions, a drill-down to images, and its dialogs.
        ids = seed_transfers(core)
        find(kiosk, "tab_1").click()
        log = model.transfers  # type: ignore[attr-defined]
        log.showTransfer(ids["out"])
        settle(loop)
        log.showTransfer(ids["in"])
        settle(loop)
        log.showLevel(0)
        settle(loop)
        log.showLevel(0)
        settle(loop)
        assert log.depth == 3
        kiosk.window().grabWindow()
        log.selectLevelRow(1)
        find(kiosk, "transfersDetails").click()
        settle(loop)
        assert find(kiosk, "transferDetailsDialog").property("visible")
        kiosk.window().grabWindow()
        find(kiosk, "transferDetailsDialog").close()
        find(kiosk, "sendQueuedDialog").open()
        settle(loop)
        find(kiosk, "sendQueuedDialog").close()
        find(kiosk, "tab_0").click()
        settle(loop)
        db.load()
        settle(loop)
        assert model.view == "viewer"  # type: ignore[attr-defined]
        model.setTheme("light")  # type: ignore[attr-defined]
        settle(loop)
        kiosk.window().grabWindow()
    assert warnings.messages == []


def test_query_and_settings_tabs_load_without_warnings(
    core: Core, loop: asyncio.AbstractEventLoop
) -> None:
    """A real query of our own node, its series, a retrieve, the options, the node editor."""
    seed(core)
    with captured_warnings() as warnings, open_kiosk(core, loop) as kiosk:
        try:
            serve_self_as_pacs(kiosk, loop)
            model = kiosk.app_model
            qr = model.queryRetrieve  # type: ignore[attr-defined]
            find(kiosk, "tab_2").click()
            qr.query()
            settle(loop)
            qr.selectStudy(0)
            settle(loop)
            assert qr.series.count > 0
            qr.studies.sortBy("StudyDate")
            qr.retrieve()  # C-GET from ourselves: every image is a duplicate
            settle(loop)
            kiosk.window().grabWindow()
            find(kiosk, "qrOptionsTab").click()
            settle(loop)
            find(kiosk, "tab_3").click()
            find(kiosk, "nodeTestButton_PACS").click()
            settle(loop)
            find(kiosk, "nodeEdit_PACS").click()
            settle(loop)
            kiosk.window().grabWindow()
            find(kiosk, "nodeEditor").close()
            find(kiosk, "nodeAdd").click()
            settle(loop)
            find(kiosk, "nodeSave").click()  # empty fields: the editor says what is wrong
            settle(loop)
            assert model.settings.editorError != ""  # type: ignore[attr-defined]
            model.setTheme("light")  # type: ignore[attr-defined]
            settle(loop)
            kiosk.window().grabWindow()
        finally:
            stop_node(kiosk, loop)
    assert warnings.messages == []


def test_first_run_and_keyboard_panel_load_without_warnings(
    core: Core, loop: asyncio.AbstractEventLoop
) -> None:
    with captured_warnings() as warnings, open_kiosk(core, loop) as kiosk:
        assert kiosk.app_model.empty  # type: ignore[attr-defined]
        assert find(kiosk, "firstRunDemo").isVisible()
        engine = QQmlEngine()
        engine.addImportPath(str(QML_DIR))
        path = QML_DIR / "Kiosk" / "components" / "KeyboardPanel.qml"
        component = QQmlComponent(engine, QUrl.fromLocalFile(str(path)))
        panel = component.create()
        assert panel is not None, [e.toString() for e in component.errors()]
        settle(loop)
    assert warnings.messages == []


def test_suggestions_never_fill_a_filter_by_themselves(
    core: Core, loop: asyncio.AbstractEventLoop
) -> None:
    seed(core)
    with open_kiosk(core, loop) as kiosk:
        filters = kiosk.app_model.database.filter_model  # type: ignore[attr-defined]
        filters.set_shown(True)
        filters.refreshChoices()
        settle(loop)
        kiosk.window().grabWindow()
        settle(loop)
        id_box = find(kiosk, "filterId")
        assert len(id_box.property("choices")) > 0  # suggestions are there...
        assert id_box.property("text") == ""  # ...but the field stays as the user left it
        assert filters.draft().patient_id == ""
        filters.setPatientName("smi*")
        settle(loop)
        assert find(kiosk, "filterName").property("text") == "smi*"
