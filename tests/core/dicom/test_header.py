"""The fast header scan of received data sets gives exactly what pydicom's reader gives."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.filereader import _read_file_meta_info, read_preamble

from core.dicom.header import header_of, scan_header
from core.dicom.part10 import part10
from core.dicom.synth import ct_series
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
