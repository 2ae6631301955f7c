"""A way back to the whole study: tapping the selected study again, or hiding the Series
level, leaves the study selected (not the series picked in it). At 1024x600 and 1920x1080."""

from __future__ import annotations

from tests.e2e.harness import Item, KioskScreen


def shown_rows(kiosk: KioskScreen, level: str) -> list[Item]:
    """The rows of ``level`` wholly inside its panel (what a finger can tap)."""
    panel = kiosk.wait_item(f"levelPanel_{level}")
    return [
        r for r in kiosk.items(f"row_{level}_")
        if r.visible and r.y >= panel.y and r.bottom <= panel.bottom + 0.5
    ]  # fmt: skip


def tap_row(kiosk: KioskScreen, level: str, index: int) -> None:
    row = next(r for r in shown_rows(kiosk, level) if r.name == f"row_{level}_{index}")
    kiosk.tap_at(*row.center)
    kiosk.wait_prop(f"database.{_plural(level)}.currentRow", lambda r: r == index)
    kiosk.wait_idle()


def _plural(level: str) -> str:
    return {"patient": "patients", "study": "studies", "series": "series"}[level]


def pick_a_series(kiosk: KioskScreen, study: int) -> None:
    """Study number ``study`` selected, its Series level shown, its first series selected.
    (Two quick taps on one row are a double tap, which loads it: tests pick another study.)"""
    tap_row(kiosk, "study", study)
    assert kiosk.prop("database.selectionText") == "1 study selected"
    if not kiosk.prop("database.series.shown"):
        kiosk.tap("levelToggle_series")
        kiosk.wait_prop("database.series.shown", bool)
    kiosk.wait_until(lambda: shown_rows(kiosk, "series"), "the study's series")
    tap_row(kiosk, "series", 0)
    assert kiosk.prop("database.selectionText") == "1 series selected"


def test_tapping_the_selected_study_again_selects_the_whole_study(kiosk: KioskScreen) -> None:
    kiosk.tap("tab_0")
    pick_a_series(kiosk, 0)
    kiosk.screenshot("series-selected")
    tap_row(kiosk, "study", 0)
    kiosk.wait_prop("database.selectionText", lambda t: t == "1 study selected")
    assert kiosk.prop("database.series.selectedCount") == 0
    assert kiosk.item("sendButton").enabled  # type: ignore[union-attr]
    kiosk.screenshot("study-selected-again")


def test_hiding_the_series_level_clears_the_series_selection(kiosk: KioskScreen) -> None:
    kiosk.tap("tab_0")
    pick_a_series(kiosk, 1)
    kiosk.tap("levelToggle_series")
    kiosk.wait_prop("database.series.shown", lambda shown: not shown)
    kiosk.wait_prop("database.selectionText", lambda t: t == "1 study selected")
    assert kiosk.prop("database.series.selectedCount") == 0
