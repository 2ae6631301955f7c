"""The lock view model: without a PIN nothing changes; with one, the kiosk opens locked, locks
after the idle time, unlocks with the right PIN (recorded in the audit trail), refuses wrong
ones with the wait shown, and protects the Settings tab."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QMouseEvent

from core.app import Core
from core.lock import FREE_ATTEMPTS
from tests.support.data import seed
from tests.support.dcmtk import StoreSCP, have_dcmtk
from tests.support.qt import run_until, settle
from tests.viewmodels.conftest import running_app
from viewmodels.app import AppModel


@pytest.fixture
def app(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> Iterator[tuple[Core, AppModel]]:
    with running_app(tmp_path / "kiosk", loop, fullscreen=True) as started:
        yield started


def summaries(core: Core) -> list[str]:
    return [entry.event.summary for entry in core.audit.trail.list(limit=20)]


def set_pin(model: AppModel, loop: asyncio.AbstractEventLoop, pin: str = "2468") -> None:
    model.lock.setPin(pin, pin, "")
    settle(loop)
    assert model.lock.pinSet, model.lock.error


class TestWithoutPin:
    def test_nothing_is_locked_or_protected(self, app: tuple[Core, AppModel]) -> None:
        _core, model = app
        lock = model.lock
        assert not lock.pinSet and not lock.locked and lock.settingsOpen
        lock.lockNow()
        assert not lock.locked
        assert not lock._idle.isActive()


class TestWithPin:
    def test_setting_a_pin_is_recorded_and_keeps_settings_open(
        self, app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
    ) -> None:
        core, model = app
        set_pin(model, loop)
        assert model.lock.settingsOpen and not model.lock.locked
        assert "settings changed: kiosk PIN" in summaries(core)
        model.lock.closeSettings()
        assert not model.lock.settingsOpen

    def test_two_different_pins_are_refused(
        self, app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
    ) -> None:
        _core, model = app
        model.lock.setPin("1234", "1243", "")
        settle(loop)
        assert not model.lock.pinSet
        assert model.lock.error == "The two PINs differ. Enter the new PIN again."
        model.lock.setPin("12", "12", "")
        settle(loop)
        assert model.lock.error == "A PIN is 4 to 12 digits."

    def test_idle_time_locks_and_a_press_postpones_it(
        self, app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
    ) -> None:
        core, model = app
        lock = model.lock
        set_pin(model, loop)
        lock.setIdleSeconds(1)
        settle(loop)
        assert core.settings.lock_idle_seconds == 1 and lock.idleSeconds == 1
        assert "settings changed: lock_idle_seconds" in summaries(core)
        window = QObject()
        lock.watch(window)
        remaining = lock._idle.remainingTime()
        run_until(loop, lambda: lock._idle.remainingTime() < remaining - 200)
        before = lock._idle.remainingTime()
        press = QMouseEvent(
            QEvent.Type.MouseButtonPress, QPointF(1, 1), QPointF(1, 1),
            Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
        )  # fmt: skip
        lock.eventFilter(window, press)
        # Started again: the full interval is left (a coarse timer's remaining time may be off
        # by 5% of it either way, so it is compared with what was left just before the press).
        assert lock._idle.remainingTime() > before + 100
        run_until(loop, lambda: lock.locked, timeout=5)
        assert not lock.settingsOpen

    def test_wrong_pins_are_refused_with_a_wait_and_the_right_one_unlocks(
        self, app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
    ) -> None:
        core, model = app
        lock = model.lock
        set_pin(model, loop)
        lock.lockNow()
        assert lock.locked
        lock.unlock("1111")
        settle(loop)
        assert lock.locked and lock.error == f"Wrong PIN. {FREE_ATTEMPTS - 1} more before a wait."
        for _ in range(FREE_ATTEMPTS - 1):
            lock.unlock("1111")
            settle(loop)
        assert lock.retryIn == 10 and lock.error == "Too many wrong PINs. Try again in 10 s."
        lock.unlock("2468")  # refused unchecked while the wait runs
        settle(loop)
        assert lock.locked and lock.error.startswith("Too many wrong PINs. Try again in ")
        # The wait ends (the clock moved on): the countdown says so, and the PIN works.
        state = core.lock._state
        state["blocked_until"] = 0.0
        lock._count_down()
        assert lock.retryIn == 0 and lock.error == "Enter the PIN again."
        lock.unlock("2468")
        settle(loop)
        assert not lock.locked and lock.error == ""
        assert "kiosk unlocked" in summaries(core)
        # Every wrong PIN checked is a failed Login in the trail; the one refused unchecked
        # during the wait is not.
        refused = [
            e for e in core.audit.trail.list(limit=50) if e.event.summary.startswith("wrong")
        ]
        assert [e.event.summary for e in refused] == ["wrong PIN (lock screen)"] * FREE_ATTEMPTS
        assert {(e.event.outcome, e.event.types[0].text) for e in refused} == {(4, "Login")}

    def test_a_prompt_goes_on_only_with_the_right_pin(
        self, app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
    ) -> None:
        core, model = app
        lock = model.lock
        set_pin(model, loop)
        lock.closeSettings()
        seen: list[str] = []
        lock.authorized.connect(seen.append)
        lock.authorize("0000", "settings")
        settle(loop)
        assert seen == [] and not lock.settingsOpen
        assert "wrong PIN (Settings prompt)" in summaries(core)
        lock.authorize("0000", "action:Delete")  # a protected action's prompt, by its title
        settle(loop)
        assert "wrong PIN (Delete prompt)" in summaries(core)
        lock.authorize("2468", "settings")
        settle(loop)
        assert seen == ["settings"] and lock.settingsOpen

    def test_leaving_kiosk_mode_is_recorded(
        self, app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
    ) -> None:
        core, model = app
        model.leaveKioskMode()
        settle(loop)
        assert not model.fullscreen
        assert "kiosk left" in summaries(core)

    def test_a_restarted_kiosk_with_a_pin_opens_locked(
        self, tmp_path: Path, loop: asyncio.AbstractEventLoop
    ) -> None:
        with running_app(tmp_path / "kiosk", loop, fullscreen=True) as (_core, model):
            set_pin(model, loop)
        with running_app(tmp_path / "kiosk", loop, fullscreen=True) as (_core, model):
            assert model.lock.pinSet and model.lock.locked and not model.lock.settingsOpen
            model.lock.clearPin("2468")
            settle(loop)
            assert not model.lock.pinSet and not model.lock.locked


@pytest.mark.skipif(not have_dcmtk(), reason="DCMTK is not installed")
def test_the_queue_keeps_sending_while_locked(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    core, model = app
    seed(core)
    set_pin(model, loop)
    model.lock.lockNow()
    assert model.lock.locked
    with StoreSCP(tmp_path / "scp") as scp:
        core.registry.add("scp", scp.ae_title, "127.0.0.1", scp.port)
        loop.run_until_complete(core.start(node=False))
        try:
            core.send([("patient", "P-002")], "scp")  # two MR series of two images
            run_until(loop, lambda: scp.count() == 4, timeout=30)
        finally:
            loop.run_until_complete(core.stop())
    assert model.lock.locked
