"""The send worker on the kiosk's event loop (qasync), as ``viewmodels.kiosk.run`` hosts it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.app import Core
from core.config import load_settings
from core.events import TransfersChanged
from core.transfers.log import FINAL_OUT
from core.transfers.sender import SendWorker
from tests.support.data import load_library
from tests.support.dcmtk import StoreSCP
from tests.support.qt import _session_loop, loop, qt_prepared  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration


def test_sender_sends_and_aborts_under_qasync(
    loop: asyncio.AbstractEventLoop,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    assert type(loop).__module__.startswith("qasync")
    with Core(load_settings(tmp_path / "data", {"fsync": False})) as core:
        library = load_library(core)
        with (
            StoreSCP(tmp_path / "scp") as scp,
            StoreSCP(tmp_path / "slow", "--sleep-during", "30", ae_title="SLOW") as slow,
        ):
            registry = core.registry
            registry.add("scp", scp.ae_title, "127.0.0.1", scp.port)
            registry.add("slow", slow.ae_title, "127.0.0.1", slow.port)
            events: list[dict[str, object]] = []
            unsubscribe = core.events.subscribe(TransfersChanged, lambda e: events.extend(e.rows))

            async def scenario() -> tuple[dict[str, object], dict[str, object]]:
                worker = SendWorker(core)
                await worker.start()
                try:
                    sent = await asyncio.to_thread(core.send, [("patient", "P1")], "scp")
                    held = await asyncio.to_thread(core.send, [("patient", "P2")], "slow")
                    deadline = loop.time() + 60
                    while core.transfers.get(sent)["status"] not in FINAL_OUT:
                        assert loop.time() < deadline, "the transfer did not end"
                        await asyncio.sleep(0.05)
                    while "Received Store Request" not in slow.log():
                        assert loop.time() < deadline, "the slow peer got nothing"
                        await asyncio.sleep(0.05)
                    # the finished transfer leaves the worker once its end is recorded
                    while worker.active != [held]:
                        assert loop.time() < deadline, f"still sending {worker.active}"
                        await asyncio.sleep(0.05)
                    await asyncio.to_thread(core.transfers.abort, held)
                    while worker.active:
                        assert loop.time() < deadline, "the abort did not stop the sender"
                        await asyncio.sleep(0.05)
                    while not any(e["id"] == held and e["status"] == "aborted" for e in events):
                        assert loop.time() < deadline, "no change event for the abort"
                        await asyncio.sleep(0.05)
                    return core.transfers.get(sent), core.transfers.get(held)
                finally:
                    await worker.stop()

            try:
                sent_row, held_row = loop.run_until_complete(scenario())
            finally:
                unsubscribe()
            received = scp.files()
    assert (sent_row["status"], sent_row["done"]) == ("sent", 5)
    assert sorted(received) == sorted(
        sop
        for study in library.studies("P1")
        for series in library.series(study)
        for sop in library.images(series)
    )
    assert held_row["status"] == "aborted"
    # progress events came from the change feed, ending with the final states
    assert [e["status"] for e in events if e["id"] == sent_row["id"]][-1] == "sent"
    assert [e["done"] for e in events if e["id"] == sent_row["id"]][-1] == 5
