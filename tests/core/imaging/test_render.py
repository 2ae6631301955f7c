"""Rendering to 8-bit display images: every bundled pydicom file, known values, placeholders."""

from __future__ import annotations

import copy
import logging
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels import apply_color_lut, convert_color_space, pixel_array
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, JPEGBaseline8Bit

from core.errors import NotFoundError
from core.imaging.render import (
    Window,
    apply_window,
    object_kind,
    placeholder_image,
    render_dataset,
    render_frame,
    render_thumbnail,
)
from tests.support.data import CHARSET_FILES, PYDICOM_DATA, TEST_FILES, make_dataset

SKIP_SUFFIXES = {".json", ".txt", ".icc", ".dump", ".gz", ".md", ".py"}


def _pydicom_files() -> list[Path]:
    folders = [TEST_FILES, CHARSET_FILES, PYDICOM_DATA / "palettes"]
    return sorted(
        p
        for folder in folders
        for p in folder.rglob("*")
        if p.is_file() and p.suffix not in SKIP_SUFFIXES and p.name != "README"
    )


def _reference_decodes(path: Path) -> bool:
    """Independent verdict: does pydicom itself decode this file's pixel data?"""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            if "PixelData" not in ds:
                return False
            logging.getLogger("pydicom").disabled = True
            try:
                ds.pixel_array  # noqa: B018 - decoding is the check
            finally:
                logging.getLogger("pydicom").disabled = False
            return True
        except Exception:
            return False


def _read(name: str) -> Dataset:
    return pydicom.dcmread(TEST_FILES / name)


ALL_FILES = _pydicom_files()


class TestEveryBundledFile:
    def test_the_bundled_set_is_there(self) -> None:
        assert len(ALL_FILES) > 100

    @pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: str(p.relative_to(PYDICOM_DATA)))
    def test_renders_an_image_or_a_typed_placeholder(self, path: Path) -> None:
        rendered = render_frame(path)
        assert rendered.pixels.dtype == np.uint8
        assert rendered.pixels.ndim in (2, 3)
        assert min(rendered.pixels.shape[:2]) >= 1
        if rendered.placeholder:
            assert rendered.kind and rendered.modality
            assert rendered.pixels.shape == (256, 256, 3)
            assert rendered.pixels.std() > 5  # a drawn card, not a blank square
        if _reference_decodes(path):
            assert not rendered.placeholder, rendered.reason
        thumb = render_thumbnail(path, 64)
        assert max(thumb.size) == 64
        assert thumb.mode in ("L", "RGB")


