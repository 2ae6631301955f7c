"""The node's core pieces in process: registry, transfer log, DicomNode under plain asyncio."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]

from core.app import Core
from core.errors import ConfigError, NotFoundError
from core.events import NodeStateChanged
from core.node.server import DicomNode, NodeState
from core.transfers.log import TransferLog
from tests.support.data import make_dataset


def test_node_modules_do_not_import_qt() -> None:
    code = (
        "import sys, core.node.server, core.node.handlers, core.cli.node, core.registry, "
        "core.transfers.log; bad = [m for m in sys.modules if m.startswith(('PySide6', 'qasync'))];"
        " sys.exit(1 if bad else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_registry_crud_and_validation(core: Core) -> None:
    registry = core.registry
    registry.add("ct", "CT_SCANNER", "10.0.0.5", 104, allowed="store")
    registry.add("pacs", "PACS", "pacs.local", 11112, retrieve_method="get")
    assert [n.name for n in registry.list()] == ["ct", "pacs"]
    assert registry.get("ct").allows("store") and not registry.get("ct").allows("find")
    assert registry.get("pacs").allowed == {"store", "find", "retrieve"}
    with pytest.raises(ConfigError):
        registry.add("ct", "X", "h", 1)
    with pytest.raises(ConfigError):
        registry.add("bad", "A\\B", "h", 1)
    with pytest.raises(ConfigError):
        registry.add("bad", "AE", "h", 70000)
    with pytest.raises(ConfigError):
        registry.add("bad", "AE", "h", 1, allowed="store,delete")
    edited = registry.edit("ct", new_name="ct1", port=105, allowed="store,find")
    assert (edited.name, edited.port, edited.allows("find")) == ("ct1", 105, True)
    assert [n.name for n in registry.by_ae_title("CT_SCANNER")] == ["ct1"]
    registry.remove("ct1")
    with pytest.raises(NotFoundError):
        registry.get("ct1")


def test_transfer_log_incoming_lifecycle(core: Core) -> None:
    from core.transfers.log import ItemRecord

    log = TransferLog(core.sessions)
    tid = log.start_incoming("CT", "127.0.0.1:5000")
    with core.sessions.begin() as session:
        log.add_items(
            session,
            tid,
            [
                ItemRecord("1.1", "2.1", "3.1", "A^B", "stored", 0, 100),
                ItemRecord("1.2", "2.1", "3.1", "A^B", "stored", 0, 50),
                ItemRecord("1.3", "", "", "", "failed", 0xA700, 0, "full"),
            ],
        )
    log.finish(tid)
    row = log.list("in")[0]
    assert (row["images"], row["done"], row["failed"], row["bytes"]) == (3, 2, 1, 150)
    assert row["status"] == "failed" and "refused" in row["error"]
    studies = log.drill_down(tid)
    assert studies[0]["study_uid"] == "3.1" or studies[1]["study_uid"] == "3.1"
    unfinished = log.start_incoming("MR", "127.0.0.1:5001")
    assert log.fail_unfinished() == 1
    assert next(r for r in log.list() if r["id"] == unfinished)["status"] == "failed"


def test_dicom_node_under_plain_asyncio(core: Core) -> None:
    seen: list[NodeState] = []

    async def scenario() -> NodeState:
        node = DicomNode(core, ae_title="UNIT", port=0, bind="127.0.0.1")
        core.events.subscribe(
            NodeStateChanged, lambda e: seen.append(e.state), loop=asyncio.get_running_loop()
        )
        await node.start()
        assert node.state.running and node.state.port > 0

        def talk() -> tuple[int, int]:
            ae = AE(ae_title="UNITSCU")
            ae.add_requested_context(Verification)
            ae.add_requested_context(CTImageStorage)
            assoc = ae.associate("127.0.0.1", node.state.port, ae_title="UNIT")
            assert assoc.is_established
            echo = assoc.send_c_echo().Status
            store = assoc.send_c_store(make_dataset()).Status
            assoc.release()
            return echo, store

        assert await asyncio.to_thread(talk) == (0, 0)
        assert await asyncio.to_thread(node.wait_indexed, 30)
        await node.reset()
        assert node.state.running
        await node.stop()
        await asyncio.sleep(0)  # let queued listener calls run
        return node.state

    final = asyncio.run(scenario())
    assert not final.running
    assert core.stats()["instances"] == 1
    assert any(s.images_today == 1 for s in seen)
    assert TransferLog(core.sessions).list("in")[0]["status"] == "received"


def test_images_received_today_count_earlier_runs_but_not_yesterday(core: Core) -> None:
    from datetime import datetime, timedelta

    from sqlalchemy import update

    from core.db.models import Transfer
    from core.transfers.log import ItemRecord

    log = TransferLog(core.sessions)

    def incoming(images: int) -> int:
        tid = log.start_incoming("CT", "127.0.0.1:5000")
        items = [
            ItemRecord(f"1.2.3.{tid}.{i}", "1.2.3.1", "1.2.3", "DOE^J", "stored", 0, 10)
            for i in range(images)
        ]
        log.record_items(tid, items)
        log.finish(tid)
        return tid

    incoming(3)
    old = incoming(5)
    yesterday = datetime.now() - timedelta(days=1, hours=1)
    with core.sessions.begin() as session:
        session.execute(update(Transfer).where(Transfer.id == old).values(started_at=yesterday))

    async def scenario() -> int:
        node = DicomNode(core, ae_title="UNIT", port=0, bind="127.0.0.1")
        await node.start()
        try:
            return node.state.images_today
        finally:
            await node.stop()

    assert asyncio.run(scenario()) == 3


def test_a_bare_connection_is_not_an_association(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    """A port check (connect, then close) leaves nothing for stop to wait for or abort."""
    import socket

    async def scenario() -> None:
        node = DicomNode(core, ae_title="UNIT", port=0, bind="127.0.0.1")
        await node.start()
        for _ in range(3):
            socket.create_connection(("127.0.0.1", node.state.port), timeout=5).close()

        def echo() -> int:  # a real association after the probes: they have been accepted
            ae = AE(ae_title="UNITSCU")
            ae.add_requested_context(Verification)
            assoc = ae.associate("127.0.0.1", node.state.port, ae_title="UNIT")
            status = int(assoc.send_c_echo().Status)
            assoc.release()
            return status

        assert await asyncio.to_thread(echo) == 0
        # Without the fix stop waits out its whole grace period for the dangling
        # pynetdicom association; well under it means nothing was left behind.
        await asyncio.wait_for(node.stop(grace=60), timeout=20)

    with caplog.at_level("INFO"):
        asyncio.run(scenario())
    assert not [r for r in caplog.records if "aborting association" in r.getMessage()]
