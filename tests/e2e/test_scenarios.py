"""The manual's database tasks end to end in the real window, as a radiographer's finger does
them, each checked against ``dicom-kiosk``'s own answer for the same action.

Each test runs at 1024x600 and 1920x1080 (the ``kiosk`` fixture) and leaves the kiosk as it
found it: filters cleared and hidden, no dialog open, the Database tab shown.

1. Find a patient by part of the name typed in another case with ``*`` on the on-screen
   keyboard, narrow by a date range and a modality chip, sort by a column and reverse it: the
   study table equals ``list --level study`` with the same filters and sort.
2. Select a study: one thumbnail per series (``list --level series``); tap one, Load: the viewer
   opens that series; Back.
3. Send the study to a DCMTK storescp registered with ``nodes add``; the Transfer Log shows it
   Sent with the study's image count, as ``transfers list --direction out`` does, and storescp
   received exactly the study's images.
4. Import a folder through the Import dialog: the new patient is in the table, as in
   ``list --level patient``.
5. Export a study de-identified into a new folder: pydicom reads every file, the patient's name
   is gone, and ``dicom-kiosk import`` of the folder into a scratch database counts the same
   images.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid

from tests.e2e.harness import KioskScreen, cli
from tests.e2e.test_dialogs import type_into, wait_no_dialog
from tests.e2e.test_find_patient import listed_names, open_filters, shown_names
from tests.e2e.test_selection import shown_rows, tap_row
from tests.e2e.test_viewer import back_to_database, listed, settled_screenshot, table_name
from tests.support.data import make_dataset, write
from tests.support.dcmtk import StoreSCP, have_dcmtk
from tests.support.ports import HOST

SEND_TIMEOUT = 60.0
PATIENT = ("Lindqvist^Åke", "LQ-5005")
# The patient's studies: (days ago, description, modality of each series, images per series).
STUDIES = [
    (2, "Thorax", ("CT", "CT"), (3, 2)),
    (12, "Knee", ("MR",), (2,)),
    (25, "Abdomen", ("CT",), (2,)),
    (45, "Brain", ("CT",), (1,)),
]
STUDY_CELLS = {0: "StudyDate", 2: "StudyDescription", 3: "ModalitiesInStudy"}


def write_studies(
    folder: Path, name: str, patient_id: str, studies: list[tuple[int, str, tuple[str, ...],
                                                              tuple[int, ...]]],
) -> int:  # fmt: skip
    """Files of ``studies`` (dated days before today) in ``folder``; how many."""
    count = 0
    for days, description, modalities, images in studies:
        study_uid = generate_uid()
        when = (date.today() - timedelta(days=days)).strftime("%Y%m%d")
        for number, (modality, n) in enumerate(zip(modalities, images, strict=True), 1):
            series_uid = generate_uid()
            for image in range(1, n + 1):
                ds = make_dataset(patient_name=name, patient_id=patient_id, study_uid=study_uid,
                                  series_uid=series_uid, study_date=when, modality=modality,
                                  instance_number=image)  # fmt: skip
                ds.StudyDescription = description
                ds.SeriesNumber = number
                write(ds, folder / description / f"{number}-{image}.dcm")
                count += 1
    return count


@pytest.fixture(scope="module")
def recent(kiosk: KioskScreen, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A patient with studies of the last weeks, imported with the CLI beside the running
    kiosk (the demo's are older than the quick date ranges), then Refresh tapped."""
    folder = tmp_path_factory.mktemp("recent")
    write_studies(folder, *PATIENT, STUDIES)
    cli(kiosk.data_dir, "import", str(folder))
    home(kiosk)
    kiosk.tap("refreshButton")
    kiosk.wait_until(lambda: table_name(PATIENT[0]) in shown_names(kiosk), "the new patient")
    kiosk.wait_idle()
    return PATIENT[1]


@pytest.fixture
def database(kiosk: KioskScreen, recent: str) -> Iterator[KioskScreen]:
    """The Database tab as a test finds it; put back as it was afterwards."""
    home(kiosk)
    yield kiosk
    home(kiosk)


