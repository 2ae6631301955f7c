"""One malformed file never stops an export: it is left out, with its reason, in every format.

The store holds two good images, pydicom's ``SC_rgb_jpeg.dcm`` (an implicit VR data set
behind a meta header announcing JPEG Baseline, explicit VR: DCMTK cannot read it) and a file
truncated inside its Pixel Data after it was stored. Files, zip and DICOMDIR exports, plain and
de-identified, write the two good images and list the two others in ``ExportSummary.skipped``;
``dicom-kiosk export`` says so.
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import select

from core.app import Core
from core.cli.main import main
from core.config import load_settings
from core.db.models import Instance
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
