"""Association planning and Part 10 reading for sending (no network)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLossless,
    RLELossless,
)

from core.dicom.transcode import (
    Part10Error,
    TranscodeError,
    parse_meta,
    read_dataset,
    to_little_endian,
)
from core.net.storescu import (
    MAX_CONTEXTS,
    StoreItem,
    StoreResult,
    plan_associations,
    requested_contexts,
)
from tests.support.data import TEST_FILES, make_dataset, write

LE = [str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)]


def item(sop_class: str, syntax: str = ExplicitVRLittleEndian, n: int = 0) -> StoreItem:
    return StoreItem(sop_class, f"1.2.3.{n}", str(syntax), Path(f"/nowhere/{n}.dcm"))


class TestRequestedContexts:
    def test_uncompressed_items_share_one_context_per_sop_class(self) -> None:
        items = [item("1.1", ExplicitVRLittleEndian, 1), item("1.1", ImplicitVRLittleEndian, 2)]
        assert requested_contexts(items) == [("1.1", LE)]

    def test_compressed_items_get_their_syntax_and_the_fallback(self) -> None:
        items = [item("1.1", JPEG2000Lossless, 1), item("1.1", RLELossless, 2), item("1.2")]
        assert requested_contexts(items) == [
            ("1.1", LE),
            ("1.1", [str(JPEG2000Lossless)]),
            ("1.1", [str(RLELossless)]),
            ("1.2", LE),
        ]

    def test_more_than_one_association_worth_is_refused(self) -> None:
        items = [item(f"1.{n}", n=n) for n in range(MAX_CONTEXTS + 1)]
        with pytest.raises(ValueError, match="plan_associations"):
            requested_contexts(items)


class TestPlanAssociations:
    def test_one_group_when_everything_fits(self) -> None:
        items = [
            item(f"1.{n % 5}", JPEGLossless if n % 2 else ExplicitVRLittleEndian, n)
            for n in range(40)
        ]
        assert plan_associations(items) == [items]

    def test_no_items_no_groups(self) -> None:
        assert plan_associations([]) == []

    def test_groups_stay_within_128_contexts_and_keep_every_item(self) -> None:
        # 100 SOP classes, each uncompressed and JPEG 2000: 200 contexts.
        items = [
            item(f"1.{n % 100}", JPEG2000Lossless if n % 3 == 0 else ExplicitVRLittleEndian, n)
            for n in range(600)
        ]
        groups = plan_associations(items)
        assert len(groups) == 2
        assert sorted(i.sop_instance_uid for g in groups for i in g) == sorted(
            i.sop_instance_uid for i in items
        )
        for group in groups:
            assert len(requested_contexts(group)) <= MAX_CONTEXTS
            # order within a group is the order of the input
            assert group == [i for i in items if i in group]

    def test_a_sop_class_is_not_split_when_it_fits(self) -> None:
        items = [item(f"1.{n}", n=n) for n in range(200)] + [item("1.0", n=999)]
        groups = plan_associations(items)
        assert [len(g) for g in groups] == [129, 72]
        assert groups[0][-1].sop_instance_uid == "1.2.3.999"


class TestParseMeta:
    def test_finds_dataset_and_syntax(self, tmp_path: Path) -> None:
        path = write(make_dataset(), tmp_path / "a.dcm")
        data = path.read_bytes()
        layout = parse_meta(data)
        assert layout.transfer_syntax == ExplicitVRLittleEndian
        # the data set starts with group 0008
        assert data[layout.dataset_offset : layout.dataset_offset + 2] == b"\x08\x00"

    @pytest.mark.parametrize(
        ("name", "syntax"),
        [
            ("JPEG2000.dcm", "1.2.840.10008.1.2.4.91"),
            ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),
            ("ExplVR_BigEnd.dcm", "1.2.840.10008.1.2.2"),
        ],
    )
    def test_pydicom_files(self, name: str, syntax: str) -> None:
        assert parse_meta((TEST_FILES / name).read_bytes()).transfer_syntax == syntax

    def test_not_part10(self) -> None:
        with pytest.raises(Part10Error, match="DICM"):
            parse_meta(b"\x00" * 200)

    def test_truncated_meta(self, tmp_path: Path) -> None:
        data = write(make_dataset(), tmp_path / "a.dcm").read_bytes()
        with pytest.raises(Part10Error, match="truncated"):
            parse_meta(data[:150])

    def test_meta_without_syntax(self) -> None:
        element = b"\x02\x00\x02\x00UI\x04\x001.2\x00"
        with pytest.raises(Part10Error, match="Transfer Syntax"):
            parse_meta(b"\x00" * 128 + b"DICM" + element + b"\x08\x00\x05\x00CS\x00\x00")


def _pixels(source: Path | bytes, syntax: str = "") -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(source, Path):
            return pydicom.dcmread(source).pixel_array
        ds = pydicom.dcmread(io.BytesIO(source), force=True)
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = syntax
        return ds.pixel_array


class TestToLittleEndian:
    @pytest.mark.parametrize(
        "name",
        [
            "MR_small_bigendian.dcm",  # 16-bit OW pixel data, big endian
            "SC_rgb_small_odd_big_endian.dcm",  # 8-bit OW pixel data, big endian
            "image_dfl.dcm",  # deflated
            "MR_small_jp2klossless.dcm",
            "MR_small_RLE.dcm",
            "SC_rgb_jpeg_gdcm.dcm",
        ],
    )
    @pytest.mark.parametrize("syntax", LE)
    def test_pixels_survive(self, name: str, syntax: str) -> None:
        path = TEST_FILES / name
        data = to_little_endian(path, syntax)
        assert np.array_equal(_pixels(data, syntax), _pixels(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            original = pydicom.dcmread(path, stop_before_pixels=True)
            converted = pydicom.dcmread(io.BytesIO(data), force=True, stop_before_pixels=True)
        assert converted.SOPInstanceUID == original.SOPInstanceUID

    def test_undecodable_pixel_data_is_a_clear_error(self, tmp_path: Path) -> None:
        ds = pydicom.dcmread(TEST_FILES / "MR_small_jp2klossless.dcm")
        ds.PixelData = encapsulate([b"\xff\x4f\xff\x51 not a codestream"])
        path = tmp_path / "broken.dcm"
        ds.save_as(path, enforce_file_format=True)
        with pytest.raises(TranscodeError, match="cannot decompress JPEG 2000"):
            to_little_endian(path, ExplicitVRLittleEndian)

    def test_only_little_endian_targets(self) -> None:
        with pytest.raises(TranscodeError, match="cannot convert"):
            to_little_endian(TEST_FILES / "CT_small.dcm", "1.2.840.10008.1.2.2")


class TestReadDataset:
    def test_small_file_in_one_piece(self, tmp_path: Path) -> None:
        path = write(make_dataset(), tmp_path / "a.dcm")
        data = path.read_bytes()
        syntax, dataset = read_dataset(path)
        assert syntax == ExplicitVRLittleEndian
        assert isinstance(dataset, bytes)
        assert dataset == data[parse_meta(data).dataset_offset :]

    def test_large_file_in_chunks(self, tmp_path: Path) -> None:
        ds = make_dataset()
        ds.Rows, ds.Columns = 1024, 1500  # 1.5 MB of pixel data
        ds.PixelData = bytes(range(256)) * (1024 * 1500 // 256)
        path = write(ds, tmp_path / "big.dcm")
        data = path.read_bytes()
        syntax, dataset = read_dataset(path)
        assert not isinstance(dataset, bytes)
        chunks = list(dataset)
        assert len(chunks) == 2
        assert b"".join(chunks) == data[parse_meta(data).dataset_offset :]


class TestStoreResult:
    @pytest.mark.parametrize(
        ("status", "ok"),
        [
            (0x0000, True),
            (0xB000, True),  # coercion of data elements
            (0xB006, True),  # elements discarded
            (0xB007, True),  # data set does not match SOP class
            (0xA7F0, False),  # out of resources
            (0xA900, False),
            (0xC001, False),
            (0x0122, False),
        ],
    )
    def test_success_and_warnings_are_ok(self, status: int, ok: bool) -> None:
        assert StoreResult(status, "", False).ok is ok
