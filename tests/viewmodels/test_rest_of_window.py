"""What the window makes after its first frame: ``AppModel.ready`` tells it when, once; the
Transfer Log's model is made then (or when first asked for), not with the application model."""

from __future__ import annotations

import asyncio

from core.app import Core
from tests.support.qt import settle
from viewmodels.app import AppModel
from viewmodels.images import FrameProvider
from viewmodels.transfers import TransferLogModel


def test_ready_comes_once_and_brings_the_transfer_log(core: Core) -> None:
    model = AppModel(core, FrameProvider())
    try:
        told: list[bool] = []
        model.readyChanged.connect(lambda: told.append(bool(model.ready)))
        assert not model.ready and model._transfers is None  # not made yet
        model.show_rest()
        model.show_rest()
        assert told == [True]
        assert isinstance(model._transfers, TransferLogModel)
        assert model.transfers is model._transfers  # the same one, kept
    finally:
        model.stop()


def test_the_window_can_ask_for_the_rest_sooner(core: Core) -> None:
    """A tab or a dialog tapped before the kiosk made the rest: QML's ``showRest`` makes it."""
    model = AppModel(core, FrameProvider())
    try:
        meta = model.metaObject()
        assert meta.indexOfSlot("showRest()") >= 0
        model.showRest()
        assert model.ready and model._transfers is not None
    finally:
        model.stop()


def test_the_transfer_log_is_made_when_first_asked_for(core: Core) -> None:
    model = AppModel(core, FrameProvider())
    try:
        log = model.transfer_log()
        assert model.transfers is log and not model.ready
        shown: list[str] = []
        model.errorOccurred.connect(shown.append)
        log.errorOccurred.emit("Could not resend")  # its errors reach the toast
        assert shown == ["Could not resend"]
    finally:
        model.stop()


def test_a_started_model_is_ready(core: Core, loop: asyncio.AbstractEventLoop) -> None:
    """``start`` (the screenshots, the tests' windows) makes the rest too: what the kiosk does
    after its first frame."""
    model = AppModel(core, FrameProvider())
    try:
        loop.run_until_complete(model.start_first_page())
        assert not model.ready
        loop.run_until_complete(model.finish_start())
        assert model.ready
        settle(loop)
    finally:
        model.stop()
