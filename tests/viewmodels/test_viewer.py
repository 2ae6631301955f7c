"""The viewer model: overlay, slider and drag speed, cine, presets, W/L drag, save and load."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Core
from core.db.queries import StudyFilter
from core.dicom import synth
from core.imaging import derived
from core.imaging.render import Window
from core.imaging.viewer import SeriesStack, StackEntry
from core.index.importer import MemorySource
from tests.support.data import TEST_FILES
from tests.support.qt import run_until, settle
from viewmodels.images import FrameProvider
from viewmodels.viewer import WINDOW_DRAG_PIXELS, ViewerModel


@pytest.fixture
def viewer(core: Core) -> Iterator[ViewerModel]:
    model = ViewerModel(FrameProvider(), core=core)
    yield model
    if model.playing:
        model.togglePlay()


def _open(viewer: ViewerModel, loop: asyncio.AbstractEventLoop, stack: SeriesStack) -> None:
    loop.run_until_complete(viewer.open_stack(stack, "test"))
    settle(loop)


def _files(*names: str) -> SeriesStack:
    return SeriesStack.from_paths([TEST_FILES / n for n in names])


def _demo(core: Core, count: int = 3) -> str:
    """A demo patient's CT series in the database; its UID."""
    sources = [MemorySource(str(i), d) for i, d in enumerate(synth.demo_instances(1, seed=4))]
    core.importer.run_sources(sources)
    rows = core.list_rows("series", StudyFilter(), limit=100)
    return str(next(r for r in rows if r["Modality"] == "CT")["SeriesInstanceUID"])


