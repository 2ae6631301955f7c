"""The node's intake journal: images acknowledged from the journal survive losing their files."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]
from sqlalchemy import select

from core.app import Core
from core.config import load_settings
from core.db.models import Instance, Series, Study
from core.index.intake import read_mark
from core.node.server import DicomNode
from core.store.journal import IntakeJournal
from tests.support.data import make_dataset


def _part10(sop_uid: str) -> bytes:
    ds = make_dataset(patient_id="JOURNAL", sop_uid=sop_uid)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _files(incoming: Path) -> list[Path]:
    return sorted(p for p in incoming.iterdir() if p.is_file())


def _send(port: int, datasets: list[Dataset]) -> list[int]:
    """C-STORE ``datasets`` over one pynetdicom association; their statuses."""
    ae = AE(ae_title="UNITSCU")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="UNIT")
    assert assoc.is_established
    statuses = [int(assoc.send_c_store(ds).Status) for ds in datasets]
    assoc.release()
    return statuses


def _receive(
    core: Core, datasets: list[Dataset], check: Callable[[], None] | None = None
) -> list[int]:
    """Start a node, send it ``datasets``, wait until they are indexed, ``check()``, stop
    the node; the statuses the sender saw."""

    async def scenario() -> list[int]:
        node = DicomNode(core, ae_title="UNIT", port=0, bind="127.0.0.1")
        await node.start()
        try:
            statuses = await asyncio.to_thread(_send, node.state.port, datasets)
            assert await asyncio.to_thread(node.wait_indexed, 30)
            if check is not None:
                check()
        finally:
            await node.stop()
        return statuses

    return asyncio.run(scenario())


async def _start_and_stop(core: Core) -> None:
    """A node start recovers what the journal holds; stop after it."""
    node = DicomNode(core, ae_title="UNIT", port=0, bind="127.0.0.1")
    await node.start()
    await node.stop()


def test_images_only_in_the_journal_are_indexed_at_the_next_start(data_dir: Path) -> None:
    with Core(load_settings(data_dir, {"fsync": True})) as core:
        store = core.store
        journal = IntakeJournal.open(store.incoming_dir / "journal")
        assert journal is not None
        journal.recover(lambda _seq, _payload: None)
        journal.reset_after_recovery()
        store.journal = journal
        sops = [f"1.2.826.0.1.3680043.8.498.{n}" for n in range(1, 6)]
        for sop in sops:
            assert store.journal_received(_part10(sop)) is not None
        # A power loss: the journal (fdatasync'ed) survives, the unsynced files do not.
        store.journal = None
        journal.close()
        assert _files(store.incoming_dir) == []
        assert core.stats()["instances"] == 0

        asyncio.run(_start_and_stop(core))
        assert core.stats()["instances"] == len(sops)
        assert _files(store.incoming_dir) == []
        again = IntakeJournal.open(store.incoming_dir / "journal")
        assert again is not None
        assert again.recover(lambda _seq, _payload: None) == 0  # emptied after indexing
        again.close()


def test_received_images_are_journaled_and_the_journal_emptied_at_stop(data_dir: Path) -> None:
    with Core(load_settings(data_dir, {"fsync": True})) as core:

        def check() -> None:
            journal = core.store.journal
            assert journal is not None and journal.last_seq == 4  # all went through it

        assert _receive(core, [make_dataset() for _ in range(4)], check) == [0, 0, 0, 0]
        assert core.store.journal is None
        reopened = IntakeJournal.open(core.store.incoming_dir / "journal")
        assert reopened is not None
        assert reopened.recover(lambda _seq, _payload: None) == 0  # emptied at the stop
        reopened.close()
        assert core.stats()["instances"] == 4


def test_an_image_the_writer_cannot_store_stays_in_the_journal(data_dir: Path) -> None:
    """Received images reach the index writer in memory; one it cannot write keeps its
    journal record (fsync off: the journal is only in the page cache) until the next start."""
    study = "1.2.826.0.1.3680043.8.498.77"
    with Core(load_settings(data_dir, {"fsync": False})) as core:
        blocker = core.store.root / study
        blocker.write_bytes(b"")  # a file where the study's directory must go

        def synced() -> None:
            journal = core.store.journal
            assert journal is not None and not journal.durable
            assert journal.unsynced == 0  # synced by the index writer, in the background

        datasets = [make_dataset(study_uid=study), make_dataset()]
        assert _receive(core, datasets, synced) == [0, 0]  # acknowledged: in the journal
        assert core.stats()["instances"] == 1  # the other image of the batch is indexed
        assert _files(core.store.incoming_dir) == []

        blocker.unlink()
        asyncio.run(_start_and_stop(core))
        assert core.stats()["instances"] == 2
        with core.sessions() as session:
            rows = session.execute(
                select(Instance.file_path).join(Series).join(Study).where(Study.study_uid == study)
            ).all()
        assert len(rows) == 1 and (core.store.root / rows[0].file_path).is_file()


def test_beyond_the_memory_budget_images_go_to_disk_as_they_arrive(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Core(load_settings(data_dir, {"fsync": True})) as core:
        core.intake.budget.limit = 0  # nothing may wait in memory
        written: list[Path] = []
        open_spool = core.store.open_spool

        def spy() -> tuple[Path, BinaryIO]:
            opened = open_spool()
            written.append(opened[0])
            return opened

        monkeypatch.setattr(core.store, "open_spool", spy)

        assert _receive(core, [make_dataset() for _ in range(3)]) == [0, 0, 0]
        assert len(written) == 3  # each data set spooled to incoming/ as it arrived
        assert core.intake.budget.used == 0
        assert core.stats()["instances"] == 3
        assert _files(core.store.incoming_dir) == []  # placed, then the incoming names removed
        reopened = IntakeJournal.open(core.store.incoming_dir / "journal")
        assert reopened is not None
        assert reopened.recover(lambda _seq, _payload: None) == 0  # their records were released
        reopened.close()


def test_the_index_keeps_the_journal_mark_with_the_images_it_indexed(data_dir: Path) -> None:
    with Core(load_settings(data_dir, {"fsync": True})) as core:
        assert _receive(core, [make_dataset() for _ in range(3)]) == [0, 0, 0]
        with core.sessions() as session:
            assert read_mark(session) == 3  # records 1-3: a replay would skip them
        assert _receive(core, [make_dataset()]) == [0]
        with core.sessions() as session:
            assert read_mark(session) == 4  # numbering went on after the restart
