"""The viewer in the real window: Load from the Database tab, then the slider, a swipe, cine,
the value probe and Save, each done as a user does it (taps and drags through the X server).

Each test runs at 1024x600 and 1920x1080 (the ``kiosk`` fixture). The series opened is a CT
stack of the demo data (the longest of a patient on the first screen); what Save adds to the
study is checked against ``dicom-kiosk list --json`` on the kiosk's data directory. Each test
opens the series itself and goes back to the Database tab when done.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image, ImageGrab

from tests.e2e.harness import Item, KioskScreen
from tests.e2e.test_selection import shown_rows, tap_row

PROBE_TEXT = re.compile(r"^x (\d+)  y (\d+):  (-?\d+)(?: (\S+))?$")
# the series columns the table shows that the CLI's JSON has as they are (see LEVEL_COLUMNS)
SERIES_CELLS = {
    0: "SeriesNumber",
    1: "Modality",
    2: "SeriesDescription",
    5: "NumberOfSeriesRelatedInstances",
}


@dataclass(frozen=True)
class Series:
    """The series a test opens, as the CLI lists it."""

    patient_id: str
    patient_name: str  # as the tables write it: "Family, Given"
    study: dict[str, Any]
    series: dict[str, Any]

    @property
    def images(self) -> int:
        return int(self.series["NumberOfSeriesRelatedInstances"])


def listed(kiosk: KioskScreen, level: str, *args: str) -> list[dict[str, Any]]:
    """``dicom-kiosk list --level LEVEL --json ARGS``: its rows (never truncated here)."""
    data = json.loads(kiosk.cli("list", "--level", level, "--json", "--limit", "1000", *args))
    assert not data["truncated"] and data["warnings"] == []
    rows: list[dict[str, Any]] = data["rows"]
    return rows


def table_name(name: str) -> str:
    return ", ".join(p for p in name.split("^") if p)


@pytest.fixture(scope="module")
def ct(kiosk: KioskScreen) -> Series:
    """The longest CT series of a patient whose row the Database tab shows without scrolling."""
    kiosk.tap("tab_0")
    kiosk.wait_idle()
    shown_ids = {kiosk.rows("patient")[int(r.name.rsplit("_", 1)[1])][1]
                 for r in shown_rows(kiosk, "patient")}  # fmt: skip
    studies = {s["StudyInstanceUID"]: s for s in listed(kiosk, "study")}
    candidates = [
        (int(s["NumberOfSeriesRelatedInstances"]), s, studies[s["StudyInstanceUID"]])
        for s in listed(kiosk, "series", "--modality", "CT")
        if studies[s["StudyInstanceUID"]]["PatientID"] in shown_ids
    ]
    assert candidates, "no CT series of a patient on the first screen"
    count, series, study = max(candidates, key=lambda c: c[0])
    assert count >= 16, "the demo data has CT stacks of 16 images and more"
    return Series(study["PatientID"], table_name(study["PatientName"]), study, series)


# -- what a user does ------------------------------------------------------------------------------
def row_index(kiosk: KioskScreen, level: str, match: dict[int, str]) -> int:
    """The row of ``level`` on screen whose cells hold ``match`` (column: text)."""
    cells = kiosk.rows(level)
    for row in shown_rows(kiosk, level):
        index = int(row.name.rsplit("_", 1)[1])
        if all(cells[index][c] == text for c, text in match.items()):
            return index
    raise AssertionError(f"no {level} row shows {match} (rows: {cells})")


def back_to_database(kiosk: KioskScreen) -> None:
    if kiosk.prop("view") == "viewer":
        kiosk.tap("viewerBack")
        kiosk.wait_prop("view", lambda v: v == "database")
    kiosk.tap("tab_0")
    kiosk.wait_item("loadButton")
    kiosk.wait_idle()


def select_series(kiosk: KioskScreen, ct: Series) -> None:
    """Patient, study and series tapped in the Database tab (those already chosen are kept:
    tapping a selected row again goes back up to it)."""
    back_to_database(kiosk)
    if kiosk.prop("database.series.currentKey") == ct.series["SeriesInstanceUID"] and (
        kiosk.prop("database.selectionText") == "1 series selected"
    ):
        return
    patient = row_index(kiosk, "patient", {1: ct.patient_id})
    if kiosk.prop("database.patients.currentRow") != patient:
        tap_row(kiosk, "patient", patient)
    assert kiosk.rows("patient")[patient][0] == ct.patient_name
    study = row_index(kiosk, "study", {0: _date(ct.study["StudyDate"]),
                                       2: ct.study["StudyDescription"]})  # fmt: skip
    tap_row(kiosk, "study", study)
    assert kiosk.prop("database.studies.currentKey") == ct.study["StudyInstanceUID"]
    if not kiosk.prop("database.series.shown"):
        kiosk.tap("levelToggle_series")
        kiosk.wait_prop("database.series.shown", bool)
    kiosk.wait_until(lambda: shown_rows(kiosk, "series"), "the study's series")
    series = row_index(kiosk, "series", {c: str(ct.series[k]) for c, k in SERIES_CELLS.items()})
    tap_row(kiosk, "series", series)
    assert kiosk.prop("database.series.currentKey") == ct.series["SeriesInstanceUID"]
    assert kiosk.prop("database.selectionText") == "1 series selected"


def _date(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:]}"


def open_viewer(kiosk: KioskScreen, ct: Series) -> None:
    """The series selected and loaded: the viewer shows its first image."""
    select_series(kiosk, ct)
    kiosk.tap("loadButton")
    kiosk.wait_prop("view", lambda v: v == "viewer")
    kiosk.wait_prop("viewer.count", lambda n: n == ct.images)
    kiosk.wait_prop("viewer.imageWidth", lambda w: w > 0)
    kiosk.wait_prop("viewer.busy", lambda busy: not busy)
    kiosk.wait_item("viewerImage")
    kiosk.wait_item("viewerSliderHandle")
    assert kiosk.prop("viewer.index") == 0
    # and on the screen: the stage's black margin where the Database tab was
    stage = kiosk.wait_item("viewerStage")
    margin = round(stage.x + 1), round(stage.y + stage.h * 0.3)
    kiosk.wait_until(lambda: grab(kiosk).getpixel(margin) == (0, 0, 0), "the viewer on screen")


def grab(kiosk: KioskScreen) -> Image.Image:
    """What the screen shows now."""
    return ImageGrab.grab(xdisplay=kiosk.xserver.display).convert("RGB")


def settled_screenshot(kiosk: KioskScreen, name: str) -> None:
    """``<artifacts>/<name>.png`` once two grabs in a row are the same (the last change has
    reached the screen)."""
    shots = [grab(kiosk)]

    def settled() -> bool:
        shots.append(grab(kiosk))
        del shots[:-2]
        return shots[0].tobytes() == shots[1].tobytes()

    kiosk.wait_until(settled, "the screen to settle")
    path = kiosk.artifacts / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    shots[1].save(path)


def at(kiosk: KioskScreen, index: int) -> None:
    """Until the viewer is at image ``index`` and has decoded it."""
    kiosk.wait_prop("viewer.index", lambda i: i == index)
    kiosk.wait_prop("viewer.busy", lambda busy: not busy)


def drag(kiosk: KioskScreen, start: tuple[float, float], end: tuple[float, float],
         steps: int = 16) -> None:  # fmt: skip
    """Press at ``start``, move in ``steps`` even steps to ``end``, release: a finger's drag."""
    for x, y in (start, end):
        assert 0 <= x < kiosk.width and 0 <= y < kiosk.height, f"({x}, {y}) is off the screen"
    xdotool = kiosk.xserver.xdotool
    before = kiosk.releases()
    xdotool("mousemove", str(round(start[0])), str(round(start[1])))
    xdotool("mousedown", "1")
    try:
        for step in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * step / steps
            y = start[1] + (end[1] - start[1]) * step / steps
            xdotool("mousemove", str(round(x)), str(round(y)))
    finally:
        xdotool("mouseup", "1")
    kiosk.await_release(before)


