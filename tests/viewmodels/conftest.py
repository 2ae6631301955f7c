"""Qt must be prepared (software Qt Quick, style) before pytest-qt makes the QApplication."""

from viewmodels.kiosk import prepare_qt

prepare_qt(virtual_keyboard=False, software=True)

from tests.support.qt import _session_loop, loop, qt_prepared  # noqa: E402, F401  (fixtures)
