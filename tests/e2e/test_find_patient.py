"""Finding a patient in the real window: the name and ID filters keep what is typed.

Each test runs at 1024x600 and 1920x1080 (the ``kiosk`` fixture). What the kiosk shows after
Apply is checked against ``dicom-kiosk list --json`` for the same filter.
"""

from __future__ import annotations

import json

from tests.e2e.harness import KioskScreen


def open_filters(kiosk: KioskScreen) -> None:
    """The filter panel shown, every filter cleared and applied."""
    if not kiosk.prop("database.filters.shown"):
        kiosk.tap("filtersButton")
    kiosk.tap("filterClear")
    kiosk.wait_prop("database.filters.summary", lambda s: s == "")
    kiosk.wait_item("filterName")
    kiosk.wait_idle()


def listed_names(kiosk: KioskScreen, *args: str) -> list[str]:
    """The patient names ``dicom-kiosk list`` finds, as the table writes them."""
    out = kiosk.cli("list", "--level", "patient", "--json", "--limit", "500", *args)
    data = json.loads(out)
    rows = data["rows"] if isinstance(data, dict) else data
    return sorted(", ".join(p for p in r["PatientName"].split("^") if p) for r in rows)


def shown_names(kiosk: KioskScreen) -> list[str]:
    return sorted(row[0] for row in kiosk.rows("patient"))


def applied(kiosk: KioskScreen, summary: str) -> None:
    kiosk.wait_prop("database.filters.summary", lambda s: s == summary)
    kiosk.wait_idle()


def type_slowly(kiosk: KioskScreen, text: str) -> None:
    """Hardware keys one at a time, each after the kiosk has finished reacting to the last
    one (its suggestions have arrived): what a slow typist does."""
    for char in text:
        kiosk.type_keys(char)
        kiosk.wait_idle()


def test_on_screen_keyboard_keeps_every_key(kiosk: KioskScreen) -> None:
    """Clear, tap Patient name, tap j o h &123 *: the field shows joh*, Apply filters by it."""
    open_filters(kiosk)
    kiosk.tap("filterName")
    kiosk.wait_until(kiosk.keyboard_visible, "the on-screen keyboard")
    kiosk.osk_type("joh*")
    field = kiosk.wait_item("filterName", lambda i: i.text == "joh*")
    assert kiosk.prop("database.filters.patientName") == field.text
    kiosk.screenshot("keyboard-typed")
    apply = kiosk.item("filterApply")
    assert apply is not None and apply.bottom <= kiosk.height - kiosk.window()["keyboardHeight"]
    kiosk.tap("filterApply")
    applied(kiosk, "Filtered: name joh*")
    expected = listed_names(kiosk, "--patient-name", "joh*")
    assert {"Johansson, François", "Johnson, Mary"} <= set(expected)
    assert shown_names(kiosk) == expected
    kiosk.screenshot("keyboard-applied")


def test_slow_typing_keeps_every_key(kiosk: KioskScreen) -> None:
    """`* m a z *` typed slowly stays `*maz*` (was `mz*`); Enter applies it."""
    open_filters(kiosk)
    kiosk.tap("filterName")
    type_slowly(kiosk, "*maz*")
    assert kiosk.item("filterName").text == "*maz*"  # type: ignore[union-attr]
    kiosk.key("Return")
    applied(kiosk, "Filtered: name *maz*")
    expected = listed_names(kiosk, "--patient-name", "*MAZ*")
    assert {"Mazur, Piotr", "Yilmaz, Mehmet", "Yılmaz, Sofia"} <= set(expected)
    assert shown_names(kiosk) == expected


def test_slow_typing_keeps_every_key_of_an_id(kiosk: KioskScreen) -> None:
    """The patient ID field the same: `*-200*` typed slowly stays, Apply applies it."""
    open_filters(kiosk)
    kiosk.tap("filterId")
    type_slowly(kiosk, "*-200*")
    assert kiosk.item("filterId").text == "*-200*"  # type: ignore[union-attr]
    kiosk.tap("filterApply")
    applied(kiosk, "Filtered: ID *-200*")
    expected = listed_names(kiosk, "--patient-id", "*-200*")
    assert {"Yilmaz, Mehmet", "Yılmaz, Sofia"} <= set(expected)
    assert shown_names(kiosk) == expected


def test_enter_applies_what_is_typed_not_a_completion(kiosk: KioskScreen) -> None:
    """Enter on `Joh*` applies `Joh*` (every Johansson), not a suggestion's full name."""
    open_filters(kiosk)
    kiosk.tap("filterName")
    kiosk.type_keys("Joh*")
    kiosk.wait_item("filterName", lambda i: i.text == "Joh*")
    kiosk.wait_idle()  # the suggestions for it have arrived: they must not replace it
    kiosk.key("Return")
    applied(kiosk, "Filtered: name Joh*")
    assert kiosk.item("filterName").text == "Joh*"  # type: ignore[union-attr]
    assert shown_names(kiosk) == listed_names(kiosk, "--patient-name", "Joh*")
    assert {"Johansson, François", "Johnson, Mary"} <= set(shown_names(kiosk))


def test_drop_down_lists_names_and_a_pick_fills_the_field(kiosk: KioskScreen) -> None:
    """The name list shows names as the tables do; picking one fills the field; Apply
    finds that patient. The same for an ID."""
    open_filters(kiosk)
    kiosk.tap("filterNameOpen")
    kiosk.wait_item("filterNameList")
    choices = kiosk.wait_until(lambda: kiosk.items("filterNameChoice_"), "name suggestions")
    labels = [c.text for c in choices]
    assert "Johansson, François" in labels
    assert not any("^" in label for label in labels)
    kiosk.screenshot("name-list")
    kiosk.tap(choices[labels.index("Johansson, François")].name)
    kiosk.wait_item("filterName", lambda i: i.text == "Johansson^François")
    kiosk.tap("filterApply")
    applied(kiosk, "Filtered: name Johansson^François")
    assert shown_names(kiosk) == ["Johansson, François"]

    open_filters(kiosk)
    kiosk.tap("filterIdOpen")
    choices = kiosk.wait_until(lambda: kiosk.items("filterIdChoice_"), "ID suggestions")
    ids = [c.text for c in choices]
    assert "MP-3003" in ids
    kiosk.tap(choices[ids.index("MP-3003")].name)
    kiosk.wait_item("filterId", lambda i: i.text == "MP-3003")
    kiosk.tap("filterApply")
    applied(kiosk, "Filtered: ID MP-3003")
    assert shown_names(kiosk) == ["Mazur, Piotr"]
