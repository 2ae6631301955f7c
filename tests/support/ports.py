"""Free loopback ports and bounded waiting: wait for readiness, never ``sleep`` and hope."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on at the moment (the kernel's choice on 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, timeout: float = 0.2) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((HOST, port)) == 0


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    """Poll ``check`` every ``step`` s until it holds; ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def log_tail(path: Path | None, size: int = 3000) -> str:
    """The end of a log file (for error messages), or "" when there is none."""
    if path is None:
        return ""
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError:
        return ""


def wait_for_port(
    port: int,
    timeout: float = 30.0,
    process: subprocess.Popen[Any] | None = None,
    log: Path | None = None,
) -> None:
    """Until something accepts connections on 127.0.0.1:``port`` (bounded).

    With ``process``, fail at once (``RuntimeError``, with the end of ``log``) if it exits
    before listening."""

    def listening() -> bool:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before listening on port {port}\n"
                + log_tail(log)
            )
        return port_open(port, timeout=0.5)

    try:
        wait_for(listening, timeout, f"something to listen on {HOST}:{port}")
    except TimeoutError as error:
        raise TimeoutError(f"{error}\n{log_tail(log)}") from None
