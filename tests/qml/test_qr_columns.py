"""The Query tab at 1024x600: every column of the result tables shows without scrolling."""

from __future__ import annotations

import asyncio

import pytest

from core.app import Core
from tests.qml.kiosk_window import find, open_kiosk
from tests.support.qt import settle
from viewmodels.queryretrieve import SERIES_COLUMNS


@pytest.mark.parametrize("size", [(1024, 600), (1280, 800)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_every_series_column_shows(
    core: Core, loop: asyncio.AbstractEventLoop, size: tuple[int, int]
) -> None:
    with open_kiosk(core, loop, size) as kiosk:
        find(kiosk, "tab_2").click()
        settle(loop)
        kiosk.window().grabWindow()
        panel = find(kiosk, "qrSeries")
        left = panel.mapToScene(panel.boundingRect().topLeft()).x()
        right = left + panel.width()
        assert right <= size[0]
        cells = [
            (title, find(kiosk, f"qrSeries_header_{key}")) for key, title, _w in SERIES_COLUMNS
        ]
        for title, cell in cells:  # inside the panel: no column needs a scroll to be seen
            x = cell.mapToScene(cell.boundingRect().topLeft()).x()
            assert left <= x and x + cell.width() <= right + 0.5, (title, x, cell.width(), right)
        for title, cell in cells:  # and wide enough for its title
            content = cell.property("contentItem")
            text = next(c for c in content.childItems() if c.property("text") == title)
            assert not text.property("truncated"), (title, text.width(), text.implicitWidth())