# -- what a user does ------------------------------------------------------------------------------
def home(kiosk: KioskScreen) -> None:
    """The Database tab, no dialog, every filter cleared (so nothing selected), filters hidden."""
    for name in ("sendCancel", "exportCancel", "importClose", "detailsClose"):
        item = kiosk.item(name)
        if item is not None and item.visible and item.enabled:
            kiosk.tap_at(*item.center)
    wait_no_dialog(kiosk)
    back_to_database(kiosk)
    default_sort(kiosk)
    open_filters(kiosk)
    kiosk.tap("filtersButton")
    kiosk.wait_prop("database.filters.shown", lambda shown: not shown)
    kiosk.wait_idle()


def default_sort(kiosk: KioskScreen) -> None:
    """The study table sorted as it starts: newest first (a tap on Date sorts by it ascending,
    the next one reverses it)."""

    def order() -> tuple[str, bool]:
        return kiosk.prop("database.studies.sortKey"), kiosk.prop("database.studies.descending")

    for _ in range(2):
        if order() == ("StudyDate", True):
            return
        after = ("StudyDate", order()[0] == "StudyDate")

        def sorted_so(expected: tuple[str, bool] = after) -> bool:
            return order() == expected

        kiosk.tap("header_study_StudyDate")
        kiosk.wait_until(sorted_so, f"the study table sorted {after}")
        kiosk.wait_idle()
    assert order() == ("StudyDate", True)


def picture(kiosk: KioskScreen, name: str) -> None:
    """A screenshot once the kiosk is idle and the screen has settled twice over (a dialog's
    first frame can take longer than two grabs at 1920x1080)."""
    kiosk.wait_idle()
    for _ in range(2):
        settled_screenshot(kiosk, name)


def tap_in_view(kiosk: KioskScreen, name: str) -> None:
    """Tap a control that must be wholly on the screen and above the on-screen keyboard."""
    item = kiosk.wait_item(name, lambda i: i.visible and i.enabled)
    top_of_keyboard = kiosk.height - float(kiosk.window()["keyboardHeight"] or 0)
    assert item.x >= 0 and item.y >= 0 and item.bottom <= top_of_keyboard + 0.5, item
    kiosk.tap_at(*item.center)


def cells(row: dict[str, Any]) -> dict[int, str]:
    """The study table's cells for a row of ``list --level study --json``."""
    value = str(row["StudyDate"])
    return {0: f"{value[:4]}-{value[4:6]}-{value[6:]}", 2: str(row["StudyDescription"]),
            3: str(row["ModalitiesInStudy"])}  # fmt: skip


def table_uids(kiosk: KioskScreen) -> list[str]:
    """The StudyInstanceUID of each study row, top to bottom, as tapping it selects it."""
    uids = []
    for index in range(len(kiosk.rows("study"))):
        assert any(r.name == f"row_study_{index}" for r in shown_rows(kiosk, "study"))
        tap_row(kiosk, "study", index)
        uids.append(str(kiosk.prop("database.studies.currentKey")))
    return uids


def check_studies(kiosk: KioskScreen, filters: list[str], sort: list[str], shot: str) -> None:
    """The study table equals ``list --level study`` with ``filters`` and ``sort``: the cells
    and the order, and each row's UID."""
    expected = listed(kiosk, "study", *filters, *sort)
    assert expected, "the filters must leave studies to compare"
    shown = kiosk.rows("study")
    assert [{c: r[c] for c in STUDY_CELLS} for r in shown] == [cells(r) for r in expected]
    picture(kiosk, shot)
    assert table_uids(kiosk) == [str(r["StudyInstanceUID"]) for r in expected]


