"""The filter panel and the status line under the finger, at 1024x600 and 1920x1080.

- Every modality the database holds has a chip a finger reaches: inside the panel's visible
  part once the panel is scrolled (and the panel shows that it scrolls), wholly on the screen,
  touch-sized; tapping it and Apply filters as ``dicom-kiosk list --modality`` does.
- The filter summary in the status line keeps its start: cut at its end when too long, wholly
  on the screen.
- The date picker: a tap on a tumbler's value selects it; the years stop at the latest (no
  wrap to 1980); a range picked by taps filters as ``list --date-from --date-to`` does.

The module imports a patient with studies of many modalities beside the running kiosk (the
demo's four fit in one row of chips), then taps Refresh. Each test leaves the filters cleared
and the panel hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from operator import eq

import pytest
from pydicom.uid import generate_uid

from tests.e2e.harness import Item, KioskScreen, cli
from tests.e2e.test_dialogs import wait_no_dialog
from tests.e2e.test_find_patient import open_filters
from tests.e2e.test_viewer import drag, listed
from tests.support.data import make_dataset, write

MIN_TOUCH = 48
DRAG_LEAST = 80  # px: a finger's drag that scrolls (the drag threshold is about 10)
# Beside the demo's CR, CT, MR and US: more than one row of chips holds at either size.
MORE_MODALITIES = ("DX", "MG", "NM", "PT", "RF", "XA", "ES", "IO", "OP", "SM", "OT", "XC")
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# The range picked in the date picker: it holds three of the harness's extra patients.
DATE_FROM, DATE_TO = date(2023, 10, 1), date(2024, 4, 4)


@pytest.fixture(scope="module")
def modalities(kiosk: KioskScreen, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Import one study per extra modality with the CLI, tap Refresh; every modality the
    database holds (its series'), as the CLI lists them."""
    folder = tmp_path_factory.mktemp("modalities")
    for number, modality in enumerate(MORE_MODALITIES):
        ds = make_dataset(patient_name="Modality^Many", patient_id="MOD-1",
                          study_uid=generate_uid(), study_date=f"2019{number + 1:02}15",
                          modality=modality)  # fmt: skip
        write(ds, folder / f"{modality}.dcm")
    cli(kiosk.data_dir, "import", str(folder))
    held = sorted({str(s["Modality"]) for s in listed(kiosk, "series")})
    assert set(MORE_MODALITIES) <= set(held)
    kiosk.tap("tab_0")
    kiosk.tap("refreshButton")
    kiosk.wait_idle()
    kiosk.wait_prop("database.filters.modalities", lambda m: sorted(m) == held)
    return held


@pytest.fixture
def panel(kiosk: KioskScreen, modalities: list[str]) -> Iterator[KioskScreen]:
    """The filter panel shown, every filter cleared; afterwards cleared and hidden again."""
    kiosk.tap("tab_0")
    open_filters(kiosk)
    yield kiosk
    for name in ("datePickerCancel",):
        item = kiosk.item(name)
        if item is not None and item.visible and item.enabled:
            kiosk.tap_at(*item.center)
    wait_no_dialog(kiosk)
    open_filters(kiosk)
    kiosk.tap("filtersButton")
    kiosk.wait_prop("database.filters.shown", lambda shown: not shown)
    kiosk.wait_idle()


# -- the panel and its chips -----------------------------------------------------------------------
def within(item: Item, box: Item) -> bool:
    """``item`` wholly inside ``box`` (half a pixel of rounding allowed)."""
    return (
        item.x >= box.x - 0.5
        and item.y >= box.y - 0.5
        and item.x + item.w <= box.x + box.w + 0.5
        and item.bottom <= box.bottom + 0.5
    )


def settled(kiosk: KioskScreen, name: str) -> Item:
    """The item once it has stopped moving (a flick may glide on after the finger lifts)."""
    seen: list[Item] = []

    def still() -> Item | None:
        item = kiosk.wait_item(name, lambda i: True)
        seen.append(item)
        del seen[:-2]
        return item if len(seen) == 2 and (seen[0].x, seen[0].y) == (item.x, item.y) else None

    return kiosk.wait_until(still, f"{name} to stop moving")