class TestOverlay:
    def test_corners_from_the_header(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        _open(viewer, loop, _files("examples_overlay.dcm"))
        assert viewer.overlayTopLeft.splitlines() == [
            "Sssssss, Jsssss",
            "021234567",
            "1111-11-11 M",
        ]
        assert viewer.overlayTopRight.splitlines() == [
            "2005-11-30",
            "abdomen^liver",
            "Acc 8000000000330109",
        ]
        assert viewer.overlayBottomLeft.splitlines() == [
            "Se 18 marked lesion<MPR Collection>",
            "Im 1 / 1",
            "Loc 28.4 mm  Thk 4 mm",
        ]
        assert viewer.overlayBottomRight.splitlines()[0] == viewer.windowText
        viewer.setZoom(2.5)
        assert viewer.overlayBottomRight.endswith("Zoom 2.50")
        markers = (viewer.markerLeft, viewer.markerRight, viewer.markerTop, viewer.markerBottom)
        assert markers == ("R", "L", "A", "P")
        assert viewer.overlayShown
        viewer.toggleOverlay()
        assert not viewer.overlayShown

    def test_demo_series_from_the_database(
        self, core: Core, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        uid = _demo(core)
        stack = SeriesStack.from_index(core.sessions, core.store, uid)
        _open(viewer, loop, stack)
        patient = core.list_rows("patient", StudyFilter(), limit=1)[0]
        family, given = str(patient["PatientName"]).split("^")[:2]
        assert viewer.overlayTopLeft.splitlines()[0] == f"{family}, {given}"
        assert viewer.overlayTopLeft.splitlines()[1] == patient["PatientID"]
        viewer.goTo(1)
        settle(loop)
        assert f"Im 2 / {len(stack)}" in viewer.overlayBottomLeft
        assert "Loc 5.0 mm  Thk 5 mm" in viewer.overlayBottomLeft
        assert viewer.markerRight == "L" and viewer.markerBottom == "P"

    def test_a_multi_frame_object_counts_its_frames(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        _open(viewer, loop, _files("rtdose.dcm"))
        viewer.goTo(3)
        settle(loop)
        assert "Im 4 / 15  (frame 4 / 15)" in viewer.overlayBottomLeft


class TestStackNavigation:
    def _long(self, count: int) -> SeriesStack:
        path = TEST_FILES / "MR_small.dcm"
        return SeriesStack([StackEntry(f"1.2.3.{i}", path, 0, 1, i + 1) for i in range(count)])

    def test_one_stage_height_covers_a_long_stack(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        _open(viewer, loop, self._long(600))
        viewer.setDragExtent(500.0)
        viewer.scrub(500.0)
        settle(loop)
        assert viewer.index == 599
        viewer.scrub(-250.0)
        settle(loop)
        assert viewer.index == 299

    def test_a_short_stack_moves_at_most_a_step_per_travel(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        _open(viewer, loop, self._long(4))
        viewer.setDragExtent(500.0)
        assert viewer.scrub_pixels() == 48.0
        viewer.scrub(100.0)
        settle(loop)
        assert viewer.index == 2

    def test_slider_goes_to_an_image(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        _open(viewer, loop, self._long(20))
        viewer.goTo(12)
        settle(loop)
        assert viewer.index == 12 and viewer.positionText == "13 / 20"
        viewer.goTo(99)
        settle(loop)
        assert viewer.index == 19

    def test_cine_plays_and_wraps(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        _open(viewer, loop, _files("rtdose.dcm"))  # a 15-frame object
        viewer.setFrameRate(60)
        seen: set[int] = set()
        viewer.frameChanged.connect(lambda: seen.add(viewer.index))
        viewer.togglePlay()
        assert viewer.playing
        run_until(loop, lambda: 0 in seen and 14 in seen and len(seen) > 5)
        viewer.togglePlay()
        assert not viewer.playing

    def test_cine_rate_from_the_header(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        import pydicom

        from tests.support.data import write

        ds = pydicom.dcmread(TEST_FILES / "rtdose.dcm")
        ds.FrameTime = 50
        write(ds, tmp_path / "dose.dcm")
        _open(viewer, loop, SeriesStack.from_paths([tmp_path / "dose.dcm"]))
        assert viewer.frameRate == 20.0 and viewer.frameRateText == "20 fps"


class TestWindow:
    def test_drag_is_scaled_to_the_value_range(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        _open(viewer, loop, _files("CT_small.dcm"))
        low, high = viewer._frame.value_range  # type: ignore[union-attr]
        width = viewer.windowWidth
        viewer.adjustWindow(150.0, 0.0)
        settle(loop)
        assert viewer.windowWidth == pytest.approx(width + 150 * (high - low) / WINDOW_DRAG_PIXELS)
        assert viewer.windowWidth - width > 250  # CT: 150 px is a real change

    def test_the_active_preset_and_names_from_the_file(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        _open(viewer, loop, _files("examples_overlay.dcm"))
        assert viewer.presets == ["Default", "WINDOW1", "WINDOW2", "Full range"]
        assert viewer.activePreset == "Default"
        viewer.applyPreset("WINDOW2")
        settle(loop)
        assert viewer.activePreset == "WINDOW2"
        viewer.adjustWindow(30.0, 0.0)
        settle(loop)
        assert viewer.activePreset == ""

    def test_probe_text_for_a_point(
        self, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        _open(viewer, loop, _files("CT_small.dcm"))
        viewer.probe(0.25, 0.25)
        assert viewer.probeText.startswith("x 32  y 32:") and viewer.probeText.endswith("HU")


class TestSaveAndLoad:
    def test_key_marks_the_image_moved_to_even_before_it_is_shown(
        self, core: Core, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        uid = _demo(core)
        stack = SeriesStack.from_index(core.sessions, core.store, uid)
        _open(viewer, loop, stack)
        viewer.goTo(2)
        loop.run_until_complete(asyncio.sleep(0))  # at index 2, its frame still decoding
        assert viewer.index == 2
        viewer.toggleKeyImage()
        settle(loop)
        assert viewer.index == 2 and viewer.keyImage and viewer.keyCount == 1
        viewer.goTo(0)
        settle(loop)
        assert not viewer.keyImage

    def test_save_then_load_applies_the_view(
        self, core: Core, viewer: ViewerModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        uid = _demo(core)
        stack = SeriesStack.from_index(core.sessions, core.store, uid)
        _open(viewer, loop, stack)
        viewer.toggleKeyImage()
        assert viewer.keyImage and viewer.keyCount == 1
        viewer.goTo(1)
        settle(loop)
        assert not viewer.keyImage
        viewer.applyPreset("Bone")
        settle(loop)
        messages: list[str] = []
        errors: list[str] = []
        viewer.message.connect(messages.append)
        viewer.errorOccurred.connect(errors.append)
        viewer.saveView(0.25, 0.25, 0.75, 0.75, True)
        settle(loop)
        assert errors == []
        assert messages == ["Saved the view and 1 key image and a screen capture."]
        study = core.list_rows("series", StudyFilter(series_uid=uid))[0]["StudyInstanceUID"]
        modalities = {r["Modality"] for r in core.list_rows("series", StudyFilter(study_uid=study))}
        assert {"PR", "KO", "OT"} <= modalities

        other = ViewerModel(FrameProvider(), core=core)
        areas: list[tuple[float, ...]] = []
        other.areaRequested.connect(lambda *a: areas.append(a))
        # the view re-reads the active preset when the window changes: it holds on load
        active: list[str] = []
        other.windowChanged.connect(lambda: active.append(other.activePreset))
        _open(other, loop, SeriesStack.from_index(core.sessions, core.store, uid))
        assert (other.windowCenter, other.windowWidth) == (400, 1800)  # Bone
        assert other.activePreset == "Bone" and active[-1] == "Bone"
        assert areas == [(0.25, 0.25, 0.75, 0.75)]
        view = derived.latest_presentation(core.sessions, core.store, uid)
        assert view is not None and view.window == Window(400, 1800)

    def test_without_a_core_there_is_no_save(self, loop: asyncio.AbstractEventLoop) -> None:
        model = ViewerModel(FrameProvider())
        _open(model, loop, _files("CT_small.dcm"))
        assert not model.canSave
