"""Import from hostile or broken media, through the real Importer (core/index/importer.py).

Each case is one that took the whole import down or read what it must not: a zip bomb (with
honest and with lying headers), a link to /dev/zero, a FIFO, a file whose parse raises, links
leading out of the media (also from a DICOMDIR), running out of memory. Limits are lowered
(monkeypatched module constants) so that no test writes or expands more than a few MiB. Where a
regression would hang (a FIFO) the import runs in a thread that the test releases; where it
would exhaust memory (/dev/zero) the test bounds the address space while it imports.
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
import struct
import subprocess
import sys
import threading
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.fileset import FileSet

from core.app import Core
from core.index import importer
from core.index.importer import ImportSummary, Source
from tests.support.data import TEST_FILES, encode, make_dataset, write

REPO = Path(__file__).resolve().parents[3]
NOT_REGULAR = "not a regular file"
LINK_OUTSIDE = "symbolic link leading outside"
IMPORT_TIMEOUT = 30.0  # seconds; the import of these few files takes well under one
MiB = 1 << 20

Limits = Callable[..., None]


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Limits:
    """Lower the importer's limits for one test: ``limits(MAX_FILE_BYTES=...)``."""

    def lower(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setattr(importer, name, value)

    return lower


def _valid(folder: Path, count: int) -> list[str]:
    """``count`` small valid images in ``folder``; their SOP Instance UIDs."""
    uids = []
    for i in range(count):
        ds = make_dataset(patient_id=f"P{i}")
        write(ds, folder / f"valid{i}.dcm")
        uids.append(str(ds.SOPInstanceUID))
    return uids


def _blank_image(pixels: int) -> bytes:
    """A valid image whose ``pixels`` (8-bit, a square) are all zero: it deflates ~1000:1."""
    ds = make_dataset()
    side = int(pixels**0.5)
    ds.Rows = ds.Columns = side
    ds.PixelData = bytes(side * side)
    return encode(ds)


def _stored_uids(core: Core) -> set[str]:
    return {p.stem for p in core.store.root.rglob("*.dcm") if "incoming" not in p.parts}


def _reasons(summary: ImportSummary) -> dict[str, str]:
    return dict(summary.rejected)


def _accounted(summary: ImportSummary) -> bool:
    return summary.imported + summary.duplicates + len(summary.rejected) == summary.total


# -- a FIFO: the import must finish, whatever it opens ------------------------------------------
def _release(fifo: Path) -> None:
    """Let a reader blocked on ``fifo`` go on: open it for writing and close (EOF)."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError as exc:
        if exc.errno != errno.ENXIO:  # ENXIO: nobody is reading it at the moment
            raise


def _import_in_thread(core: Core, paths: list[Path], fifos: list[Path]) -> ImportSummary:
    """``core.importer.run(paths)`` in a thread; a regression that blocks on one of ``fifos``
    fails the test (the FIFOs are then released so that the thread ends) instead of hanging."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["summary"] = core.importer.run(paths)
        except BaseException as exc:  # reported below, in the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="import-under-test", daemon=True)
    thread.start()
    thread.join(IMPORT_TIMEOUT)
    blocked = thread.is_alive()
    while thread.is_alive():
        for fifo in fifos:
            _release(fifo)
        thread.join(0.1)
    if blocked:
        pytest.fail(f"the import blocked on a FIFO for {IMPORT_TIMEOUT} s")
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise AssertionError("the import raised") from error
    summary = outcome["summary"]
    assert isinstance(summary, ImportSummary)
    return summary


class TestSpecialFiles:
    def test_fifo_beside_valid_files_is_rejected_and_the_import_finishes(
        self, core: Core, tmp_path: Path
    ) -> None:
        folder = tmp_path / "stick"
        uids = _valid(folder, 3)
        fifos = [folder / "pipe.dcm", folder / "pipe", folder / "sub" / "images.zip"]
        fifos[2].parent.mkdir()
        for fifo in fifos:
            os.mkfifo(fifo)
        summary = _import_in_thread(core, [folder], fifos)
        assert summary.imported == 3
        assert _stored_uids(core) == set(uids)
        reasons = _reasons(summary)
        assert sorted(reasons) == sorted(map(str, fifos))
        assert all(NOT_REGULAR in reason for reason in reasons.values())
        assert _accounted(summary)

    def test_file_swapped_for_a_fifo_after_the_check_is_not_read(
        self, core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The check and the open are apart in time; the open itself must refuse a FIFO."""
        folder = tmp_path / "stick"
        _valid(folder, 1)
        fifos = [folder / "pipe.dcm", folder / "archive"]
        for fifo in fifos:
            os.mkfifo(fifo)
        monkeypatch.setattr(importer, "unsafe_reason", lambda path, root: None)
        summary = _import_in_thread(core, [folder], fifos)
        assert summary.imported == 1
        assert sorted(_reasons(summary)) == sorted(map(str, fifos))
        assert all(NOT_REGULAR in reason for reason in _reasons(summary).values())

    def test_dicomdir_that_is_a_fifo_is_rejected(self, core: Core, tmp_path: Path) -> None:
        dicomdir = tmp_path / "DICOMDIR"
        os.mkfifo(dicomdir)
        summary = _import_in_thread(core, [dicomdir], [dicomdir])
        assert len(summary.rejected) == 1
        path, reason = summary.rejected[0]
        assert path == str(dicomdir)
        assert "unreadable DICOMDIR" in reason and NOT_REGULAR in reason


@contextmanager
def _address_space(headroom: int) -> Iterator[None]:
    """Bound this process's address space to what it uses now plus ``headroom`` while the
    block runs: a regression that reads an endless device fails with MemoryError instead of
    taking the machine's memory."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    status = Path("/proc/self/status").read_text()
    used = next(int(line.split()[1]) << 10 for line in status.splitlines() if line[:7] == "VmSize:")
    limit = used + headroom
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class TestEndlessDevice:
    def test_link_to_dev_zero_in_a_folder_is_not_followed(self, core: Core, tmp_path: Path) -> None:
        folder = tmp_path / "stick"
        uids = _valid(folder, 2)
        (folder / "zero.dcm").symlink_to("/dev/zero")
        with _address_space(768 * MiB):
            summary = core.importer.run([folder])
        assert summary.imported == 2
        assert _stored_uids(core) == set(uids)
        assert list(_reasons(summary)) == [str(folder / "zero.dcm")]
        assert LINK_OUTSIDE in summary.rejected[0][1]

    def test_dev_zero_named_on_its_own_is_not_read(self, core: Core, tmp_path: Path) -> None:
        link = tmp_path / "zero.dcm"
        link.symlink_to("/dev/zero")
        with _address_space(768 * MiB):
            summary = core.importer.run([link, Path("/dev/zero")])
        assert summary.imported == 0
        assert [p for p, _ in summary.rejected] == [str(link), "/dev/zero"]
        assert all(NOT_REGULAR in reason for _, reason in summary.rejected)


# -- zip bombs ------------------------------------------------------------------------------------
def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _announce(path: Path, file_size: int) -> None:
    """Make every header of a one-member zip announce ``file_size`` expanded bytes (a lie)."""
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 22, file_size)  # local file header (APPNOTE 4.3.7)
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, file_size)  # central directory (APPNOTE 4.3.12)
    path.write_bytes(bytes(data))


