"""The layout under the finger, at 1024x600 and 1920x1080: the window fills the screen
without a window manager, selecting a study moves nothing, the next tap lands where it was
meant, bigger screens show more rows, sort arrows stay visible."""

from __future__ import annotations

from tests.e2e.harness import KioskScreen
from tests.e2e.test_selection import shown_rows, tap_row


def test_the_window_fills_the_screen(kiosk: KioskScreen) -> None:
    window = kiosk.window()
    assert (window["x"], window["y"], window["w"], window["h"]) == (0, 0, *window["screen"])
    assert window["screen"] == [kiosk.width, kiosk.height]
    kiosk.screenshot("start")


def test_selecting_a_study_moves_nothing_under_the_finger(kiosk: KioskScreen) -> None:
    kiosk.tap("tab_0")
    kiosk.wait_idle()
    panel = kiosk.wait_item("levelPanel_study")
    before = {r.name: (r.x, r.y) for r in shown_rows(kiosk, "study")}
    assert len(before) >= 2
    tap_row(kiosk, "study", 0)
    after = kiosk.wait_item("levelPanel_study")
    assert (after.x, after.y, after.w, after.h) == (panel.x, panel.y, panel.w, panel.h)
    assert {r.name: (r.x, r.y) for r in shown_rows(kiosk, "study")} == before
    kiosk.screenshot("study-selected")
    # The next tap, meant for the second study, selects it (and sorts nothing).
    sort = kiosk.prop("database.series.sortKey")
    tap_row(kiosk, "study", 1)
    assert kiosk.prop("database.series.sortKey") == sort


def test_bigger_screens_show_more_rows(kiosk: KioskScreen) -> None:
    kiosk.tap("tab_0")
    kiosk.wait_idle()
    rows = len(shown_rows(kiosk, "study"))
    patients = len(shown_rows(kiosk, "patient"))
    least = 2 if kiosk.height < 800 else 6  # 1280x800 showed 4, 1920x1080 showed 3
    assert rows >= least and patients >= least, (rows, patients)


def test_the_sort_arrow_stays_visible_on_a_narrow_header(kiosk: KioskScreen) -> None:
    kiosk.tap("tab_0")
    kiosk.tap("header_study_StudyTime")
    kiosk.wait_prop("database.studies.sortKey", lambda key: key == "StudyTime")
    kiosk.wait_idle()
    cell = kiosk.wait_item("header_study_StudyTime")
    arrow = kiosk.wait_item("header_study_StudyTime_arrow")
    assert cell.x <= arrow.x and arrow.x + arrow.w <= cell.x + cell.w + 0.5
    kiosk.screenshot("sorted-by-time")
    kiosk.tap("header_study_StudyDate")  # back to the default order, newest first
    kiosk.tap("header_study_StudyDate")
    kiosk.wait_prop("database.studies.descending", bool)