def reveal(kiosk: KioskScreen, name: str) -> Item:
    """Scroll the filter panel with a finger until the item named ``name`` is wholly in its
    visible part; the item then."""
    for _ in range(8):
        item = settled(kiosk, name)
        view = kiosk.wait_item("filterFields")
        if within(item, view):
            return item
        # Drag the panel's content by what hides the item: well past the drag threshold (a
        # short drag is a tap on whatever is under the finger), at most most of its height.
        below = item.bottom - view.bottom + 8
        above = view.y - item.y + 8
        shift = below if below > 0 else -above
        shift = max(DRAG_LEAST, min(view.h * 0.6, abs(shift))) * (1 if shift > 0 else -1)
        x = view.x + view.w / 2
        start = view.y + view.h / 2 + shift / 2
        drag(kiosk, (x, start), (x, start - shift), steps=10)
    raise AssertionError(f"{name} never came wholly into the filter panel's view")


def tap_in_panel(kiosk: KioskScreen, name: str) -> None:
    """Tap a control of the filter panel once it is wholly in the panel's view."""
    kiosk.tap_at(*reveal(kiosk, name).center)


def suggesting(kiosk: KioskScreen) -> bool:
    """A list of name or ID suggestions is open (it covers the fields below its own)."""
    return any(
        item is not None and item.visible
        for item in (kiosk.item("filterNameList"), kiosk.item("filterIdList"))
    )


def shows(text: str) -> Callable[[Item], bool]:
    return lambda item: item.text == text


def shown_rows(kiosk: KioskScreen) -> list[tuple[str, str, str]]:
    """(date, description, modalities) of every row of the study table, sorted."""
    return sorted((r[0], r[2], r[3]) for r in kiosk.rows("study"))


def listed_rows(kiosk: KioskScreen, *filters: str) -> list[tuple[str, str, str]]:
    """The same of ``dicom-kiosk list --level study`` with ``filters``."""
    rows = listed(kiosk, "study", *filters)
    return sorted(
        (f"{d[:4]}-{d[4:6]}-{d[6:]}", str(r["StudyDescription"]), str(r["ModalitiesInStudy"]))
        for r in rows
        for d in [str(r["StudyDate"])]
    )


def test_every_modality_has_a_chip_a_finger_reaches_and_it_filters(
    panel: KioskScreen, modalities: list[str]
) -> None:
    kiosk = panel
    chips = kiosk.items("filterModality_")
    assert sorted(c.name.removeprefix("filterModality_") for c in chips) == modalities
    view = kiosk.wait_item("filterFields")
    assert within(view, kiosk.wait_item("filterPanel")) and view.inside(kiosk.width, kiosk.height)
    # What does not fit shows that the panel scrolls.
    if not all(within(c, view) for c in chips):
        assert kiosk.wait_item("filterFieldsScroll").visible
    kiosk.screenshot("chips")
    for modality in modalities:
        name = f"filterModality_{modality}"
        chip = reveal(kiosk, name)
        assert chip.visible and chip.enabled and chip.inside(kiosk.width, kiosk.height), chip
        assert chip.w >= MIN_TOUCH and chip.h >= MIN_TOUCH, chip
        kiosk.tap_at(*chip.center)
        kiosk.wait_item(name, lambda i: bool(i.checked))
        kiosk.wait_prop("database.filters.modality", partial(eq, modality))
        kiosk.tap("filterApply")
        kiosk.wait_prop("database.filters.summary", partial(eq, f"Filtered: {modality}"))
        kiosk.wait_idle()
        expected = listed_rows(kiosk, "--modality", modality)
        assert expected, f"the database holds {modality}: the CLI finds its studies"
        assert shown_rows(kiosk) == expected, modality
    kiosk.screenshot("chips-last")


