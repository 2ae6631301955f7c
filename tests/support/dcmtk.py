"""DCMTK on loopback: tool paths, the environment, a tool runner, storescp and dcmqrscp.

Tools are called by absolute path: the venv has pynetdicom scripts of the same names.
Every DCMTK process runs with ``TCP_NODELAY=1`` (without it each C-STORE waits ~40 ms for a
delayed ACK). The servers run in their own process group and are stopped by PID, with the
children they fork, within a bounded time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from core.net.remote import RemoteAE
from tests.support.ports import HOST, free_port
from tests.support.process import ServerProcess

DCMTK = Path("/usr/bin")


def dcmtk(tool: str) -> str:
    """Absolute path of a DCMTK tool."""
    return str(DCMTK / tool)


def have_dcmtk() -> bool:
    return all((DCMTK / tool).exists() for tool in ("storescu", "findscu"))


def dcmtk_env() -> dict[str, str]:
    """The current environment with ``TCP_NODELAY=1`` (read by DCMTK's network layer)."""
    return {**os.environ, "TCP_NODELAY": "1"}


def run(
    args: list[str], timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a tool with the DCMTK environment, output captured as text (bounded in time).

    With ``check``, a non-zero exit raises ``AssertionError`` showing its output."""
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=dcmtk_env(), check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args[:3])} ... exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


class StoreSCP(ServerProcess):
    """DCMTK storescp writing received files into ``folder`` (created if missing).

    ``options`` are storescp's own (``+xa`` every transfer syntax, ``+B``, ``--fork``,
    ``--sleep-during 30``...); by default it accepts uncompressed transfer syntaxes only.
    Its port is chosen at construction (so a node can be registered before ``start``).
    With ``debug`` (``-d``) its log shows each request (``requests``, ``wait_for_log``);
    the log is ``folder`` with the suffix ``.log``.

    Use as a context manager (``with StoreSCP(folder) as scp``) or ``start()``/``stop()``.
    """

    def __init__(
        self, folder: Path, *options: str, ae_title: str = "STORESCP", debug: bool = True
    ) -> None:
        self.folder = folder
        self.options = options
        self.ae_title = ae_title
        self.debug = debug
        self.port = free_port()
        self.log_path = folder.with_suffix(".log")

    def start(self) -> StoreSCP:
        self.folder.mkdir(parents=True, exist_ok=True)
        debug = ["-d"] if self.debug else []
        args = [dcmtk("storescp"), *debug, "-aet", self.ae_title, "-od", str(self.folder)]
        self._spawn([*args, *self.options, str(self.port)], self.port, env=dcmtk_env())
        return self

    def __enter__(self) -> StoreSCP:
        return self.start()

    @property
    def remote(self) -> RemoteAE:
        return RemoteAE(self.ae_title, HOST, self.port, name="storescp")

    def files(self) -> dict[str, Path]:
        """Received files by SOP Instance UID (storescp names them MODALITY.UID)."""
        return {p.name.split(".", 1)[1]: p for p in self.folder.iterdir() if p.is_file()}

    def count(self) -> int:
        """How many files it has written (cheap enough to poll)."""
        return sum(1 for p in self.folder.iterdir() if p.is_file())

    def requests(self) -> list[tuple[str, str]]:
        """(SOP Instance UID, priority) of each C-STORE request, in the order received."""
        log = self.log()
        uids = re.findall(r"Affected SOP Instance UID\s*:\s*(\S+)", log)
        priorities = re.findall(r"Priority\s*:\s*(\w+)", log)
        return list(zip(uids, priorities, strict=False))

    def wait_for_log(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise TimeoutError(f"storescp did not log {text!r} within {timeout} s")
            time.sleep(0.02)


class Dcmqrscp(ServerProcess):
    """DCMTK's Query/Retrieve SCP with a private database in a temporary folder.

    ``hosts`` are the move destinations it knows: name -> (AE title, host, port).
    The folder is removed by ``stop``."""

    def __init__(
        self, hosts: dict[str, tuple[str, str, int]] | None = None, ae_title: str = "QRSCP"
    ) -> None:
        self.hosts = dict(hosts or {})
        self.ae_title = ae_title
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="kiosk-dcmqrscp-"))
        self.log_path = self.workdir / "dcmqrscp.log"

    def start(self) -> Dcmqrscp:
        storage = self.workdir / "db"
        storage.mkdir(exist_ok=True)
        host_lines = "\n".join(
            f"{name} = ({ae}, {host}, {p})" for name, (ae, host, p) in self.hosts.items()
        )
        config = self.workdir / "dcmqrscp.cfg"
        config.write_text(
            f"NetworkTCPPort = {self.port}\nMaxPDUSize = 65536\nMaxAssociations = 16\n"
            f"HostTable BEGIN\n{host_lines}\nHostTable END\n"
            "VendorTable BEGIN\nVendorTable END\n"
            f"AETable BEGIN\n{self.ae_title} {storage} RW (2000, 1024mb) ANY\nAETable END\n"
        )
        # Forks a child per association (its single-process mode crashes after a release).
        args = [dcmtk("dcmqrscp"), "-c", str(config), str(self.port)]
        self._spawn(args, self.port, cwd=self.workdir, env=dcmtk_env())
        return self

    def __enter__(self) -> Dcmqrscp:
        return self.start()

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def store(self, files: list[Path]) -> None:
        """Load files into its database with DCMTK's storescu."""
        run(
            [dcmtk("storescu"), "-aec", self.ae_title, "-aet", "LOADER", HOST, str(self.port)]
            + [str(f) for f in files],
            timeout=300,
        )
