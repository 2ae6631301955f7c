"""The intake journal: durable appends, recovery after a crash, checkpoints, segment reuse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.errors import StoreFullError
from core.store.journal import BLOCK, IntakeJournal, JournalRecord

SEGMENT = 16 * BLOCK


def _open(directory: Path, segment: int = SEGMENT) -> IntakeJournal:
    journal = IntakeJournal.open(directory, segment)
    assert journal is not None
    return journal


def _recovered(directory: Path, segment: int = SEGMENT) -> list[tuple[int, bytes]]:
    journal = _open(directory, segment)
    found: list[tuple[int, bytes]] = []
    journal.recover(lambda seq, payload: found.append((seq, payload)))
    journal.reset_after_recovery()
    journal.close()
    return found


def _crash(journal: IntakeJournal) -> None:
    """Drop the journal without a checkpoint, as a killed process would."""
    journal.close()


class TestIntakeJournal:
    def test_a_replay_skips_records_up_to_the_index_mark_and_numbers_on(
        self, tmp_path: Path
    ) -> None:
        journal = _open(tmp_path)
        for payload in (b"one", b"two", b"three"):
            journal.append(payload)
        _crash(journal)
        reopened = _open(tmp_path)
        found: list[tuple[int, bytes]] = []
        assert reopened.recover(lambda seq, payload: found.append((seq, payload)), after=2) == 1
        assert found == [(3, b"three")]  # 1 and 2 were indexed (and perhaps deleted since)
        reopened.reset_after_recovery()
        assert reopened.append(b"four") is not None and reopened.last_seq == 4
        reopened.close()
        empty = _open(tmp_path / "other")
        assert empty.recover(lambda _seq, _payload: None, after=7) == 0
        empty.reset_after_recovery()
        empty.append(b"x")
        assert empty.last_seq == 8  # never again a number the mark already covers
        empty.close()

    def test_appended_records_survive_a_crash_in_order(self, tmp_path: Path) -> None:
        journal = _open(tmp_path)
        payloads = [os.urandom(n) for n in (1, 5000, 9000, 100, 7)]
        for payload in payloads:
            assert journal.append(payload) is not None
        _crash(journal)
        found = _recovered(tmp_path)
        assert [p for _seq, p in found] == payloads
        assert [s for s, _p in found] == sorted(s for s, _p in found)
        assert _recovered(tmp_path) == []  # recovery empties the journal

    def test_checkpoint_empties_committed_segments_only(self, tmp_path: Path) -> None:
        journal = _open(tmp_path)
        records = [journal.append(os.urandom(3000)) for _ in range(20)]  # rotates segments
        assert all(isinstance(r, JournalRecord) for r in records)
        assert len(list(tmp_path.glob("segment-*.wal"))) > 1
        syncs: list[int] = []
        journal.committed([r for r in records[:-1] if r is not None])
        journal.checkpoint(lambda: syncs.append(1))
        assert syncs == [1]
        _crash(journal)
        found = _recovered(tmp_path)
        # the last record is not committed: its segment (and only what it holds) comes back
        last_segment = records[-1].segment if records[-1] is not None else None
        kept = [r for r in records if r is not None and r.segment is last_segment]
        assert [seq for seq, _p in found] == [r.seq for r in kept]

    def test_segments_are_reused(self, tmp_path: Path) -> None:
        journal = _open(tmp_path)
        for _ in range(40):
            record = journal.append(os.urandom(5000))
            assert record is not None
            journal.committed([record])
            journal.checkpoint(lambda: None)
        assert len(list(tmp_path.glob("segment-*.wal"))) <= 2
        _crash(journal)
        assert _recovered(tmp_path) == []

    def test_a_torn_record_does_not_hide_later_ones(self, tmp_path: Path) -> None:
        journal = _open(tmp_path)
        first = journal.append(b"a" * 5000)
        torn = journal.append(b"b" * 5000)
        third = journal.append(b"c" * 100)
        assert first and torn and third
        _crash(journal)
        with open(next(tmp_path.glob("segment-*.wal")), "r+b") as fh:
            fh.seek(BLOCK + 2 * BLOCK + 64)  # inside the second record's payload
            fh.write(b"X")
        found = _recovered(tmp_path)
        assert [p[:1] for _s, p in found] == [b"a", b"c"]

    def test_records_of_an_emptied_segment_never_come_back(self, tmp_path: Path) -> None:
        journal = _open(tmp_path)
        old = journal.append(b"old" * 100)
        assert old is not None
        journal.committed([old])
        journal.checkpoint(lambda: None)  # the active segment is rewound with a new epoch
        new = journal.append(b"n")
        assert new is not None
        _crash(journal)
        assert [p for _s, p in _recovered(tmp_path)] == [b"n"]

    def test_too_large_images_are_not_journaled(self, tmp_path: Path) -> None:
        journal = _open(tmp_path)
        assert journal.append(os.urandom(SEGMENT)) is None
        journal.close()

    def test_one_process_owns_the_journal(self, tmp_path: Path) -> None:
        journal = _open(tmp_path)
        try:
            assert IntakeJournal.open(tmp_path, SEGMENT) is None
        finally:
            journal.close()
        again = IntakeJournal.open(tmp_path, SEGMENT)
        assert again is not None
        again.close()


def test_store_journals_received_images(tmp_path: Path) -> None:
    from core.store.files import FileStore

    store = FileStore(tmp_path / "store", max_bytes=10_000)
    store.journal = _open(tmp_path / "store" / "incoming" / "journal")
    payloads = [os.urandom(2000) + bytes([i]) for i in range(3)]
    records = [store.journal_received(p) for p in payloads]
    assert all(record is not None for record in records)
    assert store.used_bytes == sum(map(len, payloads))
    path = store.write_journaled(payloads[0])
    assert path.read_bytes() == payloads[0] and store.used_bytes == sum(map(len, payloads))
    with pytest.raises(StoreFullError):  # the limit holds before anything is journaled
        store.journal_received(os.urandom(5000))
    store.journal.close()
    assert [p for _s, p in _recovered(tmp_path / "store" / "incoming" / "journal")] == payloads


def test_concurrent_appends_share_fdatasyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    journal = _open(tmp_path, 256 * BLOCK)
    real = os.fdatasync
    calls: list[int] = []

    def slow_fdatasync(fd: int) -> None:  # a slow disk, so that appends overlap
        calls.append(fd)
        time.sleep(0.01)
        real(fd)

    monkeypatch.setattr("core.store.journal.os.fdatasync", slow_fdatasync)
    payloads = [[os.urandom(1000) + bytes([t, i]) for i in range(10)] for t in range(6)]

    def append_all(mine: list[bytes]) -> None:
        for payload in mine:
            assert journal.append(payload) is not None

    threads = [threading.Thread(target=append_all, args=(p,)) for p in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(calls) < 60  # fewer syncs than appends
    _crash(journal)
    monkeypatch.undo()
    found = sorted(p for _s, p in _recovered(tmp_path, 256 * BLOCK))
    assert found == sorted(p for mine in payloads for p in mine)


def test_a_journal_that_is_not_durable_syncs_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = IntakeJournal.open(tmp_path, SEGMENT * 4, durable=False)
    assert journal is not None
    journal.recover(lambda _seq, _payload: None)
    journal.reset_after_recovery()
    real = os.fdatasync
    calls: list[int] = []

    def counted(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr("core.store.journal.os.fdatasync", counted)
    payloads = [os.urandom(3000) + bytes([i]) for i in range(5)]
    for payload in payloads:
        assert journal.append(payload) is not None
    assert calls == [] and journal.unsynced == 5  # appends return without a sync
    assert journal.sync_pending() == 5 and len(calls) == 1  # one fdatasync for all five
    assert journal.unsynced == 0 and journal.sync_pending() == 0 and len(calls) == 1
    journal.append(os.urandom(10))
    assert journal.unsynced == 1
    _crash(journal)
    assert [p for _s, p in _recovered(tmp_path, SEGMENT * 4)][:5] == payloads
