"""What the kiosk shows follows the change bus: an open Details dialog, the toast about a resent
transfer, the Settings tab's storage line and its node panel (real Core, DCMTK peers)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.app import Core
from core.events import IndexChanged
from core.transfers.log import ITEM_FAILED, ITEM_STORED, ItemRecord
from tests.support.data import make_dataset, seed, write
from tests.support.dcmtk import StoreSCP, dcmtk_env, have_dcmtk
from tests.support.ports import free_port
from tests.support.qt import run_until, settle
from tests.viewmodels.conftest import running_app
from tests.viewmodels.test_transfers import Recorder as TransferRecorder
from tests.viewmodels.test_transfers import running_worker, select, send_study, until, until_sent
from viewmodels import app as app_module
from viewmodels.app import AppModel
from viewmodels.transfers import TransferLogModel

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not have_dcmtk(), reason="DCMTK is not installed"),
]


@pytest.fixture
def app(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> Iterator[tuple[Core, AppModel]]:
    retrying = {"send_retries": 1, "send_retry_delay": 0.5}
    with running_app(tmp_path / "kiosk", loop, stop_node=True, **retrying) as started:
        yield started


def details(log: TransferLogModel) -> dict[str, str]:
    return {d["name"]: d["value"] for d in log.details}


def _item(study: str, series: str, sop: str, status: str, error: str = "") -> ItemRecord:
    code = 0xA700 if status == ITEM_FAILED else 0
    return ItemRecord(sop, series, study, "DOE^JANE", status, code, 1000, error)


# -- the Details dialog ------------------------------------------------------------------------
def test_open_details_follow_the_transfer_through_retrying_to_failed(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app
    log, db = model.transfers, model.database
    seed(core)
    core.registry.add("Down", "DOWN", "127.0.0.1", free_port())  # nothing listens there
    loop.run_until_complete(db.apply_filter())
    rec = TransferRecorder(log, db)
    shown: list[tuple[str, str]] = []  # (Status, Attempts) as the open dialog said them
    log.detailsChanged.connect(
        lambda: shown.append((details(log).get("Status", ""), details(log).get("Attempts", "")))
    )

    async def scenario() -> None:
        transfer_id, _images = await send_study(db, rec, "Down")
        await select(log, transfer_id)
        log.openDetails()  # opened while it waits, then left open: no second openDetails
        assert details(log)["Status"] == "Waiting" and log.detailsError == ""
        async with running_worker(core):
            await until(lambda: details(log).get("Status") == "Failed", describe=lambda: shown)
        assert ("Retrying", "1") in shown  # the first attempt failed and it waited to retry
        assert details(log)["Attempts"] == "2"
        assert "gave up after 2 attempts" in log.detailsError
        assert log.detailsTitle == f"Transfer #{transfer_id}"

    loop.run_until_complete(scenario())


def test_open_details_of_a_study_follow_its_row_and_say_when_the_transfer_is_gone(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app
    log = model.transfers
    transfers = core.transfers
    tid = transfers.start_incoming("SCANNER", "127.0.0.1:4000", "CT room")
    transfers.record_items(tid, [_item("1.2.3", "1.2.3.1", "1.2.3.1.1", ITEM_STORED)])
    loop.run_until_complete(log.setDirection("in"))
    loop.run_until_complete(select(log, tid))
    run_until(loop, lambda: log.levels.rowCount() == 1)
    log.selectLevelRow(0)
    log.openDetails()
    assert log.detailsTitle == f"Study of transfer #{tid}"
    assert (details(log)["Images"], details(log)["Received"]) == ("1", "1")

    # More of the study arrives, one image refused: the open dialog says so by itself.
    transfers.record_items(
        tid, [_item("1.2.3", "1.2.3.1", "1.2.3.1.2", ITEM_FAILED, "out of resources")]
    )
    transfers.finish(tid)
    run_until(loop, lambda: details(log)["Images"] == "2")
    assert (details(log)["Received"], details(log)["Failed"]) == ("1", "1")
    assert log.detailsError == "out of resources"

    # Deleted meanwhile (by another console): the dialog says it is gone.
    transfers.delete(tid)
    run_until(loop, lambda: "removed from the log" in log.detailsError)


# -- the toast ---------------------------------------------------------------------------------
def test_the_resend_toast_follows_its_transfer_until_sent(
    app: tuple[Core, AppModel],
    storescp: StoreSCP,
    loop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    core, model = app
    log, db = model.transfers, model.database
    seed(core)
    core.registry.add("Archive", "DEST", "127.0.0.1", storescp.port)
    loop.run_until_complete(db.apply_filter())
    rec = TransferRecorder(log, db)
    toasts: list[str] = []
    model.message.connect(toasts.append)

    async def resend(worker: Any) -> None:
        """Resend with the worker held, then let it go once the log's watcher has seen the
        transfer wait (it publishes what differs from what it saw last: a send that ended in
        the same second as the last one, unseen in between, would look unchanged)."""
        worker.pause()
        await log.resend()
        await asyncio.sleep(1.1)
        worker.resume()

    async def scenario() -> None:
        async with running_worker(core) as worker:
            transfer_id, _images = await send_study(db, rec, "Archive")
            await until_sent(log, core, transfer_id)
            await select(log, transfer_id)
            waiting = f"Transfer #{transfer_id} is waiting to be sent again."
            sent = f"Transfer #{transfer_id} sent."

            # The toast is still up when it is sent: it says so instead.
            monkeypatch.setattr(app_module, "MESSAGE_SECONDS", 60.0)
            await resend(worker)
            assert waiting in toasts
            await until(lambda: toasts[-1] == sent, describe=lambda: toasts)
            assert toasts[toasts.index(waiting) :][-1] == sent
            assert rec.errors == []

            # Another message took its place on the toast: that one stays.
            worker.pause()
            await log.resend()
            model.message.emit("Saved.")
            await asyncio.sleep(1.1)
            worker.resume()
            await until_sent(log, core, transfer_id)
            await asyncio.sleep(0.3)  # the last changes are delivered
            assert toasts[-1] == "Saved."

            # Gone from the screen by the time it was sent: no new toast appears.
            monkeypatch.setattr(app_module, "MESSAGE_SECONDS", 0.0)
            before = len(toasts) + 1  # the resend's own
            await resend(worker)
            await until_sent(log, core, transfer_id)
            await asyncio.sleep(0.3)
            assert len(toasts) == before and toasts[-1] == waiting

    loop.run_until_complete(scenario())


# -- the storage line --------------------------------------------------------------------------
def test_the_storage_line_counts_images_as_they_arrive(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    core, model = app
    settings = model.settings
    assert settings.storageText.startswith("0 images in 0 studies use 0 B.")
    settings.startNode()
    settle(loop)
    files = [
        write(make_dataset(patient_id="LIVE", instance_number=i), tmp_path / "send" / f"{i}.dcm")
        for i in range(3)
    ]
    subprocess.run(
        ["/usr/bin/storescu", "-aec", "KIOSK", "127.0.0.1", str(core.settings.port)]
        + [str(f) for f in files],
        env=dcmtk_env(), check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    # No Refresh: the line follows the index.
    run_until(loop, lambda: settings.storageText.startswith("3 images in 3 studies use "))


def test_refresh_recounts_what_another_process_imported(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    """An import by `dicom-kiosk import` beside the kiosk reaches no change bus of the kiosk's:
    Refresh re-reads the counts (the header, Settings' storage line) with the levels."""
    core, model = app
    settings = model.settings
    for i in range(2):
        write(make_dataset(patient_id="ELSEWHERE", instance_number=i), tmp_path / "in" / f"{i}.dcm")
    subprocess.run(
        [sys.executable, "-m", "core.cli", "--data-dir", str(core.settings.data_dir), "import",
         str(tmp_path / "in")],
        check=True, capture_output=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert model.statsText == "0 patients · 0 studies · 0 images · 0 MB"
    model.database.refresh()
    run_until(loop, lambda: settings.storageText.startswith("2 images in 2 studies use "))
    assert model.statsText.startswith("1 patient · 2 studies · 2 images · ")
    assert model.database.patients.rowCount() == 1


def test_the_storage_line_is_counted_off_the_gui_thread_a_few_times_a_second(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    core, model = app
    settings = model.settings
    counted: list[threading.Thread] = []
    real_stats = core.stats

    def stats() -> dict[str, int]:
        counted.append(threading.current_thread())
        return {**real_stats(), "instances": 393 + len(counted)}

    monkeypatch.setattr(core, "stats", stats)
    changes: list[Any] = []
    settings.storageChanged.connect(lambda: changes.append(settings.storageText))

    def burst() -> None:  # the index writer commits in batches, from its own thread
        for i in range(200):
            core.events.publish(IndexChanged(stored=(f"1.2.{i}",), studies=("1.2",)))

    writer = threading.Thread(target=burst)
    writer.start()
    writer.join()
    run_until(loop, lambda: changes)
    loop.run_until_complete(asyncio.sleep(1.0))
    settle(loop)
    assert 1 <= len(counted) <= 4, len(counted)  # 200 changes, counted together
    assert threading.main_thread() not in counted
    assert settings.storageText.startswith(f"{393 + len(counted)} images in ")


# -- the node panel ----------------------------------------------------------------------------
def test_the_node_panel_shows_listening_stopped_and_failed(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    core, model = app
    settings = model.settings
    port = core.settings.port
    assert (settings.nodeState, settings.nodeStatus) == ("stopped", "Stopped")
    assert settings.nodeAddressTitle == "Address"
    assert settings.nodeAddress == f"127.0.0.1:{port} (not listening)"

    loop.run_until_complete(core.node.start())  # not through the tab: only the bus tells it
    run_until(loop, lambda: settings.nodeRunning)
    assert (settings.nodeState, settings.nodeStatus) == ("listening", "Running")
    assert (settings.nodeAddressTitle, settings.nodeAddress) == (
        "Listening on",
        f"127.0.0.1:{port}",
    )

    loop.run_until_complete(core.node.stop(grace=2.0))
    run_until(loop, lambda: not settings.nodeRunning)
    assert (settings.nodeState, settings.nodeStatus) == ("stopped", "Stopped")
    assert settings.nodeAddressTitle == "Address"
    assert settings.nodeAddress == f"127.0.0.1:{port} (not listening)"

    peer = StoreSCP(tmp_path / "scp", "+xa", ae_title="DEST").start()
    try:
        model.settings.saveLocal("KIOSK", str(peer.port), "127.0.0.1")
        settle(loop)
        model.settings.startNode()  # the port is taken: it fails, and says why
        settle(loop)
        assert settings.nodeState == "failed"
        assert settings.nodeStatus.startswith("Failed: ") and "in use" in settings.nodeStatus
        assert settings.nodeAddress == f"127.0.0.1:{peer.port} (not listening)"
    finally:
        peer.stop()
