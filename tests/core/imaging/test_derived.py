"""Derived objects of the viewer: GSPS, KOS and SC made with highdicom, valid by dciodvfy,
stored through the intake as a new series of the source study, and the GSPS read back."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from core.app import Core
from core.db.queries import StudyFilter
from core.dicom import synth
from core.imaging import derived
from core.imaging.derived import DerivedError, DisplayedArea
from core.imaging.render import Window
from core.imaging.viewer import SeriesStack
from core.index.importer import MemorySource
from tests.support.data import TEST_FILES

DCIODVFY = shutil.which("dciodvfy")


def dciodvfy_errors(data: bytes, tmp_path: Path) -> list[str]:
    """The lines dicom3tools' dciodvfy reports as errors for an encoded file."""
    if DCIODVFY is None:
        pytest.fail("dciodvfy (dicom3tools) is not installed")
    path = tmp_path / "object.dcm"
    path.write_bytes(data)
    result = subprocess.run(
        [DCIODVFY, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    return [line for line in (result.stdout + result.stderr).splitlines() if "Error" in line]


def _demo_ct(core: Core, images: int = 4) -> tuple[str, list[Path]]:
    """A demo CT series imported into ``core``: its UID and files in stack order."""
    sources = [
        MemorySource(str(i), d) for i, d in enumerate(synth.ct_series(images, size=32, seed=5))
    ]
    core.importer.run_sources(sources)
    series = core.list_rows("series", StudyFilter(), limit=1)[0]
    uid = str(series["SeriesInstanceUID"])
    stack = SeriesStack.from_index(core.sessions, core.store, uid)
    return uid, [e.path for e in stack.entries]


def _pixels(kind: str) -> np.ndarray:
    shape = (48, 64, 3) if kind == "rgb" else (48, 64)
    return np.random.default_rng(1).integers(0, 255, shape, dtype=np.uint8)


class TestObjectsAreValid:
    @pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "examples_overlay.dcm"])
    def test_dciodvfy_finds_no_error(self, name: str, tmp_path: Path) -> None:
        sources = derived.read_headers([TEST_FILES / name])
        gsps = derived.presentation_state(sources, Window(40, 400), DisplayedArea(-10, 5, 80, 70))
        kos = derived.key_object_selection(sources)
        sc = derived.secondary_capture(sources[0], _pixels("rgb"), orientation=("L", "P"))
        grey = derived.secondary_capture(sources[0], _pixels("grey"))
        for ds in (gsps, kos, sc, grey):
            assert dciodvfy_errors(derived.encode(ds), tmp_path) == [], ds.SOPClassUID.name

    def test_demo_ct_series(self, core: Core, tmp_path: Path) -> None:
        _uid, paths = _demo_ct(core)
        sources = derived.read_headers(paths)
        gsps = derived.presentation_state(sources, Window(40, 80), None)
        assert dciodvfy_errors(derived.encode(gsps), tmp_path) == []
        kos = derived.key_object_selection(sources[1:3])
        assert dciodvfy_errors(derived.encode(kos), tmp_path) == []

    def test_the_presentation_state_says_what_was_shown(self) -> None:
        sources = derived.read_headers([TEST_FILES / "CT_small.dcm"])
        gsps = derived.presentation_state(sources, Window(-600, 1500), DisplayedArea(3, 4, 50, 60))
        ds = pydicom.dcmread(io.BytesIO(derived.encode(gsps)))
        view = derived.read_presentation(ds)
        assert view.window == Window(-600, 1500)
        assert view.area == DisplayedArea(3, 4, 50, 60)
        assert ds.DisplayedAreaSelectionSequence[0].PresentationSizeMode == "SCALE TO FIT"
        source = sources[0]
        assert ds.StudyInstanceUID == source.StudyInstanceUID
        assert ds.SeriesInstanceUID != source.SeriesInstanceUID
        referenced = ds.ReferencedSeriesSequence[0]
        assert referenced.SeriesInstanceUID == source.SeriesInstanceUID
        image = referenced.ReferencedImageSequence[0]
        assert image.ReferencedSOPInstanceUID == source.SOPInstanceUID

    def test_refusals(self) -> None:
        rgb = derived.read_headers([TEST_FILES / "SC_rgb_rle.dcm"])
        with pytest.raises(DerivedError, match="colour"):
            derived.presentation_state(rgb, Window(1, 1), None)
        two = derived.read_headers([TEST_FILES / "CT_small.dcm", TEST_FILES / "MR_small.dcm"])
        with pytest.raises(DerivedError, match="more than one study"):
            derived.key_object_selection(two)
        with pytest.raises(DerivedError):
            derived.secondary_capture(two[0], np.zeros((4, 4), np.float32))


class TestSavedThroughTheIntake:
    def test_a_new_series_of_the_study_referencing_the_sources(self, core: Core) -> None:
        series_uid, paths = _demo_ct(core)
        first = pydicom.dcmread(paths[0], stop_before_pixels=True)
        keys = [str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths[1:3]]
        saved = derived.save_view(
            core.intake,
            paths,
            window=Window(35, 90),
            area=DisplayedArea(5, 6, 28, 30),
            keys=keys,
            capture=(str(first.SOPInstanceUID), _pixels("grey")),
            orientation=("L", "P"),
        )
        assert saved.keys == 2 and saved.presentation_uid and saved.capture_uid
        rows = core.list_rows("series", StudyFilter(study_uid=str(first.StudyInstanceUID)))
        by_modality = {r["Modality"]: r for r in rows}
        assert set(by_modality) == {"CT", "PR", "KO", "OT"}
        for modality in ("PR", "KO", "OT"):
            assert by_modality[modality]["SeriesInstanceUID"] != series_uid
        kos = pydicom.dcmread(_path_of(core, saved.key_object_uid))
        flagged = {
            item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
            for item in kos.ContentSequence
            if item.ValueType == "IMAGE"
        }
        assert flagged == set(keys)
        view = derived.latest_presentation(core.sessions, core.store, series_uid)
        assert view is not None and view.sop_uid == saved.presentation_uid
        assert view.window == Window(35, 90) and view.area == DisplayedArea(5, 6, 28, 30)

    def test_the_newest_presentation_state_wins(self, core: Core) -> None:
        series_uid, paths = _demo_ct(core, images=2)
        assert derived.latest_presentation(core.sessions, core.store, series_uid) is None
        derived.save_view(core.intake, paths, window=Window(1, 10), area=None)
        sources = derived.read_headers(paths)
        later = derived.presentation_state(sources, Window(2, 20), None)
        later.PresentationCreationDate = "29991231"
        derived.save_objects(core.intake, [later])
        view = derived.latest_presentation(core.sessions, core.store, series_uid)
        assert view is not None and view.window == Window(2, 20) and view.area is not None

    def test_nothing_to_save(self, core: Core) -> None:
        _uid, paths = _demo_ct(core, images=1)
        with pytest.raises(DerivedError, match="Nothing to save"):
            derived.save_view(core.intake, paths, window=None, area=None)


def _path_of(core: Core, sop_uid: str) -> Path:
    from sqlalchemy import select

    from core.db.models import Instance

    with core.sessions() as session:
        relative = session.scalar(select(Instance.file_path).where(Instance.sop_uid == sop_uid))
    assert relative is not None
    return core.store.absolute(relative)


def test_headers_only(tmp_path: Path) -> None:
    headers = derived.read_headers([TEST_FILES / "CT_small.dcm"])
    assert isinstance(headers[0], Dataset) and "PixelData" not in headers[0]
