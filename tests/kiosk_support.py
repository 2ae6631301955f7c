"""Shared by the viewmodel and QML tests: Qt set-up, a qasync loop, a small database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import qasync

from core.app import Core
from core.index.importer import Importer, MemorySource
from tests.helpers import make_dataset

# (name, ID, study date, modalities of its series) per study; UIDs are generated.
PEOPLE: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("Müller^Anna", "P-001", "20240105", ("CT",)),
    ("MULLER^Bob", "P-002", "20240110", ("MR", "MR")),
    ("Smith^John", "X-100", "20231231", ("CT",)),
    ("Smith^John", "X-100", "20240301", ("US",)),
    ("Jones^Mary", "J_7%", "20220615", ("CR",)),
]


@dataclass
class Seeded:
    images: int
    studies: int


def seed(core: Core, people: list[tuple[str, str, str, tuple[str, ...]]] = PEOPLE) -> Seeded:
    """Index a few patients (two images per series) through the real importer."""
    from io import BytesIO

    from pydicom.uid import generate_uid

    sources = []
    for name, pid, date, modalities in people:
        study_uid = generate_uid()
        for modality in modalities:
            series_uid = generate_uid()
            for number in (1, 2):
                ds = make_dataset(
                    patient_name=name,
                    patient_id=pid,
                    study_uid=study_uid,
                    series_uid=series_uid,
                    study_date=date,
                    modality=modality,
                    instance_number=number,
                )
                buffer = BytesIO()
                ds.save_as(buffer, enforce_file_format=True)
                sources.append(MemorySource(f"{name} {modality} {number}", buffer.getvalue()))
    summary = Importer(core.writer, core.sessions).run_sources(sources)
    return Seeded(images=summary.imported, studies=len(people))


def settle(loop: asyncio.AbstractEventLoop, timeout: float = 10.0) -> None:
    """Run the loop until every pending task (slots, cascades) has finished."""

    async def wait_all() -> None:
        deadline = loop.time() + timeout
        while True:
            await asyncio.sleep(0)
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if not pending:
                return
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"{len(pending)} tasks still running")
            await asyncio.wait(pending, timeout=left)

    loop.run_until_complete(wait_all())


def run_until(loop: asyncio.AbstractEventLoop, predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    """Run the loop until ``predicate()`` holds (bounded)."""

    async def wait() -> None:
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.02)

    loop.run_until_complete(wait())


@pytest.fixture(scope="session")
def qt_prepared() -> None:
    """Software Qt Quick and the kiosk's style, set before any QApplication exists."""
    from viewmodels.kiosk import prepare_qt

    prepare_qt(virtual_keyboard=False, software=True)


@pytest.fixture(scope="session")
def _session_loop(qt_prepared: None, qapp) -> Iterator[asyncio.AbstractEventLoop]:  # type: ignore[no-untyped-def]
    """One qasync loop for the whole run (its worker threads live as long as the app)."""
    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    settle(event_loop)
    event_loop.close()  # stops its worker threads before the interpreter exits


@pytest.fixture
def loop(_session_loop: asyncio.AbstractEventLoop) -> Iterator[asyncio.AbstractEventLoop]:
    """The qasync loop; every task a test started has finished when it ends."""
    asyncio.set_event_loop(_session_loop)
    yield _session_loop
    settle(_session_loop)


def seed_transfers(core: Core) -> dict[str, int]:
    """Log transfers through the core: one outgoing (waiting, no sender runs) to a node that
    is registered but never contacted, and one incoming with a refused image."""
    from pydicom.uid import generate_uid

    from core.db.queries import StudyFilter
    from core.registry import NodeRegistry
    from core.transfers.log import ITEM_FAILED, ITEM_STORED, ItemRecord

    NodeRegistry(core.sessions).add("Archive", "ARCHIVE", "127.0.0.1", 11119)
    study = core.list_rows("study", StudyFilter(), limit=1)[0]
    out = core.send([("study", study["StudyInstanceUID"])], "Archive", "high")  # type: ignore[attr-defined]
    log = core.transfers  # type: ignore[attr-defined]
    incoming = log.start_incoming("SCANNER", "127.0.0.1:40000", "")
    study_uid, series_uid = generate_uid(), generate_uid()
    items = [
        ItemRecord(generate_uid(), series_uid, study_uid, "DOE^JANE", ITEM_STORED, 0, 5000),
        ItemRecord(
            generate_uid(), series_uid, study_uid, "DOE^JANE", ITEM_FAILED, 0xA700, 0, "disk full"
        ),
    ]
    log.record_items(incoming, items)
    log.finish(incoming)
    return {"out": int(out), "in": incoming}
