"""A series loaded in the viewer is one audit record (110103 DICOM Instances Accessed, action
Read) naming its study, patient and image count."""

from __future__ import annotations

import asyncio

from core.app import Core
from core.db.queries import StudyFilter
from core.imaging.viewer import SeriesStack
from tests.support.data import seed
from tests.support.qt import settle
from viewmodels.images import FrameProvider
from viewmodels.viewer import ViewerModel


def test_loading_a_series_is_recorded(core: Core, loop: asyncio.AbstractEventLoop) -> None:
    seed(core)
    (row,) = core.list_rows("series", StudyFilter(patient_id="P-001"))
    stack = SeriesStack.from_index(core.sessions, core.store, str(row["SeriesInstanceUID"]))
    viewer = ViewerModel(FrameProvider(), core=core)
    loop.run_until_complete(viewer.open_stack(stack, "test"))
    settle(loop)
    (entry,) = core.audit.trail.list()
    assert (entry.event.event.code, entry.event.action) == ("110103", "R")
    assert entry.event.patients == [("P-001", "Müller^Anna")]
    assert [sum(n for _uid, n in o.sop_classes) for o in entry.event.objects if o.is_study] == [2]
