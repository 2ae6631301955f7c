"""The audit trail appended with the standard library (``core.audit.light``, what
``dicom-kiosk query`` uses) is the trail ``AuditTrail`` writes: the same row, column for
column, for the same event, and one chain when both append to one database at once."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from pathlib import Path

from core.app import Core
from core.audit import records
from core.audit.light import LightTrail, record_queried
from core.config import load_settings
from core.net.remote import RemoteAE


def _event(n: int) -> records.AuditEvent:
    sop_classes = (("1.2.840.10008.5.1.4.1.1.2", n),)
    subject = records.StudySubject(f"1.2.3.{n}", "P-1", "Doe^Jane", sop_classes)
    return records.viewed(records.Local("KIOSK", "host", 1, "tech"), [subject])


def _core(data_dir: Path) -> Core:
    return Core(load_settings(data_dir, {"fsync": False}))


def _rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT * FROM audit_record ORDER BY id").fetchall()


def _index(core: Core) -> Path:
    return Path(core.settings.db_url.removeprefix("sqlite:///"))


def test_the_same_event_makes_the_same_row(tmp_path: Path) -> None:
    # A time on the second (no microseconds) is stored as SQLAlchemy stores it too.
    events = [_event(1), dataclasses.replace(_event(2), time="2026-12-04T10:00:00Z")]
    with _core(tmp_path / "orm") as orm, _core(tmp_path / "light") as light:
        for event in events:
            orm.audit.trail.append(event)
            LightTrail(_index(light)).append(event)
        assert _rows(_index(orm)) == _rows(_index(light))
        assert light.audit.trail.verify().ok
        listed = light.audit.trail.list(newest_first=False)
        assert [e.event.canonical() for e in listed] == [e.canonical() for e in events]


def test_both_writers_at_once_keep_one_chain(tmp_path: Path) -> None:
    with _core(tmp_path / "data") as core:
        path = _index(core)
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def write(append: object, base: int) -> None:
            try:
                start.wait()
                for n in range(20):
                    append(_event(base + n))  # type: ignore[operator]
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=write, args=(core.audit.trail.append, 0)),
            threading.Thread(target=write, args=(LightTrail(path).append, 100)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        result = core.audit.trail.verify()
        assert result.ok and result.checked == 40
        assert [e.id for e in core.audit.trail.list(newest_first=False, limit=100)] == list(
            range(1, 41)
        )


def test_record_queried_is_the_recorders_query_event(tmp_path: Path) -> None:
    remote = RemoteAE("PACS", "10.0.0.5", 104, name="pacs")
    identifier = b"\x08\x00\x52\x00CS\x06\x00STUDY "
    with _core(tmp_path / "data") as core:
        ours = record_queried(
            _index(core), core.settings.ae_title, remote, sop_class="1.2.840.10008.5.1.4.1.2.2.1",
            identifier=identifier, matches=7, error="",
        )  # fmt: skip
        theirs = core.audit.queried(
            "pacs", "PACS", "10.0.0.5", "1.2.840.10008.5.1.4.1.2.2.1", identifier, 7
        )
        assert ours is not None and theirs is not None
        a, b = ours.event.to_dict(), theirs.event.to_dict()
        a.pop("time"), b.pop("time")
        assert a == b
        assert core.audit.trail.verify().ok


def test_a_failure_to_record_is_logged_not_raised(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "index.sqlite"
    remote = RemoteAE("PACS", "127.0.0.1", 104)
    entry = record_queried(
        missing, "KIOSK", remote, sop_class="1.2", identifier=b"", matches=0, error="x"
    )
    assert entry is None
