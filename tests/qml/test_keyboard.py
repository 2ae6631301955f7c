"""The on-screen keyboard comes up when a text field gets focus, above dialogs.

Qt picks its input method when the application starts, so this runs in a fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import asyncio, json, sys, tempfile
import qasync
from PySide6.QtGui import QGuiApplication
from core.app import Core
from core.config import load_settings
from viewmodels.kiosk import build_kiosk, prepare_qt
from tests.qml.kiosk_window import captured_warnings, find, items

prepare_qt(virtual_keyboard=sys.argv[1] == "on", software=True)  # as run() does
app = QGuiApplication(sys.argv[:1])
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
on = sys.argv[1] == "on"
core = Core(load_settings(tempfile.mkdtemp(), {"fsync": False, "virtual_keyboard": on}))
core.open()
result = {}
with captured_warnings() as warnings:
    kiosk = build_kiosk(core)
    window = kiosk.window()
    window.resize(1024, 600)
    window.show()

    async def focus_a_field():
        await kiosk.app_model.start()
        dialog = find(kiosk, "exportDialog")
        dialog.open()
        await asyncio.sleep(0.3)
        find(kiosk, "exportFolder").forceActiveFocus()
        for _ in range(100):
            if app.inputMethod().isVisible():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        result["visible"] = app.inputMethod().isVisible()
        panels = [
            i for i in items(window.contentItem()) if "KeyboardPanel" in i.metaObject().className()
        ]
        result["panel_top"] = panels[0].y() if panels else None
        result["dialog_bottom"] = dialog.property("y") + dialog.property("height")

    loop.run_until_complete(focus_a_field())
    kiosk.close()
result["warnings"] = warnings.messages
print("RESULT " + json.dumps(result))
"""


FIELDS_SCRIPT = r"""
import asyncio, json, sys, tempfile
import qasync
from PySide6.QtCore import QPointF
from PySide6.QtGui import QGuiApplication
from core.app import Core
from core.config import load_settings
from viewmodels.kiosk import build_kiosk, prepare_qt
from tests.qml.kiosk_window import find, items

prepare_qt(virtual_keyboard=True, software=True)
app = QGuiApplication(sys.argv[:1])
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
core = Core(load_settings(tempfile.mkdtemp(), {"fsync": False, "virtual_keyboard": True}))
core.open()
kiosk = build_kiosk(core)
window = kiosk.window()
window.resize(1024, 600)
window.show()
result = {}

async def focus(name):
    field = find(kiosk, name)
    field.forceActiveFocus()
    for _ in range(100):
        if app.inputMethod().isVisible():
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    keyboard = next(i for i in items(window.contentItem()) if i.objectName() == "keyboard")
    result[name] = [
        field.mapToScene(QPointF(0, field.height())).y(),
        keyboard.mapToScene(QPointF(0, 0)).y(),
    ]

async def main():
    await kiosk.app_model.start()
    find(kiosk, "tab_3").click()
    for name in ("localAe", "localPort", "localBind"):
        await focus(name)
    find(kiosk, "nodeAdd").click()
    await asyncio.sleep(0.5)
    for name in ("nodeName", "nodeAe", "nodeHost", "nodePort"):
        await focus(name)

loop.run_until_complete(main())
kiosk.close()
print("RESULT " + json.dumps(result))
"""


def run_kiosk(keyboard: str, tmp_path: Path, script: str = SCRIPT) -> dict[str, object]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(tmp_path))
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script, keyboard],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=root,
        env=env,
        check=False,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-2000:]
    return dict(json.loads(line.removeprefix("RESULT ")))


def test_focus_opens_the_keyboard_above_a_dialog(tmp_path: Path) -> None:
    result = run_kiosk("on", tmp_path)
    assert result["visible"] is True
    assert result["warnings"] == []
    panel_top = result["panel_top"]
    assert isinstance(panel_top, float) and panel_top < 600
    # The dialog moved up out of the keyboard's way (its field stays visible).
    assert float(result["dialog_bottom"]) <= 600  # type: ignore[arg-type]


def test_keyboard_off_for_consoles(tmp_path: Path) -> None:
    result = run_kiosk("off", tmp_path)
    assert result["visible"] is False
    assert result["panel_top"] is None


def test_settings_fields_stay_above_the_keyboard(tmp_path: Path) -> None:
    """Each text field of the Settings tab and the node editor, once focused, is above the
    on-screen keyboard at 1024x600 (the tab scrolls, the dialog moves up)."""
    result = run_kiosk("on", tmp_path, FIELDS_SCRIPT)
    assert len(result) == 7
    for name, (field_bottom, keyboard_top) in result.items():  # type: ignore[misc]
        assert keyboard_top < 600, name
        assert field_bottom <= keyboard_top, name
