"""A throwaway PostgreSQL cluster for tests (Debian's postgresql package), on 127.0.0.1.

``postgres_server`` runs initdb and ``pg_ctl start -w`` (which returns once the server accepts
connections) and stops it with ``pg_ctl stop -m immediate``; should the postmaster survive
that, it is killed by the PID it wrote. Every step is bounded in time.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support.ports import HOST, free_port, wait_for


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def available() -> bool:
    return _bin_dir() is not None


def _postmaster_pid(data: Path) -> int | None:
    """The server's PID, from the first line of ``postmaster.pid``."""
    try:
        return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _postmaster_running(pid: int, data: Path) -> bool:
    """Whether ``pid`` is still the postmaster of ``data`` (a reused PID is left alone)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return os.fsencode(data) in cmdline


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a private cluster; yield its SQLAlchemy URL; stop and remove it afterwards."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL server binaries are not installed")
    as_user: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(tmp, "postgres")
    data = tmp / "data"
    port = free_port()
    pid: int | None = None
    try:
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", "kiosk", "--auth=trust"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-c listen_addresses={HOST} -c port={port} -c unix_socket_directories={tmp}"
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l",
             str(tmp / "server.log"), "-w", "-t", "60", "start"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            check=True, timeout=90,
        )  # fmt: skip
        pid = _postmaster_pid(data)
        # pg_ctl -w returned: the server accepts connections.
        subprocess.run(
            [str(bin_dir / "createdb"), "-h", HOST, "-p", str(port), "-U", "kiosk", "kiosk"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield f"postgresql+psycopg://kiosk@{HOST}:{port}/kiosk"
    finally:
        postmaster = pid or _postmaster_pid(data)
        with suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                check=False,
                timeout=60,
            )
        if postmaster is not None and _postmaster_running(postmaster, data):
            with suppress(ProcessLookupError):
                os.kill(postmaster, signal.SIGKILL)
            with suppress(TimeoutError):
                wait_for(
                    lambda: not _postmaster_running(postmaster, data), 10, "the postmaster to exit"
                )
        shutil.rmtree(tmp, ignore_errors=True)


def fresh_pg_database(server_url: str) -> str:
    """Create an empty database on the server at ``server_url``; return its URL."""
    name = f"t{uuid.uuid4().hex[:16]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name
