"""Live updates, import, demo data and the viewer."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

from core.app import Core
from core.dicom import synth
from core.index.importer import MemorySource
from tests.support.data import encode, make_dataset, seed, write
from tests.support.qt import run_until, settle
from viewmodels.app import AppModel
from viewmodels.images import FrameProvider
from viewmodels.importing import FolderModel, list_folders


@pytest.fixture
def app_model(core: Core, loop: asyncio.AbstractEventLoop) -> AppModel:
    model = AppModel(core, FrameProvider())
    loop.run_until_complete(model.start())
    yield model
    model.stop()


class TestFirstRunAndLive:
    def test_empty_database_is_first_run(self, app_model: AppModel) -> None:
        assert app_model.empty
        assert app_model.database.patients.total == 0

    def test_images_from_another_thread_appear_without_refresh(
        self, app_model: AppModel, core: Core, loop: asyncio.AbstractEventLoop
    ) -> None:
        # Ten separate commits from a worker thread, as the node's writer would make them.
        def receive() -> None:
            for i in range(10):
                seed(core, [(f"Live^{i}", f"L{i}", "20240101", ("CT",))])

        worker = threading.Thread(target=receive)
        worker.start()
        run_until(loop, lambda: not worker.is_alive() and app_model.database.patients.total == 10)
        worker.join()
        settle(loop)
        assert not app_model.empty
        assert app_model.database.patients.total == 10
        # Coalesced: far fewer refreshes than commits.
        assert 1 <= app_model.refresh_count < 10

    def test_arrivals_re_read_only_the_levels_they_change(
        self, app_model: AppModel, core: Core, loop: asyncio.AbstractEventLoop
    ) -> None:
        seed(core, [("Shown^Study", "S1", "20240101", ("CT",))])
        run_until(loop, lambda: app_model.database.patients.total == 1)
        db = app_model.database
        db.select("patient", 0)
        settle(loop)
        db.select("study", 0)
        settle(loop)
        db.select("series", 0)
        settle(loop)
        shown_study = db.studies.current_row()["StudyInstanceUID"]  # type: ignore[index]
        reads: list[str] = []
        for level in ("series", "image"):
            model = db._levels[level]
            original = model.reload

            async def counted(recount: bool = True, level=level, original=original) -> None:  # type: ignore[no-untyped-def]
                reads.append(level)
                await original(recount)

            model.reload = counted  # type: ignore[method-assign]
        # Images of another patient's study: the series and images shown stay as they are.
        seed(core, [("Other^Study", "S2", "20240102", ("MR",))])
        run_until(loop, lambda: db.patients.total == 2)
        settle(loop)
        assert reads == []
        # An image of the study shown: its series and images are read again.
        ds = make_dataset(patient_name="Shown^Study", patient_id="S1", study_uid=shown_study)
        core.importer.run_sources([MemorySource("one more", encode(ds))])
        run_until(loop, lambda: sorted(reads) == ["image", "series"])
        # the re-read has begun; the new image's series is listed once it is done
        run_until(loop, lambda: db.series.total == 2)
        settle(loop)
        assert sorted(reads) == ["image", "series"]

    def test_demo_data_off_the_gui_thread(
        self, app_model: AppModel, core: Core, loop: asyncio.AbstractEventLoop
    ) -> None:
        seen: list[float] = []
        app_model.importer.progressChanged.connect(lambda: seen.append(app_model.importer.progress))
        app_model.importer.loadDemo()
        settle(loop)
        run_until(loop, lambda: not app_model.empty)
        assert core.stats()["patients"] == 6
        assert app_model.importer.summary.startswith("Imported ")
        assert seen and seen[-1] == 1.0


class TestImport:
    def test_folder_import_summary(
        self, app_model: AppModel, core: Core, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        folder = tmp_path / "usb"
        for i in range(3):
            write(make_dataset(patient_id="U1", instance_number=i), folder / f"IM{i}")
        (folder / "notes.txt").write_text("not dicom")
        app_model.importer.start(str(folder))
        settle(loop)
        summary = app_model.importer.last_summary
        assert summary is not None
        assert (summary.imported, summary.duplicates, len(summary.rejected)) == (3, 0, 1)
        assert app_model.importer.summary.startswith("Imported 3, duplicates 0, rejected 1.")
        app_model.importer.start(str(folder))
        settle(loop)
        assert app_model.importer.summary.startswith("Imported 0, duplicates 3, rejected 1.")

    def test_cancel_stops_the_import(
        self, app_model: AppModel, core: Core, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        folder = tmp_path / "many"
        for i in range(300):
            write(make_dataset(patient_id="C1", instance_number=i), folder / f"{i:04d}.dcm")
        importer = app_model.importer
        importer.start(str(folder))
        run_until(loop, lambda: importer.progress > 0)
        importer.cancel()
        settle(loop)
        summary = importer.last_summary
        assert summary is not None and summary.cancelled
        assert summary.imported < 300
        assert "Cancelled" in importer.summary

    def test_folder_picker_lists_folders_only(
        self, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        (tmp_path / "b").mkdir()
        (tmp_path / "A").mkdir()
        (tmp_path / ".hidden").mkdir()
        (tmp_path / "file.dcm").write_bytes(b"x")
        assert [name for name, _p in list_folders(tmp_path)] == ["A", "b"]
        picker = FolderModel(tmp_path)
        loop.run_until_complete(picker.open_path(tmp_path / "A"))
        assert picker.path == str(tmp_path / "A") and picker.rowCount() == 0
        picker.up()
        settle(loop)
        assert picker.path == str(tmp_path) and picker.rowCount() == 2
        assert picker.shortcuts[0]["label"] == "Home"


class TestViewer:
    @pytest.fixture
    def ct(self, core: Core) -> None:
        sources = [MemorySource(str(i), d) for i, d in enumerate(synth.ct_series(5, size=64))]
        core.importer.run_sources(sources)

    def open_ct(self, app_model: AppModel, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(app_model.reload())
        db = app_model.database
        db.select("study", 0)
        settle(loop)
        db.select("series", 0)
        settle(loop)
        db.load()
        settle(loop)
        assert app_model.view == "viewer"

    def test_stack_window_and_probe(
        self, ct: None, app_model: AppModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.open_ct(app_model, loop)
        viewer = app_model.viewer
        assert viewer.count == 5 and viewer.index == 0
        assert (viewer.imageWidth, viewer.imageHeight) == (64, 64)
        viewer.scrub(40.0)  # 16 px per image: two images on
        settle(loop)
        assert viewer.index == 2
        viewer.step(10)
        settle(loop)
        assert viewer.index == 4  # clamped at the end
        width = viewer.windowWidth
        viewer.adjustWindow(100.0, 0.0)
        settle(loop)
        assert viewer.windowWidth > width
        viewer.applyPreset("Full range")
        settle(loop)
        viewer.reset()
        settle(loop)
        assert viewer.windowWidth == width
        viewer.probe(0.5, 0.5)
        assert viewer.probeText.startswith("x 32  y 32:")
        value = float(viewer.probeText.split(":")[1].split()[0])
        # ct_series stores the head phantom in HU + 1024 with rescale -1024: values are in HU.
        z = -0.9 + 1.8 * 4 / 4
        expected = synth.head_phantom(64, z, synth.CT_HEAD_HU)[32, 32] - 1000
        assert value == pytest.approx(float(np.int16(expected)), abs=1)
        viewer.probe(1.5, 0.5)
        assert viewer.probeText == ""
