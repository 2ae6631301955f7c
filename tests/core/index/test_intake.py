"""The one intake thread: batches, the transfer log of their origin, a batch that fails, and
import batches in order with received images."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from core.app import Core
from core.db.models import Transfer, TransferItem
from core.index.intake import Origin, read_mark
from core.index.writer import Outcome
from core.store.journal import IntakeJournal
from core.transfers.log import ITEM_DUPLICATE, ITEM_FAILED, ITEM_STORED, ItemRecord
from tests.core.index.test_writer import CT_A, STUDY_A, check_counts, in_a, sop


def run_intake(core: Core, messages: list[tuple[str, Origin, object]]) -> None:
    """Hand ``messages`` to the core's running intake and wait until it is idle."""
    assert core.intake.is_alive()
    for kind, origin, payload in messages:
        core.intake.put(kind, origin, payload)
    assert core.intake.wait_idle(30)


def transfer_items(core: Core, transfer_id: int | None) -> list[tuple[str, str]]:
    with core.sessions() as s:
        rows = s.execute(
            select(TransferItem.sop_uid, TransferItem.status)
            .where(TransferItem.transfer_pk == transfer_id)
            .order_by(TransferItem.id)
        ).all()
    return [(r.sop_uid, r.status) for r in rows]


def totals(core: Core, transfer_id: int | None) -> tuple[int, int, int]:
    with core.sessions() as s:
        row = s.get(Transfer, transfer_id)
        assert row is not None
        return row.total_images, row.done_images, row.failed_images


def test_images_and_their_transfer_log_items_are_recorded(core: Core) -> None:
    indexed: list[int] = []
    assoc = Origin(1, "SCANNER", "127.0.0.1:4000", "", on_indexed=indexed.append)
    refused = ItemRecord(sop(9), CT_A, STUDY_A, "PA^Test", ITEM_FAILED, 0xA700, 0, "full")
    messages: list[tuple[str, Origin, object]] = [
        ("store", assoc, (in_a(core, 1), None)),
        ("store", assoc, (in_a(core, 2), None)),
        ("failed", assoc, refused),
        ("store", assoc, (in_a(core, 1), None)),  # sent twice: a duplicate
    ]
    run_intake(core, messages)
    assert sum(indexed) == 3 and (assoc.indexed, assoc.duplicates) == (2, 1)
    assert core.stats()["instances"] == 2
    assert transfer_items(core, assoc.transfer_id) == [
        (sop(1), ITEM_STORED),
        (sop(2), ITEM_STORED),
        (sop(1), ITEM_DUPLICATE),
        (sop(9), ITEM_FAILED),
    ]
    assert totals(core, assoc.transfer_id) == (4, 3, 1)
    assert check_counts(core)["series"] == {CT_A: 2}


def test_a_failing_batch_is_retried_image_by_image(core: Core) -> None:
    assoc = Origin(1, "SCANNER", "127.0.0.1:4000", "")
    bad = in_a(core, 2)
    bad = replace(bad, header=replace(bad.header, sop_uid="1.2.3/../4"))
    good = [in_a(core, 1), in_a(core, 3)]
    messages: list[tuple[str, Origin, object]] = [
        ("store", assoc, (good[0], None)),
        ("store", assoc, (bad, None)),
        ("store", assoc, (good[1], None)),
    ]
    run_intake(core, messages)
    # The good images are indexed in spite of the bad one, which stays in incoming/ for the
    # recovery at the next start; the transfer log has all three.
    assert check_counts(core)["series"] == {CT_A: 2}
    assert [p for p in core.store.incoming_dir.iterdir()] == [bad.incoming]
    assert transfer_items(core, assoc.transfer_id) == [
        (sop(1), ITEM_STORED),
        ("1.2.3/../4", ITEM_DUPLICATE),
        (sop(3), ITEM_STORED),
    ]
    assert totals(core, assoc.transfer_id) == (3, 3, 0)


def test_an_import_batch_waits_for_the_received_images_queued_before_it(core: Core) -> None:
    """Imports and received images share the one writer thread, in the order they came."""
    origin = Origin(1, "SCANNER", "127.0.0.1:4000", "")
    core.intake.store(origin, in_a(core, 1))
    # The same image again from an import: the received copy was indexed first.
    assert core.intake.write([in_a(core, 1), in_a(core, 2)]) == [Outcome.DUPLICATE, Outcome.STORED]
    core.intake.end(origin)
    assert origin.done.wait(10)
    assert transfer_items(core, origin.transfer_id) == [(sop(1), ITEM_STORED)]
    assert check_counts(core)["series"] == {CT_A: 2}


def test_import_errors_reach_the_importing_thread(core: Core) -> None:
    bad = in_a(core, 2)
    bad = replace(bad, header=replace(bad.header, sop_uid="1.2.3/../4"))
    try:
        core.intake.write([bad])
    except Exception as exc:
        assert "1.2.3/../4" in str(exc)
    else:
        raise AssertionError("an invalid UID was indexed")
    assert core.intake.is_alive()


def test_journaled_images_reach_the_disk_before_their_rows_and_the_mark(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replay after a crash skips every journal record up to the index's mark, and takes a
    replayed image whose row is there for a duplicate. The index is not synced at each commit
    (it may reach the disk with any later one) and received images are written at their final
    paths without a sync: were a batch's rows or the mark committed before its files were
    synced, a power loss could leave an acknowledged image indexed and its file empty. With
    the fsync setting on, the store is synced before every batch of journaled images commits
    (once a batch), whether the mark moves (records 1-3) or not (2 and 3 before 1)."""
    core.store.fsync = True
    journal = IntakeJournal.open(core.store.incoming_dir / "journal", durable=False)
    assert journal is not None
    journal.reset_after_recovery()
    core.store.journal = journal
    origin = Origin(1, "SCANNER", "127.0.0.1:4000", "")
    items = []
    for n in (1, 2, 3, 4):
        item = in_a(core, n)
        assert item.incoming is not None
        data = item.incoming.read_bytes()
        record = core.store.journal_received(data)
        assert record is not None
        if n == 4:  # kept in incoming/ unsynced (the memory budget was spent)
            items.append((replace(item, incoming=core.store.write_journaled(data)), record))
        else:
            items.append((replace(item, incoming=None, data=data), record))
        item.incoming.unlink()
    synced: list[tuple[int, int, list[bool]]] = []  # at each sync: mark, rows, files there
    real_sync = core.store.sync

    def sync(*, force: bool = False) -> None:
        with core.sessions() as s:
            mark = read_mark(s)
        paths = [core.store.absolute(f"{STUDY_A}/{CT_A}/{sop(n)}.dcm") for n in (1, 2, 3, 4)]
        synced.append((mark, core.stats()["instances"], [p.exists() for p in paths]))
        real_sync(force=force)

    monkeypatch.setattr(core.store, "sync", sync)
    try:
        run_intake(core, [("store", origin, items[1]), ("store", origin, items[2])])
        assert synced[0] == (0, 0, [False, True, True, False])
        with core.sessions() as s:
            assert read_mark(s) == 0  # record 1 is not indexed yet
        synced.clear()
        run_intake(core, [("store", origin, items[0])])
        assert synced[0] == (0, 2, [True, True, True, False])
        with core.sessions() as s:
            assert read_mark(s) == 3
        synced.clear()
        run_intake(core, [("store", origin, items[3])])
        assert synced[0] == (3, 3, [True, True, True, True])
        with core.sessions() as s:
            assert read_mark(s) == 4
    finally:
        core.store.journal = None
        journal.close()
    assert check_counts(core)["series"] == {CT_A: 4}
