"""The Transfer Log tab's view model against the real send queue and a DCMTK storescp."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject

from core.app import Core
from core.nodes import NodeRegistry
from core.sender import SendWorker
from core.transfers import ITEM_FAILED, ITEM_STORED, ItemRecord
from tests.integration.node_support import Storescp, have_dcmtk
from tests.kiosk_support import run_until, seed
from viewmodels.database import DatabaseModel
from viewmodels.transfers import PAGE_SIZE, TransferLogModel, TransferRole

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
def storescp(tmp_path: Path) -> Iterator[Storescp]:
    server = Storescp(tmp_path / "received", ae="DEST").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dest(core: Core, storescp: Storescp) -> str:
    NodeRegistry(core.sessions).add("Archive", "DEST", "127.0.0.1", storescp.port)
    return "Archive"


@pytest.fixture
def db(core: Core, loop: asyncio.AbstractEventLoop) -> DatabaseModel:
    seed(core)
    model = DatabaseModel(core)
    loop.run_until_complete(model.apply_filter())
    return model


@pytest.fixture
def log(core: Core, loop: asyncio.AbstractEventLoop) -> Iterator[TransferLogModel]:
    model = TransferLogModel(core)
    loop.run_until_complete(model.start())
    try:
        yield model
    finally:
        model.stop()


@pytest.fixture
def worker(core: Core, loop: asyncio.AbstractEventLoop) -> Iterator[SendWorker]:
    """The send worker on the qasync loop, as the kiosk hosts it."""
    sender = SendWorker(core)
    loop.run_until_complete(sender.start())
    try:
        yield sender
    finally:
        loop.run_until_complete(sender.stop())


def settle_ui(loop: asyncio.AbstractEventLoop, timeout: float = TIMEOUT) -> None:
    """Run the loop until the view models' tasks are done (the send worker's keep running)."""

    def ui_tasks() -> list[asyncio.Task[Any]]:
        return [
            t
            for t in asyncio.all_tasks(loop)
            if not t.done()
            and not getattr(t.get_coro(), "__qualname__", "").startswith("SendWorker.")
        ]

    async def wait() -> None:
        deadline = loop.time() + timeout
        while True:
            await asyncio.sleep(0)
            pending = [t for t in ui_tasks() if t is not asyncio.current_task()]
            if not pending:
                return
            if loop.time() > deadline:
                raise TimeoutError(f"{len(pending)} tasks still running")
            await asyncio.wait(pending, timeout=deadline - loop.time())

    loop.run_until_complete(wait())


def send_study(
    db: DatabaseModel, rec: Recorder, loop: asyncio.AbstractEventLoop, dest: str, row: int = 0
) -> tuple[int, int]:
    """Select a study in the Database tab and press Send; (transfer id, images in the study)."""
    db.select("study", row)
    settle_ui(loop)
    images = int(db.studies.current_row()["NumberOfStudyRelatedInstances"])  # type: ignore[index]
    before = len(rec.queued)
    db.send(dest, "High")
    run_until(loop, lambda: len(rec.queued) > before, TIMEOUT)
    return rec.queued[-1][0], images


def status_of(log: TransferLogModel, transfer_id: int) -> str:
    row = log.transfers.get(transfer_id)
    return str(row["status"]) if row else ""


def select(log: TransferLogModel, loop: asyncio.AbstractEventLoop, transfer_id: int) -> None:
    log.select(log.transfers.row_of(transfer_id))
    settle_ui(loop)
    assert log.selectedId == transfer_id


class TestSend:
    def test_send_dialog_lists_the_registered_nodes(
        self, db: DatabaseModel, dest: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        assert db.destinations == []
        db.loadDestinations()
        settle_ui(loop)
        assert db.destinations == [dest]
        assert db.priorities == ["High", "Medium", "Low"]

    def test_a_send_appears_in_the_log_and_reaches_sent_live(
        self,
        db: DatabaseModel,
        log: TransferLogModel,
        dest: str,
        storescp: Storescp,
        worker: SendWorker,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        rec = Recorder(log, db)
        resets = rec.resets
        transfer_id, images = send_study(db, rec, loop, dest)
        assert "queued for Archive with high priority" in rec.queued[-1][1]
        # No Refresh: the row arrives and then changes in place from the core's events.
        run_until(loop, lambda: status_of(log, transfer_id) == "sent", TIMEOUT)
        assert rec.resets == resets
        assert rec.inserted >= 1 and rec.changed_rows >= 1
        row = log.transfers.get(transfer_id)
        assert row is not None
        assert (row["direction"], row["node"], row["priority"]) == ("out", dest, "high")
        assert (row["images"], row["done"], row["failed"]) == (images, images, 0)
        run_until(loop, lambda: len(storescp.files()) == images, TIMEOUT)
        assert rec.errors == []

    def test_send_without_a_destination_says_so(
        self, db: DatabaseModel, log: TransferLogModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        rec = Recorder(log, db)
        db.select("study", 0)
        db.send("", "High")
        settle_ui(loop)
        assert rec.queued == []
        assert rec.errors and "Settings" in rec.errors[0]

    def test_show_transfer_opens_the_log_on_it(
        self, db: DatabaseModel, log: TransferLogModel, dest: str, loop: asyncio.AbstractEventLoop
    ) -> None:
        rec = Recorder(log, db)
        loop.run_until_complete(log.setDirection("in"))
        transfer_id, _images = send_study(db, rec, loop, dest)
        log.showTransfer(transfer_id)
        settle_ui(loop)
        assert log.outgoing and log.selectedId == transfer_id
        assert log.crumbs == [f"Transfer #{transfer_id}"]


class TestRules:
    def test_abort_then_resend_then_sent(
        self,
        core: Core,
        db: DatabaseModel,
        log: TransferLogModel,
        dest: str,
        storescp: Storescp,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        rec = Recorder(log, db)
        transfer_id, images = send_study(db, rec, loop, dest)  # no worker: it waits
        run_until(loop, lambda: log.transfers.get(transfer_id) is not None, TIMEOUT)
        select(log, loop, transfer_id)
        assert log.selected()["status"] == "waiting"  # type: ignore[index]
        assert (log.canAbort, log.canResend, log.canDelete) == (True, False, True)

        log.resend()  # not allowed while waiting: the core says why
        settle_ui(loop)
        assert rec.errors and "only sent, aborted or failed" in rec.errors[-1]

        log.abort()
        settle_ui(loop)
        assert status_of(log, transfer_id) == "aborted"
        assert (log.canAbort, log.canResend) == (False, True)
        log.abort()  # twice: refused with the core's message
        settle_ui(loop)
        assert "only waiting or sending" in rec.errors[-1]

        log.resend()
        settle_ui(loop)
        assert status_of(log, transfer_id) == "waiting"
        sender = SendWorker(core)
        loop.run_until_complete(sender.start())
        try:
            run_until(loop, lambda: status_of(log, transfer_id) == "sent", TIMEOUT)
            assert log.selected()["status"] == "sent"  # type: ignore[index]
            assert (log.canAbort, log.canResend) == (False, True)
            run_until(loop, lambda: len(storescp.files()) == images, TIMEOUT)
        finally:
            loop.run_until_complete(sender.stop())

    def test_delete_and_clear(
        self,
        db: DatabaseModel,
        log: TransferLogModel,
        dest: str,
        worker: SendWorker,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        rec = Recorder(log, db)
        sent_id, _ = send_study(db, rec, loop, dest, 0)
        run_until(loop, lambda: status_of(log, sent_id) == "sent", TIMEOUT)
        other_id, _ = send_study(db, rec, loop, dest, 1)
        run_until(loop, lambda: status_of(log, other_id) == "sent", TIMEOUT)
        assert log.canClear

        select(log, loop, other_id)
        assert "Remove transfer" in log.deletePrompt
        log.delete()
        settle_ui(loop)
        assert log.transfers.get(other_id) is None
        assert not log.hasSelection and not log.canDelete

        log.clear()
        settle_ui(loop)
        assert log.transfers.rowCount() == 0
        assert not log.canClear
        assert rec.messages[-1] == "Cleared 1 transfer sent."

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
        select(log, loop, received)
        assert (log.canResend, log.canAbort, log.canDelete, log.canClear) == (
            False,
            False,
            True,
            True,
        )
        log.resend()  # the button is disabled; the core refuses too
        settle_ui(loop)
        assert "only outgoing transfers" in rec.errors[-1]
        log.clear()
        settle_ui(loop)
        assert log.transfers.rowCount() == 0 and not log.canClear


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
        select(log, loop, tid)
        assert log.selected()["status"] == "failed"  # type: ignore[index]

        studies = log.levels.rows()
        assert [(r["uid"], r["total"], r["done"], r["failed"]) for r in studies] == [
            ("1.2.3", 3, 2, 1),
            ("1.2.4", 1, 1, 0),
        ]
        assert studies[0]["status"] == "failed" and studies[0]["error"] == "out of resources"

        log.showLevel(0)
        settle_ui(loop)
        assert log.depth == 2 and log.canBack and log.levelTitle == "Series"
        series = log.levels.rows()
        assert [(r["uid"], r["total"], r["failed"]) for r in series] == [
            ("1.2.3.1", 2, 1),
            ("1.2.3.2", 1, 0),
        ]

        log.showLevel(0)
        settle_ui(loop)
        assert log.depth == 3 and log.levelTitle == "Image"
        images = log.levels.rows()
        assert [(r["uid"], r["status"]) for r in images] == [
            ("1.2.3.1.1", "received"),
            ("1.2.3.1.2", "failed"),
        ]
        log.showLevel(0)  # images have no level below
        settle_ui(loop)
        assert log.depth == 3

        log.selectLevelRow(1)
        log.openDetails()
        details = {d["name"]: d["value"] for d in log.details}
        assert details["UID"] == "1.2.3.1.2"
        assert details["DICOM status"] == "0xA700"
        assert log.detailsError == "out of resources"

        log.back()
        settle_ui(loop)
        assert log.depth == 2 and len(log.levels.rows()) == 2
        log.goToDepth(1)
        settle_ui(loop)
        assert log.depth == 1 and len(log.levels.rows()) == 2

        log.openDetails()  # nothing selected in the table: the transfer itself
        details = {d["name"]: d["value"] for d in log.details}
        assert details["Transfer"] == f"#{tid}"
        assert details["Source"] == "SCANNER"
        assert (details["Images"], details["Received"], details["Failed"]) == ("4", "3", "1")
        assert log.detailsError == "1 images refused"


class TestFailures:
    def test_a_peer_that_is_down_shows_retrying_then_failed_with_the_reason(
        self, data_dir: Path, loop: asyncio.AbstractEventLoop
    ) -> None:
        from core.config import load_settings
        from tests.peers import free_port

        settings = load_settings(
            data_dir, {"fsync": False, "send_retries": 1, "send_retry_delay": 0.5}
        )
        with Core(settings) as core:
            seed(core)
            NodeRegistry(core.sessions).add("Down", "DOWN", "127.0.0.1", free_port())
            db = DatabaseModel(core)
            loop.run_until_complete(db.apply_filter())
            log = TransferLogModel(core)
            loop.run_until_complete(log.start())
            sender = SendWorker(core)
            loop.run_until_complete(sender.start())
            try:
                rec = Recorder(log, db)
                transfer_id, _images = send_study(db, rec, loop, "Down")
                select(log, loop, transfer_id)
                seen: set[str] = set()

                def list_text() -> str:
                    row = log.transfers.row_of(transfer_id)
                    text = log.transfers.data(log.transfers.index(row), TransferRole.STATUS_TEXT)
                    seen.add(str(text))
                    return str(text)

                run_until(loop, lambda: list_text() == "Failed", TIMEOUT)
                assert "Retrying" in seen  # the first attempt failed and it waited to retry
                assert log.canResend and not log.canAbort
                assert "gave up after 2 attempts" in log.selectedError
                log.openDetails()
                details = {d["name"]: d["value"] for d in log.details}
                assert details["Attempts"] == "2" and details["Status"] == "Failed"
                assert log.detailsError == log.selectedError
            finally:
                loop.run_until_complete(sender.stop())
                log.stop()


class TestPaging:
    def test_pages_of_fifty_and_new_transfers_on_top(
        self, core: Core, log: TransferLogModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        made = [core.transfers.start_incoming("SCANNER", "127.0.0.1:4000") for _ in range(51)]
        loop.run_until_complete(log.setDirection("in"))
        assert log.transfers.rowCount() == PAGE_SIZE and log.hasMore and not log.hasPrevious
        assert log.transfers.rows()[0]["id"] == made[-1]  # newest first
        log.turnPage(1)
        settle_ui(loop)
        assert [t["id"] for t in log.transfers.rows()] == [made[0]]
        assert log.page == 2 and log.hasPrevious and not log.hasMore
        log.turnPage(-1)
        settle_ui(loop)
        rec = Recorder(log)
        newest = core.transfers.start_incoming("WORKSTATION", "127.0.0.1:4001")
        run_until(loop, lambda: log.transfers.rows()[0]["id"] == newest, TIMEOUT)
        assert log.transfers.rowCount() == PAGE_SIZE and rec.resets == 0