def select_study(kiosk: KioskScreen, index: int = 0) -> dict[str, Any]:
    """Tap study row ``index`` of the unfiltered table; the study, as the CLI lists it."""
    rows = listed(kiosk, "study")
    kiosk.wait_until(lambda: len(kiosk.rows("study")) > index, "the studies")
    assert kiosk.rows("study")[index][2] == str(rows[index]["StudyDescription"])
    tap_row(kiosk, "study", index)
    study = rows[index]
    assert kiosk.prop("database.studies.currentKey") == study["StudyInstanceUID"]
    assert kiosk.prop("database.selectionText") == "1 study selected"
    return study


def recent_study(kiosk: KioskScreen) -> tuple[int, dict[str, Any]]:
    """The newest study of ``PATIENT`` (the unfiltered table's first row): index and row."""
    rows = listed(kiosk, "study")
    index = next(i for i, r in enumerate(rows) if r["PatientID"] == PATIENT[1])
    return index, rows[index]


# -- the scenarios ---------------------------------------------------------------------------------
def test_refresh_counts_what_the_command_line_imported(database: KioskScreen) -> None:
    """The `recent` patient came in through `dicom-kiosk import` beside the kiosk (no change
    bus reaches it from there): after Refresh, the header counts what the index holds."""
    kiosk = database
    stats = json.loads(kiosk.cli("db", "stats", "--json"))
    counts = (
        f"{stats['patients']:,} patients · {stats['studies']:,} studies · "
        f"{stats['instances']:,} images · "
    )
    kiosk.wait_item("statusStats", lambda i: str(i.text).startswith(counts))
    picture(kiosk, "refreshed-counts")


def test_find_narrow_and_sort_as_the_command_line_does(database: KioskScreen) -> None:
    kiosk = database
    open_filters(kiosk)
    kiosk.tap("filterName")
    kiosk.wait_until(kiosk.keyboard_visible, "the on-screen keyboard")
    kiosk.osk_type("lindq*")  # the name is Lindqvist: another case
    kiosk.wait_item("filterName", lambda i: i.text == "lindq*")
    tap_in_view(kiosk, "filterApply")
    kiosk.wait_prop("database.filters.summary", lambda s: s == "Filtered: name lindq*")
    kiosk.wait_until(lambda: not kiosk.window()["keyboardHeight"], "the keyboard to go down")
    kiosk.wait_idle()
    assert shown_names(kiosk) == listed_names(kiosk, "--patient-name", "lindq*")
    assert shown_names(kiosk) == [table_name(PATIENT[0])]

    tap_in_view(kiosk, "filterDays_30")
    today = date.today()
    first = (today - timedelta(days=29)).strftime("%Y%m%d")
    kiosk.wait_prop("database.filters.dateFrom", lambda d: d == first)
    tap_in_view(kiosk, "filterModality_CT")
    kiosk.wait_item("filterModality_CT", lambda i: bool(i.checked))
    tap_in_view(kiosk, "filterApply")
    kiosk.wait_prop("database.filters.summary", lambda s: "CT" in s and "lindq*" in s)
    kiosk.wait_idle()
    filters = ["--patient-name", "lindq*", "--date-from", first,
               "--date-to", today.strftime("%Y%m%d"), "--modality", "CT"]  # fmt: skip
    check_studies(kiosk, filters, [], "filtered")
    assert [r[2] for r in kiosk.rows("study")] == ["Thorax", "Abdomen"]  # newest first

    tap_in_view(kiosk, "header_study_StudyDescription")
    kiosk.wait_prop("database.studies.sortKey", lambda k: k == "StudyDescription")
    kiosk.wait_idle()
    assert not kiosk.prop("database.studies.descending")
    check_studies(kiosk, filters, ["--sort", "StudyDescription"], "sorted")
    tap_in_view(kiosk, "header_study_StudyDescription")
    kiosk.wait_prop("database.studies.descending", bool)
    kiosk.wait_idle()
    check_studies(kiosk, filters, ["--sort", "StudyDescription", "--desc"], "reversed")


