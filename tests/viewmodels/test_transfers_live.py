"""The Transfer Log follows the core's changes by itself, even when one arrives while the tab is
reading the log (no DCMTK needed: the transfer changes through the core's own operations)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from core.app import Core
from tests.support.data import seed, seed_transfers
from viewmodels.transfers import TransferLogModel, status_text

TIMEOUT = 10.0


def listed_status(log: TransferLogModel, transfer_id: int) -> str:
    """The transfer's status in the tab's list (read from the reading thread: the row is
    replaced whole, on the Qt thread)."""
    row = tab(log).transfers.get(transfer_id)
    return str(row["status"]) if row else ""


def tab(log: TransferLogModel) -> Any:
    """The model as Python reads it (its Qt properties are plain values there)."""
    return log


class TestChangeDuringARead:
    def test_a_change_that_arrives_while_the_page_is_read_is_not_undone(
        self,
        core: Core,
        log: TransferLogModel,
        loop: asyncio.AbstractEventLoop,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The page is read (the transfer still waiting), the transfer is then aborted and
        that change reaches the tab before the read's rows do: the rows read must not put
        the waiting transfer back (nothing else would correct it: it was its last change)."""
        seed(core)
        out = seed_transfers(core)["out"]
        loop.run_until_complete(log.reload())
        loop.run_until_complete(log.select_transfer(out))
        assert log.selected()["status"] == "waiting"  # type: ignore[index]
        original = core.transfers.list
        calls: list[int] = []

        def list_then_abort(*args: Any, **kwargs: Any) -> Any:
            rows = original(*args, **kwargs)
            calls.append(1)
            if len(calls) == 1:  # the first read: the log changes right after it
                core.transfers.abort(out)
                deadline = time.monotonic() + TIMEOUT
                while listed_status(log, out) != "aborted":  # the change has reached the tab
                    assert time.monotonic() < deadline, "the abort never reached the tab"
                    time.sleep(0.01)
            return rows

        monkeypatch.setattr(core.transfers, "list", list_then_abort)
        loop.run_until_complete(log.reload())
        assert listed_status(log, out) == "aborted"
        assert log.selected()["status"] == "aborted"  # type: ignore[index]
        assert tab(log).selectedText.endswith("· " + status_text("aborted"))
        assert len(calls) >= 2  # read again: a change overtook the first read

    def test_the_selected_line_follows_a_change_without_a_read(
        self, core: Core, log: TransferLogModel, loop: asyncio.AbstractEventLoop
    ) -> None:
        seed(core)
        out = seed_transfers(core)["out"]
        loop.run_until_complete(log.reload())
        loop.run_until_complete(log.select_transfer(out))
        core.transfers.abort(out)

        async def followed() -> None:
            deadline = asyncio.get_running_loop().time() + TIMEOUT
            while not tab(log).selectedText.endswith("· " + status_text("aborted")):
                assert asyncio.get_running_loop().time() < deadline, tab(log).selectedText
                await asyncio.sleep(0.02)

        loop.run_until_complete(followed())
        assert listed_status(log, out) == "aborted"
