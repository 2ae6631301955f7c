"""Send throughput: 1000 generated ~40 KB CT images sent on loopback to DCMTK storescp by
(a) our send queue (``Core.send`` + ``SendWorker``), (b) DCMTK storescu with the same files,
(c) Orthanc through its REST ``modalities/{id}/store``; each over one association.

The clock runs from the request (queueing, the storescu start, the REST call) until the
sender reports the transfer finished and storescp has written every file. Our figure includes
queueing the selection and recording every image's status in the transfer log. Each sender
runs ``REPEATS`` times, interleaved; the best run counts (the median is printed too).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.app import Core
from core.config import load_settings
from core.db.queries import StudyFilter
from core.dicom.synth import ct_series
from core.transfers.log import FINAL_OUT
from core.transfers.sender import SendWorker
from tests.support.dcmtk import StoreSCP, dcmtk, dcmtk_env
from tests.support.orthanc import Orthanc, orthanc_binary
from tests.support.ports import wait_for

COUNT = int(os.environ.get("BENCH_SEND_IMAGES", "1000"))
# The machine is shared: each sender runs this often (interleaved) and its best run counts.
REPEATS = int(os.environ.get("BENCH_SEND_REPEATS", "3"))
AE = "STORESCP"


def _make_series(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for i, data in enumerate(ct_series(COUNT)):
        path = folder / f"{i:05d}.dcm"
        path.write_bytes(data)
        files.append(path)
    return files


def _timed(send: Callable[[], None], receiver: StoreSCP, expected: int) -> float:
    start = time.perf_counter()
    send()
    wait_for(lambda: receiver.count() >= expected, 300, f"{expected} files at storescp", 0.002)
    return time.perf_counter() - start


class QueueSender:
    """Our side: a Core with the series imported, sending it with a SendWorker."""

    def __init__(self, base: Path, files: list[Path]) -> None:
        self.core = Core(load_settings(base / "kiosk", {"fsync": False}))
        self.core.open()
        summary = self.core.importer.run(files)
        if summary.imported != len(files):
            raise RuntimeError(f"import failed: {summary.rejected[:3]}")
        rows = self.core.list_rows("study", StudyFilter(), limit=1)
        self.study = rows[0]["StudyInstanceUID"]
        self.core.registry.add("scp", AE, "127.0.0.1", 104)

    def close(self) -> None:
        self.core.close()

    def run(self, receiver: StoreSCP) -> float:
        core = self.core
        core.registry.edit("scp", port=receiver.port)

        async def send() -> None:
            worker = SendWorker(core)
            await worker.start()
            try:
                tid = await asyncio.to_thread(core.send, [("study", self.study)], "scp")
                # Watch the worker, not the database: polling SQL would slow the sender.
                while tid not in worker.active:
                    if core.transfers.get(tid)["status"] in FINAL_OUT:
                        break
                    await asyncio.sleep(0.002)
                while tid in worker.active:
                    await asyncio.sleep(0.002)
                row = core.transfers.get(tid)
                if row["status"] != "sent":
                    raise RuntimeError(f"transfer {tid} {row['status']}: {row['error']}")
            finally:
                await worker.stop()

        return _timed(lambda: asyncio.run(send()), receiver, COUNT)


def storescu_run(files: list[Path]) -> Callable[[StoreSCP], float]:
    def run(receiver: StoreSCP) -> float:
        def send() -> None:
            subprocess.run(
                [dcmtk("storescu"), "-aec", AE, "127.0.0.1", str(receiver.port), *map(str, files)],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=dcmtk_env(),
                timeout=600,
            )

        return _timed(send, receiver, len(files))

    return run


class OrthancSender:
    """Orthanc holding the series, told to store it to the receiver through its REST API."""

    def __init__(self, base: Path, files: list[Path]) -> None:
        self.orthanc = Orthanc(base / "orthanc")
        self.orthanc.start()
        self.ids = [self.orthanc.post("/instances", path.read_bytes())["ID"] for path in files]

    def close(self) -> None:
        self.orthanc.stop()

    def run(self, receiver: StoreSCP) -> float:
        modality = {"AET": AE, "Host": "127.0.0.1", "Port": receiver.port}
        self.orthanc.request("PUT", "/modalities/scp", modality)
        body = {"Resources": self.ids, "Synchronous": True}
        return _timed(
            lambda: self.orthanc.post("/modalities/scp/store", body), receiver, len(self.ids)
        )


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-send-"))
    closers: list[Callable[[], None]] = []
    try:
        files = _make_series(base / "series")
        size = sum(p.stat().st_size for p in files) / len(files)
        print(f"{len(files)} CT images, {size / 1024:.1f} KB each, to storescp on loopback")
        queue = QueueSender(base, files)
        closers.append(queue.close)
        senders: dict[str, Callable[[StoreSCP], float]] = {
            "dicom-kiosk queue": queue.run,
            "DCMTK storescu": storescu_run(files),
        }
        if orthanc_binary():
            orthanc = OrthancSender(base, files)
            closers.append(orthanc.close)
            senders["Orthanc REST store"] = orthanc.run
        times: dict[str, list[float]] = {name: [] for name in senders}
        for round_ in range(REPEATS):
            for name, run in senders.items():
                folder = base / f"received-{round_}-{len(times[name])}-{name[:6]}"
                receiver = StoreSCP(folder, ae_title=AE, debug=False).start()
                try:
                    times[name].append(run(receiver))
                finally:
                    receiver.stop()
        best = {name: min(values) for name, values in times.items()}
        for name, values in times.items():
            print(
                f"  {name:20} best {best[name]:6.2f} s  {len(files) / best[name]:8.1f} images/s"
                f"  (median {statistics.median(values):.2f} s of {len(values)})"
            )
        ours = best["dicom-kiosk queue"]
        for name in ("DCMTK storescu", "Orthanc REST store"):
            if name in best:
                print(f"  ratio vs {name:18} {best[name] / ours:5.2f}x (higher is better)")
    finally:
        for close in reversed(closers):
            close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
