"""The send queue on real SQLite: queueing, ordering, claims, state rules, drill-down, restart,
retries and the coalesced change events."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from core.app import Core
from core.config import load_settings
from core.db.models import Transfer, TransferItem
from core.errors import KioskError, NotFoundError, TransferStateError
from core.events import TransferEvent, TransfersChanged
from core.transfers.log import ItemRecord, TransferLog, _now
from core.transfers.queue import STALE_AFTER, ItemResult, SendQueue, make_owner
from tests.support.data import Library, load_library

OWNER = make_owner()


@pytest.fixture
def library(core: Core) -> Library:
    registry = core.registry
    registry.add("pacs", "PACS", "127.0.0.1", 104)
    registry.add("archive", "ARCHIVE", "127.0.0.1", 105)
    return load_library(core)


def queue(core: Core) -> SendQueue:
    return SendQueue(core.sessions, core.transfers)


def items(core: Core, transfer_id: int) -> list[TransferItem]:
    with core.sessions() as session:
        return list(
            session.scalars(
                select(TransferItem)
                .where(TransferItem.transfer_pk == transfer_id)
                .order_by(TransferItem.id)
            )
        )


def set_status(core: Core, transfer_id: int, status: str, **values: Any) -> None:
    with core.sessions.begin() as session:
        session.execute(
            update(Transfer).where(Transfer.id == transfer_id).values(status=status, **values)
        )


def send_all(core: Core, transfer_id: int, fail: frozenset[str] = frozenset()) -> None:
    """What a sender does: claim (unless it holds it already), record each image, finish."""
    q = queue(core)
    if q.status(transfer_id) != ("sending", OWNER):
        claim = q.claim_next(OWNER, only=[transfer_id])
        assert claim is not None and claim.transfer_id == transfer_id
    q.record(
        transfer_id,
        [
            ItemResult(i.id, False, 0xA700, "0xA700 Refused: Out of Resources")
            if i.sop_uid in fail
            else ItemResult(i.id, True, 0)
            for i in items(core, transfer_id)
        ],
    )
    q.finish(transfer_id, OWNER)


class TestEnqueue:
    def test_each_level_expands_to_its_images(self, core: Core, library: Library) -> None:
        study = library.studies("P1")[0]
        series = library.series(study)
        cases = [
            ([("patient", "P1")], 5, "Patient DOE^JOHN"),
            ([("study", study)], 5, "Study CT HEAD (DOE^JOHN)"),
            ([("series", series[0])], 3, "Series CT AXIAL (DOE^JOHN)"),
            ([("instance", library.images(series[1])[0])], 1, "1 image (DOE^JOHN)"),
            ([("patient", "P2")], 3, "Patient ROE^JANE"),
            ([("series", s) for s in series], 5, "2 series (DOE^JOHN)"),
            # overlapping selections send each image once
            (
                [("study", study), ("series", series[0]), ("image", library.images(series[0])[1])],
                5,
                "1 study, 1 series, 1 image (DOE^JOHN)",
            ),  # fmt: skip
            ([("patient", "P1"), ("patient", "P2")], 8, "2 patients"),
        ]
        for targets, count, description in cases:
            tid = core.send(targets, "pacs")
            row = core.transfers.get(tid)
            assert (row["images"], row["description"]) == (count, description), targets
            assert row["status"] == "waiting" and row["direction"] == "out"
            assert (row["node"], row["ae_title"], row["peer"]) == ("pacs", "PACS", "127.0.0.1:104")
            assert row["priority"] == "medium" and row["done"] == row["failed"] == 0
            rows = items(core, tid)
            assert len({i.sop_uid for i in rows}) == count
            assert all(i.status == "pending" and i.sop_class_uid and i.file_path for i in rows)
            assert row["bytes"] == sum(len(library.data[i.sop_uid]) for i in rows)
            for item in rows:
                assert (core.store.root / item.file_path).read_bytes() == library.data[item.sop_uid]

    def test_items_are_in_series_and_instance_order(self, core: Core, library: Library) -> None:
        study = library.studies("P1")[0]
        tid = core.send([("study", study)], "pacs", "high")
        expected = [sop for series in library.series(study) for sop in library.images(series)]
        assert [i.sop_uid for i in items(core, tid)] == expected
        assert core.transfers.get(tid)["priority"] == "high"

    def test_refusals_say_what_is_wrong(self, core: Core, library: Library) -> None:
        with pytest.raises(NotFoundError, match="no remote node named 'nowhere'"):
            core.send([("patient", "P1")], "nowhere")
        with pytest.raises(KioskError, match="Nothing is selected"):
            core.send([], "pacs")
        with pytest.raises(NotFoundError, match="no study '1.2.3'"):
            core.send([("study", "1.2.3"), ("patient", "P1")], "pacs")
        with pytest.raises(NotFoundError, match="no image '9.9'"):
            core.send([("instance", "9.9")], "pacs")
        with pytest.raises(KioskError, match="must be high, medium or low"):
            core.send([("patient", "P1")], "pacs", "urgent")
        with pytest.raises(KioskError, match="cannot send a 'frame'"):
            core.send([("frame", "1")], "pacs")
        assert core.transfers.list() == []

    def test_destinations_are_the_registered_nodes(self, core: Core, library: Library) -> None:
        assert core.destinations() == ["archive", "pacs"]


class TestOrder:
    def test_priority_then_first_in_first_out(self, core: Core, library: Library) -> None:
        ids = {}
        for name, priority in [("m1", "medium"), ("l1", "low"), ("h1", "high"), ("m2", "medium"),
                               ("h2", "high")]:  # fmt: skip
            ids[name] = core.send([("patient", "P1")], "pacs", priority)
        q = queue(core)
        order = []
        while (claim := q.claim_next(OWNER)) is not None:
            order.append(claim.transfer_id)
            q.finish(claim.transfer_id, OWNER)  # frees the destination
        assert order == [ids[n] for n in ("h1", "h2", "m1", "m2", "l1")]

    def test_one_transfer_per_destination(self, core: Core, library: Library) -> None:
        first = core.send([("patient", "P1")], "pacs")
        second = core.send([("patient", "P2")], "pacs")
        third = core.send([("patient", "P2")], "archive")
        q = queue(core)
        a = q.claim_next(OWNER)
        assert a is not None and a.transfer_id == first
        assert a.destination.name == "pacs" and a.attempt == 1 and a.priority == 0
        # pacs is busy (in this process and, as the database says, everywhere)
        b = q.claim_next(make_owner())
        assert b is not None and b.transfer_id == third
        assert q.claim_next(make_owner()) is None
        q.finish(first, OWNER)
        c = q.claim_next(make_owner())
        assert c is not None and c.transfer_id == second

    def test_a_transfer_is_claimed_once(self, core: Core, library: Library) -> None:
        tid = core.send([("patient", "P1")], "pacs")
        q = queue(core)
        results: list[Any] = []
        barrier = threading.Barrier(4)

        def take() -> None:
            barrier.wait()
            results.append(q.claim_next(make_owner()))

        threads = [threading.Thread(target=take) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert [r.transfer_id for r in results if r is not None] == [tid]
        assert core.transfers.get(tid)["attempts"] == 1

    def test_only_and_busy_filters(self, core: Core, library: Library) -> None:
        first = core.send([("patient", "P1")], "pacs")
        second = core.send([("patient", "P2")], "archive")
        q = queue(core)
        assert q.claim_next(OWNER, busy={"archive"}, only=[second]) is None
        claim = q.claim_next(OWNER, only=[second])
        assert claim is not None and claim.transfer_id == second
        assert core.transfers.get(first)["status"] == "waiting"


class TestStateRules:
    def test_resend(self, core: Core, library: Library) -> None:
        tid = core.send([("patient", "P1")], "pacs")
        with pytest.raises(
            TransferStateError,
            match=rf"^Transfer {tid} is waiting: only sent, aborted or failed transfers can be"
            r" resent\.$",
        ):
            core.transfers.resend(tid)
        queue(core).claim_next(OWNER)
        with pytest.raises(TransferStateError, match="is sending: only sent, aborted or failed"):
            core.transfers.resend(tid)
        refused = library.images(library.series(library.studies("P1")[0])[0])[1]
        send_all(core, tid, fail=frozenset({refused}))
        row = core.transfers.get(tid)
        assert (row["status"], row["done"], row["failed"]) == ("failed", 4, 1)
        assert row["error"] == "1 of 5 images failed: 0xA700 Refused: Out of Resources"
        core.transfers.resend(tid)
        row = core.transfers.get(tid)
        assert (row["status"], row["done"], row["failed"], row["error"]) == ("waiting", 4, 0, "")
        assert [i.sop_uid for i in items(core, tid) if i.status == "pending"] == [refused]
        send_all(core, tid)
        assert core.transfers.get(tid)["status"] == "sent"
        # Everything arrived: a resend sends everything again.
        core.transfers.resend(tid)
        assert {i.status for i in items(core, tid)} == {"pending"}
        assert core.transfers.get(tid)["done"] == 0

    def test_resend_of_aborted_keeps_what_was_sent(self, core: Core, library: Library) -> None:
        tid = core.send([("patient", "P1")], "pacs")
        q = queue(core)
        q.claim_next(OWNER)
        first = items(core, tid)[0]
        q.record(tid, [ItemResult(first.id, True, 0)])
        core.transfers.abort(tid)
        row = core.transfers.get(tid)
        assert (row["status"], row["done"], row["error"]) == ("aborted", 1, "aborted by the user")
        assert q.finish(tid, OWNER) is None  # the sender cannot overwrite the abort
        core.transfers.resend(tid)
        assert [i.status for i in items(core, tid)] == ["sent"] + ["pending"] * 4
        assert core.transfers.get(tid)["attempts"] == 0

    def test_abort(self, core: Core, library: Library) -> None:
        waiting = core.send([("patient", "P1")], "pacs")
        core.transfers.abort(waiting)
        assert core.transfers.get(waiting)["status"] == "aborted"
        for status in ("aborted", "sent", "failed"):
            set_status(core, waiting, status)
            with pytest.raises(
                TransferStateError,
                match=rf"^Transfer {waiting} is {status}: only waiting or sending transfers can"
                r" be aborted\.$",
            ):
                core.transfers.abort(waiting)
        sending = core.send([("patient", "P2")], "pacs")
        queue(core).claim_next(OWNER)
        heard: list[tuple[str, int]] = []
        core.events.subscribe(TransferEvent, lambda e: heard.append((e.kind, e.transfer_id)))
        core.transfers.abort(sending)
        assert heard == [("aborted", sending)]
        assert queue(core).status(sending) == ("aborted", OWNER)

    def test_operations_on_incoming_transfers(self, core: Core, library: Library) -> None:
        log = core.transfers
        tid = log.start_incoming("CT", "127.0.0.1:5000")
        for operation, verb in (("resend", "resent"), ("abort", "aborted")):
            with pytest.raises(
                TransferStateError,
                match=rf"^Transfer {tid} is incoming: only outgoing transfers can be {verb}\.$",
            ):
                getattr(log, operation)(tid)
        with pytest.raises(TransferStateError, match="still receiving"):
            log.delete(tid)
        log.finish(tid)
        log.delete(tid)
        with pytest.raises(NotFoundError, match=f"Transfer {tid} does not exist"):
            log.get(tid)

    def test_delete_stops_and_removes(self, core: Core, library: Library) -> None:
        tid = core.send([("patient", "P1")], "pacs")
        queue(core).claim_next(OWNER)
        heard: list[tuple[str, int]] = []
        core.events.subscribe(TransferEvent, lambda e: heard.append((e.kind, e.transfer_id)))
        core.transfers.delete(tid)
        assert heard == [("deleted", tid)]
        assert queue(core).status(tid) is None
        assert items(core, tid) == []
        with pytest.raises(NotFoundError):
            core.transfers.delete(tid)

    def test_clear_removes_only_finished_transfers(self, core: Core, library: Library) -> None:
        log = core.transfers
        sent = core.send([("patient", "P1")], "pacs")
        send_all(core, sent)
        failed = core.send([("patient", "P2")], "archive")
        send_all(core, failed, fail=frozenset(library.all_images()))
        waiting = core.send([("patient", "P2")], "pacs")
        received = log.start_incoming("CT", "h:1")
        log.record_items(received, [ItemRecord("1.2", "1.3", "1.4", "X", "stored", 0, 10)])
        log.finish(received)
        receiving = log.start_incoming("MR", "h:2")
        assert log.clear("out") == 1
        assert {r["id"] for r in log.list("out")} == {failed, waiting}
        assert log.clear("in") == 1
        assert [r["id"] for r in log.list("in")] == [receiving]
        assert log.clear("out") == 0
        with pytest.raises(KioskError, match="direction must be"):
            log.clear("both")  # type: ignore[arg-type]


class TestLevels:
    def test_counts_labels_and_errors(self, core: Core, library: Library) -> None:
        tid = core.send([("patient", "P1"), ("patient", "P2")], "pacs")
        p1_study = library.studies("P1")[0]
        axial, coronal = library.series(p1_study)
        refused = library.images(coronal)[1]
        q = queue(core)
        q.claim_next(OWNER)
        # everything but the last image of P2 arrives; one P1 image is refused
        rows = items(core, tid)
        q.record(
            tid,
            [
                ItemResult(
                    i.id,
                    i.sop_uid != refused,
                    0xA900 if i.sop_uid == refused else 0,
                    "0xA900 Data Set does not match SOP Class" if i.sop_uid == refused else "",
                )  # fmt: skip
                for i in rows[:-1]
            ],
        )
        studies = core.transfers.levels(tid)
        assert [s["label"] for s in studies] == [
            "DOE^JOHN - CT HEAD",
            "ROE^JANE - CHEST",
            "ROE^JANE - ABDOMEN",
        ]
        by_label = {s["label"]: s for s in studies}
        head = by_label["DOE^JOHN - CT HEAD"]
        assert (head["level"], head["uid"]) == ("study", p1_study)
        assert (head["total"], head["done"], head["failed"], head["status"]) == (5, 4, 1, "failed")
        assert head["error"] == "0xA900 Data Set does not match SOP Class"
        chest = by_label["ROE^JANE - CHEST"]
        assert (chest["total"], chest["done"], chest["status"]) == (2, 2, "sent")
        assert chest["error"] == ""
        abdomen = by_label["ROE^JANE - ABDOMEN"]
        assert (abdomen["total"], abdomen["done"], abdomen["status"]) == (1, 0, "sending")

        series = core.transfers.levels(tid, p1_study)
        assert [(s["uid"], s["label"], s["total"], s["done"], s["failed"], s["status"])
                for s in series] == [
            (axial, "CT AXIAL", 3, 3, 0, "sent"),
            (coronal, "CT CORONAL", 2, 1, 1, "failed"),
        ]  # fmt: skip
        abdomen_series = core.transfers.levels(tid, abdomen["uid"])
        assert abdomen_series[0]["label"] == "CT series 1"

        images = core.transfers.levels(tid, p1_study, coronal)
        assert [(i["level"], i["label"], i["status"], i["status_code"]) for i in images] == [
            ("image", "image 1", "sent", 0),
            ("image", "image 2", "failed", 0xA900),
        ]
        assert images[1]["uid"] == refused and images[1]["error"].startswith("0xA900")
        waiting_image = core.transfers.levels(tid, abdomen["uid"], abdomen_series[0]["uid"])
        assert waiting_image[0]["status"] == "sending" and waiting_image[0]["done"] == 0
        with pytest.raises(NotFoundError):
            core.transfers.levels(tid + 100)

    def test_incoming_levels(self, core: Core) -> None:
        log = core.transfers
        tid = log.start_incoming("CT", "h:1")
        log.record_items(
            tid,
            [
                ItemRecord("1.1", "2.1", "3.1", "A^B", "stored", 0, 10),
                ItemRecord("1.2", "2.1", "3.1", "A^B", "duplicate", 0, 10),
                ItemRecord("1.3", "2.1", "3.1", "A^B", "failed", 0xA700, 0, "store full"),
            ],
        )
        log.finish(tid)
        assert log.get(tid)["priority"] == ""
        [study] = log.levels(tid)
        assert (study["label"], study["total"], study["done"], study["failed"]) == (
            "A^B",
            3,
            2,
            1,
        )
        assert (study["status"], study["error"]) == ("failed", "store full")
        images = log.levels(tid, "3.1", "2.1")
        assert [i["status"] for i in images] == ["received", "received", "failed"]


class TestRestartAndRetry:
    def test_abandoned_transfers_resume_without_double_counting(
        self, core: Core, library: Library
    ) -> None:
        tid = core.send([("patient", "P1")], "pacs")
        # A sender in a process that has exited since:
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        owner = make_owner().split(":")
        dead_owner = f"{owner[0]}:{dead.stdout.strip()}:dead"
        q = queue(core)
        claim = q.claim_next(dead_owner)
        assert claim is not None
        sent = items(core, tid)[:2]
        q.record(tid, [ItemResult(i.id, True, 0) for i in sent])
        # A live sender (this process) and a recent heartbeat are left alone:
        other = core.send([("patient", "P2")], "archive")
        assert q.claim_next(OWNER) is not None
        assert q.recover() == [tid]
        assert queue(core).status(other) == ("sending", OWNER)
        row = core.transfers.get(tid)
        assert (row["status"], row["done"]) == ("waiting", 2)
        claim = q.claim_next(make_owner())
        assert claim is not None and claim.attempt == 2
        pending = q.pending_items(tid, core.store.root)
        assert [p.id for p in pending] == [i.id for i in items(core, tid)[2:]]
        assert all(p.path.is_file() for p in pending)

    def test_a_silent_sender_elsewhere_is_taken_as_gone(self, core: Core, library: Library) -> None:
        tid = core.send([("patient", "P1")], "pacs")
        q = queue(core)
        q.claim_next("another-host:1:x")
        assert q.recover() == []
        set_status(core, tid, "sending", updated_at=_now() - STALE_AFTER - timedelta(seconds=1))
        assert q.recover() == [tid]

    def test_retries_back_off_then_fail(self, core: Core, library: Library) -> None:
        tid = core.send([("patient", "P1")], "pacs")
        q = queue(core)
        for attempt in (1, 2):
            claim = q.claim_next(OWNER)
            assert claim is not None and claim.attempt == attempt
            before = _now()
            assert q.retry_or_fail(tid, OWNER, "refused", claim.attempt, 2, 10.0) == "waiting"
            with core.sessions() as session:
                row = session.get(Transfer, tid)
                assert row is not None and row.next_attempt_at is not None
                delay = (row.next_attempt_at - before).total_seconds()
            assert 10.0 * 2 ** (attempt - 1) - 1 < delay <= 10.0 * 2 ** (attempt - 1) + 1
            assert core.transfers.get(tid)["error"] == (
                f"refused (attempt {attempt} of 3; next try in {10 * 2 ** (attempt - 1):g} s)"
            )
            assert q.claim_next(OWNER) is None  # not due yet
            assert q.next_due() == row.next_attempt_at
            set_status(core, tid, "waiting", next_attempt_at=_now())
        claim = q.claim_next(OWNER)
        assert claim is not None and claim.attempt == 3
        assert q.retry_or_fail(tid, OWNER, "refused", 3, 2, 10.0) == "failed"
        row2 = core.transfers.get(tid)
        assert (row2["status"], row2["error"]) == ("failed", "refused (gave up after 3 attempts)")
        assert row2["finished"] is not None and row2["attempts"] == 3


class TestEvents:
    def test_changes_are_coalesced_and_complete(self, core: Core, library: Library) -> None:
        calls: list[tuple[float, list[dict[str, Any]]]] = []
        got = threading.Event()

        def on_change(changed: list[dict[str, Any]]) -> None:
            calls.append((time.monotonic(), changed))
            if any(c["status"] == "sent" for c in changed):
                got.set()

        unsubscribe = core.events.subscribe(TransfersChanged, lambda e: on_change(list(e.rows)))
        try:
            tid = core.send([("patient", "P1")], "pacs")
            q = queue(core)
            q.claim_next(OWNER)
            start = time.monotonic()
            for item in items(core, tid):  # many small changes in a burst
                q.record(tid, [ItemResult(item.id, True, 0)])
            q.finish(tid, OWNER)
            assert got.wait(10)
            elapsed = time.monotonic() - start
            burst = [c for t, c in calls if t >= start]
            assert len(burst) <= elapsed * 10 + 2
            gaps = [b[0] - a[0] for a, b in zip(calls, calls[1:], strict=False)]
            assert all(gap >= 0.09 for gap in gaps), gaps
            last = [row for _, changed in calls for row in changed if row["id"] == tid][-1]
            assert last == core.transfers.get(tid)
            assert (last["status"], last["done"]) == ("sent", 5)
            # a deletion is reported once
            core.transfers.delete(tid)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(
                row["status"] == "deleted" for _, changed in calls for row in changed
            ):
                time.sleep(0.05)
            deleted = [row for _, ch in calls for row in ch if row["status"] == "deleted"]
            assert [row["id"] for row in deleted] == [tid]
            assert set(deleted[0]) == set(last)
        finally:
            unsubscribe()

    def test_changes_by_another_process_are_seen(
        self, core: Core, library: Library, data_dir: Path
    ) -> None:
        seen: list[dict[str, Any]] = []
        got = threading.Event()

        def on_change(changed: list[dict[str, Any]]) -> None:
            seen.extend(changed)
            if any(c["status"] == "received" for c in changed):
                got.set()

        unsubscribe = core.events.subscribe(TransfersChanged, lambda e: on_change(list(e.rows)))
        other = Core(load_settings(data_dir, {"fsync": False}))  # its own engine and log
        try:
            tid = other.transfers.start_incoming("CT", "h:1")
            other.transfers.finish(tid)
            assert got.wait(10)
            assert [r["status"] for r in seen if r["id"] == tid][-1] == "received"
        finally:
            unsubscribe()
            other.close()
        assert isinstance(core.transfers, TransferLog)


def test_send_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DICOM_KIOSK_SEND_RETRY_DELAY", "0.25")
    monkeypatch.setenv("DICOM_KIOSK_SEND_PARALLEL", "3")
    settings = load_settings(tmp_path)
    assert (settings.send_retry_delay, settings.send_parallel, settings.send_retries) == (
        0.25,
        3,
        3,
    )
    monkeypatch.setenv("DICOM_KIOSK_SEND_PARALLEL", "0")
    with pytest.raises(KioskError, match="send_parallel"):
        load_settings(tmp_path)


def test_queue_runs_the_same_on_both_databases(any_core: Core) -> None:
    """The queue's SQL (claims, counters, drill-down, resend, clear) on SQLite and PostgreSQL."""
    core = any_core
    core.registry.add("pacs", "PACS", "127.0.0.1", 104)
    library = load_library(core)
    low = core.send([("patient", "P1")], "pacs", "low")
    high = core.send([("patient", "P2")], "pacs", "high")
    q = queue(core)
    claim = q.claim_next(OWNER)
    assert claim is not None and claim.transfer_id == high
    assert q.claim_next(make_owner()) is None  # one per destination
    refused = library.images(library.series(library.studies("P2")[0])[0])[0]
    send_all(core, high, fail=frozenset({refused}))
    row = core.transfers.get(high)
    assert (row["status"], row["done"], row["failed"], row["priority"]) == ("failed", 2, 1, "high")
    chest, abdomen = core.transfers.levels(high)
    assert (chest["label"], chest["failed"], chest["status"]) == ("ROE^JANE - CHEST", 1, "failed")
    assert abdomen["status"] == "sent"
    core.transfers.resend(high)
    send_all(core, high)
    assert core.transfers.get(high)["status"] == "sent"
    assert q.recover() == []
    assert core.transfers.clear("out") == 1
    assert [r["id"] for r in core.transfers.list("out")] == [low]


def test_queue_modules_do_not_import_qt() -> None:
    code = (
        "import sys, core.transfers.sender, core.transfers.queue, core.transfers.log,"
        " core.cli.transfers;"
        " bad = [m for m in sys.modules if m.startswith(('PySide6', 'qasync'))];"
        " sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
