"""The audit trail's hash chain on SQLite and PostgreSQL: appends from several threads stay one
chain; ``verify`` names the record that was edited, deleted, moved or cut from the end."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from core.app import Core
from core.audit import records
from core.audit.chain import GENESIS, record_hash
from core.cli.main import main
from core.db.models import AuditRecord


def _event(n: int, patient: tuple[str, str] = ("P-1", "Doe^Jane")) -> records.AuditEvent:
    subject = records.StudySubject(f"1.2.3.{n}", *patient, (("1.2.840.10008.5.1.4.1.1.2", n),))
    return records.viewed(records.Local("KIOSK", "host", 1, "tech"), [subject])


def _fill(core: Core, count: int) -> None:
    for n in range(1, count + 1):
        assert core.audit.trail.append(_event(n)) is not None


def _problems(core: Core) -> list[tuple[int, str]]:
    result = core.audit.trail.verify()
    assert result.ok == (not result.problems)
    return list(result.problems)


class TestChain:
    def test_records_chain_from_genesis(self, any_core: Core) -> None:
        _fill(any_core, 3)
        entries = any_core.audit.trail.list(newest_first=False)
        assert [e.id for e in entries] == [1, 2, 3]
        assert entries[0].prev_hash == GENESIS
        for before, after in zip(entries, entries[1:], strict=False):
            assert after.prev_hash == before.hash
        for e in entries:
            assert e.hash == record_hash(e.prev_hash, e.id, e.event.canonical())
        assert any_core.audit.trail.verify().checked == 3
        assert _problems(any_core) == []

    def test_concurrent_writers_keep_one_chain(self, any_core: Core) -> None:
        """Threads appending at once (each its own transaction) never share an id or a
        previous hash: the chain verifies and ids run 1..n."""
        threads, per_thread = 4, 15
        errors: list[BaseException] = []
        start = threading.Barrier(threads)

        def writer(k: int) -> None:
            try:
                start.wait()
                for n in range(per_thread):
                    any_core.audit.trail.append(_event(k * 100 + n))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        pool = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(60)
        assert errors == []
        ids = [e.id for e in any_core.audit.trail.list(limit=1000, newest_first=False)]
        assert ids == list(range(1, threads * per_thread + 1))
        assert _problems(any_core) == []

    def test_two_trails_on_one_database_keep_one_chain(self, any_core: Core) -> None:
        """Two processes' trails (each with its own lock) serialize in the database."""
        from core.audit.chain import AuditTrail

        other = AuditTrail(any_core.sessions)
        done = threading.Barrier(2)

        def write(trail: AuditTrail) -> None:
            done.wait()
            for n in range(15):
                trail.append(_event(n))

        pool = [threading.Thread(target=write, args=(t,)) for t in (any_core.audit.trail, other)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(60)
        assert any_core.audit.trail.count() == 30
        assert _problems(any_core) == []

    def test_an_edited_record_is_named(self, any_core: Core) -> None:
        _fill(any_core, 5)
        with any_core.sessions.begin() as session:
            content = session.scalar(select(AuditRecord.content).where(AuditRecord.id == 3))
            assert content is not None
            session.execute(
                update(AuditRecord)
                .where(AuditRecord.id == 3)
                .values(content=content.replace("Doe^Jane", "Roe^Richard"))
            )
        (problem,) = _problems(any_core)
        assert problem[0] == 3 and "record 3 was edited" in problem[1]

    def test_an_edited_column_is_named(self, any_core: Core) -> None:
        _fill(any_core, 3)
        with any_core.sessions.begin() as session:
            session.execute(update(AuditRecord).where(AuditRecord.id == 2).values(outcome=8))
        assert [p[0] for p in _problems(any_core)] == [2]

    def test_a_deleted_record_is_named(self, any_core: Core) -> None:
        _fill(any_core, 5)
        with any_core.sessions.begin() as session:
            session.execute(delete(AuditRecord).where(AuditRecord.id == 3))
        problems = _problems(any_core)
        assert problems and problems[0][0] == 4
        assert "record 3 missing before record 4" in problems[0][1]

    def test_a_deleted_record_renumbered_over_is_found(self, any_core: Core) -> None:
        """Delete record 3 and move 4 and 5 down: the ids are contiguous again, the hashes
        are not."""
        _fill(any_core, 5)
        with any_core.sessions.begin() as session:
            session.execute(delete(AuditRecord).where(AuditRecord.id == 3))
            for old in (4, 5):
                session.execute(update(AuditRecord).where(AuditRecord.id == old).values(id=old - 1))
        assert 3 in [p[0] for p in _problems(any_core)]

    def test_reordered_records_are_named(self, any_core: Core) -> None:
        _fill(any_core, 5)
        with any_core.sessions.begin() as session:
            session.execute(update(AuditRecord).where(AuditRecord.id == 2).values(id=-2))
            session.execute(update(AuditRecord).where(AuditRecord.id == 3).values(id=2))
            session.execute(update(AuditRecord).where(AuditRecord.id == -2).values(id=3))
        found = {p[0] for p in _problems(any_core)}
        assert {2, 3} <= found

    def test_records_cut_from_the_end_are_named(self, any_core: Core) -> None:
        _fill(any_core, 4)
        with any_core.sessions.begin() as session:
            session.execute(delete(AuditRecord).where(AuditRecord.id >= 3))
        (problem,) = _problems(any_core)
        assert problem == (4, "records 3-4 missing at the end")

    def test_a_key_is_recorded_once(self, any_core: Core) -> None:
        assert any_core.audit.trail.append(_event(1), key="transfer:1:x") is not None
        assert any_core.audit.trail.append(_event(1), key="transfer:1:x") is None
        assert any_core.audit.trail.count() == 1


class TestListing:
    def test_filters_by_patient_and_time(self, any_core: Core) -> None:
        trail = any_core.audit.trail
        trail.append(_event(1, ("P-1", "Doe^Jane")))
        trail.append(_event(2, ("X_9%", "Smith^John")))
        assert [e.id for e in trail.list(patient="doe")] == [1]
        assert [e.id for e in trail.list(patient="x_9%")] == [2]
        assert trail.list(patient="x%9") == []  # % and _ match themselves only
        newest = trail.list()[0]
        assert [e.id for e in trail.list(since=newest.event.timestamp)] == [2]


class TestCommands:
    def test_verify_exits_non_zero_and_names_the_record(
        self, core: Core, data_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        _fill(core, 3)
        assert main(["--data-dir", str(data_dir), "audit", "verify"]) == 0
        assert "intact: 3 records" in capsys.readouterr().out
        with core.sessions.begin() as session:
            session.execute(update(AuditRecord).where(AuditRecord.id == 2).values(action="C"))
        assert main(["--data-dir", str(data_dir), "audit", "verify"]) == 1
        assert "record 2 was edited" in capsys.readouterr().err

    def test_list_json_shows_patients(
        self, core: Core, data_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        import json

        core.audit.trail.append(_event(1, ("P-1", "Doe^Jane")))
        core.audit.trail.append(_event(2, ("P-2", "Roe^Rick")))
        args = ["--data-dir", str(data_dir), "audit", "list", "--json", "--patient", "roe"]
        assert main(args) == 0
        (row,) = json.loads(capsys.readouterr().out)["rows"]
        assert row["id"] == 2 and row["event_id"] == "110103"
        assert row["patients"] == [{"id": "P-2", "name": "Roe^Rick"}]
        assert row["studies"] == ["1.2.3.2"]
