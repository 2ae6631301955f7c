"""Send throughput: 1000 generated ~40 KB CT images sent on loopback to DCMTK storescp by
(a) our send queue (``Core.send`` + ``SendWorker``), (b) DCMTK storescu with the same files,
(c) Orthanc through its REST ``modalities/{id}/store``; each over one association.

The clock runs from the request (queueing, the storescu start, the REST call) until the
sender reports the transfer finished and storescp has written every file. Our figure includes
queueing the selection and recording every image's status in the transfer log. Each sender
runs ``REPEATS`` times, interleaved; the best run counts (the median is printed too).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tests.bench.common import (
    QueueSender,
    best,
    interleaved,
    make_series,
    storescu,
    timed,
    with_storescp,
)
from tests.support.dcmtk import StoreSCP
from tests.support.orthanc import Orthanc, orthanc_binary

COUNT = int(os.environ.get("BENCH_SEND_IMAGES", "1000"))
# The machine is shared: each sender runs this often (interleaved) and its best run counts.
REPEATS = int(os.environ.get("BENCH_SEND_REPEATS", "3"))
AE = "STORESCP"
AT_STORESCP = "files at storescp"


def storescu_run(files: list[Path]) -> Callable[[StoreSCP], float]:
    def run(receiver: StoreSCP) -> float:
        send = partial(storescu, receiver.port, AE, [files])
        return timed(send, receiver.count, len(files), AT_STORESCP)

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
        return timed(
            lambda: self.orthanc.post("/modalities/scp/store", body),
            receiver.count,
            len(self.ids),
            AT_STORESCP,
        )


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-send-"))
    closers: list[Callable[[], None]] = []
    try:
        files = make_series(base / "series", COUNT)
        size = sum(p.stat().st_size for p in files) / len(files)
        print(f"{len(files)} CT images, {size / 1024:.1f} KB each, to storescp on loopback")
        queue = QueueSender(base / "kiosk", files, AE)
        closers.append(queue.close)
        senders: dict[str, Callable[[StoreSCP], float]] = {
            "dicom-kiosk queue": partial(queue.run, what=AT_STORESCP),
            "DCMTK storescu": storescu_run(files),
        }
        if orthanc_binary():
            orthanc = OrthancSender(base, files)
            closers.append(orthanc.close)
            senders["Orthanc REST store"] = orthanc.run

        def receiver(name: str) -> Callable[[int], StoreSCP]:
            return lambda r: StoreSCP(base / f"received-{r}-{name[:6]}", ae_title=AE, debug=False)

        runs = {name: with_storescp(run, receiver(name)) for name, run in senders.items()}
        times = interleaved(runs, REPEATS)
        fastest = best(times)
        for name, values in times.items():
            print(
                f"  {name:20} best {fastest[name]:6.2f} s"
                f"  {len(files) / fastest[name]:8.1f} images/s"
                f"  (median {statistics.median(values):.2f} s of {len(values)})"
            )
        ours = fastest["dicom-kiosk queue"]
        for name in ("DCMTK storescu", "Orthanc REST store"):
            if name in fastest:
                print(f"  ratio vs {name:18} {fastest[name] / ours:5.2f}x (higher is better)")
    finally:
        for close in reversed(closers):
            close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
