"""Qt must be prepared (software Qt Quick, style) before pytest-qt makes the QApplication.

Also what the view-model tests share: a started ``AppModel`` on a fresh Core (``running_app``,
the ``app`` fixture), the Transfer Log tab's model (``log``) and a DCMTK storescp (``storescp``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from viewmodels.kiosk import prepare_qt

prepare_qt(virtual_keyboard=False, software=True)

from core.app import Core  # noqa: E402
from core.config import load_settings  # noqa: E402
from tests.support.dcmtk import StoreSCP  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.qt import _session_loop, loop, qt_prepared, settle  # noqa: E402, F401  (fixtures)
from viewmodels.app import AppModel  # noqa: E402
from viewmodels.images import FrameProvider  # noqa: E402
from viewmodels.transfers import TransferLogModel  # noqa: E402


@contextmanager
def running_app(
    data_dir: Path,
    loop: asyncio.AbstractEventLoop,  # noqa: F811 - the fixture's loop
    *,
    fullscreen: bool = False,
    stop_node: bool = False,
    **settings: Any,
) -> Iterator[tuple[Core, AppModel]]:
    """A Core in ``data_dir`` (fsync off, its node on a free loopback port, ``settings`` on top)
    and its ``AppModel``, started; once every pending task has finished, stopped (with
    ``stop_node``, the node first, with a 2 s grace) and closed."""
    defaults = {"fsync": False, "port": free_port(), "bind": "127.0.0.1"}
    core = Core(load_settings(data_dir, {**defaults, **settings}))
    core.open()
    model = AppModel(core, FrameProvider(), fullscreen=fullscreen)
    loop.run_until_complete(model.start())
    try:
        yield core, model
    finally:
        settle(loop)
        if stop_node:
            loop.run_until_complete(model.node.stop(grace=2.0))
        model.stop()
        core.close()


@pytest.fixture
def app(
    tmp_path: Path,
    loop: asyncio.AbstractEventLoop,  # noqa: F811 - the fixture
) -> Iterator[tuple[Core, AppModel]]:
    """``running_app`` in ``tmp_path / "kiosk"``."""
    with running_app(tmp_path / "kiosk", loop) as started:
        yield started


@pytest.fixture
def log(
    core: Core,
    loop: asyncio.AbstractEventLoop,  # noqa: F811 - the fixture
) -> Iterator[TransferLogModel]:
    """The Transfer Log tab's model on the ``core`` fixture, started."""
    model = TransferLogModel(core)
    loop.run_until_complete(model.start())
    try:
        yield model
    finally:
        model.stop()


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[StoreSCP]:
    """DCMTK storescp (AE title DEST, any transfer syntax) writing to ``tmp_path/"received"``."""
    server = StoreSCP(tmp_path / "received", "+xa", ae_title="DEST").start()
    try:
        yield server
    finally:
        server.stop()
