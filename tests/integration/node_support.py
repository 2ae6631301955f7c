"""Running our node and DCMTK/Orthanc peers on loopback for the integration tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.app import Core
from core.config import load_settings
from core.db.models import Instance

ROOT = Path(__file__).resolve().parents[2]
DCMTK = Path("/usr/bin")
AE = "KIOSK"


def dcmtk(tool: str) -> str:
    """Absolute path of a DCMTK tool (the venv has same-named pynetdicom scripts)."""
    return str(DCMTK / tool)


def have_dcmtk() -> bool:
    return (DCMTK / "storescu").exists() and (DCMTK / "findscu").exists()


def peer_env() -> dict[str, str]:
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run(
    args: list[str], timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, capture_output=True, text=True, timeout=timeout, env=peer_env(), check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args[:3])} ... exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def cli(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "core.cli", "--data-dir", str(data_dir), *args], check=check)


class KioskServer:
    """``dicom-kiosk serve`` as a child process on a free loopback port."""

    def __init__(self, data_dir: Path, ae: str = AE, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.ae = ae
        self.port = 0
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-serve.log"

    def start(self, *extra: str) -> KioskServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = peer_env()
        env.setdefault("DICOM_KIOSK_FSYNC", "true")
        env.update(self.extra_env)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "core.cli",
                "--data-dir",
                str(self.data_dir),
                "serve",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ae-title",
                self.ae,
                *extra,
            ],
            stdout=log,
            stderr=log,
            env=env,
            cwd=ROOT,
        )
        log.close()
        proc = self.proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited {proc.returncode}:\n{self.log()}")
            return "listening" in self.log() and port_open(self.port)

        wait_for(ready, 90, "dicom-kiosk serve to listen")
        return self

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig: int | None = None, timeout: float = 30) -> int:
        proc, self.proc = self.proc, None
        if proc is None:
            return 0
        if proc.poll() is None:
            if sig is None:
                proc.terminate()
            else:
                proc.send_signal(sig)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait(timeout)

    def kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait(30)

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


class Storescp:
    """DCMTK storescp writing to a folder, for C-MOVE destinations.

    ``accept_all`` (+xa) takes every transfer syntax; without it storescp takes only
    uncompressed ones."""

    def __init__(self, folder: Path, ae: str = "DEST", *, accept_all: bool = True) -> None:
        self.folder = folder
        self.ae = ae
        self.accept = ["+xa"] if accept_all else []
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Storescp:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                dcmtk("storescp"),
                "-aet",
                self.ae,
                "-od",
                str(self.folder),
                *self.accept,
                str(self.port),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=peer_env(),
        )
        wait_for(lambda: port_open(self.port), 30, "storescp to listen")
        return self

    def files(self) -> list[Path]:
        return sorted(p for p in self.folder.iterdir() if p.is_file())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


def orthanc_binary() -> str | None:
    path = Path("/usr/sbin/Orthanc")
    return str(path) if path.exists() else shutil.which("Orthanc")


class Orthanc:
    """Debian's Orthanc with a generated configuration in a temp dir, on free ports."""

    def __init__(self, folder: Path, ae: str = "ORTHANC") -> None:
        self.folder = folder
        self.ae = ae
        self.dicom_port = free_port()
        self.http_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.modalities: dict[str, list[Any]] = {}

    def start(self) -> Orthanc:
        import json

        binary = orthanc_binary()
        if binary is None:
            raise AssertionError("Orthanc is not installed (make test installs it)")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "test-orthanc",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "storage"),
            "DicomAet": self.ae,
            "DicomPort": self.dicom_port,
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "HttpServerEnabled": True,
            "DicomServerEnabled": True,
            "DicomCheckCalledAet": False,
            "DicomModalities": self.modalities,
            "Plugins": [],
            "ConcurrentJobs": 2,
            "StorageCompression": False,
            "SaveJobs": False,
        }
        path = self.folder / "orthanc.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        log = open(self.folder / "orthanc.log", "wb")
        self.proc = subprocess.Popen([binary, str(path)], stdout=log, stderr=log, env=peer_env())
        log.close()
        proc = self.proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"Orthanc exited {proc.returncode}:\n"
                    + (self.folder / "orthanc.log").read_text(errors="replace")[-3000:]
                )
            try:
                self.get("/system")
            except OSError:
                return False
            return port_open(self.dicom_port)

        wait_for(ready, 60, "Orthanc to start")
        return self

    def request(self, method: str, path: str, body: Any = None) -> Any:
        import json
        import urllib.request

        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}", data=data, method=method
        )
        with urllib.request.urlopen(req, timeout=120) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
