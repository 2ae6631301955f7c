"""The kiosk lock in the window: the lock screen, the PIN prompts, the idle timer.

With a PIN set (``core.lock``): the kiosk starts locked, locks again after
``lock_idle_seconds`` without a press, touch, wheel or key in the window, and the Settings
tab, Delete, Clear and leaving kiosk mode ask for the PIN. The lock hides the window; the
node, the intake and the send worker never hear of it, so receiving and sending go on.
Without a PIN nothing here does anything: no timer runs, every prompt passes.

Every PIN is checked in a thread (scrypt, and the wrong-PIN count is written to disk). An
unlock and leaving kiosk mode are recorded in the audit trail (User Authentication, Login and
Logout).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Property, QEvent, QObject, QTimer, Signal, Slot
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.errors import ConfigError
from core.lock import Attempt
from viewmodels.base import guarded
from viewmodels.settings import SettingsStore

if TYPE_CHECKING:
    from core.app import Core

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

# What the Settings tab offers for the idle time (seconds; 0: never). Another value (the
# config file, DICOM_KIOSK_LOCK_IDLE_SECONDS) is shown beside them as it is.
IDLE_CHOICES = (0, 60, 300, 900, 1800)
MAX_IDLE_SECONDS = (1 << 31) // 1000 - 1  # a QTimer's longest interval
ACTIVITY = frozenset(
    {
        QEvent.Type.MouseButtonPress,
        QEvent.Type.TouchBegin,
        QEvent.Type.KeyPress,
        QEvent.Type.Wheel,
    }
)


def idle_text(seconds: int) -> str:
    if seconds == 0:
        return "Never"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _prompt_name(purpose: str) -> str:
    """The audit trail's name for a PIN prompt: "Settings prompt", or the title of the action
    it protects ("Delete prompt"; such a purpose reads ``action:<title>``)."""
    kind, _, title = purpose.partition(":")
    return f"{title if kind == 'action' and title else purpose.capitalize()} prompt"


@QmlElement
@QmlUncreatable("The application model makes the lock model.")
class LockModel(QObject):  # type: ignore[operator]
    stateChanged = Signal()
    errorChanged = Signal()
    idleChanged = Signal()
    # A PIN prompt's PIN was right: the prompt named ``purpose`` may go on.
    authorized = Signal(str)
    pinSaved = Signal()
    errorOccurred = Signal(str)
    message = Signal(str)

    def __init__(self, core: Core, store: SettingsStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._lock = core.lock
        self._store = store
        self._pin_set = self._lock.has_pin
        self._locked = self._pin_set  # a kiosk restarted with a PIN opens locked
        self._settings_open = False
        self._error = ""
        self._waiting = False  # the error is a wait that counts down
        self._retry_in = self._lock.retry_in()
        self._busy = False
        self._checks = 0
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self._idle_timeout)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._count_down)
        self._watched: QObject | None = None
        if self._retry_in:
            self._start_wait()
        self._arm()

    # -- properties ---------------------------------------------------------------------------
    @Property(bool, notify=stateChanged, final=True)
    def pinSet(self) -> bool:
        return self._pin_set

    @Property(bool, notify=stateChanged, final=True)
    def locked(self) -> bool:
        return self._locked

    @Property(bool, notify=stateChanged, final=True)
    def settingsOpen(self) -> bool:
        """The Settings tab may be changed: no PIN, or it was entered since the tab was shown."""
        return not self._pin_set or self._settings_open

    @Property(bool, notify=stateChanged, final=True)
    def busy(self) -> bool:
        return self._busy

    @Property(str, notify=errorChanged, final=True)
    def error(self) -> str:
        """Why the last PIN was refused, with the wait counting down; empty after a right one."""
        if self._waiting and self._retry_in:
            return f"Too many wrong PINs. Try again in {self._retry_in} s."
        return self._error

    @Property(int, notify=errorChanged, final=True)
    def retryIn(self) -> int:
        return self._retry_in

    @Property(int, notify=errorChanged, final=True)
    def checks(self) -> int:
        """How many PINs were answered (right, wrong or refused unchecked) since the start."""
        return self._checks

    @Property(int, notify=idleChanged, final=True)
    def idleSeconds(self) -> int:
        return self._core.settings.lock_idle_seconds

    @Property(list, notify=idleChanged, final=True)
    def idleChoices(self) -> list[dict[str, object]]:
        seconds = self._core.settings.lock_idle_seconds
        choices = list(IDLE_CHOICES)
        if seconds not in choices:
            choices.append(seconds)
        return [{"seconds": s, "text": idle_text(s)} for s in sorted(choices)]

    @Property(str, notify=stateChanged, final=True)
    def statusText(self) -> str:
        if not self._pin_set:
            return "No PIN: the kiosk never locks, and anyone can change settings or delete."
        seconds = self._core.settings.lock_idle_seconds
        when = (
            f"after {idle_text(seconds)} without a touch" if seconds else "only when Lock is tapped"
        )
        return (
            f"PIN set: the screen locks {when}. Settings, Delete, Clear and leaving kiosk"
            " mode ask for the PIN."
        )

    # -- state --------------------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.stateChanged.emit()

    def _set_error(self, text: str) -> None:
        self._error = text
        self.errorChanged.emit()

    def _arm(self) -> None:
        """Run the idle timer when it can lock (a PIN, an idle time, not locked yet)."""
        seconds = self._core.settings.lock_idle_seconds
        if self._pin_set and seconds and not self._locked:
            self._idle.start(min(seconds, MAX_IDLE_SECONDS) * 1000)
        else:
            self._idle.stop()

    def _idle_timeout(self) -> None:
        log.info("locked after %d s without input", self._core.settings.lock_idle_seconds)
        self._lock_window()

    def _lock_window(self) -> None:
        if not self._pin_set or self._locked:
            return
        self._locked = True
        self._settings_open = False
        self._set_error("")
        self._arm()
        self.stateChanged.emit()

    def _start_wait(self) -> None:
        self._waiting = True
        self._tick.start()

    def _count_down(self) -> None:
        self._retry_in = self._lock.retry_in()
        if not self._retry_in:
            self._tick.stop()
            self._waiting = False
            self._error = "Enter the PIN again."
        self.errorChanged.emit()

    def _refused(self, attempt: Attempt) -> None:
        self._retry_in = attempt.retry_in
        if attempt.retry_in:
            self._start_wait()
        self._set_error(attempt.message)

    async def _check(self, pin: str, purpose: str) -> bool:
        """Whether ``pin`` is right; a wrong one checked is recorded in the audit trail (one
        refused unchecked, while a wait runs, is not: nothing was compared)."""
        self._set_busy(True)
        try:
            attempt = await asyncio.to_thread(self._lock.check, pin)
        finally:
            self._set_busy(False)
        self._checks += 1
        if not attempt.ok:
            self._refused(attempt)
            if attempt.checked:
                await asyncio.to_thread(self._core.audit.pin_refused, purpose)
            return False
        self._waiting = False
        self._retry_in = 0
        self._tick.stop()
        self._set_error("")
        return True

    # -- input --------------------------------------------------------------------------------
    @Slot(QObject)
    def watch(self, window: QObject) -> None:
        """Restart the idle timer on every press, touch, wheel and key the window receives."""
        if self._watched is not None:
            self._watched.removeEventFilter(self)
        self._watched = window
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in ACTIVITY and self._idle.isActive():
            self._idle.start()  # the same interval, from now
        return False  # every event goes on to the window unchanged

    # -- slots --------------------------------------------------------------------------------
    @Slot()
    def lockNow(self) -> None:
        self._lock_window()

    @Slot()
    def clearError(self) -> None:
        if self._error and not self._waiting:
            self._set_error("")

    @asyncSlot(str)
    @guarded("Could not check the PIN")
    async def unlock(self, pin: str) -> None:
        """The lock screen's PIN: right, the window shows again (and the trail records it)."""
        if not self._locked or not await self._check(pin, "lock screen"):
            return
        self._locked = False
        self._arm()
        self.stateChanged.emit()
        await asyncio.to_thread(self._core.audit.kiosk_access, True)

    @asyncSlot(str, str)
    @guarded("Could not check the PIN")
    async def authorize(self, pin: str, purpose: str) -> None:
        """A PIN prompt's PIN (``purpose`` names the prompt); ``settings`` opens the tab."""
        if not await self._check(pin, _prompt_name(purpose)):
            return
        if purpose == "settings" and not self._settings_open:
            self._settings_open = True
            self.stateChanged.emit()
        self.authorized.emit(purpose)

    @Slot()
    def closeSettings(self) -> None:
        """The Settings tab was left: it asks for the PIN again next time."""
        if self._settings_open:
            self._settings_open = False
            self.stateChanged.emit()

    @asyncSlot(str, str, str)
    @guarded("Could not save the PIN")
    async def setPin(self, new: str, repeated: str, current: str) -> None:
        """Set or change the PIN (``current``: the one set now, if any)."""
        if new != repeated:
            self._set_error("The two PINs differ. Enter the new PIN again.")
            return
        try:
            self._set_busy(True)
            try:
                attempt = await asyncio.to_thread(self._lock.set_pin, new, current)
            finally:
                self._set_busy(False)
        except ConfigError as exc:
            self._set_error(str(exc)[:1].upper() + str(exc)[1:] + ".")
            return
        if not attempt.ok:
            self._refused(attempt)
            return
        changed = self._pin_set
        self._pin_set = True
        self._settings_open = True  # who just set it is in the Settings tab
        self._set_error("")
        self._arm()
        self.stateChanged.emit()
        self.pinSaved.emit()
        await asyncio.to_thread(self._core.audit.settings_changed, ["kiosk PIN"])
        self.message.emit("PIN changed." if changed else "PIN set: the kiosk can lock now.")

    @asyncSlot(str)
    @guarded("Could not remove the PIN")
    async def clearPin(self, current: str) -> None:
        self._set_busy(True)
        try:
            attempt = await asyncio.to_thread(self._lock.clear_pin, current)
        finally:
            self._set_busy(False)
        if not attempt.ok:
            self._refused(attempt)
            return
        self._pin_set = False
        self._settings_open = False
        self._locked = False
        self._set_error("")
        self._arm()
        self.stateChanged.emit()
        self.pinSaved.emit()
        await asyncio.to_thread(self._core.audit.settings_changed, ["kiosk PIN"])
        self.message.emit("PIN removed: the kiosk no longer locks.")

    @asyncSlot(int)
    @guarded("Could not save the lock time")
    async def setIdleSeconds(self, seconds: int) -> None:
        if seconds == self._core.settings.lock_idle_seconds:
            return
        await self._store.save(lock_idle_seconds=seconds)
        self._arm()
        self.idleChanged.emit()
        self.stateChanged.emit()

    def kiosk_left(self) -> None:
        """Kiosk mode was left: recorded (off the GUI thread)."""
        task = asyncio.ensure_future(asyncio.to_thread(self._core.audit.kiosk_access, False))
        task.add_done_callback(_log_failure)

    def stop(self) -> None:
        self._idle.stop()
        self._tick.stop()
        if self._watched is not None:
            self._watched.removeEventFilter(self)
            self._watched = None


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("could not record leaving kiosk mode: %s", task.exception())
