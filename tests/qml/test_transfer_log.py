"""The Transfer Log tab in the real window: Send offers the log, buttons follow the rules."""

from __future__ import annotations

import asyncio
from typing import Any

from core.app import Core
from tests.qml.kiosk_window import captured_warnings, find, items, open_kiosk
from tests.support.data import seed, seed_transfers
from tests.support.qt import run_until, settle
from viewmodels.kiosk import Kiosk


def in_popup(kiosk: Kiosk, popup: str, name: str) -> Any:
    """An item by objectName inside one popup (dialogs share button names)."""
    content = find(kiosk, popup).property("contentItem")
    for item in items(content):
        if item.objectName() == name:
            return item
    raise LookupError(f"no {name!r} in {popup!r}")


def enabled(kiosk: Kiosk, name: str) -> bool:
    return bool(find(kiosk, name).property("enabled"))


def test_send_offers_the_log_and_opens_it_on_the_new_transfer(
    core: Core, loop: asyncio.AbstractEventLoop
) -> None:
    seed(core)
    core.registry.add("Archive", "ARCHIVE", "127.0.0.1", 11119)
    with captured_warnings() as warnings, open_kiosk(core, loop) as kiosk:
        app = kiosk.app_model
        db = app.database  # type: ignore[attr-defined]
        db.select("study", 0)
        settle(loop)
        find(kiosk, "sendDialog").open()
        settle(loop)
        assert find(kiosk, "sendDestination").property("currentText") == "Archive"
        find(kiosk, "sendPriorityLow").click()
        find(kiosk, "sendOk").click()
        settle(loop)
        offer = find(kiosk, "sendQueuedDialog")
        run_until(loop, lambda: offer.property("visible"))
        assert "with low priority" in offer.property("text")
        in_popup(kiosk, "sendQueuedDialog", "confirmOk").click()  # "Open Transfer Log"
        settle(loop)
        log = app.transfers  # type: ignore[attr-defined]
        assert find(kiosk, "transferLogView").isVisible()
        # The list shows the log model's rows (a model QML cannot type shows nothing).
        assert find(kiosk, "transferList").property("count") == log.transfers.rowCount() == 1
        assert find(kiosk, "levelList").property("count") == log.levels.rowCount() >= 1
        transfer = log.selected()
        assert transfer is not None and transfer["priority"] == "low"
        assert transfer["node"] == "Archive" and transfer["status"] == "waiting"
        # Waiting (no sender in this test): Abort yes, Resend no.
        assert enabled(kiosk, "transfersAbort") and not enabled(kiosk, "transfersResend")
        find(kiosk, "transfersAbort").click()
        settle(loop)
        assert log.selected()["status"] == "aborted"
        assert enabled(kiosk, "transfersResend") and not enabled(kiosk, "transfersAbort")
        find(kiosk, "transfersClose").click()  # Close: back to the Database tab
        settle(loop)
        assert find(kiosk, "databaseView").isVisible()
        assert not find(kiosk, "transferLogView").isVisible()
    assert warnings.messages == []


def test_delete_and_clear_ask_first(core: Core, loop: asyncio.AbstractEventLoop) -> None:
    seed(core)
    ids = seed_transfers(core)
    with open_kiosk(core, loop) as kiosk:
        log = kiosk.app_model.transfers  # type: ignore[attr-defined]
        find(kiosk, "tab_1").click()
        log.showTransfer(ids["out"])
        settle(loop)
        assert enabled(kiosk, "transfersDelete")
        assert not enabled(kiosk, "transfersClear")  # nothing sent yet
        find(kiosk, "transfersDelete").click()
        settle(loop)
        confirm = find(kiosk, "confirmDialog")
        assert confirm.property("visible")
        assert confirm.property("text") == log.deletePrompt
        in_popup(kiosk, "confirmDialog", "confirmCancel").click()
        settle(loop)
        assert log.transfers.get(ids["out"]) is not None  # cancelled: still there
        find(kiosk, "transfersDelete").click()
        settle(loop)
        in_popup(kiosk, "confirmDialog", "confirmOk").click()
        settle(loop)
        assert log.transfers.get(ids["out"]) is None and not log.hasSelection

        find(kiosk, "directionIn").click()
        settle(loop)
        assert not log.outgoing and log.transfers.rowCount() == 1
        log.showTransfer(ids["in"])
        settle(loop)
        # Incoming: neither Resend nor Abort; this one failed, so there is nothing to Clear.
        assert not enabled(kiosk, "transfersResend") and not enabled(kiosk, "transfersAbort")
        assert not enabled(kiosk, "transfersClear")
        log.showLevel(0)
        settle(loop)
        assert find(kiosk, "crumb_1").property("text").startswith("› Study")
        assert enabled(kiosk, "levelBack")
        find(kiosk, "levelBack").click()
        settle(loop)
        assert log.depth == 1 and not enabled(kiosk, "levelBack")
