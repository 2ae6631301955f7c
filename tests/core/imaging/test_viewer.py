"""The viewer core: stack order, frames, presets, read-out, zoom and pan; the render command."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from core.app import Core
from core.cli.main import main
from core.db.queries import StudyFilter
from core.errors import NotFoundError
from core.imaging.render import Window
from core.imaging.viewer import SeriesStack, Viewer, slice_position
from tests.support.data import TEST_FILES, make_dataset, write

SERIES = "1.2.826.0.1.3680043.2.1143.91"
STUDY = "1.2.826.0.1.3680043.2.1143.90"


def _slices(
    folder: Path, n: int, *, numbers: bool, oblique: bool = False, seed: int = 3
) -> list[tuple[str, float]]:
    """Write ``n`` slices in shuffled file order; return (uid, z) in anatomical order."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    truth = []
    row, col = ([1, 0, 0], [0, 0.8, -0.6]) if oblique else ([1, 0, 0], [0, 1, 0])
    normal = np.cross(row, col)
    for file_index, slice_index in enumerate(order):
        uid = f"{SERIES}.{slice_index + 1}"
        ds = make_dataset(sop_uid=uid, series_uid=SERIES, study_uid=STUDY)
        if numbers:
            ds.InstanceNumber = slice_index + 1
        else:
            del ds.InstanceNumber
        # the corner lies on the row axis, so its projection on the normal is the offset alone
        position = np.asarray([-100.0, 0.0, 0.0]) + normal * (slice_index * 2.5 - 10)
        ds.ImagePositionPatient = [float(v) for v in position]
        ds.ImageOrientationPatient = row + col
        ds.PixelData = bytes([slice_index] * 4)
        write(ds, folder / f"f{file_index}.dcm")
        truth.append((uid, slice_index * 2.5 - 10))
    return sorted(truth, key=lambda t: t[1])


class TestStack:
    def test_ordered_by_instance_number(self, tmp_path: Path) -> None:
        truth = _slices(tmp_path, 7, numbers=True)
        stack = SeriesStack.from_paths(sorted(tmp_path.glob("*.dcm")))
        assert [e.sop_uid for e in stack.entries] == [uid for uid, _ in truth]

    def test_ordered_by_position_without_numbers(self, tmp_path: Path) -> None:
        truth = _slices(tmp_path, 7, numbers=False, oblique=True)
        stack = SeriesStack.from_paths(sorted(tmp_path.glob("*.dcm")))
        assert [e.sop_uid for e in stack.entries] == [uid for uid, _ in truth]
        positions = [e.position for e in stack.entries]
        assert positions == pytest.approx([z for _, z in truth])

    def test_from_the_index(self, core: Core, tmp_path: Path) -> None:
        truth = _slices(tmp_path / "in", 6, numbers=False)
        core.importer.run([tmp_path / "in"])
        stack = SeriesStack.from_index(core.sessions, core.store, SERIES)
        assert [e.sop_uid for e in stack.entries] == [uid for uid, _ in truth]
        with pytest.raises(NotFoundError):
            SeriesStack.from_index(core.sessions, core.store, "1.2.3")

    def test_multiframe_images_contribute_every_frame(self) -> None:
        stack = SeriesStack.from_paths([TEST_FILES / "examples_ybr_color.dcm"])
        assert len(stack) == 30
        assert [e.frame for e in stack.entries] == list(range(30))
        viewer = Viewer(stack)
        viewer.go_to(29)
        rendered = viewer.render()
        assert rendered.frame == 29 and rendered.frames == 30 and rendered.is_color

    def test_slice_position_needs_both_attributes(self) -> None:
        ds = make_dataset()
        assert slice_position(ds) is None
        ds.ImagePositionPatient = [1, 2, 3]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        assert slice_position(ds) == pytest.approx(3)


