"""One malformed file never stops an export: it is left out, with its reason, in every format.

The store holds two good images, pydicom's ``SC_rgb_jpeg.dcm`` (an implicit VR data set
behind a meta header announcing JPEG Baseline, explicit VR: DCMTK cannot read it) and a file
truncated inside its Pixel Data after it was stored. Files, zip and DICOMDIR exports, plain and
de-identified, write the two good images and list the two others in ``ExportSummary.skipped``;
``dicom-kiosk export`` says so. Other damage done to a stored file (cut before or inside its
pixel data, inside a sequence, replaced by something else) leaves that file out the same way.

A file exported unchanged is not decoded: its structure is walked (``exporter._intact``) and
its bytes copied. Every file that walk vouches for, the full reader accepts too.
"""

from __future__ import annotations

import io
import random
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from sqlalchemy import select

from core.app import Core
from core.cli.main import main
from core.config import load_settings
from core.db.models import Instance
from core.export import exporter
from core.export.deidentify import DeidentifyOptions
from core.export.exporter import ExportOptions, Selection, export_selection
from core.index.importer import MemorySource
from tests.support.data import TEST_FILES

GOOD = ("CT_small.dcm", "MR_small.dcm")
UNREADABLE = "SC_rgb_jpeg.dcm"
TRUNCATED = "rtdose.dcm"  # stored whole, then cut short in the store


def _uid(name: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(pydicom.dcmread(TEST_FILES / name, stop_before_pixels=True).SOPInstanceUID)


@dataclass
class Store:
    data_dir: Path
    instances: tuple[str, ...]  # every SOP Instance UID in the store
    bad: set[str]  # the unreadable and the truncated one


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    data_dir = tmp_path / "data"
    names = (*GOOD, UNREADABLE, TRUNCATED)
    with Core(load_settings(data_dir, {"fsync": False})) as core:
        sources = [MemorySource(name, (TEST_FILES / name).read_bytes()) for name in names]
        imported = core.importer.run_sources(sources)
        assert imported.imported == len(names), imported.as_json()
        with core.sessions() as session:
            stored = session.scalar(
                select(Instance.file_path).where(Instance.sop_uid == _uid(TRUNCATED))
            )
        assert stored is not None
        path = core.store.absolute(stored)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 200])  # ends inside Pixel Data
    yield Store(data_dir, tuple(_uid(n) for n in names), {_uid(UNREADABLE), _uid(TRUNCATED)})


def _written(out: Path, fmt: str) -> list[str]:
    if fmt == "zip":
        with zipfile.ZipFile(next(out.glob("*.zip"))) as archive:
            return [n for n in archive.namelist() if n.endswith(".dcm")]
    return [str(p) for p in out.rglob("*") if p.is_file() and p.name != "DICOMDIR"]


@pytest.mark.parametrize("anonymize", [False, True], ids=["plain", "anonymized"])
@pytest.mark.parametrize("fmt", ["files", "zip", "dicomdir"])
def test_a_malformed_file_is_skipped_with_its_reason(
    store: Store, tmp_path: Path, fmt: str, anonymize: bool
) -> None:
    out = tmp_path / "out"
    with Core(load_settings(store.data_dir, {"fsync": False})) as core:
        summary = export_selection(
            core,
            Selection(instances=store.instances),
            ExportOptions(
                out,
                format=fmt,  # type: ignore[arg-type]
                deidentify=DeidentifyOptions() if anonymize else None,
            ),
        )
    assert summary.exported == len(GOOD)
    assert len(_written(out, fmt)) == len(GOOD)
    assert {uid for uid, _ in summary.skipped} == store.bad
    reasons = dict(summary.skipped)
    assert "truncated" in reasons[_uid(TRUNCATED)]
    assert "implicit VR" in reasons[_uid(UNREADABLE)]
    assert sum("left out" in w for w in summary.warnings) == len(store.bad)
    assert len(summary.as_json()["skipped"]) == len(store.bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("anonymize", [False, True], ids=["plain", "anonymized"])
def test_the_command_line_says_what_was_skipped(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], anonymize: bool
) -> None:
    args = ["--data-dir", str(store.data_dir), "export", "--to", str(tmp_path / "out")]
    for uid in store.instances:
        args += ["--instance", uid]
    code = main(args + (["--anonymize"] if anonymize else []))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "exported 2 " in captured.out
    assert "skipped 2 images" in captured.err
    assert all(uid in captured.err for uid in store.bad)


