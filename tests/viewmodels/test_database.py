"""The Database tab's view models against a real (temporary) index."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject

from core.app import Core
from core.db.queries import StudyFilter
from tests.support.data import PEOPLE, seed
from tests.support.qt import run_until, settle
from viewmodels.database import DatabaseModel
from viewmodels.images import FrameProvider
from viewmodels.viewer import ViewerModel


class Errors(QObject):
    def __init__(self, model: DatabaseModel) -> None:
        super().__init__()
        self.seen: list[str] = []
        model.errorOccurred.connect(self.seen.append)


@pytest.fixture
def db(core: Core, loop: asyncio.AbstractEventLoop) -> DatabaseModel:
    seed(core)
    model = DatabaseModel(core, ViewerModel(FrameProvider()))
    loop.run_until_complete(model.apply_filter())
    loop.run_until_complete(model.filters.load_choices())
    return model


def names(model: Any) -> list[str]:
    return [r["PatientName"] for r in model.rows()]


def apply(db: DatabaseModel, loop: asyncio.AbstractEventLoop, **values: str) -> None:
    f = db.filters
    f.setPatientName(values.get("name", ""))
    f.setPatientId(values.get("pid", ""))
    f.setDateFrom(values.get("date_from", ""))
    f.setDateTo(values.get("date_to", ""))
    if values.get("modality", "") != f.modality:
        f.toggleModality(values.get("modality") or f.modality)
    f.apply()
    settle(loop)


class TestFilters:
    def test_no_filter_lists_everyone(self, db: DatabaseModel) -> None:
        assert db.patients.total == 4
        assert db.studies.total == len(PEOPLE)

    def test_wildcard_is_case_insensitive_and_accent_preserving(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        apply(db, loop, name="mul*")
        assert names(db.patients) == ["MULLER^Bob"]
        apply(db, loop, name="MÜL*")
        assert names(db.patients) == ["Müller^Anna"]
        apply(db, loop, name="*ller*")
        assert sorted(names(db.patients)) == ["MULLER^Bob", "Müller^Anna"]

    def test_no_wildcard_means_exact_match(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        apply(db, loop, name="smith")
        assert db.patients.total == 0
        apply(db, loop, name="smith^john")
        assert names(db.patients) == ["Smith^John"]
        assert db.studies.total == 2

    def test_id_wildcards_and_literal_percent(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        apply(db, loop, pid="p-00?")
        assert sorted(names(db.patients)) == ["MULLER^Bob", "Müller^Anna"]
        apply(db, loop, pid="J_7%")
        assert names(db.patients) == ["Jones^Mary"]
        apply(db, loop, pid="J?7?")
        assert names(db.patients) == ["Jones^Mary"]
        apply(db, loop, pid="JX7%")
        assert db.patients.total == 0

    def test_date_range(self, db: DatabaseModel, loop: asyncio.AbstractEventLoop) -> None:
        apply(db, loop, date_from="20240101", date_to="20240106")
        assert names(db.patients) == ["Müller^Anna"]
        apply(db, loop, date_from="20231201")
        assert db.studies.total == 4  # everything but 2022
        apply(db, loop, date_to="20231231")
        assert sorted(r["StudyDate"] for r in db.studies.rows()) == ["20220615", "20231231"]

    def test_quick_ranges_end_today(self, db: DatabaseModel) -> None:
        db.filters.today = lambda: date(2024, 3, 10)
        db.filters.lastDays(7)
        assert (db.filters.dateFrom, db.filters.dateTo) == ("20240304", "20240310")
        db.filters.lastDays(1)
        assert (db.filters.dateFrom, db.filters.dateTo) == ("20240310", "20240310")

    def test_modality(self, db: DatabaseModel, loop: asyncio.AbstractEventLoop) -> None:
        assert db.filters.modalities == ["CR", "CT", "MR", "US"]
        apply(db, loop, modality="US")
        assert names(db.patients) == ["Smith^John"]
        assert [r["ModalitiesInStudy"] for r in db.studies.rows()] == ["US"]

    def test_clear_resets_everything(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        apply(db, loop, name="mul*", modality="MR")
        assert db.filters.active
        db.filters.clear()
        settle(loop)
        assert not db.filters.active
        assert db.filters.patientName == "" and db.filters.modality == ""
        assert db.patients.total == 4

    def test_suggestions_follow_what_is_typed(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        db.filters.setPatientName("sm")
        db.filters.refreshChoices()
        settle(loop)
        assert db.filters.nameSuggestions == ["Smith^John"]

    def test_reversed_dates_are_refused(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        errors = Errors(db)
        db.filters.setDateFrom("20240201")
        db.filters.setDateTo("20240101")
        db.filters.apply()
        settle(loop)
        assert errors.seen == ["The start date is after the end date."]
        assert db.studies.total == len(PEOPLE)


class TestSorting:
    def test_header_tap_sorts_and_second_tap_reverses(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        studies = db.studies
        assert studies.sortKey == "StudyDate" and studies.descending  # newest first
        studies.sortBy("PatientName")
        settle(loop)
        ascending = [r["PatientName"] for r in studies.rows()]
        assert not studies.descending
        assert ascending == sorted(ascending)
        studies.sortBy("PatientName")
        settle(loop)
        assert studies.descending
        assert [r["PatientName"] for r in studies.rows()] == sorted(ascending, reverse=True)

    def test_unknown_column_is_ignored(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        db.studies.sortBy("NoSuchColumn")
        settle(loop)
        assert db.studies.sortKey == "StudyDate"


class TestSelection:
    def test_patient_shows_its_studies_and_study_its_series(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        smith = next(i for i, r in enumerate(db.patients.rows()) if r["PatientID"] == "X-100")
        db.select("patient", smith)
        settle(loop)
        assert db.studies.shown
        assert {r["PatientID"] for r in db.studies.rows()} == {"X-100"}
        assert db.studies.total == 2
        assert db.series.total == 0  # no study chosen yet
        db.select("study", 0)
        settle(loop)
        assert db.series.shown
        study_uid = db.studies.current_row()["StudyInstanceUID"]  # type: ignore[index]
        assert db.series.total == 1
        assert db.series.rows()[0]["StudyInstanceUID"] == study_uid
        assert db.previewMode == "series"
        db.select("series", 0)
        settle(loop)
        assert db.images.total == 2
        assert db.previewMode == "images"
        assert db.images.rows()[0]["SeriesInstanceUID"] == db.series.currentKey

    def test_new_parent_clears_deeper_levels(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        db.select("patient", 0)
        settle(loop)
        db.select("study", 0)
        settle(loop)
        db.select("series", 0)
        settle(loop)
        db.select("patient", 1)
        settle(loop)
        assert db.series.total == 0 and db.images.total == 0
        assert db.previewMode == "none"

    def test_multiple_selection(self, db: DatabaseModel, loop: asyncio.AbstractEventLoop) -> None:
        db.multiSelect = True
        db.select("study", 0)
        db.select("study", 1)
        db.select("study", 2)
        db.select("study", 1)  # a second tap removes it again
        settle(loop)
        assert db.studies.selectedCount == 2
        assert db.selectionText == "2 studies selected"
        db.multiSelect = False
        db.select("study", 3)
        assert db.studies.selectedCount == 1

    def test_level_name_toggles_and_folds_what_does_not_fit(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        db.toggleLevel("study")
        assert not db.studies.shown
        db.toggleLevel("study")
        assert db.studies.shown
        db.maxExpanded = 2
        db.toggleLevel("series")
        assert [db.patients.shown, db.studies.shown, db.series.shown] == [False, True, True]

    def test_next_entry_and_pages(self, core: Core, loop: asyncio.AbstractEventLoop) -> None:
        people = [(f"Page^{i:03d}", f"PG{i:03d}", "20240101", ("CT",)) for i in range(55)]
        seed(core, people)
        model = DatabaseModel(core)
        loop.run_until_complete(model.apply_filter())
        patients = model.patients
        assert (patients.total, patients.rowCount(), patients.pageCount) == (55, 50, 2)
        patients.turnPage(1)
        settle(loop)
        assert patients.rowCount() == 5 and patients.page == 2
        assert patients.rangeText == "51–55 of 55"
        patients.moveCurrent(-1)  # nothing current: the last row of the page
        settle(loop)
        assert patients.currentRow == 4
        patients.select(0, False)
        patients.moveCurrent(-1)  # before the first row: back one page
        settle(loop)
        assert patients.page == 1 and patients.currentRow == 49


class TestActions:
    def test_delete_says_how_many_images_and_removes_them(
        self, db: DatabaseModel, core: Core, loop: asyncio.AbstractEventLoop
    ) -> None:
        bob = next(i for i, r in enumerate(db.patients.rows()) if r["PatientID"] == "P-002")
        db.select("patient", bob)
        settle(loop)
        prompt = db.deletePrompt("patient")
        assert prompt.startswith("Delete 1 patient? 4 images will be removed")
        before = core.stats()
        files = list(core.store.root.rglob("*.dcm"))
        db.deleteSelected("patient")
        settle(loop)
        after = core.stats()
        assert before["instances"] - after["instances"] == 4
        assert len(list(core.store.root.rglob("*.dcm"))) == len(files) - 4
        assert "MULLER^Bob" not in names(db.patients)
        assert db.patients.total == 3

    def test_delete_an_image(
        self, db: DatabaseModel, core: Core, loop: asyncio.AbstractEventLoop
    ) -> None:
        db.select("study", 0)
        settle(loop)
        db.select("series", 0)
        settle(loop)
        db.select("image", 0)
        sop = db.images.currentKey
        assert db.deletePrompt("image").startswith("Delete 1 image? 1 image will be removed")
        before = core.count("image", StudyFilter())
        db.deleteSelected("image")
        settle(loop)
        assert core.count("image", StudyFilter()) == before - 1
        assert sop not in [r["SOPInstanceUID"] for r in db.images.rows()]

    def test_send_queues_with_the_real_core(
        self, db: DatabaseModel, core: Core, loop: asyncio.AbstractEventLoop
    ) -> None:
        errors = Errors(db)
        db.select("study", 0)
        db.send("PACS", "High")
        settle(loop)
        assert errors.seen == [
            "Could not send: There is no remote node named 'PACS': add it under Settings first."
        ]
        core.registry.add("PACS", "PACS", "127.0.0.1", 104)
        db.send("PACS", "High")
        settle(loop)
        assert len(errors.seen) == 1
        [queued] = core.transfers.list("out")
        assert (queued["node"], queued["priority"], queued["status"]) == ("PACS", "high", "waiting")

    def test_export_writes_the_selection_with_the_real_core(
        self, db: DatabaseModel, core: Core, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        errors = Errors(db)
        db.select("study", 0)
        uid = db.studies.selected_rows()[0]["StudyInstanceUID"]
        expected = core.list_rows("study", StudyFilter(study_uid=uid))[0]
        db.exportTo(str(tmp_path / "out"), True, "Anon^One", "A1", "zip")
        settle(loop)
        assert errors.seen == []
        (archive,) = (tmp_path / "out").rglob("*.zip")
        import zipfile

        with zipfile.ZipFile(archive) as zf:
            members = [n for n in zf.namelist() if not n.endswith("/")]
        assert len(members) == expected["NumberOfStudyRelatedInstances"]

    def test_send_and_export_call_the_core(
        self, settings: Any, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        calls: list[tuple[Any, ...]] = []

        class CoreWithServices(Core):
            def destinations(self) -> list[str]:
                return ["PACS", "WORKSTATION"]

            def send(self, targets: list[Any], destination: str, priority: str = "medium") -> int:
                calls.append(("send", targets, destination, priority))
                return 42

            def export(self, targets: list[Any], folder: Path, fmt: str, **options: Any) -> None:
                calls.append(("export", targets, folder, fmt, options))

        with CoreWithServices(settings) as core:
            seed(core)
            db = DatabaseModel(core)
            loop.run_until_complete(db.apply_filter())
            queued: list[tuple[int, str]] = []
            db.sendQueued.connect(lambda i, t: queued.append((i, t)))
            db.loadDestinations()
            settle(loop)
            assert db.destinations == ["PACS", "WORKSTATION"]
            db.multiSelect = True
            db.select("study", 0)
            db.select("study", 1)
            uids = [r["StudyInstanceUID"] for r in db.studies.selected_rows()]
            db.send("PACS", "High")
            settle(loop)
            db.exportTo(str(tmp_path), True, "Anon^One", "A1", "dicomdir")
            settle(loop)
        targets = [("study", uid) for uid in uids]
        assert calls[0] == ("send", targets, "PACS", "high")
        assert queued == [(42, "2 studies queued for PACS with high priority (transfer #42).")]
        assert calls[1] == (
            "export",
            targets,
            tmp_path,
            "dicomdir",
            {"anonymize": True, "new_name": "Anon^One", "new_id": "A1"},
        )

    def test_load_opens_the_series_in_the_viewer(
        self, core: Core, loop: asyncio.AbstractEventLoop
    ) -> None:
        seed(core)
        viewer = ViewerModel(FrameProvider())
        db = DatabaseModel(core, viewer)
        loop.run_until_complete(db.apply_filter())
        opened: list[bool] = []
        db.viewerRequested.connect(lambda: opened.append(True))
        db.select("study", 0)
        settle(loop)
        db.load()
        settle(loop)
        run_until(loop, lambda: viewer.source != "")
        assert opened == [True]
        assert viewer.count == 2
        assert viewer.positionText == "1 / 2"
