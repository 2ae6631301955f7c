"""The Export and Import dialogs in the real window, tapped through the X server.

Each test runs at 1024x600 and 1920x1080 (the ``kiosk`` fixture). A modal dialog must keep every
tap to itself: a folder row of its picker lies over rows of the Database tables, and tapping it
must not select what is under it. The Export dialog offers a new, empty folder, its picker's
Back keeps the chosen folder, and its de-identification has the CLI's dates option; the Import
dialog has a path field, shows hidden folders on request and lists every rejected file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydicom import dcmread

from tests.e2e.harness import Item, KioskScreen
from tests.support.data import make_dataset, write

FOLDERS = [f"folder{n:02d}" for n in range(12)]
REJECTED = 25  # more rows than the dialog shows at either size


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stick: many folders (rows enough to lie over the tables), one hidden."""
    root = tmp_path_factory.mktemp("media")
    for name in [*FOLDERS, ".secret"]:
        (root / name).mkdir()
    return root


@pytest.fixture(scope="module")
def bad_stick(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One image to import and REJECTED files that are not DICOM."""
    root = tmp_path_factory.mktemp("bad-stick")
    write(make_dataset(patient_name="Zz^Imported", patient_id="ZZ-1"), root / "good.dcm")
    for number in range(REJECTED):
        (root / f"broken{number:02d}.dcm").write_bytes(b"not a DICOM file %d" % number)
    return root


# -- what a user does ------------------------------------------------------------------------------
def patient_row_centre(kiosk: KioskScreen, index: int) -> tuple[int, int]:
    """Where patient row ``index`` is: below the level's bar (its Delete button) and the column
    headers. The rows have no names; the caller checks that the tap selected that row."""
    delete = kiosk.wait_item("delete_patient")
    toggle = kiosk.wait_item("levelToggle_patient")
    scale = float(kiosk.window()["scale"] or 1)
    spacing, touch = round(8 * scale), round(48 * scale)
    top = delete.bottom + spacing / 2 + touch
    return toggle.center[0], round(top + (index + 0.5) * touch)


def select_first_patient(kiosk: KioskScreen) -> str:
    """Tap the first patient row; its PatientID."""
    wait_no_dialog(kiosk)
    kiosk.wait_idle()
    if kiosk.prop("database.patients.currentRow") != 0:
        kiosk.tap_at(*patient_row_centre(kiosk, 0))
        kiosk.wait_prop("database.patients.currentRow", lambda row: row == 0)
    kiosk.wait_idle()
    return str(kiosk.rows("patient")[0][1])


def selection(kiosk: KioskScreen) -> tuple[str, str, str]:
    return (
        kiosk.prop("database.selectionText"),
        kiosk.prop("database.patients.currentKey"),
        kiosk.prop("database.studies.currentKey"),
    )


def type_into(kiosk: KioskScreen, field: str, text: str) -> None:
    """Tap a field, replace what it holds with ``text`` (hardware keys), Enter."""
    kiosk.tap(field)
    kiosk.key("ctrl+a")
    kiosk.type_keys(text)
    kiosk.wait_item(field, lambda i: i.text == text)
    kiosk.key("Return")
    kiosk.wait_until(lambda: not kiosk.window()["keyboardHeight"], "the keyboard to go down")


def rows_on_screen(kiosk: KioskScreen, prefix: str, top: float, bottom: float) -> list[Item]:
    """The picker's folder rows wholly between ``top`` and ``bottom`` (the list's viewport)."""
    return [
        row
        for row in kiosk.items(f"{prefix}Folder_")
        if row.visible and row.y >= top and row.bottom <= bottom
    ]


def tap_every_row_over_the_tables(kiosk: KioskScreen, prefix: str, buttons: str) -> int:
    """Tap each folder row the picker shows, at the tables' side of the row (left, where the
    Database tables are under the dialog), and come back Up each time. The selection must not
    move. How many rows were tapped."""
    before = selection(kiosk)
    up = kiosk.wait_item(f"{prefix}Up")
    bottom = kiosk.wait_item(buttons).y
    delete = kiosk.wait_item("delete_patient")
    names = [row.name for row in rows_on_screen(kiosk, prefix, up.bottom, bottom)]
    assert len(names) >= 3, names
    for name in names:
        row = kiosk.wait_item(name)
        # Over the tables' columns where the row reaches them, never outside the row.
        x = max(row.x + row.w / 16, min(row.x + row.w / 4, delete.x))
        kiosk.tap_at(x, row.center[1])
        folder = name.removeprefix(f"{prefix}Folder_")
        kiosk.wait_item(f"{prefix}Path", lambda i, f=folder: str(i.text).endswith("/" + f))
        kiosk.wait_idle()
        assert selection(kiosk) == before, f"tapping {folder} changed the selection"
        kiosk.tap(f"{prefix}Up")
        kiosk.wait_item(f"{prefix}Folder_{folder}")
    return len(names)


def shown(kiosk: KioskScreen, name: str) -> bool:
    item = kiosk.item(name)
    return item is not None and item.visible


def wait_no_dialog(kiosk: KioskScreen) -> None:
    """Until no dialog dims the window (dialogs close at once: they have no exit transition)."""

    def gone() -> bool:
        return not any(d.visible for d in kiosk.items("dialogDimmer"))

    kiosk.wait_until(gone, "the dialog to close")


@pytest.fixture
def export_dialog(kiosk: KioskScreen) -> Iterator[KioskScreen]:
    """The first patient selected and the Export dialog open; closed afterwards."""
    select_first_patient(kiosk)
    kiosk.tap("exportButton")
    kiosk.wait_item("exportFolder")
    kiosk.wait_idle()
    yield kiosk
    for _ in range(3):  # Back from the picker, then Cancel
        cancel = kiosk.item("exportCancel")
        if cancel is None or not cancel.visible or not cancel.enabled:
            break  # closed, or closing
        kiosk.tap_at(*cancel.center)
        kiosk.wait_idle()
    wait_no_dialog(kiosk)


@pytest.fixture
def import_dialog(kiosk: KioskScreen) -> Iterator[KioskScreen]:
    """The first patient selected and the Import dialog open; closed afterwards."""
    select_first_patient(kiosk)
    kiosk.tap("importButton")
    kiosk.wait_item("importPickerPath")
    yield kiosk
    if shown(kiosk, "importClose"):
        kiosk.tap("importClose")
    wait_no_dialog(kiosk)


# -- the tests -------------------------------------------------------------------------------------
def test_export_picker_keeps_taps_from_the_table_behind(
    export_dialog: KioskScreen, media: Path
) -> None:
    kiosk = export_dialog
    title = kiosk.prop("database.exporter.title")
    assert title == "Export 1 patient"
    kiosk.tap("exportBrowse")
    type_into(kiosk, "exportPickerPath", str(media))
    kiosk.wait_item(f"exportPickerFolder_{FOLDERS[0]}")
    kiosk.screenshot("export-picker")
    assert tap_every_row_over_the_tables(kiosk, "exportPicker", "exportCancel") >= 3
    assert kiosk.prop("database.exporter.title") == title


def test_import_picker_keeps_taps_from_the_table_behind(
    import_dialog: KioskScreen, media: Path
) -> None:
    kiosk = import_dialog
    type_into(kiosk, "importPickerPath", str(media))
    kiosk.wait_item(f"importPickerFolder_{FOLDERS[0]}")
    kiosk.screenshot("import-picker")
    assert tap_every_row_over_the_tables(kiosk, "importPicker", "importClose") >= 3


def test_export_offers_a_new_empty_folder_and_back_keeps_it(export_dialog: KioskScreen) -> None:
    kiosk = export_dialog
    field = kiosk.wait_item("exportFolder", lambda i: bool(i.text))
    offered = Path(str(field.text))
    assert offered.parent == Path.home() / "dicom-export"
    assert not offered.exists()
    assert kiosk.wait_item("exportOk").enabled
    kiosk.tap("exportBrowse")
    up = kiosk.wait_item("exportPickerUp", lambda i: i.visible and i.enabled)
    kiosk.tap("exportPickerUp")
    kiosk.wait_item("exportPickerPath", lambda i: i.text != str(offered.parent) and bool(i.text))
    rows = rows_on_screen(kiosk, "exportPicker", up.bottom, kiosk.wait_item("exportCancel").y)
    if rows:
        kiosk.tap(rows[0].name)
        kiosk.wait_idle()
    kiosk.tap("exportCancel")  # Back
    kiosk.wait_item("exportFolder", lambda i: i.visible)
    assert kiosk.item("exportFolder").text == str(offered)  # type: ignore[union-attr]
    assert kiosk.prop("database.exporter.destination") == str(offered)


def test_export_de_identifies_keeping_dates_and_says_what_it_wrote(
    export_dialog: KioskScreen, tmp_path: Path
) -> None:
    kiosk = export_dialog
    patient_id = str(kiosk.rows("patient")[0][1])
    out = tmp_path / f"export-{kiosk.size}"
    type_into(kiosk, "exportFolder", str(out))
    kiosk.wait_prop("database.exporter.destinationOk", bool)
    kiosk.tap("exportAnonymize")
    kiosk.tap("exportDates_keep")
    kiosk.wait_item("exportDates_keep", lambda i: bool(i.checked))
    kiosk.screenshot("export-options")
    kiosk.tap("exportOk")
    result = kiosk.wait_prop("database.exporter.result", lambda r: str(out) in r, timeout=30)
    wait_no_dialog(kiosk)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    listed = kiosk.cli("list", "--level", "study", "--patient-id", patient_id, "--json")
    studies = json.loads(listed)["rows"]
    n = len(studies)
    assert result.startswith(
        f"Exported 1 patient ({n} stud{'y' if n == 1 else 'ies'}, {len(files)} de-identified "
        f"image{'' if len(files) == 1 else 's'}) to {out}."
    )
    exported = [dcmread(f) for f in files]
    assert {str(ds.PatientID) for ds in exported} != {patient_id}  # de-identified
    assert {str(ds.StudyDate) for ds in exported} == {str(s["StudyDate"]) for s in studies}
    kiosk.screenshot("export-done")


def test_import_lists_every_rejected_file_and_shows_hidden_folders(
    import_dialog: KioskScreen, bad_stick: Path, media: Path
) -> None:
    kiosk = import_dialog
    type_into(kiosk, "importPickerPath", str(media))
    kiosk.wait_item(f"importPickerFolder_{FOLDERS[0]}")
    assert kiosk.item("importPickerFolder_.secret") is None
    kiosk.tap("importPickerHidden")
    kiosk.wait_item("importPickerFolder_.secret")
    kiosk.tap("importPickerHidden")  # as it was, for the next test
    kiosk.wait_until(lambda: kiosk.item("importPickerFolder_.secret") is None, "hidden to go")

    type_into(kiosk, "importPickerPath", str(bad_stick))
    kiosk.tap("importStart")
    summary = kiosk.wait_item("importSummary", lambda i: str(i.text).startswith("Imported"), 30)
    assert summary.text == f"Imported 1, duplicates 0, rejected {REJECTED}."
    assert kiosk.prop("importer.rejections.count") == REJECTED
    first = kiosk.wait_item("importRejection_0")
    kiosk.screenshot("import-rejections")
    shown = [r for r in kiosk.items("importRejection_") if r.visible]
    assert {r.name for r in shown} <= {f"importRejection_{n}" for n in range(REJECTED)}
    # More than fit: the list scrolls (the wheel, as a finger's flick, moves its rows up).
    close = kiosk.wait_item("importClose")
    assert first.y + REJECTED * first.h > close.y
    kiosk.xserver.xdotool("mousemove", "--sync", str(first.center[0]), str(first.center[1]))
    for _ in range(5):
        kiosk.xserver.xdotool("click", "5")

    def scrolled() -> bool:
        row = kiosk.item("importRejection_0")
        return row is None or row.y < first.y

    assert kiosk.wait_until(scrolled, "the list to scroll")
    kiosk.tap("importAnother")
    kiosk.wait_item("importPickerPath")


def test_one_tap_right_after_a_dialog_closes_reaches_the_button_it_covered(
    kiosk: KioskScreen,
) -> None:
    """Close the tall Import dialog and at once tap Export (at 1024x600 it lay under the dialog):
    that one tap opens the Export dialog. A closed dialog must not stay over the window, out of
    sight, and take the tap."""
    select_first_patient(kiosk)
    export = kiosk.wait_item("exportButton", lambda i: i.visible and i.enabled)
    kiosk.tap("importButton")
    kiosk.wait_item("importPickerPath", lambda i: i.visible)
    kiosk.tap("importClose")
    wait_no_dialog(kiosk)
    kiosk.tap_at(*export.center)  # no pause: a user taps on as soon as the dialog is gone
    kiosk.wait_item("exportFolder", lambda i: i.visible)
    kiosk.wait_idle()
    kiosk.tap("exportCancel")
    wait_no_dialog(kiosk)
