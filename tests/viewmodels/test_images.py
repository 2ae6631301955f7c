"""Thumbnails: made off the GUI thread from the stored files; a neutral tile otherwise."""

from __future__ import annotations

import asyncio
import threading

from PySide6.QtCore import QSize

from core.app import Core
from core.db.queries import StudyFilter
from core.dicom import synth
from core.index.importer import MemorySource
from tests.support.qt import run_until
from viewmodels.images import ThumbnailProvider, thumbnail_image


def import_ct(core: Core) -> dict[str, str]:
    sources = [MemorySource(str(i), d) for i, d in enumerate(synth.ct_series(4, size=96))]
    core.importer.run_sources(sources)
    return core.list_rows("series", StudyFilter(), limit=1)[0]


def test_series_thumbnail_shows_the_pixels(core: Core, loop: asyncio.AbstractEventLoop) -> None:
    series = import_ct(core)
    image = thumbnail_image(
        core, f"series/{series['StudyInstanceUID']}/{series['SeriesInstanceUID']}", 64
    )
    assert max(image.width(), image.height()) == 64  # the core's thumbnail at that size
    greys = {
        image.pixelColor(x, y).lightness()
        for x in range(image.width())
        for y in range(image.height())
    }
    assert min(greys) < 40 and max(greys) > 200 and len(greys) > 5  # a picture, not a tile


def test_unknown_or_broken_gets_a_neutral_tile(core: Core, loop: asyncio.AbstractEventLoop) -> None:
    image = thumbnail_image(core, "image/1.2/3.4/5.6", 64)
    assert (image.width(), image.height()) == (64, 64)
    assert image.pixelColor(2, 2).name() == "#3a3d42"


def test_provider_answers_on_a_worker_thread(core: Core, loop: asyncio.AbstractEventLoop) -> None:
    series = import_ct(core)
    provider = ThumbnailProvider(core)
    seen: list[bool] = []
    gui_thread = threading.current_thread()
    response = provider.requestImageResponse(
        f"series/{series['StudyInstanceUID']}/{series['SeriesInstanceUID']}", QSize(64, 64)
    )
    response.finished.connect(lambda: seen.append(threading.current_thread() is gui_thread))
    run_until(loop, lambda: bool(seen))
    assert not response.image.isNull()
    assert provider.wait_idle()
