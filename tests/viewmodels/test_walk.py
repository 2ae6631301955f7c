"""The walk of one received C-STORE, from the socket to the Database tab (ARCHITECTURE.md).

A scanner (DCMTK storescu) sends one image to a running node while the Database tab's view
models are live; every call into our own modules, on every thread, is recorded until the
new patient is on the tab. The walk must go forward: no association calls back into the
``DicomNode`` that started it, and it crosses no more modules than ARCHITECTURE.md shows.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from core.app import Core
from core.config import load_settings
from core.node.server import DicomNode
from tests.support.data import make_dataset, write
from tests.support.dcmtk import dcmtk, dcmtk_env
from tests.support.qt import run_until, settle
from viewmodels.app import AppModel
from viewmodels.images import FrameProvider

ROOT = Path(__file__).resolve().parents[2]
OURS = (str(ROOT / "core") + "/", str(ROOT / "viewmodels") + "/")
# The modules of the walk as ARCHITECTURE.md lists them (socket to Database tab).
WALK_MODULES = 24


class Recorder:
    """Calls into our modules, on every thread, while ``on``: (thread, module, class, name)."""

    def __init__(self) -> None:
        self.on = False
        self.calls: list[tuple[str, str, str, str]] = []

    def __call__(self, frame: FrameType, event: str, _arg: Any) -> None:
        if not self.on or event != "call":
            return
        path = frame.f_code.co_filename
        if not path.startswith(OURS):
            return
        owner = frame.f_locals.get("self")
        self.calls.append(
            (
                threading.current_thread().name,
                str(Path(path).relative_to(ROOT)),
                type(owner).__name__ if owner is not None else "",
                frame.f_code.co_name,
            )
        )

    def modules(self) -> list[str]:
        return list(dict.fromkeys(module for _t, module, _c, _n in self.calls))

    def visits(self, cls: str) -> int:
        """Separate visits of the walk to objects of class ``cls`` (per thread)."""
        count, last = 0, {}
        for thread, _m, owner, _n in self.calls:
            if owner == cls and last.get(thread) != cls:
                count += 1
            last[thread] = owner
        return count


@pytest.fixture
def recorder(loop: asyncio.AbstractEventLoop) -> Iterator[Recorder]:
    """Installed before the core starts, so threads started by it are recorded too; the
    loop's executor made of Python threads (qasync's QThreads would not be recorded)."""
    record = Recorder()
    attribute = "_QEventLoop__default_executor"  # qasync has no getter for it
    before = getattr(loop, attribute, None)
    executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="executor")
    loop.set_default_executor(executor)
    threading.setprofile(record)
    sys.setprofile(record)
    try:
        yield record
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
        setattr(loop, attribute, before)
        executor.shutdown(wait=False)


def test_one_received_image_walks_forward_to_the_database_tab(
    recorder: Recorder, data_dir: Path, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    with Core(load_settings(data_dir, {"fsync": True})) as core:
        model = AppModel(core, FrameProvider())
        loop.run_until_complete(model.start())
        node = DicomNode(core, ae_title="KIOSK", port=0, bind="127.0.0.1")
        loop.run_until_complete(node.start())
        port = node.state.port
        try:

            def send(n: int) -> None:
                path = write(
                    make_dataset(patient_name=f"Walk^{n}", patient_id=f"W{n}"),
                    tmp_path / f"{n}.dcm",
                )
                command = [dcmtk("storescu"), "-aec", "KIOSK", "127.0.0.1", str(port)]
                done = subprocess.run(
                    [*command, str(path)],
                    check=False,
                    env=dcmtk_env(),
                    capture_output=True,
                    timeout=60,
                )
                assert done.returncode == 0, done.stderr

            send(1)  # first-time paths (lazy imports, caches) out of the way
            run_until(loop, lambda: model.database.patients.total == 1, timeout=30)
            settle(loop)
            recorder.on = True
            worker = threading.Thread(target=send, args=(2,))
            worker.start()
            run_until(loop, lambda: model.database.patients.total == 2, timeout=30)
            recorder.on = False
            worker.join(30)
        finally:
            loop.run_until_complete(node.stop())
            model.stop()
    modules = recorder.modules()
    print(f"\nthe walk crosses {len(modules)} modules:")
    for module in modules:
        threads = dict.fromkeys(
            t.rstrip("0123456789-_ ") for t, m, _c, _n in recorder.calls if m == module
        )
        print(f"{module:32} {', '.join(threads)}")
    assert "core/node/storage.py" in modules and "viewmodels/levels.py" in modules
    assert recorder.visits("DicomNode") == 0, "an association called back into DicomNode"
    assert len(modules) <= WALK_MODULES, modules