class TestZipBombs:
    def test_member_over_the_per_file_limit_is_rejected_unread(
        self, core: Core, tmp_path: Path, limits: Limits
    ) -> None:
        limits(MAX_FILE_BYTES=1 * MiB)
        small = encode(make_dataset())
        archive = _zip(tmp_path / "bomb.zip", {"big.dcm": _blank_image(4 * MiB), "ok.dcm": small})
        assert archive.stat().st_size < 64 << 10  # the bomb: 4 MiB from a few KiB
        summary = core.importer.run([archive])
        assert summary.imported == 1
        assert summary.rejected == [
            (f"{archive}!big.dcm", f"zip member larger than {1 * MiB} bytes (the per-file limit)")
        ]

    def test_highly_compressed_large_member_is_rejected(
        self, core: Core, tmp_path: Path, limits: Limits
    ) -> None:
        limits(ZIP_RATIO_FROM_BYTES=1 * MiB, ZIP_MAX_RATIO=200)
        archive = _zip(tmp_path / "bomb.zip", {"big.dcm": _blank_image(4 * MiB)})
        summary = core.importer.run([archive])
        assert summary.imported == 0
        assert len(summary.rejected) == 1
        assert "zip bomb" in summary.rejected[0][1]

    def test_blank_images_below_the_ratio_size_are_imported(
        self, core: Core, tmp_path: Path
    ) -> None:
        """Blank images deflate far beyond the ratio limit; below its size they are normal."""
        members = {f"blank{i}.dcm": _blank_image(512 * 512) for i in range(3)}
        archive = _zip(tmp_path / "blank.zip", members)
        ratios = [i.file_size / i.compress_size for i in zipfile.ZipFile(archive).infolist()]
        assert min(ratios) > importer.ZIP_MAX_RATIO  # the case the size threshold is for
        summary = core.importer.run([archive])
        assert (summary.imported, summary.rejected) == (3, [])

    def test_total_expansion_is_bounded(self, core: Core, tmp_path: Path, limits: Limits) -> None:
        limits(ZIP_MAX_TOTAL_BYTES=1 * MiB)
        members = {f"m{i}.dcm": _blank_image(400 << 10) for i in range(4)}
        archive = _zip(tmp_path / "many.zip", members)
        summary = core.importer.run([archive])
        assert summary.imported == 2  # 2 x 400 KiB fit in 1 MiB, the third does not
        assert [p for p, _ in summary.rejected] == [f"{archive}!m2.dcm", f"{archive}!m3.dcm"]
        assert all("in all" in reason for _, reason in summary.rejected)

    @pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
    def test_lying_header_is_rejected(self, core: Core, tmp_path: Path, method: int) -> None:
        """The header announces a few bytes; the member holds a whole valid image."""
        archive = _zip(tmp_path / "lie.zip", {"image.dcm": _blank_image(256 << 10)}, method)
        _announce(archive, 1000)
        summary = core.importer.run([archive])
        assert summary.imported == 0
        assert [p for p, _ in summary.rejected] == [f"{archive}!image.dcm"]
        assert _stored_uids(core) == set()

    @pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
    def test_lying_bzip2_and_lzma_members_are_read_in_bounded_memory(
        self, core: Core, tmp_path: Path, method: int
    ) -> None:
        """32 MiB of zeros announced as 1000 bytes: zipfile would expand all of it at once
        (one read of bzip2 may yield hundreds of times a member's compressed size)."""
        archive = tmp_path / "lie.zip"
        with (
            zipfile.ZipFile(archive, "w", compression=method) as zf,
            zf.open("image.dcm", "w") as member,
        ):
            for _ in range(32):
                member.write(bytes(MiB))
        assert archive.stat().st_size < 64 << 10
        _announce(archive, 1000)
        tracemalloc.start()
        try:
            summary = core.importer.run([archive])
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 8 * MiB
        assert summary.imported == 0
        assert summary.rejected == [
            (
                f"{archive}!image.dcm",
                "zip member expands beyond the 1000 bytes its header announces",
            )
        ]

    @pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
    def test_bzip2_and_lzma_members_are_imported(
        self, core: Core, tmp_path: Path, method: int
    ) -> None:
        images = {"a.dcm": _blank_image(3 * MiB), "b.dcm": encode(make_dataset())}
        archive = _zip(tmp_path / "images.zip", images, method)
        summary = core.importer.run([archive])
        assert (summary.imported, summary.rejected) == (2, [])


