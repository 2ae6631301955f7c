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
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from core.dicom.synth import ct_series
from tests.support.dcmtk import StoreSCP, dcmtk, dcmtk_env
from tests.support.node import KioskServer
from tests.support.orthanc import Orthanc, orthanc_binary
from tests.support.ports import wait_for

COUNT = int(os.environ.get("BENCH_NODE_IMAGES", "1000"))
PARALLEL = 4
ROUNDS = int(os.environ.get("BENCH_NODE_ROUNDS", "3"))
# fsync on (the default): each image is on disk (the journal's fdatasync) before its
# acknowledgement; Orthanc also makes about one fdatasync per image. fsync off: in the page
# cache (synced in the background within about 0.1 s); storescp never syncs.
OURS = "dicom-kiosk serve"
OURS_NO_FSYNC = "dicom-kiosk serve, fsync off"


def _make_series(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for i, data in enumerate(ct_series(COUNT)):
        path = folder / f"{i:05d}.dcm"
        path.write_bytes(data)
        files.append(path)
    return files


def _send(port: int, ae: str, groups: list[list[Path]]) -> None:
    senders = [
        subprocess.Popen(
            [dcmtk("storescu"), "-aec", ae, "127.0.0.1", str(port), *map(str, group)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dcmtk_env(),
        )
        for group in groups
    ]
    for sender in senders:
        _out, err = sender.communicate(timeout=600)
        if sender.returncode != 0:
            raise RuntimeError(f"storescu failed: {err.decode(errors='replace')[-500:]}")


def _timed(send: Callable[[], None], counted: Callable[[], int], expected: int) -> float:
    start = time.perf_counter()
    send()
    wait_for(lambda: counted() >= expected, 300, f"{expected} images counted", 0.002)
    return time.perf_counter() - start


def _kiosk_count(data_dir: Path) -> Callable[[], int]:
    db = data_dir / "index.sqlite"

    def count() -> int:
        with sqlite3.connect(db, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM instance").fetchone()[0])

    return count


def _groups(files: list[Path], parallel: int) -> list[list[Path]]:
    return [files[i::parallel] for i in range(parallel)]


def run_kiosk(base: Path, files: list[Path], parallel: int, fsync: bool = True) -> float:
    env = {"DICOM_KIOSK_FSYNC": "true" if fsync else "false"}
    server = KioskServer(base / f"kiosk-{parallel}-{env['DICOM_KIOSK_FSYNC']}", env=env).start()
    try:
        return _timed(
            lambda: _send(server.port, server.ae, _groups(files, parallel)),
            _kiosk_count(server.data_dir),
            len(files),
        )
    finally:
        server.stop()


def run_storescp(base: Path, files: list[Path], parallel: int) -> float:
    folder = base / f"storescp-{parallel}"
    # storescp handles one association at a time unless it forks
    scp_args = ["--fork"] if parallel > 1 else []
    scp = StoreSCP(folder, *scp_args, ae_title="STORESCP", debug=False).start()
    try:
        return _timed(
            lambda: _send(scp.port, "STORESCP", _groups(files, parallel)),
            scp.count,
            len(files),
        )
    finally:
        scp.stop()


def run_orthanc(base: Path, files: list[Path], parallel: int) -> float:
    orthanc = Orthanc(base / f"orthanc-{parallel}").start()
    try:
        return _timed(
            lambda: _send(orthanc.dicom_port, orthanc.ae_title, _groups(files, parallel)),
            orthanc.count_instances,
            len(files),
        )
    finally:
        orthanc.stop()


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-node-"))
    try:
        files = _make_series(base / "series")
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
            times: dict[str, float] = {}
            for round_ in range(ROUNDS):
                for name, run in runs.items():
                    folder = base / f"round-{parallel}-{round_}"
                    folder.mkdir(exist_ok=True)
                    seconds = run(folder)
                    times[name] = min(times.get(name, seconds), seconds)
                    # Nothing is deleted before the end: freeing blocks (discard) in the middle
                    # of the next contender's run would slow it.
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
