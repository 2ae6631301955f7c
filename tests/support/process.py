"""The servers the tests start: spawned in their own process group, ready when their port
answers, stopped by PID (SIGTERM, then SIGKILL), every wait bounded.

``ServerProcess`` is the base of the peer launchers (``dcmtk.StoreSCP``, ``dcmtk.Dcmqrscp``,
``orthanc.Orthanc``); ``stop_process`` is also used for our own node (``node.KioskServer``).
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.support.ports import wait_for_port

TERM_TIMEOUT = 20.0  # a server gets this long to exit after SIGTERM
KILL_TIMEOUT = 10.0  # and this long after SIGKILL


def _signal(pid: int, sig: int, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_process(
    process: subprocess.Popen[Any],
    sig: int = signal.SIGTERM,
    *,
    group: bool = False,
    timeout: float = TERM_TIMEOUT,
) -> int:
    """Send ``sig`` to ``process`` (with ``group``, to the process group it leads, which it
    must have been started as: ``start_new_session=True``); wait up to ``timeout`` s, then
    SIGKILL and wait up to ``KILL_TIMEOUT`` s. Returns the exit status.

    A group is signalled even when its leader has already exited: children it forked
    (dcmqrscp, storescp --fork) may still run."""
    if process.poll() is None or group:
        _signal(process.pid, sig, group)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _signal(process.pid, signal.SIGKILL, group)
        return process.wait(timeout=KILL_TIMEOUT)


class ServerProcess:
    """A server child process: started once, stopped (by PID, bounded) on exit or ``stop``."""

    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def _spawn(
        self,
        args: list[str],
        port: int,
        *,
        env: dict[str, str],
        cwd: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Start ``args`` logging to ``log_path``; return once ``port`` answers (within
        ``timeout`` s; stopped and raised at once if it exits before)."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                env=env,
                start_new_session=True,  # its own group: stopping it also stops its children
            )
        try:
            wait_for_port(port, timeout, process=self.process, log=self.log_path)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and every child it forked; idempotent, safe before ``start``."""
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, group=True)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