# -- the status line -------------------------------------------------------------------------------
def test_the_filter_summary_keeps_its_start(panel: KioskScreen) -> None:
    """A long filter (name, ID, dates, modality): the summary's line shows its start, cut at
    the end if at all, wholly on the screen and inside the status lines."""
    kiosk = panel
    # Each field applied with Enter: its suggestions close, the keyboard goes down.
    for field, text, applied in (("filterName", "*a*", "Filtered: name *a*"),
                                 ("filterId", "*-*", "Filtered: name *a*, ID *-*")):  # fmt: skip
        tap_in_panel(kiosk, field)
        kiosk.type_keys(text)
        kiosk.wait_item(field, shows(text))
        kiosk.key("Return")
        kiosk.wait_prop("database.filters.summary", partial(eq, applied))
        kiosk.wait_until(lambda: not kiosk.window()["keyboardHeight"], "the keyboard to go down")
        kiosk.wait_idle()
        # Enter closed the field's suggestions: none covers the controls below it.
        kiosk.wait_until(lambda: not suggesting(kiosk), "the suggestions to close", timeout=2)
    tap_in_panel(kiosk, "filterDays_30")
    kiosk.wait_prop("database.filters.dateFrom", bool)
    tap_in_panel(kiosk, "filterModality_CT")
    kiosk.wait_item("filterModality_CT", lambda i: bool(i.checked))
    kiosk.tap("filterApply")
    summary = kiosk.wait_prop("database.filters.summary", lambda s: s.endswith(", CT"))
    assert summary.startswith("Filtered: name *a*, ID *-*, dates ")
    kiosk.wait_idle()
    lines = kiosk.wait_item("statusLines")
    line = kiosk.wait_item("filterSummary", lambda i: i.visible and bool(i.text))
    assert line.inside(kiosk.width, kiosk.height), line
    assert within(line, lines), (line, lines)
    shown = str(line.text)
    if shown != summary:  # too long for the line: cut at its end, never at its start
        assert shown.endswith("…") and summary.startswith(shown[:-1]), (shown, summary)
    assert shown.startswith("Filtered: name *a*")
    if kiosk.width <= 1024:  # the case this is about: the line is too short for it all
        assert shown != summary
    kiosk.screenshot("summary")


# -- the date picker -------------------------------------------------------------------------------
def values(kiosk: KioskScreen, tumbler: str) -> tuple[Item, list[Item]]:
    """The tumbler and its values shown inside it (top to bottom)."""
    box = kiosk.wait_item(tumbler)
    shown = [
        i
        for i in kiosk.items(tumbler + "_")
        if i.visible and box.y - 0.5 <= i.y + i.h / 2 <= box.bottom + 0.5 and i.h > 0
    ]
    return box, sorted(shown, key=lambda i: i.y)


def current(kiosk: KioskScreen, tumbler: str) -> str | None:
    """The value in the middle of the tumbler (the chosen one), once it rests there."""
    box, shown = values(kiosk, tumbler)
    middle = box.y + box.h / 2
    for item in shown:
        if abs(item.y + item.h / 2 - middle) < 1.0:
            return str(item.text)
    return None


def tap_value(kiosk: KioskScreen, tumbler: str, label: str) -> None:
    """Tap the value ``label`` shown in ``tumbler``; it then rests in the middle."""
    _box, shown = values(kiosk, tumbler)
    item = next(i for i in shown if str(i.text) == label)
    kiosk.tap_at(*item.center)
    kiosk.wait_until(lambda: current(kiosk, tumbler) == label, f"{tumbler} at {label}")


def choose(kiosk: KioskScreen, tumbler: str, label: str, order: list[str]) -> None:
    """Tap values of ``tumbler`` until ``label`` is chosen: the value itself when shown, else
    the shown one nearest to it in ``order`` (taps only, no drag)."""
    for _ in range(40):
        now = kiosk.wait_until(lambda: current(kiosk, tumbler), f"{tumbler} to rest")
        if now == label:
            return
        _box, shown = values(kiosk, tumbler)
        labels = [str(i.text) for i in shown]
        if label in labels:
            tap_value(kiosk, tumbler, label)
            continue
        target = order.index(label)
        nearest = min(
            (text for text in labels if text in order),
            key=lambda text: abs(order.index(text) - target),
        )
        assert nearest != now, f"{tumbler}: no shown value leads from {now} to {label}"
        tap_value(kiosk, tumbler, nearest)
    raise AssertionError(f"{tumbler} never reached {label}")


