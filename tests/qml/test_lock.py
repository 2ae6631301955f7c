"""The lock screen and the PIN prompts in the real window (offscreen): they load without a QML
warning, the lock screen covers every view and dialog and hides the views, and every key of
their PIN pads is a touch target of at least 48x48 at 1024x600."""

from __future__ import annotations

import asyncio

from core.app import Core
from tests.qml.kiosk_window import captured_warnings, find, items, open_kiosk
from tests.qml.test_touch import measured
from tests.support.data import seed
from tests.support.qt import settle


def test_a_kiosk_with_a_pin_opens_behind_the_lock_screen(
    core: Core, loop: asyncio.AbstractEventLoop
) -> None:
    seed(core)
    assert core.lock.set_pin("2468").ok
    with captured_warnings() as warnings, open_kiosk(core, loop, (1024, 600)) as kiosk:
        lock = kiosk.app_model.lock  # type: ignore[attr-defined]
        assert lock.locked
        screen = find(kiosk, "lockScreen")
        assert screen.isVisible()
        assert not find(kiosk, "databaseView").isVisible()
        window = kiosk.window()
        # Nothing of a patient is on a visible item.
        shown = [i for i in items(window.contentItem()) if i.isVisible()]
        texts = " ".join(str(i.property("text") or "") for i in shown)
        assert "Patient" not in texts and "P-001" not in texts
        assert measured(window, loop) == []

        lock.unlock("2468")
        settle(loop)
        assert not lock.locked and not screen.isVisible()
        assert find(kiosk, "databaseView").isVisible()

        # The Settings tab is covered until the PIN is entered; its prompt fits a finger.
        find(kiosk, "tab_3").click()
        settle(loop)
        assert find(kiosk, "settingsLocked").isVisible()
        assert measured(window, loop) == []
        find(kiosk, "settingsUnlock").click()
        settle(loop)
        assert find(kiosk, "settingsPinDialog").property("visible")
        assert measured(window, loop) == []
        lock.authorize("2468", "settings")
        settle(loop)
        assert not find(kiosk, "settingsPinDialog").property("visible")
        assert not find(kiosk, "settingsLocked").isVisible()
        find(kiosk, "lockSetPin").click()
        settle(loop)
        assert find(kiosk, "pinSetupDialog").property("visible")
        assert measured(window, loop) == []

        # Locked while a dialog is open: the lock screen is above it.
        lock.lockNow()
        settle(loop)
        assert screen.isVisible()
        assert find(kiosk, "pinSetupDialog").property("visible")  # still open, under the lock
        # Drawn and hit first: the overlay's children are painted, and take presses, by z.
        cover = screen.parentItem()
        others = [i for i in cover.parentItem().childItems() if i is not cover and i.isVisible()]
        assert others and all(i.z() < cover.z() for i in others)
    assert warnings.messages == []


def test_the_first_run_screen_offers_a_pin(core: Core, loop: asyncio.AbstractEventLoop) -> None:
    with captured_warnings() as warnings, open_kiosk(core, loop, (1024, 600)) as kiosk:
        lock = kiosk.app_model.lock  # type: ignore[attr-defined]
        assert kiosk.app_model.empty and not lock.locked  # type: ignore[attr-defined]
        button = find(kiosk, "firstRunSetPin")
        assert button.isVisible()
        button.click()
        settle(loop)
        assert find(kiosk, "firstRunPinDialog").property("visible")
        assert measured(kiosk.window(), loop) == []
        lock.setPin("97531", "97531", "")
        settle(loop)
        assert lock.pinSet and not find(kiosk, "firstRunPinDialog").property("visible")
        assert not button.isVisible()
    assert warnings.messages == []
