"""Association planning and Part 10 reading for sending (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom.uid import (
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLossless,
    RLELossless,
)

from core.storescu import (
    MAX_CONTEXTS,
    StoreItem,
    plan_associations,
    requested_contexts,
)
from core.transcode import Part10Error, parse_meta
from tests.conftest import TEST_FILES
from tests.helpers import make_dataset, write

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
