"""The viewer's overlay: header values of the frame shown, orientation markers, window names."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from core.dicom import synth
from core.imaging.viewer import (
    Orientation,
    SeriesStack,
    Viewer,
    orientation_label,
    orientation_of,
    overlay_of,
    window_names,
)
from tests.support.data import TEST_FILES, write


def _read(name: str) -> Dataset:
    return pydicom.dcmread(TEST_FILES / name, stop_before_pixels=True)


class TestOrientation:
    @pytest.mark.parametrize(
        ("iop", "expected"),
        [
            ([1, 0, 0, 0, 1, 0], Orientation("R", "L", "A", "P")),  # axial
            ([0, 1, 0, 0, 0, -1], Orientation("A", "P", "H", "F")),  # sagittal
            ([1, 0, 0, 0, 0, -1], Orientation("R", "L", "H", "F")),  # coronal
            ([-1, 0, 0, 0, -1, 0], Orientation("L", "R", "P", "A")),  # axial, turned
        ],
    )
    def test_the_planes(self, iop: list[float], expected: Orientation) -> None:
        assert orientation_of(iop) == expected

    def test_oblique_has_the_strongest_letter_first(self) -> None:
        assert orientation_label([0.0, 0.6, -0.8]) == "FP"
        assert orientation_label([0.1, 0.99, 0.0]) == "P"  # below a quarter: no letter

    def test_no_orientation_no_markers(self) -> None:
        assert orientation_of(None) is None
        assert orientation_of([0, 0, 0, 0, 1, 0]) is None
        assert orientation_of([1, 0, 0]) is None


class TestOverlayOfFiles:
    def test_ct_small(self) -> None:
        overlay = overlay_of(_read("CT_small.dcm"))
        assert overlay.patient_name == "CompressedSamples^CT1"
        assert overlay.patient_id == "1CT1" and overlay.sex == "O"
        assert overlay.study_date == "20040119" and overlay.series_number == "1"
        assert overlay.slice_location == pytest.approx(-77.2040634155)
        assert overlay.slice_thickness == 5.0
        assert overlay.orientation == Orientation("R", "L", "A", "P")

    def test_a_tilted_gantry_ct(self) -> None:
        # pydicom's J2K_pixelrep_mismatch.dcm: columns run posterior and a little to the feet
        overlay = overlay_of(_read("J2K_pixelrep_mismatch.dcm"))
        assert overlay.orientation == Orientation("R", "L", "AH", "PF")
        assert overlay.series_description == "Lv2"

    def test_study_values(self) -> None:
        overlay = overlay_of(_read("examples_overlay.dcm"))
        assert overlay.accession == "8000000000330109"
        assert overlay.study_description == "abdomen^liver"
        assert overlay.birth_date == "11111111" and overlay.sex == "M"

    def test_demo_data(self) -> None:
        for data in synth.demo_instances(2, seed=11):
            ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
            overlay = overlay_of(ds)
            assert overlay.patient_name == str(ds.PatientName)
            assert overlay.accession == ds.AccessionNumber
            if ds.Modality in ("CT", "MR"):
                assert overlay.orientation == Orientation("R", "L", "A", "P")
                assert overlay.slice_location == float(ds.SliceLocation)
                assert overlay.slice_thickness == float(ds.SliceThickness)
            else:
                assert overlay.orientation is None and overlay.slice_location is None

    def test_a_multi_frame_object_has_each_frames_plane(self) -> None:
        ds = _read("CT_small.dcm")
        del ds.ImageOrientationPatient, ds.ImagePositionPatient, ds.SliceLocation
        shared = Dataset()
        orientation = Dataset()
        orientation.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]  # sagittal
        shared.PlaneOrientationSequence = [orientation]
        ds.SharedFunctionalGroupsSequence = [shared]
        frames = []
        for x in (10.0, 12.5, 15.0):
            position = Dataset()
            position.ImagePositionPatient = [x, -50.0, 60.0]
            measures = Dataset()
            measures.SliceThickness = 2.5
            item = Dataset()
            item.PlanePositionSequence = [position]
            item.PixelMeasuresSequence = [measures]
            frames.append(item)
        ds.PerFrameFunctionalGroupsSequence = frames
        ds.NumberOfFrames = 3
        # the normal of a sagittal plane (A->P rows, H->F columns) points to the patient's right
        assert [overlay_of(ds, f).slice_location for f in range(3)] == [-10.0, -12.5, -15.0]
        assert overlay_of(ds, 2).slice_thickness == 2.5
        assert overlay_of(ds, 1).orientation == Orientation("A", "P", "H", "F")


class TestWindowNames:
    def test_the_files_explanations_name_its_windows(self) -> None:
        ds = _read("examples_overlay.dcm")
        assert window_names(ds, 0, 2) == ["WINDOW1", "WINDOW2"]
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "examples_overlay.dcm"]))
        names = [p.name for p in viewer.presets()]
        assert names == ["WINDOW1", "WINDOW2", "Full range"]

    def test_without_explanation_or_with_repeats(self) -> None:
        ds = _read("MR_small.dcm")
        assert window_names(ds, 0, 1) == ["Header 1"]
        ds.WindowCenterWidthExplanation = ["SOFT", "SOFT", ""]
        assert window_names(ds, 0, 3) == ["SOFT", "SOFT (2)", "Header 3"]

    def test_a_name_like_a_modality_preset_stays_apart(self, tmp_path: Path) -> None:
        ds = pydicom.dcmread(TEST_FILES / "CT_small.dcm")
        ds.WindowCenter, ds.WindowWidth = [45, 300], [90, 1500]
        ds.WindowCenterWidthExplanation = ["Brain", "Wide"]
        path = tmp_path / "ct.dcm"
        write(ds, path)
        viewer = Viewer(SeriesStack.from_paths([path]))
        presets = {p.name: p.window for p in viewer.presets()}
        assert presets["Brain"].center == 40 and presets["Brain (file)"].center == 45
        assert presets["Wide"].width == 1500


class TestViewerFrame:
    def test_frame_carries_overlay_range_and_rate(self) -> None:
        viewer = Viewer(SeriesStack.from_paths([TEST_FILES / "CT_small.dcm"]))
        frame = viewer.frame_at(0, None)
        assert frame.overlay.patient_id == "1CT1"
        decoded = viewer.decoded()
        assert frame.value_range == (float(decoded.values.min()), float(decoded.values.max()))  # type: ignore[union-attr]
        assert frame.frame_rate is None

    def test_frame_rate_from_the_header(self, tmp_path: Path) -> None:
        ds = pydicom.dcmread(TEST_FILES / "MR_small.dcm")
        ds.FrameTime = 40  # ms
        path = tmp_path / "mr.dcm"
        write(ds, path)
        viewer = Viewer(SeriesStack.from_paths([path]))
        assert viewer.frame_at(0, None).frame_rate == 25.0
        ds.CineRate = 12
        write(ds, path)
        viewer = Viewer(SeriesStack.from_paths([path]))
        assert viewer.frame_at(0, None).frame_rate == 12.0
