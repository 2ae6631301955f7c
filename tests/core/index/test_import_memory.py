"""Import streams: a file or zip member is copied into the store in chunks and only its header
is parsed, so the memory an import takes does not grow with the size of what it reads.

Each case imports, with the command line in a child process, a folder of images of 128 MiB
each (a Part 10 file, a zip member stored and one deflated, a data set without a Part 10
header, which is stored behind a new file meta header), and compares the child's peak
resident memory (``wait4``'s ``ru_maxrss``) with a child of the same run importing one small
image. Reading any one of them whole would add at least 128 MiB.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Core
from core.index import importer
from tests.support.data import dataset_bytes, encode, make_dataset

REPO = Path(__file__).resolve().parents[3]
MiB = 1 << 20
SIDE = 8192  # 8192 x 8192 pixels of 16 bits: 128 MiB of pixel data
PIXEL_BYTES = SIDE * SIDE * 2
GROWTH_LIMIT = 48 * MiB  # what a big import may take beyond a small one's peak
TIMEOUT = 300.0


def _header(instance: int) -> bytes:
    """A Part 10 file up to its Pixel Data element's header (explicit VR little endian)."""
    ds = make_dataset(patient_name="Big^Image", patient_id="BIG1", instance_number=instance)
    del ds.PixelData
    ds.Rows = ds.Columns = SIDE
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    return encode(ds) + b"\xe0\x7f\x10\x00OW\x00\x00" + PIXEL_BYTES.to_bytes(4, "little")


def _pixels(pattern: bytes = b"") -> Iterator[bytes]:
    """The pixel data in 1 MiB chunks: zeros, or ``pattern`` repeated."""
    chunk = (pattern * (MiB // len(pattern))) if pattern else bytes(MiB)
    for _ in range(PIXEL_BYTES // MiB):
        yield chunk


def _write(path: Path, head: bytes, pattern: bytes = b"") -> Path:
    with open(path, "wb") as fh:
        fh.write(head)
        for chunk in _pixels(pattern):
            fh.write(chunk)
    return path


def _member(archive: zipfile.ZipFile, name: str, head: bytes, method: int, pattern: bytes) -> None:
    info = zipfile.ZipInfo(name)
    info.compress_type = method
    with archive.open(info, "w", force_zip64=True) as member:
        member.write(head)
        for chunk in _pixels(pattern):
            member.write(chunk)


def _sha256(path: Path, skip: int = 0) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        fh.seek(skip)
        while chunk := fh.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def _import(data_dir: Path, folder: Path) -> tuple[int, str]:
    """Run ``dicom-kiosk import`` in a child; its peak RSS in bytes and what it printed.

    The child is reaped with ``wait4``, which gives that one child's peak (and killed by its
    PID if it has not finished within TIMEOUT)."""
    out = data_dir.parent / f"{data_dir.name}.out"
    with open(out, "wb") as stdout:
        child = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "--data-dir", str(data_dir), "import", str(folder)],
            cwd=REPO,
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
    timer = threading.Timer(TIMEOUT, child.kill)
    timer.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        timer.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)
    text = out.read_text(errors="replace")
    assert child.returncode == 0, text
    return usage.ru_maxrss * 1024, text  # KiB on Linux


def _listed(data_dir: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "core.cli", "--data-dir", str(data_dir)]
        + ["list", "--level", "image", "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    rows: list[dict[str, object]] = json.loads(out.stdout)["rows"]
    return rows


def _stored(data_dir: Path, size_at_least: int) -> dict[str, Path]:
    """The large files the store holds, by their SHA-256 (incoming/ left out)."""
    found = {}
    for path in data_dir.rglob("*"):
        if path.is_file() and "incoming" not in path.parts and path.stat().st_size >= size_at_least:
            found[_sha256(path)] = path
    return found


def test_importing_files_of_128_mib_takes_no_more_memory_than_a_small_one(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    (small / "one.dcm").write_bytes(encode(make_dataset()))
    baseline, _ = _import(tmp_path / "data-small", small)

    big = tmp_path / "big"
    big.mkdir()
    part10 = _write(big / "IM000001.dcm", _header(1))
    raw_head = _header(2)
    raw = _write(big / "RAW00001", dataset_bytes(raw_head), b"\x01\x02")  # no Part 10 header
    with zipfile.ZipFile(big / "study.zip", "w", allowZip64=True) as archive:
        _member(archive, "stored.dcm", _header(3), zipfile.ZIP_STORED, b"\x03")
        # one byte in 16 varies: deflate packs it a few times (under the zip bomb ratio)
        varied = bytearray(MiB)
        varied[::16] = os.urandom(MiB // 16)
        _member(archive, "deflated.dcm", _header(4), zipfile.ZIP_DEFLATED, bytes(varied))
    peak, printed = _import(tmp_path / "data-big", big)

    assert printed.splitlines()[0] == "imported 4, duplicates 0, rejected 0", printed
    assert len(_listed(tmp_path / "data-big")) == 4
    stored = _stored(tmp_path / "data-big", PIXEL_BYTES)
    assert _sha256(part10) in stored  # kept byte for byte
    # the bare data set is stored behind a new file meta header, its bytes as they were
    raw_size = raw.stat().st_size
    assert any(
        _sha256(path, path.stat().st_size - raw_size) == _sha256(raw) for path in stored.values()
    ), "the data set without a Part 10 header is not stored as it was"
    assert len(stored) == 4
    growth = peak - baseline
    assert growth < GROWTH_LIMIT, (
        f"importing 4 images of {PIXEL_BYTES // MiB} MiB peaked at {peak // MiB} MiB,"
        f" {growth // MiB} MiB over a small import's {baseline // MiB} MiB"
    )


def test_cancel_stops_inside_a_file_and_leaves_nothing_half_written(
    core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancel, set while the second of three files is being copied, stops that copy between
    two chunks: the first file is imported, nothing of the second stays in ``incoming/``."""
    folder = tmp_path / "stick"
    folder.mkdir()
    (folder / "a.dcm").write_bytes(encode(make_dataset(instance_number=1)))
    _write(folder / "b.dcm", _header(2))
    (folder / "c.dcm").write_bytes(encode(make_dataset(instance_number=3)))
    cancel = threading.Event()
    real = importer._Spool.write
    written: list[int] = []

    def write(self: importer._Spool, data: bytes) -> None:
        real(self, data)
        written.append(len(data))
        if sum(written) > 8 * MiB:  # well inside b.dcm
            cancel.set()

    monkeypatch.setattr(importer._Spool, "write", write)
    summary = core.importer.run([folder], cancel=cancel)
    assert summary.cancelled
    assert summary.imported == 1
    assert sum(written) < 16 * MiB, "the copy went on after the cancel"
    assert list(core.store.incoming_dir.iterdir()) == []
