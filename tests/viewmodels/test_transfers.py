"""The Transfer Log tab's view model against the real send queue and a DCMTK storescp."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import generate_uid
from PySide6.QtCore import QObject

from core.app import Core
from core.config import load_settings
from core.node.server import DicomNode
from core.transfers.log import ITEM_FAILED, ITEM_STORED, ItemRecord
from core.transfers.sender import SendWorker
from tests.support.data import make_dataset, seed, write
from tests.support.dcmtk import StoreSCP, dcmtk, dcmtk_env, have_dcmtk
from tests.support.ports import free_port
from tests.support.qt import settle
from viewmodels.database import DatabaseModel
from viewmodels.transfers import (
    PAGE_SIZE,
    TransferLogModel,
    TransferRole,
    counts_text,
    description_text,
    failed_share,
    format_duration,
    format_time,
    level_label,
    list_status,
    progress,
)

pytestmark = pytest.mark.skipif(not have_dcmtk(), reason="DCMTK is not installed")

TIMEOUT = 30.0


class Recorder(QObject):
    """Everything a model emitted that a test looks at."""

    def __init__(self, log: TransferLogModel, db: DatabaseModel | None = None) -> None:
        super().__init__()
        self.errors: list[str] = []
        self.messages: list[str] = []
        self.queued: list[tuple[int, str]] = []
        self.resets = 0
        self.changed_rows = 0
        self.inserted = 0
        log.errorOccurred.connect(self.errors.append)
        log.message.connect(self.messages.append)
        log.transfers.modelReset.connect(self._reset)
        log.transfers.dataChanged.connect(self._changed)
        log.transfers.rowsInserted.connect(self._inserted)
        if db is not None:
            db.errorOccurred.connect(self.errors.append)
            db.sendQueued.connect(lambda i, t: self.queued.append((i, t)))

    def _reset(self) -> None:
        self.resets += 1

    def _changed(self, *_args: Any) -> None:
        self.changed_rows += 1

    def _inserted(self, *_args: Any) -> None:
        self.inserted += 1


@pytest.fixture
def dest(core: Core, storescp: StoreSCP) -> str:
    core.registry.add("Archive", "DEST", "127.0.0.1", storescp.port)
    return "Archive"


@pytest.fixture
def db(core: Core, loop: asyncio.AbstractEventLoop) -> DatabaseModel:
    seed(core)
    model = DatabaseModel(core)
    loop.run_until_complete(model.apply_filter())
    return model


@asynccontextmanager
async def running_worker(core: Core) -> AsyncIterator[SendWorker]:
    """The send worker on the running qasync loop, as the kiosk hosts it.

    Tests with a worker run as one coroutine: qasync's ``run_until_complete`` processes Qt
    events once more after the loop stopped, which would step the worker's tasks outside a
    running loop (the kiosk runs its whole life in one ``run_until_complete``).
    """
    sender = SendWorker(core)
    await sender.start()
    try:
        yield sender
    finally:
        await sender.stop()


async def until(
    predicate: Callable[[], bool],
    timeout: float = TIMEOUT,
    describe: Callable[[], object] | None = None,
) -> None:
    """Wait on the running loop until ``predicate()`` holds (bounded); ``describe`` says
    what was there instead when it times out."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            found = f": {describe()}" if describe is not None else ""
            raise TimeoutError(f"condition not met in {timeout:g} s{found}")
        await asyncio.sleep(0.02)


async def until_sent(log: TransferLogModel, core: Core, transfer_id: int) -> None:
    """Wait until the transfer's row in the list says sent; if not, say what both sides hold."""

    def state() -> object:
        return {"list": log.transfers.get(transfer_id), "core": core.transfers.get(transfer_id)}

    await until(lambda: status_of(log, transfer_id) == "sent", describe=state)


async def send_study(
    db: DatabaseModel, rec: Recorder, dest: str, row: int = 0, priority: str = "High"
) -> tuple[int, int]:
    """Select a study in the Database tab and press Send; (transfer id, images in the study)."""
    db.select("study", row)
    images = int(db.studies.current_row()["NumberOfStudyRelatedInstances"])  # type: ignore[index]
    before = len(rec.queued)
    await db.send(dest, priority)
    await until(lambda: len(rec.queued) > before)
    return rec.queued[-1][0], images