def test_a_study_shows_a_thumbnail_per_series_and_loads_one(database: KioskScreen) -> None:
    kiosk = database
    index, _ = recent_study(kiosk)
    study = select_study(kiosk, index)
    series = listed(kiosk, "series", "--study", study["StudyInstanceUID"])
    assert len(series) == int(study["NumberOfStudyRelatedSeries"]) == 2

    def thumbnails() -> list[Any]:
        grid = kiosk.item("thumbnailGrid")
        if grid is None or not grid.visible:
            return []
        return [t for t in kiosk.items("thumbnail_") if t.visible and t.y < grid.bottom]

    kiosk.wait_until(lambda: len(thumbnails()) == len(series), "a thumbnail per series")
    kiosk.wait_idle()
    picture(kiosk, "thumbnails")
    tiles = sorted(thumbnails(), key=lambda t: int(t.name.rsplit("_", 1)[1]))
    kiosk.tap_at(*tiles[-1].center)
    last = series[-1]
    kiosk.wait_prop("database.series.currentKey", lambda k: k == last["SeriesInstanceUID"])
    kiosk.wait_prop("database.selectionText", lambda t: t == "1 series selected")
    kiosk.wait_idle()

    kiosk.tap("loadButton")
    kiosk.wait_prop("view", lambda v: v == "viewer")
    kiosk.wait_prop("viewer.count", lambda n: n == int(last["NumberOfSeriesRelatedInstances"]))
    kiosk.wait_prop("viewer.busy", lambda busy: not busy)
    kiosk.wait_item("viewerImage")
    picture(kiosk, "viewer")
    kiosk.tap("viewerBack")
    kiosk.wait_prop("view", lambda v: v == "database")
    kiosk.wait_item("loadButton")


@pytest.mark.skipif(not have_dcmtk(), reason="DCMTK is not installed")
def test_send_a_study_to_a_node_and_see_it_sent(database: KioskScreen, tmp_path: Path) -> None:
    kiosk = database
    scp = StoreSCP(tmp_path / "received", ae_title="SCENARIO")
    node = f"pacs-{kiosk.width}"
    kiosk.cli("nodes", "add", node, "--ae", scp.ae_title, "--host", HOST, "--port", str(scp.port))
    with scp:
        index, _ = recent_study(kiosk)
        study = select_study(kiosk, index)
        images = listed(kiosk, "image", "--study", study["StudyInstanceUID"])
        assert len(images) == int(study["NumberOfStudyRelatedInstances"])
        kiosk.tap("sendButton")
        # The node just added is the only destination: the list shows it, chosen.
        kiosk.wait_item("sendDestination")
        kiosk.wait_prop("database.destinations", lambda d: d == [node])
        picture(kiosk, "send-dialog")
        kiosk.tap("sendOk")
        queued = kiosk.wait_until(
            lambda: [d for d in kiosk.items("confirmOk") if d.visible], "the queued message"
        )
        kiosk.tap_at(*queued[0].center)  # Open Transfer Log
        kiosk.wait_prop("transfers.direction", lambda d: d == "out")
        kiosk.wait_until(lambda: scp.count() == len(images), "storescp to receive", SEND_TIMEOUT)
        listed_out = json.loads(kiosk.cli("transfers", "list", "--direction", "out", "--json"))
        transfer = listed_out["rows"][0]
        assert kiosk.prop("transfers.selectedId") == transfer["id"]

        def sent() -> bool:
            rows = json.loads(kiosk.cli("transfers", "list", "--direction", "out", "--json"))
            return rows["rows"][0]["status"] == "sent"

        kiosk.wait_until(sent, "the transfer to finish", SEND_TIMEOUT)
        # No Refresh: the selected transfer's line follows the log by itself, on the screen.
        text = kiosk.wait_prop("transfers.selectedText", lambda t: t.endswith("· Sent"))
        assert text.startswith(f"#{transfer['id']} to ")
        # and so does its row in the list (no Refresh read it in).
        kiosk.wait_item(f"transferStatus_{transfer['id']}", lambda i: i.text == "Sent")
        kiosk.tap("transfersDetails")
        kiosk.wait_prop("transfers.detailsTitle", lambda t: t == f"Transfer #{transfer['id']}")
        kiosk.wait_item("detailsClose")
        picture(kiosk, "transfer-sent")
        details = {d["name"]: d["value"] for d in kiosk.prop("transfers.details")}
        out = json.loads(kiosk.cli("transfers", "list", "--direction", "out", "--json"))["rows"][0]
        assert out["id"] == transfer["id"] and out["status"] == "sent"
        assert (details["Status"], details["Images"], details["Sent"]) == (
            "Sent",
            f"{len(images):,}",
            f"{len(images):,}",
        )
        assert int(out["images"]) == int(out["done"]) == len(images)
        assert (out["node"], out["ae_title"]) == (node, scp.ae_title)
        kiosk.tap("detailsClose")
        wait_no_dialog(kiosk)
    assert set(scp.files()) == {str(i["SOPInstanceUID"]) for i in images}
    kiosk.cli("nodes", "remove", node)


