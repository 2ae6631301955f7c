"""The slot decorator every view model uses: failures reported, busy reset, cancellation passed on,
and the slot still what Qt (and QML) see under its own name and signature."""

from __future__ import annotations

import asyncio
import logging

import pytest
from PySide6.QtCore import Q_ARG, QMetaObject, QObject, Qt, QUrl, Signal, Slot
from PySide6.QtQml import QQmlComponent, QQmlEngine
from qasync import asyncSlot

from tests.support.qt import run_until, settle
from viewmodels.app import AppModel
from viewmodels.base import guarded
from viewmodels.levels import LevelModel
from viewmodels.settings import SettingsModel
from viewmodels.transfers import TransferLogModel
from viewmodels.viewer import ViewerModel


class Model(QObject):
    """A view model in miniature: an error signal, a busy flag, guarded slots."""

    errorOccurred = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []
        self.errorOccurred.connect(self.errors.append)
        self.busy_calls: list[object] = []
        self.counted: list[int] = []
        self.inline: list[str] = []
        self.started = asyncio.Event()

    def _set_busy(self, busy: bool) -> None:
        self.busy_calls.append(busy)

    @asyncSlot(str)
    @guarded("Could not frobnicate {name}", busy=True)
    async def frobnicate(self, name: str) -> None:
        await asyncio.sleep(0)
        raise RuntimeError(f"no such thing as {name}")

    @asyncSlot()
    @guarded("Could not wait", busy=True)
    async def waitForever(self) -> None:
        self.started.set()
        await asyncio.Event().wait()

    @guarded("Could not add")
    async def add(self, a: int, b: int = 2) -> int:
        return a + b

    @Slot(int)
    @guarded("Could not count")
    def count(self, n: int) -> None:
        if n < 0:
            raise ValueError("negative")
        self.counted.append(n)

    def _show_inline(self, text: str) -> None:
        self.inline.append(text)

    @asyncSlot()
    @guarded("Could not save", report=_show_inline)
    async def save(self) -> None:
        raise OSError("disk full")

    @guarded(None)
    async def background(self) -> None:
        raise RuntimeError("lost")


