"""Thumbnails of 1000 stored CT images: ms per image against bare pydicom + Pillow.

Reference (the floor), measured in the same run on the same files: ``dcmread`` +
``pixel_array`` + min/max scaling to 8 bits + Pillow resize, one process, no caching.
Ours: ``render_thumbnail`` in one process (the same work plus the full display pipeline), then
the ``ThumbnailCache`` cold (process pool, PNG written to disk; pool start-up shown apart) and
warm (every thumbnail already on disk: index look-up and freshness check only).
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom import dcmread

from core.app import Core
from core.config import load_settings
from core.db.queries import StudyFilter
from core.dicom import synth
from core.imaging.render import render_thumbnail
from core.imaging.thumbnails import ThumbnailCache, default_workers
from core.index.importer import MemorySource

IMAGES = int(os.environ.get("BENCH_RENDER_IMAGES", "1000"))
SIZE = 128


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _floor(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        arr = dcmread(path).pixel_array.astype(np.float32)
        low, high = float(arr.min()), float(arr.max())
        scaled = ((arr - low) * (255.0 / max(high - low, 1.0))).astype(np.uint8)
        image = Image.fromarray(scaled)
        image.thumbnail((SIZE, SIZE), Image.Resampling.LANCZOS)
    return time.perf_counter() - start


def _ours_in_process(paths: list[Path]) -> float:
    start = time.perf_counter()
    for path in paths:
        render_thumbnail(path, SIZE)
    return time.perf_counter() - start


def main() -> None:
    logging.getLogger("pydicom").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        data_dir = Path(tmp)
        with Core(load_settings(data_dir, {"fsync": False})) as core:
            sources = [
                MemorySource(f"ct #{i}", data)
                for i, data in enumerate(synth.ct_series(IMAGES, size=256))
            ]
            core.importer.run_sources(sources, source_name="bench")
            rows = core.list_rows("image", StudyFilter(), limit=IMAGES)
            uids = [str(r["SOPInstanceUID"]) for r in rows]
            workers = default_workers()
            cache = ThumbnailCache(data_dir, core.sessions, core.store, workers=workers)
            try:
                paths = [cache.source_of(uid) for uid in uids]
                for path in paths:  # page cache warm for every contender
                    path.read_bytes()
                floor = _floor(paths)
                ours = _ours_in_process(paths)
                start = time.perf_counter()
                cache.start()
                startup = time.perf_counter() - start
                start = time.perf_counter()
                cache.generate(uids, SIZE)
                cold = time.perf_counter() - start
                start = time.perf_counter()
                cache.generate(uids, SIZE)
                warm_batch = time.perf_counter() - start
                start = time.perf_counter()
                for uid in uids:
                    cache.get(uid, SIZE)
                warm_single = time.perf_counter() - start
            finally:
                cache.close()
    n = len(uids)

    def ms(seconds: float) -> float:
        return 1000 * seconds / n

    print(f"machine: {os.cpu_count()} CPUs, {_cpu()}; {n} CT images 256x256 -> {SIZE} px")
    print(f"floor  pydicom + Pillow decode+resize, 1 process : {ms(floor):7.2f} ms/image")
    print(
        f"ours   render_thumbnail, 1 process               : {ms(ours):7.2f} ms/image"
        f"  ({ours / floor:.2f}x the floor)"
    )
    print(
        f"ours   cache cold, {workers} worker(s), PNG on disk     : {ms(cold):7.2f} ms/image"
        f"  ({cold / floor:.2f}x the floor)"
    )
    print(f"       (pool start-up before that, once per run: {1000 * startup:.0f} ms)")
    print(
        f"ours   cache warm, batch check                   : {ms(warm_batch):7.3f} ms/image"
        f"  ({warm_batch / floor:.3f}x the floor)"
    )
    print(
        f"ours   cache warm, one get() per image           : {ms(warm_single):7.3f} ms/image"
        f"  ({warm_single / floor:.3f}x the floor)"
    )


if __name__ == "__main__":
    main()