class TestKnownValues:
    def test_ct_small_rescaled_value(self) -> None:
        from core.imaging.render import decode_frame

        decoded = decode_frame(_read("CT_small.dcm"))
        assert decoded.stored[64, 64] == 1928
        assert decoded.values is not None
        assert decoded.values[64, 64] == pytest.approx(1928 * 1 - 1024)
        assert decoded.units == "HU"

    def test_ct_small_auto_window_ignores_padding(self) -> None:
        rendered = render_frame(TEST_FILES / "CT_small.dcm")
        assert rendered.voi == "auto"  # CT_small has no window in its header
        assert rendered.window is not None
        assert rendered.window.low > -2000 - 1024  # the padding value is not the floor
        assert rendered.pixels.min() == 0 and rendered.pixels.max() == 255

    def test_header_window_is_used(self) -> None:
        ds = _read("MR_small.dcm")
        rendered = render_dataset(ds)
        assert rendered.voi == "header"
        assert rendered.window == Window(float(ds.WindowCenter), float(ds.WindowWidth))

    def test_explicit_window_maps_the_ends(self) -> None:
        ds = make_dataset()
        ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, 5, 16, 16, 15
        ds.PixelData = np.array([0, 100, 150, 200, 300], dtype=np.uint16).tobytes()
        ds.RescaleSlope, ds.RescaleIntercept = 2, -100  # values -100, 100, 200, 300, 500
        rendered = render_dataset(ds, window=Window(200, 200))
        assert rendered.pixels[0].tolist()[0] == 0
        assert rendered.pixels[0].tolist()[1] == 0  # 100 = c - w/2
        assert 126 <= rendered.pixels[0, 2] <= 129  # the centre is mid grey
        assert rendered.pixels[0, 3] == 255 and rendered.pixels[0, 4] == 255

    def test_monochrome1_is_inverted(self) -> None:
        ds = _read("MR_small.dcm")
        inverted = copy.deepcopy(ds)
        inverted.PhotometricInterpretation = "MONOCHROME1"
        for window in (None, Window(500, 1000)):
            normal = render_dataset(ds, window=window).pixels
            flipped = render_dataset(inverted, window=window).pixels
            assert np.array_equal(flipped, 255 - normal)
            assert normal.std() > 10

    def test_ybr_full_422_converted_like_pydicom(self) -> None:
        path = TEST_FILES / "SC_ybr_full_422_uncompressed.dcm"
        reference = convert_color_space(pixel_array(path, raw=True), "YBR_FULL", "RGB")
        rendered = render_frame(path)
        assert rendered.pixels.shape == reference.shape
        assert np.array_equal(rendered.pixels, reference)
        raw = pixel_array(path, raw=True)
        assert not np.array_equal(rendered.pixels, raw)  # it was converted

    def test_ybr_jpeg_multiframe_converted_like_pydicom(self) -> None:
        path = TEST_FILES / "examples_ybr_color.dcm"
        reference = convert_color_space(pixel_array(path, index=7, raw=True), "YBR_FULL", "RGB")
        rendered = render_frame(path, frame=7)
        difference = np.abs(rendered.pixels.astype(int) - reference.astype(int))
        assert difference.max() <= 2  # decoder rounding only

    def test_multiframe_frame_count_and_frames(self) -> None:
        path = TEST_FILES / "examples_ybr_color.dcm"
        first, last = render_frame(path, 0), render_frame(path, 29)
        assert first.frames == last.frames == 30 and last.frame == 29
        assert not np.array_equal(first.pixels, last.pixels)
        with pytest.raises(NotFoundError):
            render_frame(path, 30)
        dose = render_frame(TEST_FILES / "rtdose.dcm", 14)
        assert dose.frames == 15 and not dose.placeholder

    def test_compressed_syntaxes_match_the_uncompressed_image(self) -> None:
        reference = render_frame(TEST_FILES / "MR_small.dcm").pixels
        for name in (
            "MR_small_RLE.dcm",
            "MR_small_jpeg_ls_lossless.dcm",
            "MR_small_jp2klossless.dcm",
            "MR_small_bigendian.dcm",
            "MR_small_implicit.dcm",
        ):
            assert np.array_equal(render_frame(TEST_FILES / name).pixels, reference), name

    def test_palette_colour(self) -> None:
        ds = _read("examples_palette.dcm")
        expected = apply_color_lut(ds.pixel_array, ds)
        if expected.dtype != np.uint8:
            expected = (expected >> 8).astype(np.uint8)
        rendered = render_dataset(ds)
        assert rendered.is_color and np.array_equal(rendered.pixels, expected)

    def test_rgb_16_bit_scaled_to_8(self) -> None:
        eight = render_frame(TEST_FILES / "SC_rgb_rle.dcm").pixels
        sixteen = render_frame(TEST_FILES / "SC_rgb_rle_16bit.dcm").pixels
        assert np.abs(eight.astype(int) - sixteen.astype(int)).max() <= 1

    def test_voi_lut_sequence(self) -> None:
        ds = make_dataset()
        ds.Rows, ds.Columns = 1, 4
        ds.PixelData = bytes([0, 1, 2, 3])
        item = Dataset()
        item.LUTDescriptor = [4, 0, 16]
        item.LUTData = [1000, 1000, 3000, 5000]
        ds.VOILUTSequence = Sequence([item])
        ds.WindowCenter, ds.WindowWidth = 1, 1  # the LUT wins over the window
        rendered = render_dataset(ds)
        assert rendered.voi == "lut"
        assert rendered.pixels[0].tolist() == [0, 0, 127, 255]

    def test_per_frame_rescale_of_enhanced_objects(self) -> None:
        ds = make_dataset()
        ds.Rows, ds.Columns, ds.NumberOfFrames = 1, 2, 2
        ds.PixelData = bytes([10, 20, 10, 20])
        frames = []
        for intercept in (0, 100):
            transform = Dataset()
            transform.RescaleSlope, transform.RescaleIntercept = 1, intercept
            group = Dataset()
            group.PixelValueTransformationSequence = Sequence([transform])
            frames.append(group)
        ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
        from core.imaging.render import decode_frame

        second = decode_frame(ds, 1)
        assert second.values is not None and second.values[0].tolist() == [110, 120]

    def test_float_pixel_data(self) -> None:
        ds = make_dataset()
        del ds.PixelData, ds.BitsStored, ds.HighBit, ds.PixelRepresentation
        ds.BitsAllocated = 32
        ds.FloatPixelData = np.array([0.5, 1.5, 2.5, 3.5], dtype=np.float32).tobytes()
        rendered = render_dataset(ds, window=Window(2, 3))
        assert not rendered.placeholder
        # PS3.3 C.11.2.1.2.1 LINEAR: 0 up to c - 0.5 - (w - 1) / 2, 255 above c - 0.5 + (w - 1) / 2
        assert rendered.pixels.ravel().tolist() == [0, 127, 255, 255]

    def test_sigmoid_voi_function(self) -> None:
        values = np.array([-1000.0, 40.0, 1000.0])
        out = apply_window(values, Window(40, 80), "SIGMOID")
        assert out.tolist() == [0, 127, 255]