def painted_image(kiosk: KioskScreen) -> tuple[float, float, float, float]:
    """Where the image itself is drawn (x, y, w, h): fitted, centred in its item."""
    item = kiosk.wait_item("viewerImage")
    width, height = kiosk.prop("viewer.imageWidth"), kiosk.prop("viewer.imageHeight")
    scale = min(item.w / width, item.h / height)
    w, h = width * scale, height * scale
    return item.x + (item.w - w) / 2, item.y + (item.h - h) / 2, w, h


def shows_other_than(text: str) -> Callable[[Item], bool]:
    """A check that an item shows some text, not ``text``."""
    return lambda item: bool(item.text) and item.text != text


def overlaps(item: Item, rect: tuple[float, float, float, float]) -> bool:
    x, y, w, h = rect
    return item.x < x + w and x < item.x + item.w and item.y < y + h and y < item.bottom


# -- the tests -------------------------------------------------------------------------------------
def test_load_shows_the_patient_and_the_slider_and_a_swipe_move_through_the_stack(
    kiosk: KioskScreen, ct: Series
) -> None:
    """The overlay names the patient as the tables do and shows "Im 1 / N"; the slider's
    handle dragged half way shows the middle image, to the bottom the last, a tap on its track
    the image there; a swipe down the image of one stage height goes through the whole stack."""
    open_viewer(kiosk, ct)
    count = ct.images
    top_left = kiosk.wait_item("overlayTopLeft", lambda i: i.visible and bool(i.text))
    assert top_left.text.split("\n")[0] == ct.patient_name
    bottom_left = kiosk.wait_item("overlayBottomLeft")
    assert f"Im 1 / {count}" in bottom_left.text.split("\n")
    assert kiosk.prop("viewer.positionText") == f"1 / {count}"
    settled_screenshot(kiosk, "loaded")

    slider = kiosk.wait_item("viewerSlider", lambda i: i.visible and i.enabled)
    handle = kiosk.wait_item("viewerSliderHandle")
    assert handle.center[1] < slider.y + slider.h / 4  # the first image is at the top
    drag(kiosk, handle.center, (handle.center[0], slider.y + slider.h / 2))
    kiosk.wait_prop("viewer.busy", lambda busy: not busy)
    middle = kiosk.prop("viewer.index")
    assert abs(middle - (count - 1) / 2) <= 1, f"half way down shows image {middle}"
    kiosk.wait_item("overlayBottomLeft", lambda i: f"Im {middle + 1} / {count}" in i.text)
    handle = kiosk.wait_item("viewerSliderHandle")
    drag(kiosk, handle.center, (handle.center[0], slider.bottom - 1))
    at(kiosk, count - 1)
    kiosk.wait_item("overlayBottomLeft", lambda i: f"Im {count} / {count}" in i.text)
    settled_screenshot(kiosk, "slider-at-the-end")
    handle = kiosk.wait_item("viewerSliderHandle")
    drag(kiosk, handle.center, (handle.center[0], slider.y + 1))
    at(kiosk, 0)
    # a tap on the track three quarters down goes about three quarters through the stack
    kiosk.tap_at(slider.center[0], slider.y + slider.h * 3 / 4)
    kiosk.wait_prop("viewer.index", lambda i: i > 0)
    kiosk.wait_prop("viewer.busy", lambda busy: not busy)
    tapped = kiosk.prop("viewer.index")
    assert abs(tapped - (count - 1) * 3 / 4) <= 1, f"a tap 3/4 down shows image {tapped}"
    handle = kiosk.wait_item("viewerSliderHandle")
    drag(kiosk, handle.center, (handle.center[0], slider.y + 1))
    at(kiosk, 0)

    # a swipe down the image, one stage height, goes from the first image to the last
    stage = kiosk.wait_item("viewerStage")
    image = kiosk.wait_item("viewerImage")
    x = image.x + image.w / 2
    assert x < slider.x  # beside the slider, on the image
    drag(kiosk, (x, stage.y + 2), (x, stage.bottom - 2), steps=count * 2)
    at(kiosk, count - 1)
    assert kiosk.prop("viewer.overlayShown")  # a drag is not a tap
    # half a height back up goes back about half the stack
    drag(kiosk, (x, stage.bottom - 2), (x, stage.bottom - 2 - stage.h / 2), steps=count)
    kiosk.wait_prop("viewer.busy", lambda busy: not busy)
    back = kiosk.prop("viewer.index")
    assert abs((count - 1 - back) - count / 2) <= 1.5, f"half a swipe up shows image {back}"
    back_to_database(kiosk)


