"""Send throughput: 1000 generated ~40 KB CT images sent on loopback to DCMTK storescp by
(a) our send queue (``Core.send`` + ``SendWorker``), (b) DCMTK storescu with the same files,
(c) Orthanc through its REST ``modalities/{id}/store``; each over one association.

The clock runs from the request (queueing, the storescu start, the REST call) until the
sender reports the transfer finished and storescp has written every file. Our figure includes
queueing the selection and recording every image's status in the transfer log.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.app import Core
from core.config import load_settings
from core.db.queries import StudyFilter
from core.importer import Importer
from core.nodes import NodeRegistry
from core.sender import SendWorker
from core.synth import ct_series
from core.transfers import FINAL_OUT
from tests.integration.node_support import (
    Orthanc,
    dcmtk,
    free_port,
    orthanc_binary,
    peer_env,
    port_open,
    wait_for,
)

COUNT = int(os.environ.get("BENCH_SEND_IMAGES", "1000"))
AE = "STORESCP"


class Receiver:
    """storescp writing files into a fresh folder (no debug output)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        folder.mkdir(parents=True)
        self.proc = subprocess.Popen(
            [dcmtk("storescp"), "-aet", AE, "-od", str(folder), str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=peer_env(),
        )
        wait_for(lambda: port_open(self.port), 30, "storescp to listen")

    def count(self) -> int:
        return sum(1 for p in self.folder.iterdir() if p.is_file())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def _make_series(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for i, data in enumerate(ct_series(COUNT)):
        path = folder / f"{i:05d}.dcm"
        path.write_bytes(data)
        files.append(path)
    return files


def _timed(send: Callable[[], None], receiver: Receiver, expected: int) -> float:
    start = time.perf_counter()
    send()
    wait_for(lambda: receiver.count() >= expected, 300, f"{expected} files at storescp", 0.002)
    return time.perf_counter() - start


def run_queue(base: Path, files: list[Path]) -> float:
    core = Core(load_settings(base / "kiosk", {"fsync": False}))
    core.open()
    try:
        summary = Importer(core.writer, core.sessions).run(files)
        assert summary.imported == len(files), summary.rejected
        study = core.list_rows("study", StudyFilter(), limit=1)[0]["StudyInstanceUID"]
        receiver = Receiver(base / "received-queue")
        try:
            NodeRegistry(core.sessions).add("scp", AE, "127.0.0.1", receiver.port)

            async def send() -> None:
                worker = SendWorker(core)
                await worker.start()
                try:
                    tid = await asyncio.to_thread(core.send, [("study", study)], "scp")
                    while (await asyncio.to_thread(core.transfers.get, tid))["status"] not in (
                        FINAL_OUT
                    ):
                        await asyncio.sleep(0.002)
                    row = core.transfers.get(tid)
                    if row["status"] != "sent":
                        raise RuntimeError(f"transfer {tid} {row['status']}: {row['error']}")
                finally:
                    await worker.stop()

            return _timed(lambda: asyncio.run(send()), receiver, len(files))
        finally:
            receiver.stop()
    finally:
        core.close()


def run_storescu(base: Path, files: list[Path]) -> float:
    receiver = Receiver(base / "received-storescu")
    try:

        def send() -> None:
            subprocess.run(
                [dcmtk("storescu"), "-aec", AE, "127.0.0.1", str(receiver.port), *map(str, files)],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=peer_env(),
                timeout=600,
            )

        return _timed(send, receiver, len(files))
    finally:
        receiver.stop()


def run_orthanc(base: Path, files: list[Path]) -> float:
    receiver = Receiver(base / "received-orthanc")
    orthanc = Orthanc(base / "orthanc")
    orthanc.modalities = {"scp": [AE, "127.0.0.1", receiver.port]}
    orthanc.start()
    try:
        ids = [orthanc.post("/instances", path.read_bytes())["ID"] for path in files]
        return _timed(
            lambda: orthanc.post("/modalities/scp/store", {"Resources": ids, "Synchronous": True}),
            receiver,
            len(files),
        )
    finally:
        orthanc.stop()
        receiver.stop()


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-send-"))
    try:
        files = _make_series(base / "series")
        size = sum(p.stat().st_size for p in files) / len(files)
        print(f"{len(files)} CT images, {size / 1024:.1f} KB each, to storescp on loopback")
        times = {"dicom-kiosk queue": run_queue(base, files)}
        times["DCMTK storescu"] = run_storescu(base, files)
        if orthanc_binary():
            times["Orthanc REST store"] = run_orthanc(base, files)
        for name, seconds in times.items():
            print(f"  {name:20} {seconds:6.2f} s  {len(files) / seconds:8.1f} images/s")
        ours = times["dicom-kiosk queue"]
        for name in ("DCMTK storescu", "Orthanc REST store"):
            if name in times:
                print(f"  ratio vs {name:18} {times[name] / ours:5.2f}x (higher is better)")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