# -- damage done to a stored file after it was imported -------------------------------------------
def _cut_in_header(data: bytes) -> bytes:
    """Ends inside an element before Pixel Data: the header parses, the data set is cut."""
    return data[: data.index(b"\xe0\x7f\x10\x00") // 2]


DAMAGE: dict[str, tuple[str, Callable[[bytes], bytes], str]] = {
    # name: (pydicom test file, what is done to it in the store, what the reason says)
    "pixel data cut": ("MR_small.dcm", lambda d: d[:-1000], "truncated"),
    "data set cut before its pixel data": ("CT_small.dcm", _cut_in_header, "truncated"),
    # pydicom reads this one on and drops the pixel data it cannot finish
    "encapsulated pixel data without its delimiter": (
        "SC_rgb_rle.dcm",
        lambda d: d[:-8],
        "truncated",
    ),
    # pydicom raises OSError ("No tag to read") inside the sequence: still this file's fault
    "cut inside a sequence of undefined length": (
        "reportsi.dcm",
        lambda d: d[: int(len(d) * 0.6)],
        "truncated",
    ),
    "not a DICOM file": ("CT_small.dcm", lambda d: b"not a DICOM file\n" * 100, "not a DICOM"),
    "an empty file": ("CT_small.dcm", lambda d: b"", "not a DICOM"),
}


@dataclass
class Damaged:
    data_dir: Path
    instances: tuple[str, ...]
    bad: str
    reason: str


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Damaged]:
    name, damage, reason = DAMAGE[request.param]
    good = tuple(n for n in ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm") if n != name)
    data_dir = tmp_path / "data"
    with Core(load_settings(data_dir, {"fsync": False})) as core:
        names = (*good, name)
        sources = [MemorySource(n, (TEST_FILES / n).read_bytes()) for n in names]
        assert core.importer.run_sources(sources).imported == len(names)
        with core.sessions() as session:
            stored = session.scalar(
                select(Instance.file_path).where(Instance.sop_uid == _uid(name))
            )
        assert stored is not None
        path = core.store.absolute(stored)
        path.write_bytes(damage(path.read_bytes()))
    yield Damaged(data_dir, tuple(_uid(n) for n in names), _uid(name), reason)


@pytest.mark.parametrize("anonymize", [False, True], ids=["plain", "anonymized"])
@pytest.mark.parametrize("fmt", ["files", "zip", "dicomdir"])
def test_a_file_damaged_in_the_store_is_left_out(
    damaged: Damaged, tmp_path: Path, fmt: str, anonymize: bool
) -> None:
    out = tmp_path / "out"
    with Core(load_settings(damaged.data_dir, {"fsync": False})) as core:
        summary = export_selection(
            core,
            Selection(instances=damaged.instances),
            ExportOptions(
                out,
                format=fmt,  # type: ignore[arg-type]
                deidentify=DeidentifyOptions() if anonymize else None,
            ),
        )
    good = len(damaged.instances) - 1
    assert summary.exported == good
    assert len(_written(out, fmt)) == good
    assert [uid for uid, _ in summary.skipped] == [damaged.bad]
    assert damaged.reason in summary.skipped[0][1]


# -- the structure walk against the full reader ----------------------------------------------------
def _full_check(data: bytes) -> bool:
    try:
        exporter._encoded(exporter._checked_dataset(data))
    except Exception:
        return False
    return True


def _walked(data: bytes) -> bool | None:
    """True: vouched for; None: not vouched for; False: found truncated."""
    try:
        return exporter._intact(data) is not None or None
    except exporter.MalformedFileError:
        return False


BUNDLED = sorted(p for p in TEST_FILES.rglob("*") if p.is_file())


def test_every_file_the_walk_vouches_for_the_full_reader_accepts() -> None:
    """A file copied without being decoded is one the full check would have let through."""
    vouched = 0
    for path in BUNDLED:
        data = path.read_bytes()
        if _walked(data):
            vouched += 1
            assert _full_check(data), path.name
        elif _walked(data) is False:
            assert not _full_check(data), path.name
    assert vouched > 100


def test_a_file_cut_inside_an_element_is_never_vouched_for() -> None:
    """Cut anywhere past its file meta, a whole file is found truncated, or (cut between two
    elements) is still a file the full reader accepts."""
    rng = random.Random(7)
    cuts = 0
    for path in BUNDLED:
        data = path.read_bytes()
        if not _walked(data):
            continue
        for _ in range(5):
            cut = data[: rng.randrange(200, len(data))] if len(data) > 200 else data[:-1]
            verdict = _walked(cut)
            if verdict:
                assert _full_check(cut), path.name
            cuts += 1
    assert cuts > 500


def test_a_plain_export_copies_the_stored_bytes(tmp_path: Path) -> None:
    """Files, zip and (an explicit VR file with a complete meta header) DICOMDIR media hold
    the stored file byte for byte; an implicit VR file is written explicit VR on media."""
    names = ("CT_small.dcm", "rtplan.dcm")  # explicit VR; implicit VR
    with Core(load_settings(tmp_path / "data", {"fsync": False})) as core:
        sources = [MemorySource(n, (TEST_FILES / n).read_bytes()) for n in names]
        assert core.importer.run_sources(sources).imported == 2
        with core.sessions() as session:
            stored = {
                uid: core.store.absolute(path).read_bytes()
                for uid, path in session.execute(select(Instance.sop_uid, Instance.file_path))
            }
        selection = Selection(instances=tuple(stored))
        for fmt in ("files", "zip", "dicomdir"):
            out = tmp_path / fmt
            export_selection(core, selection, ExportOptions(out, format=fmt))
            if fmt == "zip":
                with zipfile.ZipFile(next(out.glob("*.zip"))) as archive:
                    written = [archive.read(n) for n in archive.namelist()]
            else:
                written = [
                    p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "DICOMDIR"
                ]
            by_uid = {_uid_of(data): data for data in written}
            assert set(by_uid) == set(stored)
            for uid, data in by_uid.items():
                implicit = pydicom.dcmread(io.BytesIO(stored[uid])).file_meta.TransferSyntaxUID
                if fmt == "dicomdir" and implicit == ImplicitVRLittleEndian:
                    assert pydicom.dcmread(io.BytesIO(data)).file_meta.TransferSyntaxUID == (
                        ExplicitVRLittleEndian
                    )
                else:
                    assert data == stored[uid], (fmt, uid)


def _uid_of(data: bytes) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID)