def pick(kiosk: KioskScreen, button: str, day: date) -> None:
    """Open the picker with ``button``, choose ``day`` by taps, OK."""
    tap_in_panel(kiosk, button)
    kiosk.wait_item("dateYear")
    kiosk.wait_until(lambda: current(kiosk, "dateYear"), "the picker to show a year")
    years = [str(y) for y in range(1980, date.today().year + 2)]
    choose(kiosk, "dateYear", str(day.year), years)
    choose(kiosk, "dateMonth", MONTHS[day.month - 1], MONTHS)
    choose(kiosk, "dateDay", str(day.day), [str(d) for d in range(1, 32)])
    kiosk.screenshot(f"picked-{day.isoformat()}")
    kiosk.tap("datePickerOk")
    wait_no_dialog(kiosk)


def test_the_year_tumbler_stops_at_the_latest_year(panel: KioskScreen) -> None:
    kiosk = panel
    tap_in_panel(kiosk, "filterDateFrom")
    kiosk.wait_item("dateYear")
    this_year = date.today().year
    kiosk.wait_until(lambda: current(kiosk, "dateYear") == str(this_year), "this year")
    latest = str(this_year + 1)
    tap_value(kiosk, "dateYear", latest)  # a tap on a value chooses it
    box, shown = values(kiosk, "dateYear")
    assert [str(i.text) for i in shown if i.y > box.y + box.h / 2] == []  # nothing after it
    # A finger turning the years on past the latest: they stop there (1980 does not come).
    row = box.h / 5
    x = box.x + box.w / 2
    drag(kiosk, (x, box.y + box.h / 2 + row), (x, box.y + box.h / 2 - row * 1.5), steps=10)
    kiosk.wait_until(lambda: current(kiosk, "dateYear"), "the years to rest")
    assert current(kiosk, "dateYear") == latest
    assert "1980" not in [str(i.text) for i in values(kiosk, "dateYear")[1]]
    kiosk.screenshot("latest-year")
    kiosk.tap("datePickerCancel")
    wait_no_dialog(kiosk)
    assert kiosk.prop("database.filters.dateFrom") == ""


def test_a_date_range_picked_by_taps_filters_as_the_command_line_does(
    panel: KioskScreen,
) -> None:
    kiosk = panel
    pick(kiosk, "filterDateFrom", DATE_FROM)
    kiosk.wait_prop("database.filters.dateFrom", lambda d: d == DATE_FROM.strftime("%Y%m%d"))
    pick(kiosk, "filterDateTo", DATE_TO)
    kiosk.wait_prop("database.filters.dateTo", lambda d: d == DATE_TO.strftime("%Y%m%d"))
    assert kiosk.item("filterDateFrom").text == f"From {DATE_FROM.isoformat()}"  # type: ignore[union-attr]
    assert kiosk.item("filterDateTo").text == f"To {DATE_TO.isoformat()}"  # type: ignore[union-attr]
    kiosk.tap("filterApply")
    kiosk.wait_prop(
        "database.filters.summary",
        lambda s: s == f"Filtered: dates {DATE_FROM.isoformat()} to {DATE_TO.isoformat()}",
    )
    kiosk.wait_idle()
    expected = listed_rows(
        kiosk, "--date-from", DATE_FROM.strftime("%Y%m%d"), "--date-to", DATE_TO.strftime("%Y%m%d")
    )
    assert len(expected) >= 3  # the harness's patients of 2023-11, 2024-03 and 2024-04
    assert shown_rows(kiosk) == expected
    kiosk.screenshot("date-range")
