"""The thumbnail cache over a real store: every pydicom file imported, made in the pool."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from core.app import Core
from core.imaging.render import Window, object_kind, read_dataset, render_frame
from core.imaging.thumbnails import ThumbnailCache, contact_sheet
from tests.support.data import CHARSET_FILES, TEST_FILES, make_dataset, write


@pytest.fixture
def cache(core: Core) -> Iterator[ThumbnailCache]:
    thumbnails = ThumbnailCache(core.settings.data_dir, core.sessions, core.store, workers=2)
    try:
        yield thumbnails
    finally:
        thumbnails.close()


def _stored(core: Core) -> list[dict[str, object]]:
    from core.db.queries import StudyFilter

    return core.list_rows("image", StudyFilter(), limit=10_000)


def _series(core: Core, n: int, tmp_path: Path) -> tuple[str, list[str]]:
    series_uid = "1.2.826.0.1.3680043.2.1143.77"
    uids = [f"1.2.826.0.1.3680043.2.1143.77.{i}" for i in range(n)]
    for i, uid in enumerate(uids):
        ds = make_dataset(
            sop_uid=uid,
            series_uid=series_uid,
            study_uid="1.2.826.0.1.3680043.2.1143.7",
            instance_number=n - i,  # stored in reverse order
        )
        ds.PixelData = bytes([i * 10] * 4)
        write(ds, tmp_path / "series" / f"{i}.dcm")
    core.importer.run([tmp_path / "series"])
    return series_uid, uids


class TestEveryStoredObject:
    def test_all_pydicom_files_get_a_thumbnail(
        self, core: Core, cache: ThumbnailCache, tmp_path: Path
    ) -> None:
        core.importer.run([TEST_FILES, CHARSET_FILES])
        rows = _stored(core)
        assert len(rows) > 80
        uids = [str(r["SOPInstanceUID"]) for r in rows]
        paths = cache.generate(uids, 64)
        sheet_items = []
        placeholders = 0
        for uid, path in zip(uids, paths, strict=True):
            assert path.is_file(), uid
            with Image.open(path) as image:
                assert image.format == "PNG" and max(image.size) == 64
                sheet_items.append((uid[-12:], image.copy()))
            ds = read_dataset(cache.source_of(uid))
            if object_kind(ds) != "image":
                placeholders += 1
        assert 0 < placeholders < len(uids)
        sheet = contact_sheet(sheet_items, 64, 12)
        sheet.save(tmp_path / "contact-sheet.png")
        assert sheet.size[0] == 12 * 64
        # the images are not blank: most thumbnails have contrast
        assert sum(Image.open(p).convert("L").getextrema()[1] > 0 for p in paths) > len(paths) // 2


class TestCache:
    def test_made_on_first_request_then_reused(
        self, core: Core, cache: ThumbnailCache, tmp_path: Path
    ) -> None:
        core.importer.run([TEST_FILES / "CT_small.dcm"])
        uid = str(_stored(core)[0]["SOPInstanceUID"])
        path = cache.path_for(uid, 96)
        assert not path.exists()
        assert cache.get(uid, 96) == path
        first = path.stat().st_mtime_ns
        assert Image.open(path).size == (96, 96)
        assert cache.get(uid, 96) == path
        assert path.stat().st_mtime_ns == first  # not made again
        source = cache.source_of(uid)
        later = first + 10_000_000_000
        os.utime(source, ns=(later, later))  # the stored file was replaced
        cache.get(uid, 96)
        assert path.stat().st_mtime_ns != first

    def test_async_uses_the_pool(self, core: Core, cache: ThumbnailCache) -> None:
        core.importer.run([TEST_FILES / "MR_small.dcm", TEST_FILES / "rtplan.dcm"])
        uids = [str(r["SOPInstanceUID"]) for r in _stored(core)]

        async def fetch() -> list[Path]:
            return list(await asyncio.gather(*(cache.get_async(u, 80) for u in uids * 2)))

        paths = asyncio.run(fetch())
        assert len(set(paths)) == 2 and all(p.is_file() for p in paths)
        assert multiprocessing.active_children()  # the pool's workers did it

    def test_full_size_render_in_the_pool(self, core: Core, cache: ThumbnailCache) -> None:
        core.importer.run([TEST_FILES / "CT_small.dcm"])
        uid = str(_stored(core)[0]["SOPInstanceUID"])
        rendered = asyncio.run(cache.render_async(uid, 0, Window(40, 400)))
        assert rendered.pixels.shape == (128, 128) and rendered.window == Window(40, 400)
        local = render_frame(cache.source_of(uid), 0, Window(40, 400))
        assert (rendered.pixels == local.pixels).all()

    def test_schedule_returns_at_once_and_completes(
        self, core: Core, cache: ThumbnailCache, tmp_path: Path
    ) -> None:
        _, uids = _series(core, 5, tmp_path)
        futures = cache.schedule(uids)
        written = [Path(p) for future in futures for p in future.result(timeout=120)]
        assert sorted(written) == sorted(cache.path_for(uid) for uid in uids)
        assert all(p.is_file() for p in written)
        assert cache.schedule(uids) == []  # nothing left to do

    def test_series_thumbnail_is_the_middle_image(
        self, core: Core, cache: ThumbnailCache, tmp_path: Path
    ) -> None:
        series_uid, uids = _series(core, 5, tmp_path)
        # instance numbers run 5..1 over uids[0..4]: number 3 is uids[2]
        assert cache.middle_instance(series_uid) == uids[2]
        assert cache.series_thumbnail(series_uid, 32) == cache.path_for(uids[2], 32)
        path = asyncio.run(cache.series_thumbnail_async(series_uid, 48))
        assert path == cache.path_for(uids[2], 48) and path.is_file()

    def test_removed_with_their_images(
        self, core: Core, cache: ThumbnailCache, tmp_path: Path
    ) -> None:
        series_uid, uids = _series(core, 4, tmp_path)
        cache.generate(uids, 32)
        cache.generate(uids[:1], 64)
        doomed = core.writer.delete("instance", uids[0]).sop_uids
        assert doomed == (uids[0],)
        assert cache.remove(doomed) == 2
        assert not cache.path_for(uids[0], 32).exists()
        assert cache.path_for(uids[1], 32).exists()
        # a deletion that did not tell the cache: prune finds the orphans
        core.writer.delete("series", series_uid)
        assert cache.prune() == 3
        assert not any(cache.root.rglob("*.png"))

    def test_worker_logs_reach_the_parent(
        self, core: Core, cache: ThumbnailCache, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        core.importer.run([TEST_FILES / "JPEG-lossy.dcm"])
        uid = str(_stored(core)[0]["SOPInstanceUID"])
        with caplog.at_level(logging.WARNING, logger="core"):
            path = asyncio.run(cache.get_async(uid, 64))
            cache.close()  # flushes the log queue
        assert Image.open(path).size == (64, 64)  # a placeholder that says why
        records = [r for r in caplog.records if r.name == "core.imaging.render"]
        assert records and "cannot render" in records[0].getMessage()
        assert records[0].process != os.getpid()

    def test_unknown_instance(self, cache: ThumbnailCache) -> None:
        from core.errors import NotFoundError

        with pytest.raises(NotFoundError):
            cache.get("1.2.3.4")

    def test_hostile_uid_never_names_a_file(self, cache: ThumbnailCache) -> None:
        from core.errors import InvalidUIDError

        with pytest.raises(InvalidUIDError):
            cache.path_for("../../etc/passwd")

    def test_close_stops_the_workers(self, core: Core, tmp_path: Path) -> None:
        _, uids = _series(core, 2, tmp_path)
        cache = ThumbnailCache(core.settings.data_dir, core.sessions, core.store, workers=1)
        cache.generate(uids)
        workers = multiprocessing.active_children()
        assert workers
        cache.close()
        assert not any(w.is_alive() for w in workers)
        with pytest.raises(RuntimeError):
            cache.schedule(uids, 40)


def test_core_delete_drops_thumbnails(core: Core, tmp_path: Path) -> None:
    series_uid, uids = _series(core, 3, tmp_path)
    core.thumbnails.generate(uids, 32)
    core.delete("series", series_uid)
    assert not any(core.thumbnails.path_for(uid, 32).exists() for uid in uids)