def test_import_a_folder_and_find_the_new_patient(database: KioskScreen, tmp_path: Path) -> None:
    kiosk = database
    name, patient_id = f"Østergaard^Import{kiosk.width}", f"IMP-{kiosk.width}"
    folder = tmp_path / "stick"
    count = write_studies(folder, name, patient_id, [(100, "Import", ("CT",), (3,))])
    assert table_name(name) not in shown_names(kiosk)
    kiosk.tap("importButton")
    type_into(kiosk, "importPickerPath", str(folder))
    kiosk.tap("importStart")
    summary = kiosk.wait_item("importSummary", lambda i: str(i.text).startswith("Imported"), 30)
    assert summary.text == f"Imported {count}, duplicates 0, rejected 0."
    picture(kiosk, "import-done")
    kiosk.tap("importClose")
    wait_no_dialog(kiosk)
    kiosk.wait_until(lambda: table_name(name) in shown_names(kiosk), "the new patient")
    kiosk.wait_idle()
    assert shown_names(kiosk) == listed_names(kiosk)
    found = listed(kiosk, "patient", "--patient-id", patient_id)
    assert [(r["PatientName"], int(r["NumberOfPatientRelatedInstances"])) for r in found] == [
        (name, count)
    ]
    picture(kiosk, "imported-patient")


def test_export_a_study_de_identified_and_import_it_elsewhere(
    database: KioskScreen, tmp_path: Path
) -> None:
    kiosk = database
    index, _ = recent_study(kiosk)
    study = select_study(kiosk, index)
    kiosk.tap("exportButton")
    kiosk.wait_item("exportFolder")
    kiosk.wait_idle()
    assert kiosk.prop("database.exporter.title") == "Export 1 study"
    out = tmp_path / "export"
    type_into(kiosk, "exportFolder", str(out))
    kiosk.wait_prop("database.exporter.destinationOk", bool)
    assert not kiosk.item("exportAnonymize").checked  # type: ignore[union-attr]
    picture(kiosk, "export-plain")
    kiosk.tap("exportAnonymize")
    kiosk.wait_item("exportAnonymize", lambda i: bool(i.checked))
    picture(kiosk, "export-options")
    kiosk.tap("exportOk")
    kiosk.wait_prop("database.exporter.result", lambda r: str(out) in r, timeout=30)
    wait_no_dialog(kiosk)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    images = int(study["NumberOfStudyRelatedInstances"])
    assert len(files) == images
    exported = [dcmread(f) for f in files]
    assert {str(ds.PatientName) for ds in exported}.isdisjoint(
        {PATIENT[0], str(study["PatientName"])}
    )
    assert {str(ds.PatientID) for ds in exported}.isdisjoint({PATIENT[1]})
    scratch = tmp_path / "scratch"
    summary = json.loads(cli(scratch, "import", str(out), "--json"))
    assert (summary["imported"], summary["duplicates"], summary["rejected"]) == (images, 0, [])
    stats = json.loads(cli(scratch, "db", "stats", "--json"))
    assert (stats["studies"], stats["instances"]) == (1, images)
