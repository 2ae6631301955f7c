"""The Import dialog's view models: the folder picker and the list of every rejected file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.app import Core
from tests.support.data import make_dataset, write
from tests.support.qt import run_until, settle
from viewmodels.importing import FolderModel, ImportModel, RejectionRole


@pytest.fixture
def importer(core: Core) -> ImportModel:
    return ImportModel(core)


def run(importer: ImportModel, loop: asyncio.AbstractEventLoop, folder: str) -> None:
    done: list[bool] = []
    importer.finished.connect(lambda: done.append(True))
    importer.start(folder)
    run_until(loop, lambda: bool(done))
    settle(loop)


class TestRejections:
    def test_every_rejected_file_is_listed_with_its_reason(
        self, importer: ImportModel, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        folder = tmp_path / "stick"
        write(make_dataset(patient_id="OK1"), folder / "good.dcm")
        for number in range(12):
            (folder / f"junk{number:02d}.dcm").write_bytes(b"not a DICOM file")
        run(importer, loop, str(folder))
        rejections = importer.rejection_model
        assert rejections.count == 12
        model_rows = [
            (
                rejections.data(rejections.index(row), RejectionRole.NAME),
                rejections.data(rejections.index(row), RejectionRole.REASON),
            )
            for row in range(rejections.rowCount())
        ]
        assert sorted(name for name, _reason in model_rows) == [
            f"junk{n:02d}.dcm" for n in range(12)
        ]
        assert all(reason for _name, reason in model_rows)
        assert importer.summary == "Imported 1, duplicates 0, rejected 12."

    def test_the_import_is_in_the_audit_trail(
        self, core: Core, importer: ImportModel, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        folder = tmp_path / "stick"
        write(make_dataset(patient_name="Roe^Rick", patient_id="R-9"), folder / "one.dcm")
        (folder / "junk.dcm").write_bytes(b"not a DICOM file")
        run(importer, loop, str(folder))
        core.audit.flush()
        entries = core.audit.trail.list(newest_first=False, limit=100)
        (entry,) = [e for e in entries if e.event.event.code == "110107"]
        assert entry.event.patients == [("R-9", "Roe^Rick")]

    def test_a_new_import_and_reset_clear_the_list(
        self, importer: ImportModel, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        (tmp_path / "a").mkdir()
        (tmp_path / "a" / "junk.dcm").write_bytes(b"junk")
        run(importer, loop, str(tmp_path / "a"))
        assert importer.rejection_model.count == 1
        importer.reset()
        assert importer.rejection_model.count == 0 and importer.summary == ""

    def test_a_typed_path_may_start_with_the_home_folder(
        self,
        importer: ImportModel,
        loop: asyncio.AbstractEventLoop,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("HOME", str(tmp_path))
        write(make_dataset(patient_id="H1"), tmp_path / "cd" / "1.dcm")
        run(importer, loop, " ~/cd ")
        summary = importer.last_summary
        assert summary is not None and summary.imported == 1


class TestFolderPicker:
    def test_hidden_folders_are_shown_on_request(
        self, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        (tmp_path / "visible").mkdir()
        (tmp_path / ".hidden").mkdir()
        picker = FolderModel(tmp_path)
        loop.run_until_complete(picker.open_path(tmp_path))
        assert picker.rowCount() == 1
        picker.setProperty("showHidden", True)
        settle(loop)
        names = [picker.data(picker.index(r), 0x0201) for r in range(picker.rowCount())]
        assert names == [".hidden", "visible"]
        picker.setProperty("showHidden", False)
        settle(loop)
        assert picker.rowCount() == 1

    def test_a_typed_path_opens_and_a_wrong_one_says_why(
        self, loop: asyncio.AbstractEventLoop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HOME", str(tmp_path))
        (tmp_path / "usb").mkdir()
        picker = FolderModel(Path("/"))
        errors: list[str] = []
        picker.errorOccurred.connect(errors.append)
        picker.open("~/usb")
        settle(loop)
        assert picker.path == str(tmp_path / "usb") and errors == []
        picker.open(str(tmp_path / "missing"))
        settle(loop)
        assert picker.path == str(tmp_path / "usb")
        assert len(errors) == 1 and "missing" in errors[0]