async def select(log: TransferLogModel, transfer_id: int) -> None:
    await until(lambda: log.transfers.get(transfer_id) is not None)
    await log.select(log.transfers.row_of(transfer_id))
    assert log.selectedId == transfer_id


def select_now(log: TransferLogModel, loop: asyncio.AbstractEventLoop, transfer_id: int) -> None:
    loop.run_until_complete(select(log, transfer_id))


def status_of(log: TransferLogModel, transfer_id: int) -> str:
    row = log.transfers.get(transfer_id)
    return str(row["status"]) if row else ""


class TestSend:
    def test_send_dialog_lists_the_registered_nodes(
        self, db: DatabaseModel, dest: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        assert db.destinations == []
        db.loadDestinations()
        settle(loop)
        assert db.destinations == [dest]
        assert db.priorities == ["High", "Medium", "Low"]

    def test_a_send_appears_in_the_log_and_reaches_sent_live(
        self,
        core: Core,
        db: DatabaseModel,
        log: TransferLogModel,
        dest: str,
        storescp: StoreSCP,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        rec = Recorder(log, db)
        resets = rec.resets

        async def scenario() -> None:
            async with running_worker(core) as worker:
                worker.pause()  # hold it in the queue until it is selected in the log
                transfer_id, images = await send_study(db, rec, dest)
                assert "queued for Archive with high priority" in rec.queued[-1][1]
                # No Refresh: the row arrives, then changes in place from the core's events.
                await select(log, transfer_id)
                assert [(r["total"], r["done"]) for r in log.levels.rows()] == [(images, 0)]
                worker.resume()
                await until_sent(log, core, transfer_id)
                assert rec.resets == resets
                assert rec.inserted >= 1 and rec.changed_rows >= 1
                # The status table follows too.
                await until(lambda: log.levels.rows()[0]["done"] == images)
                assert log.levels.rows()[0]["status"] == "sent" and log.canResend
                row = log.transfers.get(transfer_id)
                assert row is not None
                assert (row["direction"], row["node"], row["priority"]) == ("out", dest, "high")
                assert (row["images"], row["done"], row["failed"]) == (images, images, 0)
                await until(lambda: len(storescp.files()) == images)
                assert rec.errors == []

        loop.run_until_complete(scenario())

    def test_send_without_a_destination_says_so(
        self, db: DatabaseModel, log: TransferLogModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        rec = Recorder(log, db)
        db.select("study", 0)
        db.send("", "High")
        settle(loop)
        assert rec.queued == []
        assert rec.errors and "Settings" in rec.errors[0]

    def test_show_transfer_opens_the_log_on_it(
        self, db: DatabaseModel, log: TransferLogModel, dest: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        rec = Recorder(log, db)
        loop.run_until_complete(log.setDirection("in"))
        transfer_id, _images = loop.run_until_complete(send_study(db, rec, dest))
        log.showTransfer(transfer_id)
        settle(loop)
        assert log.outgoing and log.selectedId == transfer_id
        assert log.crumbs == [f"Transfer #{transfer_id}"]


class TestRules:
    def test_abort_then_resend_then_sent(
        self,
        core: Core,
        db: DatabaseModel,
        log: TransferLogModel,
        dest: str,
        storescp: StoreSCP,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        rec = Recorder(log, db)

        async def scenario() -> None:
            transfer_id, images = await send_study(db, rec, dest)  # no worker yet: it waits
            await select(log, transfer_id)
            assert log.selected()["status"] == "waiting"  # type: ignore[index]
            assert (log.canAbort, log.canResend, log.canDelete) == (True, False, True)

            await log.resend()  # not allowed while waiting: the core says why
            assert rec.errors and "only sent, aborted or failed" in rec.errors[-1]

            await log.abort()
            assert status_of(log, transfer_id) == "aborted"
            assert (log.canAbort, log.canResend) == (False, True)
            await log.abort()  # twice: refused with the core's message
            assert "only waiting or sending" in rec.errors[-1]

            await log.resend()
            assert status_of(log, transfer_id) == "waiting"
            async with running_worker(core):
                await until_sent(log, core, transfer_id)
                assert log.selected()["status"] == "sent"  # type: ignore[index]
                assert (log.canAbort, log.canResend) == (False, True)
                await until(lambda: len(storescp.files()) == images)

        loop.run_until_complete(scenario())

    def test_delete_and_clear(
        self,
        core: Core,
        db: DatabaseModel,
        log: TransferLogModel,
        dest: str,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        rec = Recorder(log, db)

        async def scenario() -> None:
            async with running_worker(core):
                sent_id, _ = await send_study(db, rec, dest, 0)
                await until_sent(log, core, sent_id)
                other_id, _ = await send_study(db, rec, dest, 1)
                await until_sent(log, core, other_id)
                assert log.canClear

                await select(log, other_id)
                assert "Remove transfer" in log.deletePrompt
                await log.delete()
                assert log.transfers.get(other_id) is None
                assert not log.hasSelection and not log.canDelete

                await log.clear()
                assert log.transfers.rowCount() == 0
                assert not log.canClear
                assert rec.messages[-1] == "Cleared 1 transfer sent."

        loop.run_until_complete(scenario())

    def test_incoming_transfers_allow_only_delete_and_clear(
        self, core: Core, log: TransferLogModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        rec = Recorder(log)
        transfers = core.transfers  # type: ignore[attr-defined]
        received = transfers.start_incoming("SCANNER", "127.0.0.1:4000", "CT room")
        transfers.record_items(received, [_item("1.2.3", "1.2.3.1", "1.2.3.1.1", ITEM_STORED)])
        transfers.finish(received)
        loop.run_until_complete(log.setDirection("in"))
        assert not log.outgoing and log.peerTitle == "Source"
        assert [c["key"] for c in log.listColumns].count("priority") == 0
        select_now(log, loop, received)
        assert (log.canResend, log.canAbort, log.canDelete, log.canClear) == (
            False,
            False,
            True,
            True,
        )
        log.resend()  # the button is disabled; the core refuses too
        settle(loop)
        assert "only outgoing transfers" in rec.errors[-1]
        log.clear()
        settle(loop)
        assert log.transfers.rowCount() == 0 and not log.canClear

        receiving = transfers.start_incoming("SCANNER", "127.0.0.1:4001", "")
        loop.run_until_complete(log.refresh())
        select_now(log, loop, receiving)
        assert not log.canDelete and not log.canClear  # the node still writes to it
        log.delete()
        settle(loop)
        assert "still receiving" in rec.errors[-1]
        assert log.transfers.get(receiving) is not None


def _item(study: str, series: str, sop: str, status: str, code: int = 0, error: str = "") -> Any:
    return ItemRecord(sop, series, study, "DOE^JANE", status, code, 1000, error)


class TestDrillDown:
    def test_levels_count_and_show_the_failure(
        self, core: Core, log: TransferLogModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        transfers = core.transfers  # type: ignore[attr-defined]
        tid = transfers.start_incoming("SCANNER", "127.0.0.1:4000", "")
        items = [
            _item("1.2.3", "1.2.3.1", "1.2.3.1.1", ITEM_STORED),
            _item("1.2.3", "1.2.3.1", "1.2.3.1.2", ITEM_FAILED, 0xA700, "out of resources"),
            _item("1.2.3", "1.2.3.2", "1.2.3.2.1", ITEM_STORED),
            _item("1.2.4", "1.2.4.1", "1.2.4.1.1", ITEM_STORED),
        ]
        transfers.record_items(tid, items)
        transfers.finish(tid)
        loop.run_until_complete(log.setDirection("in"))
        select_now(log, loop, tid)
        assert log.selected()["status"] == "failed"  # type: ignore[index]

        studies = log.levels.rows()
        assert [(r["uid"], r["total"], r["done"], r["failed"]) for r in studies] == [
            ("1.2.3", 3, 2, 1),
            ("1.2.4", 1, 1, 0),
        ]
        assert studies[0]["status"] == "failed" and studies[0]["error"] == "out of resources"

        log.showLevel(0)
        settle(loop)
        assert log.depth == 2 and log.canBack and log.levelTitle == "Series"
        series = log.levels.rows()
        assert [(r["uid"], r["total"], r["failed"]) for r in series] == [
            ("1.2.3.1", 2, 1),
            ("1.2.3.2", 1, 0),
        ]

        log.showLevel(0)
        settle(loop)
        assert log.depth == 3 and log.levelTitle == "Image"
        images = log.levels.rows()
        assert [(r["uid"], r["status"]) for r in images] == [
            ("1.2.3.1.1", "received"),
            ("1.2.3.1.2", "failed"),
        ]
        log.showLevel(0)  # images have no level below
        settle(loop)
        assert log.depth == 3

        log.selectLevelRow(1)
        log.openDetails()
        details = {d["name"]: d["value"] for d in log.details}
        assert details["UID"] == "1.2.3.1.2"
        assert details["DICOM status"] == "0xA700"
        assert log.detailsError == "out of resources"

        log.back()
        settle(loop)
        assert log.depth == 2 and len(log.levels.rows()) == 2
        log.goToDepth(1)
        settle(loop)
        assert log.depth == 1 and len(log.levels.rows()) == 2

        log.openDetails()  # nothing selected in the table: the transfer itself
        details = {d["name"]: d["value"] for d in log.details}
        assert details["Transfer"] == f"#{tid}"
        assert details["Source"] == "SCANNER"
        assert (details["Images"], details["Received"], details["Failed"]) == ("4", "3", "1")
        assert log.detailsError == "1 image refused"


class TestFailures:
    def test_a_peer_that_is_down_shows_retrying_then_failed_with_the_reason(
        self, data_dir: Path, loop: asyncio.AbstractEventLoop
    ) -> None:
        settings = load_settings(
            data_dir, {"fsync": False, "send_retries": 1, "send_retry_delay": 0.5}
        )
        seen: set[str] = set()

        async def scenario(core: Core, db: DatabaseModel, log: TransferLogModel) -> None:
            rec = Recorder(log, db)
            async with running_worker(core):
                transfer_id, _images = await send_study(db, rec, "Down")
                await select(log, transfer_id)

                def list_text() -> str:
                    index = log.transfers.index(log.transfers.row_of(transfer_id))
                    text = str(log.transfers.data(index, TransferRole.STATUS_TEXT))
                    seen.add(text)
                    return text

                await until(lambda: list_text() == "Failed")
                assert "Retrying" in seen  # the first attempt failed and it waited to retry
                assert log.canResend and not log.canAbort
                assert "gave up after 2 attempts" in log.selectedError
                log.openDetails()
                details = {d["name"]: d["value"] for d in log.details}
                assert details["Attempts"] == "2" and details["Status"] == "Failed"
                assert log.detailsError == log.selectedError

        with Core(settings) as core:
            seed(core)
            core.registry.add("Down", "DOWN", "127.0.0.1", free_port())
            db = DatabaseModel(core)
            loop.run_until_complete(db.apply_filter())
            log = TransferLogModel(core)
            loop.run_until_complete(log.start())
            try:
                loop.run_until_complete(scenario(core, db, log))
            finally:
                log.stop()


class TestPaging:
    def test_clear_follows_the_whole_log_not_the_page(
        self, core: Core, log: TransferLogModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        transfers = core.transfers  # type: ignore[attr-defined]
        received = transfers.start_incoming("SCANNER", "127.0.0.1:4000")
        transfers.finish(received)  # the oldest: alone on the second page
        for _ in range(PAGE_SIZE + 1):
            transfers.start_incoming("SCANNER", "127.0.0.1:4000")  # still receiving
        loop.run_until_complete(log.setDirection("in"))
        assert log.hasMore and log.canClear  # the received one is on page 2
        assert log.rangeText == f"1–{PAGE_SIZE} of {PAGE_SIZE + 2}"
        loop.run_until_complete(log.clear())
        assert transfers.count("in") == PAGE_SIZE + 1
        assert log.hasMore and not log.canClear  # more than a page, none of it received
        assert log.rangeText == f"1–{PAGE_SIZE} of {PAGE_SIZE + 1}"

    def test_pages_of_fifty_and_new_transfers_on_top(
        self, core: Core, log: TransferLogModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        made = [core.transfers.start_incoming("SCANNER", "127.0.0.1:4000") for _ in range(51)]
        loop.run_until_complete(log.setDirection("in"))
        assert log.transfers.rowCount() == PAGE_SIZE and log.hasMore and not log.hasPrevious
        assert log.transfers.rows()[0]["id"] == made[-1]  # newest first
        log.turnPage(1)
        settle(loop)
        assert [t["id"] for t in log.transfers.rows()] == [made[0]]
        assert log.page == 2 and log.hasPrevious and not log.hasMore
        log.turnPage(-1)
        settle(loop)
        assert log.rangeText == f"1–{PAGE_SIZE} of {PAGE_SIZE + 1}"
        rec = Recorder(log)
        newest = core.transfers.start_incoming("WORKSTATION", "127.0.0.1:4001")
        loop.run_until_complete(until(lambda: log.transfers.rows()[0]["id"] == newest))
        assert log.transfers.rowCount() == PAGE_SIZE and rec.resets == 0


class TestWording:
    def test_what_the_list_and_details_say(self) -> None:
        out = {"direction": "out", "status": "sending", "images": 40, "done": 12, "failed": 1}
        assert counts_text(out) == "12 of 40 sent · 1 failed"
        assert (progress(out), failed_share(out)) == (12 / 40, 1 / 40)
        incoming = {"direction": "in", "status": "receiving", "images": 7, "done": 7, "failed": 0}
        assert counts_text(incoming) == "7 received"
        assert progress(incoming) == 0.0  # still coming: no share of an unknown total
        assert list_status({"status": "waiting", "error": "refused (attempt 1 of 4)"}) == (
            "Retrying",
            "warning",
        )
        assert list_status({"status": "waiting", "error": ""}) == ("Waiting", "waiting")
        assert description_text({"description": "Study CT HEAD (DOE^JOHN)"}) == (
            "Study CT HEAD (DOE, JOHN)"
        )
        assert (
            level_label({"level": "study", "label": "DOE^JOHN - CT HEAD"}) == "DOE, JOHN - CT HEAD"
        )
        now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC).astimezone()
        today = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert format_time(today, now) == now.strftime("%H:%M:%S")
        assert format_time("2026-01-02T03:04:05Z", now).startswith("2026-01-0")
        assert format_duration("2026-01-02T03:04:05Z", "2026-01-02T03:06:10Z") == "2 min 5 s"


class TestIncoming:
    def test_what_a_scanner_sends_appears_live_under_incoming(
        self, core: Core, log: TransferLogModel, loop: asyncio.AbstractEventLoop, tmp_path: Path
    ) -> None:
        study, series = generate_uid(), generate_uid()
        files = [
            write(
                make_dataset(study_uid=study, series_uid=series, instance_number=n),
                tmp_path / f"IM{n}",
            )
            for n in range(3)
        ]
        loop.run_until_complete(log.setDirection("in"))
        rec = Recorder(log)

        async def scenario() -> None:
            node = DicomNode(core, ae_title="KIOSK", port=0, bind="127.0.0.1")
            await node.start()
            try:
                command = [dcmtk("storescu"), "-aet", "SCANNER", "-aec", "KIOSK", "127.0.0.1"]
                command += [str(node.state.port), *map(str, files)]
                done = await asyncio.to_thread(
                    subprocess.run, command, env=dcmtk_env(), capture_output=True, timeout=120
                )
                assert done.returncode == 0, done.stderr
                # No Refresh: the node's own transfer log writes, the view follows.
                await until(
                    lambda: [t["status"] for t in log.transfers.rows()] == ["received"],
                    describe=log.transfers.rows,
                )
            finally:
                await node.stop()

        loop.run_until_complete(scenario())
        [row] = log.transfers.rows()
        assert (row["ae_title"], row["images"], row["done"], row["failed"]) == ("SCANNER", 3, 3, 0)
        assert rec.resets == 0  # it came in as a new row, not by reading the page again
        select_now(log, loop, int(row["id"]))
        assert [(r["uid"], r["total"], r["done"]) for r in log.levels.rows()] == [(study, 3, 3)]
        assert not log.canResend and not log.canAbort and log.canDelete and log.canClear
