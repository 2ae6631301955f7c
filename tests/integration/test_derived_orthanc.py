"""The viewer's derived objects against a real Orthanc: it accepts the presentation state, the
key object selection and the screen capture (C-STORE with DCMTK's storescu), and a C-GET
(getscu) brings back the same objects, whose presentation state shows what was saved."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from sqlalchemy import select

from core.app import Core
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

pytestmark = pytest.mark.integration


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