def test_cine_plays_and_pause_stops_it(kiosk: KioskScreen, ct: Series) -> None:
    open_viewer(kiosk, ct)
    play = kiosk.tap("viewerPlay")
    assert play.text == "▶"
    kiosk.wait_prop("viewer.playing", bool)
    kiosk.wait_item("viewerPlay", lambda i: i.checked and i.text == "❚❚")
    seen: set[int] = set()

    def advanced() -> bool:
        seen.add(kiosk.prop("viewer.index"))
        return len(seen) >= 4

    kiosk.wait_until(advanced, "cine to show four images")
    kiosk.screenshot("cine-playing")
    kiosk.tap("viewerPlay")
    kiosk.wait_prop("viewer.playing", lambda playing: not playing)
    kiosk.wait_item("viewerPlay", lambda i: not i.checked and i.text == "▶")
    kiosk.wait_prop("viewer.busy", lambda busy: not busy)
    paused = kiosk.prop("viewer.index")
    # five frame intervals of cine pass with the image unchanged
    deadline = time.monotonic() + 5 / float(kiosk.prop("viewer.frameRate"))
    while time.monotonic() < deadline:
        assert kiosk.prop("viewer.index") == paused, "the image moved after pause"
        time.sleep(0.05)
    back_to_database(kiosk)