class TestPlaceholders:
    @pytest.mark.parametrize(
        ("name", "kind", "modality"),
        [
            ("rtplan.dcm", "RT plan", "RTPLAN"),
            ("rtstruct.dcm", "RT structure set", "RTSTRUCT"),
            ("test-SR.dcm", "structured report", "SR"),
            ("waveform_ecg.dcm", "waveform", "ECG"),
        ],
    )
    def test_non_image_objects_are_typed(self, name: str, kind: str, modality: str) -> None:
        rendered = render_frame(TEST_FILES / name)
        assert rendered.placeholder and rendered.kind == kind
        assert rendered.modality == modality
        assert not rendered.reason

    def test_encapsulated_pdf(self) -> None:
        ds = make_dataset(modality="DOC")
        del ds.PixelData
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.104.1"
        ds.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
        ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
        assert object_kind(ds) == "encapsulated PDF"
        rendered = render_dataset(ds)
        assert rendered.placeholder and rendered.modality == "DOC"

    def test_corrupt_compressed_pixel_data_is_a_placeholder_and_logged(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        ds = make_dataset()
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.Rows = ds.Columns = 16
        ds.PixelData = encapsulate([b"\xff\xd8 this is not a JPEG stream \xff\xd9"])
        ds["PixelData"].VR = "OB"
        with caplog.at_level(logging.WARNING, logger="core.imaging.render"):
            rendered = render_dataset(ds)
        assert rendered.placeholder and "decode" in rendered.reason
        assert any("cannot render" in r.getMessage() for r in caplog.records)

    def test_truncated_pixel_data_is_a_placeholder(self) -> None:
        rendered = render_frame(TEST_FILES / "MR_truncated.dcm")
        assert rendered.placeholder and rendered.reason

    def test_unreadable_file(self, tmp_path: Path) -> None:
        path = tmp_path / "x.dcm"
        path.write_bytes(b"")
        rendered = render_frame(path)
        assert rendered.placeholder and rendered.kind == "unreadable file"
        assert render_thumbnail(path, 48).size == (48, 48)

    def test_placeholder_card_scales(self) -> None:
        for size in (32, 128, 512):
            image = placeholder_image("RTSTRUCT", "RT structure set", "a long reason " * 8, size)
            assert image.size == (size, size)

    def test_native_syntax_without_meta(self) -> None:
        ds = make_dataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        assert not render_dataset(ds).placeholder


def test_rendering_modules_do_not_import_qt() -> None:
    import subprocess
    import sys

    code = (
        "import sys, core.imaging.render, core.imaging.thumbnails, core.imaging.viewer,"
        " core.cli.render;"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'qasync'))];"
        "sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
