"""The Query tab in the real window: every column of the series table shows, at 1024x600 as
at 1920x1080, without a sideways scroll."""

from __future__ import annotations

from tests.e2e.harness import KioskScreen
from viewmodels.queryretrieve import SERIES_COLUMNS, STUDY_COLUMNS


def test_every_series_column_shows(kiosk: KioskScreen) -> None:
    kiosk.tap("tab_2")
    kiosk.wait_idle()
    panel = kiosk.wait_item("qrSeries")
    assert panel.inside(kiosk.width, kiosk.height)
    right = panel.x + panel.w
    for key, title, _weight in SERIES_COLUMNS:
        cell = kiosk.wait_item(f"qrSeries_header_{key}")
        assert cell.text == title
        assert panel.x <= cell.x and cell.x + cell.w <= right + 0.5, (title, cell, panel)
    kiosk.screenshot("query-tab")


def test_the_study_table_shows_beside_the_series(kiosk: KioskScreen) -> None:
    kiosk.tap("tab_2")
    studies = kiosk.wait_item("qrStudies")
    series = kiosk.wait_item("qrSeries")
    assert studies.inside(kiosk.width, kiosk.height)
    assert studies.x + studies.w <= series.x
    first = kiosk.wait_item(f"qrStudies_header_{STUDY_COLUMNS[0][0]}")
    assert studies.x <= first.x
    kiosk.tap("tab_0")  # back where the other modules expect the kiosk
    kiosk.wait_idle()