class TestFailures:
    def test_the_message_names_the_arguments_and_the_exception(
        self, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
    ) -> None:
        model = Model()
        with caplog.at_level(logging.DEBUG):
            task = model.frobnicate("PATIENT^SECRET")
            loop.run_until_complete(task)
        assert model.errors == [
            "Could not frobnicate PATIENT^SECRET: no such thing as PATIENT^SECRET"
        ]
        [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert record.name == __name__  # the logger of the slot's module
        assert record.exc_info is not None and record.exc_info[0] is RuntimeError
        assert record.getMessage() == "Model.frobnicate failed"  # the arguments stay out

    def test_the_busy_flag_is_reset_after_a_failure(self, loop: asyncio.AbstractEventLoop) -> None:
        model = Model()
        model.errorOccurred.connect(lambda _text: model.busy_calls.append("error"))
        loop.run_until_complete(model.frobnicate("x"))
        assert model.busy_calls == [True, "error", False]  # reported first, then not busy

    def test_a_sync_slot_reports_too(self, loop: asyncio.AbstractEventLoop) -> None:
        model = Model()
        assert model.count(-1) is None
        model.count(3)
        assert model.errors == ["Could not count: negative"] and model.counted == [3]

    def test_report_replaces_the_error_signal(self, loop: asyncio.AbstractEventLoop) -> None:
        model = Model()
        loop.run_until_complete(model.save())
        assert model.inline == ["Could not save: disk full"] and model.errors == []

    def test_no_message_only_logs(
        self, loop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
    ) -> None:
        model = Model()
        loop.run_until_complete(model.background())
        assert model.errors == []
        assert [r.getMessage() for r in caplog.records] == ["Model.background failed"]

    def test_success_returns_the_result(self, loop: asyncio.AbstractEventLoop) -> None:
        model = Model()
        assert loop.run_until_complete(model.add(1)) == 3
        assert loop.run_until_complete(model.add(1, b=5)) == 6
        assert model.errors == []


class TestCancellation:
    def test_a_cancelled_slot_is_cancelled_not_failed(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        model = Model()
        task = model.waitForever()
        loop.run_until_complete(model.started.wait())
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            loop.run_until_complete(task)
        assert task.cancelled()
        assert model.errors == []
        assert model.busy_calls == [True, False]

    def test_cancelled_error_reaches_the_awaiting_caller(
        self, loop: asyncio.AbstractEventLoop
    ) -> None:
        model = Model()

        async def caller() -> None:
            inner = asyncio.ensure_future(model.waitForever.__wrapped__(model))
            await model.started.wait()
            inner.cancel()
            await inner

        with pytest.raises(asyncio.CancelledError):
            loop.run_until_complete(caller())
        assert model.errors == []


class TestQt:
    def test_the_slots_keep_their_names_and_signatures(self) -> None:
        meta: QMetaObject = Model.staticMetaObject  # type: ignore[attr-defined]
        for signature in ("frobnicate(QString)", "waitForever()", "save()", "count(int)"):
            index = meta.indexOfMethod(signature)
            assert index >= 0, signature
            assert bytes(meta.method(index).name().data()) == signature.split("(")[0].encode()

    def test_the_view_models_slots_are_in_their_meta_objects(self) -> None:
        for cls, signature in [
            (AppModel, "setTheme(QString)"),
            (LevelModel, "sortBy(QString)"),
            (SettingsModel, f"saveNode({','.join(['QString'] * 6)},QVariantList,QVariantMap)"),
            (SettingsModel, "testNode(QString)"),
            (TransferLogModel, "showTransfer(int)"),
            (ViewerModel, "adjustWindow(double,double)"),
        ]:
            meta: QMetaObject = cls.staticMetaObject  # type: ignore[attr-defined]
            assert meta.indexOfMethod(signature) >= 0, (cls.__name__, signature)

    def test_invoked_through_the_meta_object(self, loop: asyncio.AbstractEventLoop) -> None:
        model = Model()
        QMetaObject.invokeMethod(model, "count", Qt.ConnectionType.DirectConnection, Q_ARG(int, 7))
        QMetaObject.invokeMethod(
            model, "frobnicate", Qt.ConnectionType.DirectConnection, Q_ARG(str, "meta")
        )
        settle(loop)
        assert model.counted == [7]
        assert model.errors == ["Could not frobnicate meta: no such thing as meta"]

    def test_called_from_qml(self, loop: asyncio.AbstractEventLoop) -> None:
        model = Model()
        engine = QQmlEngine()
        component = QQmlComponent(engine)
        component.setData(
            b"import QtQml\n"
            b"QtObject {\n"
            b"    required property QtObject target\n"
            b"    Component.onCompleted: { target.count(11); target.frobnicate('qml') }\n"
            b"}\n",
            QUrl("inline.qml"),
        )
        obj = component.createWithInitialProperties({"target": model})
        assert obj is not None, component.errorString()
        run_until(loop, lambda: model.errors)
        assert model.counted == [11]
        assert model.errors == ["Could not frobnicate qml: no such thing as qml"]
        assert model.busy_calls == [True, False]


class TestDefinition:
    def test_a_message_naming_no_argument_is_refused(self) -> None:
        with pytest.raises(TypeError, match="names no argument"):

            @guarded("Could not open {path}")
            async def open_folder(self: object, folder: str) -> None: ...

    def test_guarded_over_async_slot_is_refused(self) -> None:
        with pytest.raises(TypeError, match="under @asyncSlot"):

            class Wrong(QObject):
                @guarded("Could not refresh")
                @asyncSlot()
                async def refresh(self) -> None: ...
