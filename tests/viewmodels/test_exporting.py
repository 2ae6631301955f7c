"""The Export dialog's view model against a real (temporary) index and the real exporter."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from pydicom import dcmread

from core.app import Core
from tests.support.data import seed
from tests.support.qt import run_until, settle
from viewmodels.database import DatabaseModel
from viewmodels.exporting import ExportModel, count_text, fresh_folder


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def db(core: Core, loop: asyncio.AbstractEventLoop, home: Path) -> DatabaseModel:
    seed(core)
    model = DatabaseModel(core)
    loop.run_until_complete(model.apply_filter())
    return model


def study_index(db: DatabaseModel, patient_id: str) -> int:
    return [r["PatientID"] for r in db.studies.rows()].index(patient_id)


def export(exporter: ExportModel, loop: asyncio.AbstractEventLoop, *args: object) -> list[str]:
    messages: list[str] = []
    exporter.message.connect(messages.append)
    exporter.start(*args)
    run_until(loop, lambda: bool(messages) or bool(exporter.error))
    settle(loop)
    return messages


def exported_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


class TestDestination:
    def test_the_first_default_is_a_new_folder_under_the_home_folder(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop, home: Path
    ) -> None:
        exporter = db.exporter
        db.select("study", 0)
        exporter.prepare()
        settle(loop)
        destination = Path(exporter.destination)
        assert destination.parent == home / "dicom-export"
        assert not destination.exists()
        assert exporter.destinationOk, exporter.destinationNote

    def test_a_folder_that_is_not_empty_is_refused_and_browsing_makes_one_inside(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop, home: Path
    ) -> None:
        exporter = db.exporter
        (home / "notes.txt").write_text("x")
        db.select("study", 0)
        exporter.prepare()
        exporter.destination = str(home)
        settle(loop)
        assert not exporter.destinationOk
        assert exporter.destinationNote.startswith("Not empty")
        exporter.chooseFolder(str(home))
        settle(loop)
        assert Path(exporter.destination).parent == home
        assert not Path(exporter.destination).exists()
        assert exporter.destinationOk

    def test_an_empty_folder_is_used_as_it_is_and_a_zip_goes_into_any_folder(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop, home: Path
    ) -> None:
        exporter = db.exporter
        (home / "stick").mkdir()
        exporter.prepare()
        exporter.chooseFolder(str(home / "stick"))
        settle(loop)
        assert exporter.destination == str(home / "stick") and exporter.destinationOk
        (home / "notes.txt").write_text("x")
        exporter.format = "zip"
        exporter.chooseFolder(str(home))
        settle(loop)
        assert exporter.destination == str(home) and exporter.destinationOk

    def test_browsing_starts_where_the_destination_is_and_moves_nothing_else(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop, home: Path
    ) -> None:
        exporter = db.exporter
        exporter.prepare()
        before = exporter.destination
        exporter.browse()
        settle(loop)
        assert exporter.folders.path == str(home)  # dicom-export/ is not made before an export
        loop.run_until_complete(exporter.folders.open_path(Path("/")))
        assert exporter.destination == before

    def test_the_next_default_is_a_fresh_folder_beside_the_last_destination(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop, home: Path
    ) -> None:
        exporter = db.exporter
        target = home / "exports" / "first"
        db.select("study", 0)
        exporter.prepare()
        exporter.destination = str(target)
        settle(loop)
        assert export(exporter, loop, False, "", "")
        assert exported_files(target)
        exporter.prepare()
        settle(loop)
        assert Path(exporter.destination).parent == home / "exports"
        assert Path(exporter.destination) != target and exporter.destinationOk

    def test_fresh_folder_never_names_an_existing_one(self, tmp_path: Path) -> None:
        now = datetime(2026, 3, 4, 5, 6, 7)
        (tmp_path / "2026-03-04_05-06-07").mkdir()
        assert fresh_folder(tmp_path, now) == tmp_path / "2026-03-04_05-06-07-2"


class TestExport:
    def test_exports_the_selection_captured_when_the_dialog_opened(
        self, db: DatabaseModel, core: Core, loop: asyncio.AbstractEventLoop, home: Path
    ) -> None:
        exporter = db.exporter
        db.select("study", study_index(db, "P-001"))
        settle(loop)
        exporter.prepare()
        assert exporter.title == "Export 1 study"
        db.select("study", study_index(db, "J_7%"))  # the live selection moves behind the dialog
        settle(loop)
        out = home / "out"
        exporter.destination = str(out)
        messages = export(exporter, loop, False, "", "")
        files = exported_files(out)
        assert {str(dcmread(f).PatientID) for f in files} == {"P-001"}
        assert messages == [f"Exported 1 study ({len(files)} images) to {out}."]

    @pytest.mark.parametrize("dates", ["keep", "shift", "remove"])
    def test_the_dates_option_is_that_of_the_cli(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop, home: Path, dates: str
    ) -> None:
        exporter = db.exporter
        db.select("study", study_index(db, "P-001"))
        exporter.prepare()
        exporter.dates = dates
        out = home / dates
        exporter.destination = str(out)
        messages = export(exporter, loop, True, "Anon^One", "A1")
        assert messages and "de-identified images" in messages[0], exporter.error
        ds = dcmread(exported_files(out)[0])
        assert str(ds.PatientName) == "Anon^One" and ds.PatientID == "A1"
        study_date = str(ds.get("StudyDate", ""))
        if dates == "keep":
            assert study_date == "20240105"
        elif dates == "shift":
            assert study_date not in ("", "20240105")
        else:
            assert study_date == ""  # Table E.1-1: Z, an empty value

    def test_a_refused_export_says_why_in_the_dialog(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop, home: Path
    ) -> None:
        exporter = db.exporter
        db.select("study", 0)
        exporter.prepare()
        (home / "full").mkdir()
        (home / "full" / "x").write_text("x")
        exporter.destination = str(home / "full")
        assert export(exporter, loop, False, "", "") == []
        assert "not empty" in exporter.error

    def test_nothing_selected_exports_nothing(
        self, db: DatabaseModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        exporter = db.exporter
        exporter.prepare()
        assert not exporter.hasSelection and exporter.title == "Export: nothing selected"
        exporter.start(False, "", "")
        settle(loop)
        assert exporter.error == "Select what to export first."


def test_counts_name_what_they_count() -> None:
    assert count_text(1, "study") == "1 study"
    assert count_text(3, "study") == "3 studies"
    assert count_text(2, "de-identified image") == "2 de-identified images"
    assert count_text(2, "series") == "2 series"