# -- one bad file, whatever it raises, is one rejection ------------------------------------------
def _meta_vr(raw: bytes, vr: bytes) -> bytes:
    """``raw`` with the VR of (0002,0002) Media Storage SOP Class UID replaced by ``vr``."""
    at = raw.index(b"\x02\x00\x02\x00UI")
    return raw[: at + 4] + vr + raw[at + 6 :]


class TestOneBadFile:
    def test_unknown_vr_in_the_file_meta_beside_three_valid_files(
        self, core: Core, tmp_path: Path
    ) -> None:
        folder = tmp_path / "stick"
        uids = _valid(folder, 3)
        bad = folder / "corrupt.dcm"
        bad.write_bytes(_meta_vr(encode(make_dataset()), b"QI"))
        summary = core.importer.run([folder])
        assert summary.imported == 3
        assert _stored_uids(core) == set(uids)
        assert list(_reasons(summary)) == [str(bad)]
        assert "'QI'" in summary.rejected[0][1]

    @pytest.mark.parametrize(
        "error",
        [
            NotImplementedError("Unknown Value Representation 'QI' in tag (0002,0002)"),
            KeyError("x"),
            TypeError(),
        ],
        ids=lambda error: type(error).__name__,
    )
    def test_whatever_the_parser_raises_the_import_goes_on(
        self,
        core: Core,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        error: Exception,
    ) -> None:
        folder = tmp_path / "stick"
        uids = _valid(folder, 3)
        bad = folder / "corrupt.dcm"
        bad.write_bytes(encode(make_dataset()))
        real = importer.parse_instance_file

        def parse(path: Path) -> object:  # the copy of each file in the store is parsed
            if path.read_bytes() == bad.read_bytes():
                raise error
            return real(path)

        monkeypatch.setattr(importer, "parse_instance_file", parse)
        summary = core.importer.run([folder])
        assert summary.imported == 3
        assert _stored_uids(core) == set(uids)
        assert list(_reasons(summary)) == [str(bad)]
        assert _reasons(summary)[str(bad)]

    def test_out_of_memory_while_reading_is_a_rejection(
        self, core: Core, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        folder = tmp_path / "stick"
        uids = _valid(folder, 2)
        huge = folder / "huge.dcm"
        huge.write_bytes(encode(make_dataset()))
        real = Source.copy_to

        def copy_to(self: Source, out: Any) -> int:
            if self.path == huge:
                raise MemoryError
            return real(self, out)

        monkeypatch.setattr(Source, "copy_to", copy_to)
        summary = core.importer.run([folder])
        assert summary.imported == 2
        assert _stored_uids(core) == set(uids)
        assert summary.rejected == [(str(huge), "cannot read: out of memory")]

    def test_file_over_the_per_file_limit_is_rejected(
        self, core: Core, tmp_path: Path, limits: Limits
    ) -> None:
        limits(MAX_FILE_BYTES=64 << 10)
        folder = tmp_path / "stick"
        uids = _valid(folder, 1)
        (folder / "big.dcm").write_bytes(_blank_image(128 << 10))
        summary = core.importer.run([folder])
        assert _stored_uids(core) == set(uids)
        assert summary.rejected == [
            (str(folder / "big.dcm"), f"larger than {64 << 10} bytes (the per-file limit)")
        ]


# -- links out of the media -----------------------------------------------------------------------
class TestLinksOutOfTheMedia:
    def test_links_to_files_outside_are_rejected_unread(self, core: Core, tmp_path: Path) -> None:
        folder = tmp_path / "stick"
        uids = _valid(folder, 1)
        outside = write(make_dataset(patient_id="OUTSIDE"), tmp_path / "elsewhere" / "x.dcm")
        (folder / "outside.dcm").symlink_to(outside)
        (folder / "passwd.dcm").symlink_to("/etc/passwd")
        (folder / "again.dcm").symlink_to(folder / "valid0.dcm")  # inside: the same file
        summary = core.importer.run([folder])
        assert summary.imported == 1
        assert _stored_uids(core) == set(uids)
        reasons = _reasons(summary)
        assert sorted(reasons) == [str(folder / "outside.dcm"), str(folder / "passwd.dcm")]
        assert all(LINK_OUTSIDE in reason for reason in reasons.values())

    def test_link_to_a_folder_outside_is_reported_not_walked(
        self, core: Core, tmp_path: Path
    ) -> None:
        folder = tmp_path / "stick"
        _valid(folder, 1)
        _valid(tmp_path / "elsewhere", 2)
        (folder / "more").symlink_to(tmp_path / "elsewhere")
        summary = core.importer.run([folder])
        assert summary.imported == 1
        assert summary.rejected == [(str(folder / "more"), importer.LINK_OUTSIDE)]

    def test_dicomdir_record_leading_through_a_link_outside_is_not_followed(
        self, core: Core, tmp_path: Path
    ) -> None:
        media = tmp_path / "media"
        shutil.copytree(TEST_FILES / "dicomdirtests", media)
        fileset = FileSet(pydicom.dcmread(media / "DICOMDIR"))
        instances = list(fileset)
        # one record's file becomes a link to a copy outside the media
        target = Path(instances[0].path)
        outside = tmp_path / "elsewhere" / "copy.dcm"
        outside.parent.mkdir()
        shutil.move(target, outside)
        target.symlink_to(outside)
        summary = core.importer.run([media / "DICOMDIR"])
        assert summary.imported == len(instances) - 1
        assert instances[0].SOPInstanceUID not in _stored_uids(core)
        assert summary.rejected == [(str(target), importer.LINK_OUTSIDE)]

    def test_dicomdir_records_through_a_linked_folder_outside_are_not_followed(
        self, core: Core, tmp_path: Path
    ) -> None:
        media = tmp_path / "media"
        shutil.copytree(TEST_FILES / "dicomdirtests", media)
        paths = [Path(i.path) for i in FileSet(pydicom.dcmread(media / "DICOMDIR"))]
        folder = paths[0].parent
        moved = [path for path in paths if path.parent == folder]
        shutil.move(folder, tmp_path / "elsewhere")
        folder.symlink_to(tmp_path / "elsewhere")
        summary = core.importer.run([media / "DICOMDIR"])
        assert summary.imported == len(paths) - len(moved)
        assert sorted(_reasons(summary)) == sorted(map(str, moved))
        assert set(_reasons(summary).values()) == {importer.LINK_OUTSIDE}


# -- what a user sees -----------------------------------------------------------------------------
def _bounded_child() -> None:  # pragma: no cover - runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


class TestCommandLine:
    def test_import_prints_each_rejection_with_its_reason(self, tmp_path: Path) -> None:
        folder = tmp_path / "stick"
        _valid(folder, 2)
        os.mkfifo(folder / "pipe.dcm")
        (folder / "zero.dcm").symlink_to("/dev/zero")
        (folder / "passwd.dcm").symlink_to("/etc/passwd")
        (folder / "corrupt.dcm").write_bytes(_meta_vr(encode(make_dataset()), b"QI"))
        out = subprocess.run(
            [sys.executable, "-m", "core.cli", "--data-dir", str(tmp_path / "data")]
            + ["import", str(folder)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=IMPORT_TIMEOUT * 2,  # the child is killed by its PID if it blocks
            check=False,
            preexec_fn=_bounded_child,  # and cannot take more than 4 GiB if it reads /dev/zero
        )
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        assert lines[0] == "imported 2, duplicates 0, rejected 4"
        printed = dict(line.removeprefix("  rejected ").split(": ", 1) for line in lines[1:])
        assert sorted(printed) == sorted(
            str(folder / name) for name in ("corrupt.dcm", "passwd.dcm", "pipe.dcm", "zero.dcm")
        )
        assert "'QI'" in printed[str(folder / "corrupt.dcm")]
        assert NOT_REGULAR in printed[str(folder / "pipe.dcm")]
        assert LINK_OUTSIDE in printed[str(folder / "zero.dcm")]
        assert LINK_OUTSIDE in printed[str(folder / "passwd.dcm")]
