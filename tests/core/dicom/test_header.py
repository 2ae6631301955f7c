"""The fast header scan of received data sets gives exactly what pydicom's reader gives."""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.filereader import _read_file_meta_info, read_preamble

from core.dicom.header import header_of, parse_instance, scan_header
from core.dicom.part10 import part10
from core.dicom.synth import ct_series
from core.dicom.transcode import parse_meta
from core.errors import RejectedFile
from tests.support.data import CHARSET_FILES, TEST_FILES


def _split(path: Path) -> tuple[bytes, str] | None:
    """(data set bytes as a C-STORE carries them, transfer syntax) of a Part 10 file."""
    with open(path, "rb") as fp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if read_preamble(fp, False) is None:
                    return None
                meta = _read_file_meta_info(fp)
        except Exception:
            return None
        ts = meta.get("TransferSyntaxUID")
        return (fp.read(), str(ts)) if ts else None


def _reference(dataset: bytes, ts: str) -> object:
    """What the C-STORE handler computed before the scan existed (header or rejection)."""
    data = part10(dataset, "1.2.3", "1.2.3", ts, "AE")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return header_of(dcmread(io.BytesIO(data), stop_before_pixels=True), ts)
    except RejectedFile as exc:
        return ("rejected", exc.reason)
    except Exception:
        return ("unreadable",)


def _scanned(dataset: bytes, ts: str) -> object:
    try:
        return scan_header(dataset, ts)
    except RejectedFile as exc:
        return ("rejected", exc.reason)


def test_same_header_as_pydicom_for_every_bundled_file() -> None:
    files = sorted(
        p for folder in (TEST_FILES, CHARSET_FILES) for p in folder.rglob("*") if p.is_file()
    )
    compared = fallback = 0
    for path in files:
        split = _split(path)
        if split is None:
            continue
        dataset, ts = split
        scanned = _scanned(dataset, ts)
        if scanned is None:
            fallback += 1
            continue
        compared += 1
        assert scanned == _reference(dataset, ts), path.name
    assert compared > 100, (compared, fallback)  # the scan serves the common case


@pytest.mark.parametrize("cut", [10, 100, 300])
def test_truncated_or_garbled_data_sets_fall_back_or_agree(cut: int) -> None:
    data = next(iter(ct_series(1)))
    split = _split_bytes(data)
    dataset, ts = split
    for broken in (dataset[:cut], dataset[:cut] + b"\xff" * 12, b"\x08\x00" + dataset[cut:]):
        scanned = _scanned(broken, ts)
        if scanned is not None:
            assert scanned == _reference(broken, ts)


def _split_bytes(data: bytes) -> tuple[bytes, str]:
    fp = io.BytesIO(data)
    read_preamble(fp, False)
    meta = _read_file_meta_info(fp)
    return fp.read(), str(meta.TransferSyntaxUID)


def test_generated_ct_is_scanned() -> None:
    dataset, ts = _split_bytes(next(iter(ct_series(1))))
    header = scan_header(dataset, ts)
    assert header is not None and header == _reference(dataset, ts)


def test_undecodable_file_meta_is_rejected() -> None:
    """Found by fuzzing (tests/fuzz): an unknown VR in the file meta, which pydicom decodes
    only when the element is read, escaped parse_instance as NotImplementedError."""
    raw = (TEST_FILES / "MR_small.dcm").read_bytes()
    tag = b"\x02\x00\x02\x00UI"  # (0002,0002) Media Storage SOP Class UID, explicit VR
    assert tag in raw
    with pytest.raises(RejectedFile, match="file meta"):
        parse_instance(raw.replace(tag, b"\x02\x00\x02\x00U\x01", 1))


def _bare_dataset(name: str = "MR_small.dcm") -> bytes:
    """The data set of a bundled file without its preamble and file meta (explicit VR LE)."""
    raw = (TEST_FILES / name).read_bytes()
    return raw[parse_meta(raw).dataset_offset :]


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        # a sequence after the pixel data whose item is not an item: the full read raised OSError
        (b"\xe1\x7f\x10\x00SQ\x00\x00\xff\xff\xff\xff\x08\x00\x10\x00\x02\x00\x00\x00", "No tag"),
        # an invalid VR, which pydicom re-encodes into bytes it then reads as truncated
        (b"\x01\x00\x00\x00I\x13\x02\x00\x20\x00", "re-encoded"),
    ],
)
def test_file_without_meta_is_stored_only_if_it_reads_back(damage: bytes, reason: str) -> None:
    """Found by fuzzing (tests/fuzz): a file without file meta is read whole and re-encoded
    for the store; damage the header read does not see must reject it, not raise or store
    bytes that do not read back as the instance."""
    dataset = _bare_dataset()
    assert parse_instance(dataset).rewritten is not None
    pixels = dataset.find(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data
    at = len(dataset) if reason == "No tag" else pixels
    with pytest.raises(RejectedFile, match=reason):
        parse_instance(dataset[:at] + damage + dataset[at:])


def test_transfer_syntax_that_is_not_text_is_treated_as_absent() -> None:
    """Found by fuzzing: a file meta holding (0002,0010) as a sequence."""
    raw = (TEST_FILES / "MR_small.dcm").read_bytes()
    offset = parse_meta(raw).dataset_offset
    meta = raw[132:offset]
    at = meta.find(b"\x02\x00\x10\x00UI")
    (length,) = struct.unpack_from("<H", meta, at + 6)
    meta = meta[:at] + b"\x02\x00\x10\x00SQ\x00\x00\x00\x00\x00\x00" + meta[at + 8 + length :]
    meta = meta[:8] + struct.pack("<I", len(meta) - 12) + meta[12:]  # its group length
    parsed = parse_instance(raw[:132] + meta + raw[offset:])
    assert parsed.header.transfer_syntax == "1.2.840.10008.1.2.1"  # from the encoding
    assert parsed.rewritten is not None  # stored with a proper file meta
