"""Receive throughput: 1000 ~40 KB CT images sent by DCMTK storescu on loopback to
(a) ``dicom-kiosk serve`` (with the fsync setting on, the default, and off), (b) DCMTK storescp
writing files, (c) Debian's Orthanc; over one association, then over 4 parallel associations.

Each is run in 3 interleaved rounds (``BENCH_NODE_ROUNDS``) and its best time kept.
An image counts only once it is indexed and queryable (ours: in the index; Orthanc: in its
index, which it commits before acknowledging; storescp: the file is written). The clock stops
when the sender has finished and every image counts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.bench.common import (
    best,
    groups,
    in_folders,
    interleaved,
    make_series,
    receive_kiosk,
    receive_storescp,
    storescu,
    timed,
)
from tests.support.dcmtk import StoreSCP
from tests.support.orthanc import Orthanc, orthanc_binary

COUNT = int(os.environ.get("BENCH_NODE_IMAGES", "1000"))
PARALLEL = 4
ROUNDS = int(os.environ.get("BENCH_NODE_ROUNDS", "3"))
# fsync on (the default): each image is on disk (the journal's fdatasync) before its
# acknowledgement; Orthanc also makes about one fdatasync per image. fsync off: in the page
# cache (synced in the background within about 0.1 s); storescp never syncs.
OURS = "dicom-kiosk serve"
OURS_NO_FSYNC = "dicom-kiosk serve, fsync off"


def run_kiosk(base: Path, files: list[Path], parallel: int, fsync: bool = True) -> float:
    env = {"DICOM_KIOSK_FSYNC": "true" if fsync else "false"}
    data_dir = base / f"kiosk-{parallel}-{env['DICOM_KIOSK_FSYNC']}"
    return receive_kiosk(data_dir, files, parallel, env)


def run_storescp(base: Path, files: list[Path], parallel: int) -> float:
    scp = StoreSCP(base / f"storescp-{parallel}", ae_title="STORESCP", debug=False)
    return receive_storescp(scp, files, parallel)


def run_orthanc(base: Path, files: list[Path], parallel: int) -> float:
    orthanc = Orthanc(base / f"orthanc-{parallel}").start()
    try:
        return timed(
            lambda: storescu(orthanc.dicom_port, orthanc.ae_title, groups(files, parallel)),
            orthanc.count_instances,
            len(files),
        )
    finally:
        orthanc.stop()


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-node-"))
    try:
        files = make_series(base / "series", COUNT)
        size = sum(p.stat().st_size for p in files) / len(files)
        print(f"{len(files)} CT images, {size / 1024:.1f} KB each, storescu on loopback")
        print(f"best of {ROUNDS} interleaved rounds (other jobs on the machine slow single runs)")
        for parallel in (1, PARALLEL):
            runs: dict[str, Callable[[Path], float]] = {
                OURS: lambda b, p=parallel: run_kiosk(b, files, p),
                OURS_NO_FSYNC: lambda b, p=parallel: run_kiosk(b, files, p, fsync=False),
                "DCMTK storescp": lambda b, p=parallel: run_storescp(b, files, p),
            }
            if orthanc_binary():
                runs["Orthanc"] = lambda b, p=parallel: run_orthanc(b, files, p)
            # Nothing is deleted before the end: freeing blocks (discard) in the middle of the
            # next contender's run would slow it.
            rounds = in_folders(runs, base, f"round-{parallel}")
            times = best(interleaved(rounds, ROUNDS))
            label = "1 association" if parallel == 1 else f"{parallel} parallel associations"
            print(f"-- {label}")
            for name, seconds in times.items():
                print(f"  {name:30} {seconds:6.2f} s  {len(files) / seconds:8.1f} instances/s")
            for ours in (OURS, OURS_NO_FSYNC):
                for name in ("DCMTK storescp", "Orthanc"):
                    if name in times:
                        ratio = times[name] / times[ours]
                        print(f"  {ours} vs {name:14} {ratio:5.2f}x (higher is better)")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
