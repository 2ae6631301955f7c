"""Real DICOM peers for integration tests: Orthanc and DCMTK, on 127.0.0.1 and free ports.

Every server started here is stopped by the context manager that started it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.net.association import RemoteAE

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, timeout: float = 30.0, process: subprocess.Popen[Any] | None = None
) -> None:
    """Poll until something accepts connections on 127.0.0.1:port (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def _stop(process: subprocess.Popen[Any], group: bool = False) -> None:
    """Terminate a server (and, with ``group``, the children it forked); wait for it."""

    def signal_it(sig: int) -> None:
        try:
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)
        except ProcessLookupError:
            pass

    if process.poll() is None or group:
        signal_it(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            signal_it(signal.SIGKILL)
            process.wait(timeout=10)


@dataclass
class Orthanc:
    ae_title: str
    dicom_port: int
    http_port: int
    workdir: Path

    def rest(self, method: str, path: str, body: bytes | dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def upload(self, data: bytes) -> None:
        self.rest("POST", "/instances", data)

    def count_instances(self) -> int:
        return int(self.rest("GET", "/statistics")["CountInstances"])


@contextmanager
def orthanc_server(
    modalities: dict[str, tuple[str, str, int]] | None = None, ae_title: str = "ORTHANC"
) -> Iterator[Orthanc]:
    """A private Orthanc (Debian package) with its own storage in a temporary folder."""
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-orthanc-"))
    dicom_port, http_port = free_port(), free_port()
    config = {
        "Name": "kiosk-test",
        "StorageDirectory": str(workdir / "db"),
        "IndexDirectory": str(workdir / "db"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": ae_title,
        "DicomCheckCalledAet": True,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowGet": True,
        "DicomAlwaysAllowMove": True,
        "DicomModalities": {k: list(v) for k, v in (modalities or {}).items()},
        "SaveJobs": False,
        "Plugins": [],
        "StableAge": 1,
        "LimitFindResults": 0,
        "LimitFindInstances": 0,
    }
    (workdir / "orthanc.json").write_text(json.dumps(config))
    log = open(workdir / "orthanc.log", "wb")
    process = subprocess.Popen(
        [ORTHANC, str(workdir / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT, cwd=workdir
    )
    try:
        wait_for_port(http_port, process=process)
        wait_for_port(dicom_port, process=process)
        yield Orthanc(ae_title, dicom_port, http_port, workdir)
    finally:
        _stop(process)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Dcmqrscp:
    ae_title: str
    port: int
    workdir: Path

    def store(self, files: list[Path]) -> None:
        """Load files into its database with DCMTK's storescu."""
        subprocess.run(
            ["storescu", "-aec", self.ae_title, "-aet", "LOADER", "127.0.0.1", str(self.port)]
            + [str(f) for f in files],
            env=DCMTK_ENV,
            check=True,
            capture_output=True,
            timeout=300,
        )


@contextmanager
def dcmqrscp_server(
    hosts: dict[str, tuple[str, str, int]] | None = None, ae_title: str = "QRSCP"
) -> Iterator[Dcmqrscp]:
    """DCMTK's Query/Retrieve SCP with a private database in a temporary folder."""
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-dcmqrscp-"))
    storage = workdir / "db"
    storage.mkdir()
    port = free_port()
    host_lines = "\n".join(
        f"{name} = ({ae}, {host}, {p})" for name, (ae, host, p) in (hosts or {}).items()
    )
    (workdir / "dcmqrscp.cfg").write_text(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 65536\nMaxAssociations = 16\n"
        f"HostTable BEGIN\n{host_lines}\nHostTable END\n"
        "VendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{ae_title} {storage} RW (2000, 1024mb) ANY\nAETable END\n"
    )
    log = open(workdir / "dcmqrscp.log", "wb")
    process = subprocess.Popen(
        # Forks a child per association (its single-process mode crashes after a release).
        ["dcmqrscp", "-c", str(workdir / "dcmqrscp.cfg"), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        env=DCMTK_ENV,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process=process)
        yield Dcmqrscp(ae_title, port, workdir)
    finally:
        _stop(process, group=True)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


# -- DCMTK storescp as a destination ---------------------------------------------------------------
STORESCP = "/usr/bin/storescp"


@dataclass
class StoreSCP:
    """A running storescp: where it listens, where it writes, its debug log."""

    ae_title: str
    port: int
    folder: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def remote(self) -> RemoteAE:
        return RemoteAE(self.ae_title, "127.0.0.1", self.port, name="storescp")

    def files(self) -> dict[str, Path]:
        """Received files by SOP Instance UID (storescp names them MODALITY.UID)."""
        return {p.name.split(".", 1)[1]: p for p in self.folder.iterdir() if p.is_file()}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def requests(self) -> list[tuple[str, str]]:
        """(SOP Instance UID, priority) of each C-STORE request, in the order received."""
        uids = re.findall(r"Affected SOP Instance UID\s*:\s*(\S+)", self.log())
        priorities = re.findall(r"Priority\s*:\s*(\w+)", self.log())
        return list(zip(uids, priorities, strict=False))

    def wait_for_log(self, text: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise TimeoutError(f"storescp did not log {text!r} within {timeout} s")
            time.sleep(0.02)


@contextmanager
def storescp(folder: Path, *options: str, ae_title: str = "STORESCP") -> Iterator[StoreSCP]:
    """DCMTK storescp (debug log on) writing into the new folder ``folder``; stopped on exit."""
    folder.mkdir(parents=True)
    port = free_port()
    log_path = folder.with_suffix(".log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [STORESCP, "-d", "-aet", ae_title, "-od", str(folder), *options, str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=DCMTK_ENV,
        )
        try:
            wait_for_port(port, process=process)
            yield StoreSCP(ae_title, port, folder, log_path, process)
        finally:
            _stop(process)
