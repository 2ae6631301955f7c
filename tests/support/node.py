"""Our own node, ``dicom-kiosk serve``, as a child process on loopback; the CLI as a tool.

Also the ``kiosk`` fixture (a started node per test), registered as a plugin by
``tests/conftest.py``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.app import Core
from core.config import load_settings
from core.db.models import Instance
from tests.support.dcmtk import dcmtk_env, have_dcmtk, run
from tests.support.ports import free_port, port_open, wait_for
from tests.support.process import stop_process

ROOT = Path(__file__).resolve().parents[2]
AE = "KIOSK"
START_TIMEOUT = 90.0


def cli(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``dicom-kiosk --data-dir data_dir args...``, output captured (see ``dcmtk.run``)."""
    return run([sys.executable, "-m", "core.cli", "--data-dir", str(data_dir), *args], check=check)


class KioskServer:
    """``dicom-kiosk serve`` as a child process on a free loopback port.

    ``env`` is added to the environment (``DICOM_KIOSK_FSYNC`` is on unless it says
    otherwise); its output goes to ``<data_dir>-serve.log`` beside the data directory."""

    def __init__(self, data_dir: Path, ae: str = AE, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.ae = ae
        self.port = 0
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"

    def start(self, *extra: str) -> KioskServer:
        """Start with extra ``serve`` arguments; return once it logged "listening" and its
        port answers (bounded: ``START_TIMEOUT``; fails at once if it exits)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = dcmtk_env()
        env.setdefault("DICOM_KIOSK_FSYNC", "true")
        env.update(self.extra_env)
        args = [sys.executable, "-m", "core.cli", "--data-dir", str(self.data_dir), "serve",
                "--bind", "127.0.0.1", "--port", str(self.port), "--ae-title", self.ae,
                *extra]  # fmt: skip
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, env=env, cwd=ROOT)
        proc = self.proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}:\n{self.log()}")
            return "listening" in self.log() and port_open(self.port)

        try:
            wait_for(ready, START_TIMEOUT, "dicom-kiosk serve to listen")
        except BaseException:
            self.kill()
            raise
        return self

    @property
    def pid(self) -> int:
        """The running node's process ID."""
        if self.proc is None:
            raise AssertionError("the node is not running")
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int | None = None, timeout: float = 30) -> int:
        """Send ``sig`` (SIGTERM) by PID, wait up to ``timeout`` s, then SIGKILL; the exit
        status (0 when it was not running)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        return stop_process(proc, signal.SIGTERM if sig is None else sig, timeout=timeout)

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            stop_process(proc, signal.SIGKILL, timeout=30)

    # -- reading the index while the server runs (its own connection) -------------------------
    def core(self) -> Core:
        return Core(load_settings(self.data_dir, {"fsync": False}))

    def instances(self) -> dict[str, Any]:
        core = self.core()
        try:
            with core.sessions() as session:
                return {i.sop_uid: i for i in session.scalars(select(Instance))}
        finally:
            core.close()

    def count(self) -> int:
        return len(self.instances())

    def wait_count(self, expected: int, timeout: float = 30) -> None:
        wait_for(lambda: self.count() >= expected, timeout, f"{expected} indexed images", 0.1)


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[KioskServer]:
    """Our node, started in ``tmp_path / "kiosk"``, stopped after the test."""
    if not have_dcmtk():
        pytest.fail("DCMTK is not installed (make test installs it)")
    server = KioskServer(tmp_path / "kiosk")
    try:
        yield server.start()
    finally:
        server.stop()
