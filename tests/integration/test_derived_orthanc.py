"""The viewer's derived objects against a real Orthanc: it accepts the presentation state, the
key object selection and the screen capture (C-STORE with DCMTK's storescu), and a C-GET
(getscu) brings back the same objects, whose presentation state shows what was saved."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from sqlalchemy import select

from core.app import Core
from core.config import load_settings
from core.db.models import Instance
from core.db.queries import StudyFilter
from core.dicom import synth
from core.imaging import derived
from core.imaging.derived import DisplayedArea
from core.imaging.render import Window, render_frame
from core.imaging.viewer import SeriesStack
from core.index.importer import MemorySource
from tests.support.dcmtk import dcmtk, run
from tests.support.orthanc import Orthanc
from tests.support.ports import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _path(core: Core, sop_uid: str) -> Path:
    with core.sessions() as session:
        relative = session.scalar(select(Instance.file_path).where(Instance.sop_uid == sop_uid))
    assert relative is not None
    return core.store.absolute(relative)


def test_orthanc_takes_and_returns_the_derived_objects(core: Core, tmp_path: Path) -> None:
    sources = [MemorySource(str(i), d) for i, d in enumerate(synth.ct_series(3, size=32))]
    core.importer.run_sources(sources)
    series_uid = str(core.list_rows("series", StudyFilter(), limit=1)[0]["SeriesInstanceUID"])
    stack = SeriesStack.from_index(core.sessions, core.store, series_uid)
    paths = [e.path for e in stack.entries]
    first = pydicom.dcmread(paths[0], stop_before_pixels=True)
    saved = derived.save_view(
        core.intake,
        paths,
        window=Window(60, 350),
        area=DisplayedArea(4, 4, 28, 28),
        keys=[str(first.SOPInstanceUID)],
        capture=(str(first.SOPInstanceUID), stack_pixels(paths[0])),
    )
    uids = [saved.presentation_uid, saved.key_object_uid, saved.capture_uid]
    files = [_path(core, uid) for uid in uids]

    with Orthanc(tmp_path / "orthanc") as orthanc:
        run(
            [dcmtk("storescu"), "-aec", orthanc.ae_title, "127.0.0.1", str(orthanc.dicom_port)]
            + [str(p) for p in paths + files]
        )
        stored = {
            orthanc.get(f"/instances/{i}/simplified-tags")["SOPInstanceUID"]
            for i in orthanc.get("/instances")
        }
        assert set(uids) <= stored

        out = tmp_path / "got"
        out.mkdir()
        for uid, path in zip(uids, files, strict=True):
            ours = pydicom.dcmread(path)
            run(
                [
                    dcmtk("getscu"),
                    "-aec",
                    orthanc.ae_title,
                    "-od",
                    str(out),
                    "127.0.0.1",
                    str(orthanc.dicom_port),
                    "-k",
                    "QueryRetrieveLevel=SERIES",
                    "-k",
                    f"StudyInstanceUID={ours.StudyInstanceUID}",
                    "-k",
                    f"SeriesInstanceUID={ours.SeriesInstanceUID}",
                ]
            )
            got = [pydicom.dcmread(p) for p in out.iterdir() if _uid(p) == uid]
            assert len(got) == 1, uid
            assert got[0] == ours  # every element as we made it
    presentation = derived.read_presentation(pydicom.dcmread(files[0]))
    assert presentation.window == Window(60, 350)
    assert presentation.area == DisplayedArea(4, 4, 28, 28)


def _uid(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def stack_pixels(path: Path) -> np.ndarray:
    """The image as the viewer shows it (8-bit), for the screen capture."""
    return render_frame(path).pixels


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DICOM_KIOSK_FSYNC": "0", "DICOM_KIOSK_PORT": str(free_port())}
    return subprocess.run(
        [sys.executable, "-m", "core.cli", "--data-dir", str(data_dir), *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_a_saved_view_goes_out_by_send_and_comes_back_by_c_get(tmp_path: Path) -> None:
    """Saved in one kiosk, sent to Orthanc with the send queue (`send --wait`), retrieved by
    another kiosk with C-GET (`retrieve --method get`): there the series opens as it was saved
    (the presentation state Load applies) and the key image is marked."""
    first, second = tmp_path / "first", tmp_path / "second"
    with Core(load_settings(first, {"fsync": False})) as core:
        core.importer.run_sources(
            [MemorySource(str(i), d) for i, d in enumerate(synth.ct_series(4, size=32))]
        )
        row = core.list_rows("series", StudyFilter(), limit=1)[0]
        series_uid, study_uid = str(row["SeriesInstanceUID"]), str(row["StudyInstanceUID"])
        stack = SeriesStack.from_index(core.sessions, core.store, series_uid)
        key = str(pydicom.dcmread(stack.entries[2].path, stop_before_pixels=True).SOPInstanceUID)
        saved = derived.save_view(
            core.intake,
            [e.path for e in stack.entries],
            window=Window(40, 80),
            area=DisplayedArea(2, 3, 30, 31),
            keys=[key],
        )
    with Orthanc(tmp_path / "orthanc") as orthanc:
        for data_dir in (first, second):
            added = _cli(data_dir, "nodes", "add", "pacs", "--ae", orthanc.ae_title,
                         "--host", "127.0.0.1", "--port", str(orthanc.dicom_port))  # fmt: skip
            assert added.returncode == 0, added.stderr
        sent = _cli(first, "send", "--to", "pacs", "--study", study_uid, "--wait")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert sent.stdout.splitlines()[-1].endswith("6 of 6 images sent, 0 failed"), sent.stdout
        got = _cli(second, "retrieve", "pacs", "--study", study_uid, "--method", "get")
        assert got.returncode == 0, got.stdout + got.stderr
    with Core(load_settings(second, {"fsync": False})) as core:
        modalities = sorted(
            str(r["Modality"]) for r in core.list_rows("series", StudyFilter(), limit=10)
        )
        assert modalities == ["CT", "KO", "PR"]
        view = derived.latest_presentation(core.sessions, core.store, series_uid)
        assert view is not None
        assert (view.window, view.area) == (Window(40, 80), DisplayedArea(2, 3, 30, 31))
        kos = pydicom.dcmread(_path(core, saved.key_object_uid))
    referenced = [
        str(ref.ReferencedSOPInstanceUID)
        for item in kos.CurrentRequestedProcedureEvidenceSequence
        for series in item.ReferencedSeriesSequence
        for ref in series.ReferencedSOPSequence
    ]
    assert referenced == [key]