def test_a_tap_in_probe_mode_shows_the_value_under_the_finger(
    kiosk: KioskScreen, ct: Series
) -> None:
    """Probe mode, a tap on the image: the text names the pixel tapped and its value (air in
    a corner of the CT: about -1000 HU); Stack mode again afterwards."""
    open_viewer(kiosk, ct)
    kiosk.tap("viewerModeProbe")
    kiosk.wait_item("viewerModeProbe", lambda i: bool(i.checked))
    x, y, w, h = painted_image(kiosk)
    width, height = kiosk.prop("viewer.imageWidth"), kiosk.prop("viewer.imageHeight")
    readings = []
    for fx, fy in ((0.06, 0.06), (0.5, 0.5)):
        tx, ty = round(x + fx * w), round(y + fy * h)
        before = kiosk.prop("viewer.probeText")
        kiosk.tap_at(tx, ty)
        probe = kiosk.wait_item("viewerProbe", shows_other_than(before))
        match = PROBE_TEXT.match(probe.text)
        assert match, f"probe text {probe.text!r}"
        px, py, value = int(match[1]), int(match[2]), int(match[3])
        assert abs(px - (tx - x) / w * width) <= 1 and abs(py - (ty - y) / h * height) <= 1
        assert match[4] == "HU"
        assert probe.inside(kiosk.width, kiosk.height)
        readings.append(value)
    settled_screenshot(kiosk, "probe")
    air, middle = readings
    assert air <= -900, f"air reads {air} HU"
    assert middle != air
    assert kiosk.prop("viewer.overlayShown")  # a probe tap does not hide the overlay
    kiosk.tap("viewerModeStack")
    kiosk.wait_item("viewerModeStack", lambda i: bool(i.checked))
    back_to_database(kiosk)


