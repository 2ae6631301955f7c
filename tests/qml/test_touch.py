"""Touch: every visible interactive item is at least 48x48 at 1024x600; real taps work."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtQuick import QQuickItem, QQuickWindow
from PySide6.QtTest import QTest

from core.app import Core
from tests.qml.kiosk_window import find, open_kiosk, serve_self_as_pacs, stop_node
from tests.support.data import seed, seed_transfers
from tests.support.qt import run_until, settle
from viewmodels.kiosk import Kiosk

MIN_TOUCH = 48
INTERACTIVE = (
    "QQuickAbstractButton",
    "QQuickComboBox",
    "QQuickTextInput",
    "QQuickTumbler",
    "QQuickMouseArea",
    "QQuickSlider",
)


def is_interactive(item: QQuickItem) -> bool:
    if any(item.inherits(name) for name in INTERACTIVE):
        return True
    return any(child.inherits("QQuickTapHandler") for child in item.children())


def too_small(window: QQuickWindow) -> list[str]:
    """Visible interactive items under 48x48 (an interactive item's insides are its own)."""
    found: list[str] = []

    def walk(item: QQuickItem) -> None:
        if not item.isVisible() or item.opacity() == 0:
            return
        if is_interactive(item):
            if item.width() < MIN_TOUCH or item.height() < MIN_TOUCH:
                label = item.property("text") or item.objectName() or ""
                found.append(
                    f"{item.metaObject().className()} {label!r}: "
                    f"{item.width():.0f}x{item.height():.0f}"
                )
            return
        for child in item.childItems():
            walk(child)

    walk(window.contentItem())
    return found


def measured(window: QQuickWindow, loop: asyncio.AbstractEventLoop) -> list[str]:
    """``too_small`` once layouts have settled: a tab or dialog just shown may not have had
    its polish pass yet (its buttons measure 2 px wide). Rendering a frame runs the pass; the
    result counts once two frames in a row agree (bounded)."""
    settle(loop)
    window.grabWindow()
    last = too_small(window)
    for _ in range(10):
        settle(loop)
        window.grabWindow()
        now = too_small(window)
        if now == last:
            return now
        last = now
    return last


def select_down_to_series(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    db = kiosk.app_model.database  # type: ignore[attr-defined]
    for level in ("patient", "study", "series"):
        db.select(level, 0)
        settle(loop)


def open_popup(name: str) -> Callable[[Kiosk, asyncio.AbstractEventLoop], None]:
    def action(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
        select_down_to_series(kiosk, loop)
        find(kiosk, name).open()
        settle(loop)

    return action


def show_filters(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    kiosk.app_model.database.filters.shown = True  # type: ignore[attr-defined]
    settle(loop)


def show_viewer(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    select_down_to_series(kiosk, loop)
    kiosk.app_model.database.load()  # type: ignore[attr-defined]
    settle(loop)
    assert kiosk.app_model.view == "viewer"  # type: ignore[attr-defined]


def show_tab(index: int) -> Callable[[Kiosk, asyncio.AbstractEventLoop], None]:
    def action(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
        find(kiosk, f"tab_{index}").click()
        settle(loop)

    return action


def image_level(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    select_down_to_series(kiosk, loop)
    kiosk.app_model.database.toggleLevel("image")  # type: ignore[attr-defined]
    settle(loop)


def transfer_drill_down(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    """The Transfer Log on an incoming transfer's images (rows with Show buttons above)."""
    ids = seed_transfers(kiosk.core)
    find(kiosk, "tab_1").click()
    log = kiosk.app_model.transfers  # type: ignore[attr-defined]
    log.showTransfer(ids["in"])
    settle(loop)
    log.showLevel(0)
    settle(loop)
    assert log.depth == 2 and log.levels.rowCount() > 0


def transfer_outgoing(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    ids = seed_transfers(kiosk.core)
    find(kiosk, "tab_1").click()
    kiosk.app_model.transfers.showTransfer(ids["out"])  # type: ignore[attr-defined]
    settle(loop)


def transfer_details(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    transfer_drill_down(kiosk, loop)
    find(kiosk, "transfersDetails").click()
    settle(loop)
    assert find(kiosk, "transferDetailsDialog").property("visible")


def query_results(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    """The Query tab after a real query of our own node, a study tapped, its series shown."""
    serve_self_as_pacs(kiosk, loop)
    find(kiosk, "tab_2").click()
    qr = kiosk.app_model.queryRetrieve  # type: ignore[attr-defined]
    qr.query()
    settle(loop)
    assert qr.studies.count > 0
    qr.selectStudy(0)
    settle(loop)
    assert qr.series.count > 0


def query_options(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    find(kiosk, "tab_2").click()
    find(kiosk, "qrOptionsTab").click()
    settle(loop)


def node_editor(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    serve_self_as_pacs(kiosk, loop)
    find(kiosk, "tab_3").click()
    find(kiosk, "nodeEdit_PACS").click()
    settle(loop)
    assert find(kiosk, "nodeEditor").property("visible")


def node_editor_tls(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    """The node editor with TLS on: the CA, client certificate and key fields shown."""
    node_editor(kiosk, loop)
    find(kiosk, "nodeTls").setProperty("checked", True)
    settle(loop)
    assert find(kiosk, "nodeTlsCa").property("visible")


def settings_with_nodes(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    serve_self_as_pacs(kiosk, loop)
    find(kiosk, "tab_3").click()
    settle(loop)
    find(kiosk, "nodeTestButton_PACS").click()
    settle(loop)


STATES: dict[str, Callable[[Kiosk, asyncio.AbstractEventLoop], None]] = {
    "database": select_down_to_series,
    "database-images": image_level,
    "database-filters": show_filters,
    "send-dialog": open_popup("sendDialog"),
    "export-dialog": open_popup("exportDialog"),
    "import-dialog": open_popup("importDialog"),
    "confirm-dialog": open_popup("confirmDialog"),
    "viewer": show_viewer,
    "transfer-log": show_tab(1),
    "transfer-log-outgoing": transfer_outgoing,
    "transfer-log-drill-down": transfer_drill_down,
    "transfer-details": transfer_details,
    "send-queued-dialog": open_popup("sendQueuedDialog"),
    "query-retrieve": show_tab(2),
    "settings": show_tab(3),
    "query-results": query_results,
    "query-options": query_options,
    "settings-nodes": settings_with_nodes,
    "node-editor": node_editor,
    "node-editor-tls": node_editor_tls,
}


@pytest.mark.parametrize("state", list(STATES))
def test_touch_targets_at_1024x600(state: str, core: Core, loop: asyncio.AbstractEventLoop) -> None:
    seed(core)
    with open_kiosk(core, loop, (1024, 600)) as kiosk:
        try:
            STATES[state](kiosk, loop)
            problems = measured(kiosk.window(), loop)
        finally:
            stop_node(kiosk, loop)
    assert problems == []


def test_first_run_touch_targets(core: Core, loop: asyncio.AbstractEventLoop) -> None:
    with open_kiosk(core, loop, (1024, 600)) as kiosk:
        assert kiosk.app_model.empty  # type: ignore[attr-defined]
        assert measured(kiosk.window(), loop) == []


def test_audit_catches_a_small_button(core: Core, loop: asyncio.AbstractEventLoop) -> None:
    with open_kiosk(core, loop, (1024, 600)) as kiosk:
        button = find(kiosk, "firstRunDemo")
        button.setProperty("implicitHeight", 30)
        button.setHeight(30)
        settle(loop)
        assert any("Load demo data" in p for p in measured(kiosk.window(), loop))


def tap(window: QQuickWindow, item: QQuickItem, loop: asyncio.AbstractEventLoop) -> None:
    """A real touch tap (press and release of one finger) in the middle of ``item``.

    The events are sent from inside the running loop, as in the kiosk, where every Qt event
    is handled while the asyncio loop runs.
    """
    window.grabWindow()  # lay out and render first: positions are those on screen
    centre = item.mapToScene(QPointF(item.width() / 2, item.height() / 2)).toPoint()
    device = QTest.createTouchDevice()

    def press() -> None:
        QTest.touchEvent(window, device).press(0, centre, window).commit()

    def release() -> None:
        QTest.touchEvent(window, device).release(0, centre, window).commit()

    async def press_and_release() -> None:
        loop.call_soon(press)
        await asyncio.sleep(0.05)
        loop.call_soon(release)
        await asyncio.sleep(0.05)

    loop.run_until_complete(press_and_release())
    settle(loop)


def test_touch_tap_shows_filters_and_selects_a_row(
    core: Core, loop: asyncio.AbstractEventLoop
) -> None:
    seed(core)
    with open_kiosk(core, loop, (1024, 600)) as kiosk:
        window = kiosk.window()
        window.show()
        db = kiosk.app_model.database  # type: ignore[attr-defined]
        assert not db.filters.shown
        tap(window, find(kiosk, "filtersButton"), loop)
        assert db.filters.shown
        # Tapping a level's name hides it, tapping again shows it.
        assert db.patients.shown
        tap(window, find(kiosk, "levelToggle_patient"), loop)
        assert not db.patients.shown
        tap(window, find(kiosk, "levelToggle_patient"), loop)
        assert db.patients.shown
        # Tap a patient row: its studies come up (the cascade), through a TapHandler.
        row = next(
            item
            for item in _items(window.contentItem())
            if item.property("cells") is not None and item.property("cells")[1] == "J_7%"
        )
        tap(window, row, loop)
        run_until(loop, lambda: db.patients.currentKey != "")
        settle(loop)
        assert db.patients.current_row()["PatientID"] == "J_7%"
        assert [r["PatientID"] for r in db.studies.rows()] == ["J_7%"]


def _items(root: QQuickItem):  # type: ignore[no-untyped-def]
    yield root
    for child in root.childItems():
        yield from _items(child)


def test_viewer_preset_bar_shows_and_scrolls_to_more_presets(
    core: Core, loop: asyncio.AbstractEventLoop
) -> None:
    seed(core)
    with open_kiosk(core, loop, (1024, 600)) as kiosk:
        window = kiosk.window()
        window.show()
        model = kiosk.app_model
        db = model.database  # type: ignore[attr-defined]
        ct = [r["PatientID"] for r in db.patients.rows()].index("P-001")  # CT: many presets
        db.select("patient", ct)
        settle(loop)
        db.load()
        viewer = model.viewer  # type: ignore[attr-defined]
        run_until(loop, lambda: len(viewer.presets) > 4)
        window.grabWindow()
        bar = find(kiosk, "viewerPresets")
        assert bar.property("contentWidth") > bar.width()  # more presets than fit at 1024 px
        after, before = find(kiosk, "presetsAfter"), find(kiosk, "presetsBefore")
        assert after.isVisible() and not before.isVisible()
        tap(window, after, loop)
        assert bar.property("contentX") > 0
        assert before.isVisible()
        tap(window, before, loop)
        assert bar.property("contentX") == 0 and not before.isVisible()