class TestViewer:
    def test_value_under_a_point_in_hu(self) -> None:
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "CT_small.dcm"]))
        value = viewer.value_at(64.4, 64.9)
        assert value is not None
        assert (value.x, value.y) == (64, 64)
        assert value.stored == 1928 and value.value == pytest.approx(904) and value.units == "HU"
        assert viewer.value_at(-1, 3) is None and viewer.value_at(128, 0) is None

    def test_dose_read_out_in_gray(self) -> None:
        ds = pydicom.dcmread(TEST_FILES / "rtdose.dcm")
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "rtdose.dcm"]))
        viewer.go_to(3)
        value = viewer.value_at(5, 5)
        assert value is not None and value.units == ds.DoseUnits
        stored = ds.pixel_array[3, 5, 5]
        assert value.stored == stored
        assert value.value == pytest.approx(stored * float(ds.DoseGridScaling), rel=1e-6)

    def test_colour_read_out(self) -> None:
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "SC_rgb_rle.dcm"]))
        value = viewer.value_at(0, 0)
        assert value is not None and value.value is None
        expected = pydicom.dcmread(TEST_FILES / "SC_rgb_rle.dcm").pixel_array[0, 0]
        assert value.stored == tuple(float(v) for v in expected)

    def test_ct_presets(self) -> None:
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "CT_small.dcm"]))
        names = [p.name for p in viewer.presets()]
        for wanted in ("Brain", "Lung", "Bone", "Abdomen"):
            assert wanted in names
        assert viewer.apply_preset("lung") == Window(-600, 1500)
        rendered = viewer.render()
        assert rendered.voi == "explicit" and rendered.window == Window(-600, 1500)
        brain = viewer.apply_preset("Brain")
        assert viewer.render().window == brain
        with pytest.raises(NotFoundError):
            viewer.apply_preset("Cardiac")
        viewer.reset_window()
        assert viewer.render().voi == "auto"

    def test_mr_has_its_header_windows_only(self) -> None:
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "MR_small.dcm"]))
        names = [p.name for p in viewer.presets()]
        assert names == ["Header 1", "Full range"]

    def test_window_drag(self) -> None:
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "MR_small.dcm"]))
        start = viewer.effective_window()
        assert start == Window(600, 1600)
        assert viewer.adjust_window(50, -200) == Window(650, 1400)
        assert viewer.adjust_window(0, -5000) == Window(650, 1)  # width stays >= 1
        narrow = viewer.render().pixels
        viewer.reset_window()
        assert not np.array_equal(narrow, viewer.render().pixels)

    def test_navigation_is_clamped(self, tmp_path: Path) -> None:
        _slices(tmp_path, 4, numbers=True)
        viewer = Viewer(SeriesStack.from_paths(sorted(tmp_path.glob("*.dcm"))))
        assert viewer.step(-1).instance_number == 1
        assert viewer.step(10).instance_number == 4
        assert viewer.render().pixels.shape == (2, 2)

    def test_zoom_keeps_the_point_under_the_finger(self) -> None:
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "CT_small.dcm"]))
        viewer.set_viewport(800, 600)
        assert viewer.scale() == pytest.approx(600 / 128)
        assert viewer.view_to_image(400, 300) == pytest.approx((64, 64))
        before = viewer.view_to_image(500, 200)
        viewer.zoom_at(2.5, 500, 200)
        assert viewer.zoom == pytest.approx(2.5)
        assert viewer.view_to_image(500, 200) == pytest.approx(before)
        viewer.pan_by(30, -10)
        x, y = viewer.image_to_view(*before)
        assert (x, y) == pytest.approx((530, 190))
        viewer.zoom_at(1000)
        assert viewer.zoom == 40.0
        viewer.reset_view()
        assert viewer.zoom == 1.0 and viewer.pan == (0.0, 0.0)

    def test_placeholder_objects_in_a_stack(self) -> None:
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "rtstruct.dcm"]))
        rendered = viewer.render()
        assert rendered.placeholder and rendered.kind == "RT structure set"
        assert viewer.value_at(1, 1) is None and viewer.presets() == []


class TestRenderCommand:
    def _import(self, core: Core, *names: str) -> list[str]:
        core.importer.run([TEST_FILES / n for n in names])
        return [str(r["SOPInstanceUID"]) for r in core.list_rows("image", StudyFilter())]

    def test_render_stored_instance(
        self, core: Core, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        (uid,) = self._import(core, "CT_small.dcm")
        out = tmp_path / "ct.png"
        args = ["--data-dir", str(data_dir), "render", "--instance", uid, "--out", str(out)]
        assert main([*args, "--center", "-1000", "--width", "1", "--size", "64"]) == 0
        image = Image.open(out)
        assert image.size == (64, 64) and image.mode == "L"
        assert "window -1000/1" in capsys.readouterr().out
        assert main(args) == 0
        assert Image.open(out).size == (128, 128)

    def test_render_frame_of_a_file(self, tmp_path: Path, data_dir: Path) -> None:
        out = tmp_path / "f.png"
        path = str(TEST_FILES / "examples_ybr_color.dcm")
        base = ["--data-dir", str(data_dir), "render", "--file", path, "--out", str(out)]
        assert main([*base, "--frame", "12"]) == 0
        assert Image.open(out).mode == "RGB"
        assert main([*base, "--frame", "30"]) == 1  # no such frame

    def test_usage_errors(self, core: Core, data_dir: Path, tmp_path: Path) -> None:
        base = ["--data-dir", str(data_dir), "render", "--out", str(tmp_path / "x.png")]
        assert main([*base, "--instance", "1.2.3"]) == 1  # not in the database
        assert main([*base, "--instance", "1.2.3", "--center", "40"]) == 2
        (uid,) = self._import(core, "rtplan.dcm")
        assert main([*base, "--instance", uid]) == 0
        assert Image.open(tmp_path / "x.png").size == (256, 256)

    def test_thumbnails_command_with_contact_sheet(
        self, core: Core, data_dir: Path, tmp_path: Path
    ) -> None:
        uids = self._import(core, "CT_small.dcm", "MR_small.dcm", "rtplan.dcm")
        sheet = tmp_path / "sheet.png"
        base = ["--data-dir", str(data_dir), "thumbnails", "--size", "48"]
        assert main([*base, "--contact-sheet", str(sheet), "--columns", "2"]) == 0
        assert Image.open(sheet).size == (2 * 48, 2 * (48 + 12))
        made = sorted(p.stem for p in (data_dir / "thumbnails" / "48").rglob("*.png"))
        assert made == sorted(uids)
        assert main([*base[:-2], "--size", "8"]) == 2