def test_the_overlay_leaves_the_middle_of_the_image_clear(kiosk: KioskScreen, ct: Series) -> None:
    """No overlay text (corners, orientation markers, the probe's read-out) lies over the
    central third of the image, on the first image and the last."""
    open_viewer(kiosk, ct)
    x, y, w, h = painted_image(kiosk)
    middle = (x + w / 3, y + h / 3, w / 3, h / 3)
    names = ["overlayTopLeft", "overlayTopRight", "overlayBottomLeft", "overlayBottomRight",
             "markerLeft", "markerRight", "markerTop", "markerBottom", "viewerProbe"]  # fmt: skip
    for last in (False, True):
        if last:
            slider = kiosk.wait_item("viewerSlider")
            handle = kiosk.wait_item("viewerSliderHandle")
            drag(kiosk, handle.center, (handle.center[0], slider.bottom - 1))
            at(kiosk, ct.images - 1)
        kiosk.wait_item("overlayTopLeft", lambda i: i.visible and bool(i.text))
        shown = [i for i in map(kiosk.item, names) if i is not None and i.visible and i.text]
        assert {"overlayTopLeft", "overlayBottomLeft", "overlayBottomRight"} <= {
            i.name for i in shown
        }
        over = [i.name for i in shown if overlaps(i, middle)]
        assert not over, f"{over} cover the middle of the image {middle}"
        stage = kiosk.wait_item("viewerStage")
        outside = [i.name for i in shown if not (stage.x <= i.x and i.x + i.w <= stage.x + stage.w
                   and stage.y <= i.y and i.bottom <= stage.bottom + 0.5)]  # fmt: skip
        assert not outside, f"{outside} reach outside the image's area"
    settled_screenshot(kiosk, "overlay")
    back_to_database(kiosk)


def test_a_key_image_saved_adds_series_to_the_study(kiosk: KioskScreen, ct: Series) -> None:
    """Key on an image, Save: the study gains a presentation state (PR) and a key object
    selection (KO) series, which the Database tab shows as ``dicom-kiosk list`` lists them."""
    study_uid = ct.study["StudyInstanceUID"]
    before = listed(kiosk, "series", "--study", study_uid)
    open_viewer(kiosk, ct)
    slider = kiosk.wait_item("viewerSlider")
    handle = kiosk.wait_item("viewerSliderHandle")
    drag(kiosk, handle.center, (handle.center[0], slider.y + slider.h / 2))
    kiosk.wait_prop("viewer.busy", lambda busy: not busy)
    assert kiosk.prop("viewer.index") > 0
    assert not kiosk.prop("viewer.keyImage")
    kiosk.tap("viewerKey")
    kiosk.wait_prop("viewer.keyCount", lambda n: n == 1)
    assert kiosk.prop("viewer.keyImage")
    kiosk.wait_item("viewerKey", lambda i: bool(i.checked) and i.text == "Key ★ 1")
    kiosk.tap("viewerSave")
    kiosk.wait_prop("viewer.saving", lambda saving: not saving)
    kiosk.wait_item("viewerSave", lambda i: i.enabled)
    settled_screenshot(kiosk, "saved")

    def two_more() -> list[dict[str, Any]] | None:
        rows = listed(kiosk, "series", "--study", study_uid)
        return rows if len(rows) == len(before) + 2 else None

    after = kiosk.wait_until(two_more, "two new series in the study")
    old = {r["SeriesInstanceUID"] for r in before}
    added = [r for r in after if r["SeriesInstanceUID"] not in old]
    assert sorted(r["Modality"] for r in added) == ["KO", "PR"]
    assert all(int(r["NumberOfSeriesRelatedInstances"]) == 1 for r in added)

    # the Database tab shows them (no Refresh: stored images appear by themselves)
    back_to_database(kiosk)
    assert kiosk.prop("database.studies.currentKey") == study_uid
    expected = sorted([str(r.get(k) or "") for k in SERIES_CELLS.values()] for r in after)

    def shown() -> list[list[str]] | None:
        rows = sorted([row[c] for c in SERIES_CELLS] for row in kiosk.rows("series"))
        return rows if rows == expected else None

    kiosk.wait_until(shown, "the new series in the Database tab")
    on_screen = {kiosk.rows("series")[int(r.name.rsplit("_", 1)[1])][1]
                 for r in shown_rows(kiosk, "series")}  # fmt: skip
    assert on_screen & {"PR", "KO"}, f"no new series on screen: {on_screen}"
    study = kiosk.rows("study")[kiosk.prop("database.studies.currentRow")]
    assert study[6] == str(len(after))  # the study's number of series
    settled_screenshot(kiosk, "saved-series")
