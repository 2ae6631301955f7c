"""Import throughput against a bare header parse of the same files, in the same run.

Goal: ``dicom-kiosk import`` of 1000 generated CT instances into a fresh store runs at no less
than 0.5x the rate of a bare pydicom header parse (``stop_before_pixels``) of those files.
"""

from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

from pydicom import dcmread

from core.app import Core
from core.config import load_settings
from core.dicom.synth import ct_series

COUNT = 1000


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        source = Path(tmp) / "source"
        source.mkdir()
        for index, data in enumerate(ct_series(COUNT)):
            (source / f"ct{index:04d}.dcm").write_bytes(data)
        files = sorted(source.iterdir())
        size = sum(f.stat().st_size for f in files) / len(files)
        for f in files:  # warm the page cache for both contenders alike
            f.read_bytes()

        start = time.perf_counter()
        for f in files:
            dcmread(f, stop_before_pixels=True)
        parse_rate = len(files) / (time.perf_counter() - start)

        results = {}
        for fsync in (True, False):
            settings = load_settings(Path(tmp) / f"data-{fsync}", {"fsync": fsync})
            with Core(settings) as core:
                start = time.perf_counter()
                summary = core.importer.run([source])
                elapsed = time.perf_counter() - start
                assert summary.imported == COUNT, summary.as_json()
                assert core.stats()["instances"] == COUNT
            results[fsync] = COUNT / elapsed

    print(f"machine: {os.cpu_count()} cores, {_cpu()}")
    print(f"files: {COUNT} CT instances, {size / 1024:.1f} KB each")
    print(f"bare header parse (pydicom, stop_before_pixels): {parse_rate:8.0f} files/s")
    for fsync, rate in results.items():
        label = "import, synced before commit (default)" if fsync else "import, fsync off"
        print(f"{label:47}: {rate:8.0f} files/s  ratio {rate / parse_rate:.2f}x")
    print("goal: import >= 0.5x the bare header parse")


if __name__ == "__main__":
    main()
