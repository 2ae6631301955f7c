"""``dicom-kiosk screenshot VIEW OUT.png``: render a kiosk view offscreen to a PNG."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from core.app import Core
from core.config import load_settings
from core.db.browse import StudyFilter
from core.dicom.synth import demo_instances
from core.index.importer import MemorySource

NETWORK_VIEWS = ("query", "query-series", "query-options", "settings", "node-editor")


def _process(app: object, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.01)


def run_screenshot(args: argparse.Namespace) -> int:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    import qasync
    from PySide6.QtGui import QGuiApplication

    from viewmodels.kiosk import build_kiosk, prepare_qt

    width, height = args.size
    temp: tempfile.TemporaryDirectory[str] | None = None
    if args.demo:
        temp = tempfile.TemporaryDirectory(prefix="dicom-kiosk-shot-")
        # Our node listens on a free loopback port: the Query tab's pictures query it.
        demo_node = {"port": _free_port(), "bind": "127.0.0.1"}
        settings = load_settings(temp.name, {"fsync": False, **demo_node})
    else:
        settings = load_settings(args.data_dir, {"db_url": args.db_url})
    prepare_qt(virtual_keyboard=False, software=True)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    core = Core(settings)
    core.open()
    try:
        if args.demo and args.view != "first-run":
            importer = core.importer
            importer.run_sources(
                [MemorySource(f"demo #{i}", d) for i, d in enumerate(demo_instances(6, 1234))],
                source_name="demo",
            )
        kiosk = build_kiosk(core, theme=args.shot_theme or getattr(args, "theme", None))
        window = kiosk.window()
        window.resize(width, height)
        model = kiosk.app_model
        with loop:
            loop.run_until_complete(model.start())  # type: ignore[attr-defined]
            loop.run_until_complete(stage(kiosk, args.view))
            _process(app, 0.3)
            kiosk.thumbnails.wait_idle()  # type: ignore[attr-defined]
            _process(app, 0.5)
            image = window.grabWindow()
            loop.run_until_complete(model.node.stop(grace=1.0))  # type: ignore[attr-defined]
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out)):
            print(f"dicom-kiosk: cannot write {out}", file=sys.stderr)
            return 1
        print(f"{args.view}: {out} ({image.width()}x{image.height()})")
        model.stop()  # type: ignore[attr-defined]
        return 0
    finally:
        core.close()
        if temp is not None:
            temp.cleanup()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _item(window: Any, name: str) -> Any:
    """A QML item (visual tree) or popup (object tree) by objectName."""
    from PySide6.QtCore import QObject

    stack = [window.contentItem()]
    while stack:
        item = stack.pop()
        if item.objectName() == name:
            return item
        stack.extend(item.childItems())
    return window.findChild(QObject, name)


async def stage_network(kiosk: object, view: str) -> None:
    """Query/Retrieve and Settings: our node runs with the demo data and is registered as the
    remote node "PACS"; the Query tab queries it for real."""
    from PySide6.QtCore import Q_ARG, QMetaObject, Qt

    model = kiosk.app_model  # type: ignore[attr-defined]
    window = kiosk.window()  # type: ignore[attr-defined]
    core = kiosk.core  # type: ignore[attr-defined]
    await model.node.start()
    registry = core.registry
    registry.add("PACS", "PACS", "127.0.0.1", model.node.port, "move")
    registry.add("Archive", "ARCHIVE", "10.20.0.15", 104, "get", ["store"])
    registry.add("CT room 1", "CT_ROOM1", "10.20.4.31", 104, "move", ["store"])
    await model.settings.load()
    await model.queryRetrieve.load_nodes()
    qr = model.queryRetrieve
    qr.setNode("PACS")
    if view in ("query", "query-series", "query-options"):
        _item(window, "tab_2").click()
        if view == "query-options":
            _item(window, "qrOptionsTab").click()
            return
        await qr.query()
        await _settle()
        if view == "query-series":
            rows = qr.studies.rows()
            best = max(range(len(rows)), key=lambda i: rows[i]["NumberOfStudyRelatedSeries"] or 0)
            qr.selectStudy(best)
            await _settle()
            qr.selectSeries(0)
            await _settle()
        return
    _item(window, "tab_3").click()
    await model.settings.testNode("PACS")
    await _settle()
    if view == "node-editor":
        editor = _item(window, "nodeEditor")
        QMetaObject.invokeMethod(
            editor, "edit", Qt.ConnectionType.DirectConnection, Q_ARG("QVariant", "PACS")
        )
        await _settle()


async def stage(kiosk: object, view: str) -> None:
    """Put the kiosk into the state ``view`` shows: a selection, an open dialog..."""
    model = kiosk.app_model  # type: ignore[attr-defined]
    window = kiosk.window()  # type: ignore[attr-defined]
    db = model.database
    if view == "first-run":
        return
    if view in ("transfers", "transfers-incoming", "transfer-details"):
        await stage_transfer_log(kiosk, view)
        return
    if view in NETWORK_VIEWS:
        await stage_network(kiosk, view)
        return
    studies = db.level_model("study")
    patients = db.level_model("patient")
    # A patient with a CT or MR study makes the most telling pictures.
    rows = studies.rows()
    pick = next((r for r in rows if "CT" in r["ModalitiesInStudy"]), rows[0] if rows else None)
    if pick is not None:
        index = next(
            i for i, r in enumerate(patients.rows()) if r["PatientID"] == pick["PatientID"]
        )
        patients.select(index, False)
        await _settle()
        index = next(
            i
            for i, r in enumerate(studies.rows())
            if r["StudyInstanceUID"] == pick["StudyInstanceUID"]
        )
        studies.select(index, False)
        await _settle()
    if view == "database":
        return
    if view == "database-images":
        series = db.level_model("series")
        if series.rowCount() > 0:
            series.select(0, False)
            await _settle()
        db.toggleLevel("image")
        await _settle()
        return
    if view == "database-filters":
        current = db.level_model("patient").current_row()
        if current is not None:
            db.filter_model.setPatientName(str(current["PatientName"])[:3] + "*")
        db.filter_model.lastDays(900)
        db.filter_model.set_shown(True)
        await db.filter_model.load_choices()
        return
    if view == "send-dialog":
        nodes = kiosk.core.registry  # type: ignore[attr-defined]
        await asyncio.to_thread(nodes.add, "PACS", "PACS", "10.20.0.5", 104)
        await asyncio.to_thread(nodes.add, "Reading room 2", "RR2_WS", "10.20.1.42", 11112)
    if view in ("send-dialog", "export-dialog"):
        dialog = window.findChild(object, "sendDialog" if view == "send-dialog" else "exportDialog")
        dialog.open()
        await _settle()
        return
    if view == "viewer":
        series = db.level_model("series")
        if series.rowCount() > 0:
            series.select(0, False)
            await _settle()
        await db.load_selection()
        viewer = model.viewer
        await _settle()
        viewer.step(viewer.count // 2)
        await _settle()
        viewer.applyPreset("Lung")
        await _settle()
        viewer.probe(0.5, 0.3)


async def _settle(seconds: float = 0.4) -> None:
    """Let queued loads (selection cascades run as tasks) finish."""
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    if pending:
        await asyncio.wait(pending, timeout=seconds * 10)
    await asyncio.sleep(0.05)


def seed_demo_transfers(core: Core) -> dict[str, int]:
    """Queue demo transfers and record their outcomes through the send queue, as a sender
    would (the picture needs no network): sent, failed images, aborted, a peer that could not
    be reached, one half sent, one waiting; and two incoming, one with a refused image."""
    from core.transfers.log import ITEM_FAILED, ITEM_STORED, ItemRecord
    from core.transfers.queue import ItemResult, SendQueue, make_owner

    nodes = core.registry
    nodes.add("PACS", "PACS", "10.20.0.5", 104)
    nodes.add("Reading room 2", "RR2_WS", "10.20.1.42", 11112)
    nodes.add("Cardiology", "CARDIO", "10.20.3.7", 104)
    rows = core.list_rows("study", StudyFilter(), limit=20)
    studies = [("study", s["StudyInstanceUID"]) for s in rows]
    biggest = max(rows[1:], key=lambda s: int(s["NumberOfStudyRelatedInstances"] or 0))
    queue, owner, log = SendQueue(core.sessions, core.transfers), make_owner(), core.transfers
    store = core.settings.store_dir

    def claim(transfer_id: int) -> list[int]:
        if queue.claim_next(owner, only=[transfer_id]) is None:
            raise RuntimeError(f"demo transfer {transfer_id} could not be claimed")
        return [item.id for item in queue.pending_items(transfer_id, store)]

    ids: dict[str, int] = {}
    ids["sent"] = core.send([studies[0]], "PACS", "high")
    items = claim(ids["sent"])
    queue.record(ids["sent"], [ItemResult(i, True, 0) for i in items])
    queue.finish(ids["sent"], owner)

    ids["failed"] = core.send(studies[1:3], "Cardiology", "medium")
    items = claim(ids["failed"])
    refused = "Out of resources (0xA700): the destination's storage is full"
    ok = len(items) - 2  # the last two are refused
    queue.record(
        ids["failed"],
        [ItemResult(i, True, 0) for i in items[:ok]]
        + [ItemResult(i, False, 0xA700, refused) for i in items[ok:]],
    )
    queue.finish(ids["failed"], owner)

    ids["aborted"] = core.send([studies[3]], "Reading room 2", "low")
    log.abort(ids["aborted"])

    ids["unreachable"] = core.send([studies[4]], "Cardiology", "medium")
    claim(ids["unreachable"])
    queue.retry_or_fail(
        ids["unreachable"],
        owner,
        "could not connect to CARDIO at 10.20.3.7:104: connection refused",
        attempt=4,
        retries=3,
        delay=5.0,
    )

    ids["sending"] = core.send(studies[:2], "PACS", "high")
    items = claim(ids["sending"])
    queue.record(ids["sending"], [ItemResult(i, True, 0) for i in items[: len(items) // 2]])

    ids["waiting"] = core.send(studies[2:4], "Reading room 2", "medium")

    # Incoming: a scanner's study (one image refused), and a workstation's series.
    for ae, address, node, refuse in (
        ("CT_SCANNER", "10.20.5.11:4012", "", True),
        ("RR2_WS", "10.20.1.42:50112", "Reading room 2", False),
    ):
        uid = biggest["StudyInstanceUID"] if refuse else studies[0][1]
        name = core.list_rows("study", StudyFilter(study_uid=uid), limit=1)[0]["PatientName"]
        series = core.list_rows("series", StudyFilter(study_uid=uid), limit=5)
        incoming = log.start_incoming(ae, address, node)
        records = []
        for s in series:
            flt = StudyFilter(series_uid=s["SeriesInstanceUID"])
            for image in core.list_rows("image", flt, limit=50):
                records.append(
                    ItemRecord(
                        image["SOPInstanceUID"],
                        s["SeriesInstanceUID"],
                        uid,
                        str(name or ""),
                        ITEM_STORED,
                        0,
                        int(image.get("FileSize") or 0),
                    )
                )
        if refuse and records:
            last = records[-1]
            records[-1] = ItemRecord(
                last.sop_uid,
                last.series_uid,
                uid,
                last.patient_name,
                ITEM_FAILED,
                0xA700,
                0,
                "Out of resources: the store is full",
            )
        log.record_items(incoming, records)
        log.finish(incoming)
        ids["in-failed" if refuse else "in-received"] = incoming
    return ids


async def stage_transfer_log(kiosk: object, view: str) -> None:
    """The Transfer Log tab with demo transfers; a failed one opened down to its series."""
    model = kiosk.app_model  # type: ignore[attr-defined]
    window = kiosk.window()  # type: ignore[attr-defined]
    core = kiosk.core  # type: ignore[attr-defined]
    ids = await asyncio.to_thread(seed_demo_transfers, core)
    for item in _items(window.contentItem()):
        if item.objectName() == "tab_1":
            item.click()
    log = model.transfers
    if view == "transfers-incoming":
        await log.showTransfer(ids["in-failed"])
        await _settle()
        return
    await log.showTransfer(ids["failed"])
    await _settle()
    await log.showLevel(_first_failed(log.levels.rows()))  # the study with the failures
    await _settle()
    if view == "transfer-details":
        await log.showLevel(_first_failed(log.levels.rows()))
        await _settle()
        log.openDetails()  # no row of the table selected: the transfer's own details
        dialog = window.findChild(object, "transferDetailsDialog")
        dialog.open()
        await _settle()


def _first_failed(rows: list[dict[str, Any]]) -> int:
    return next((i for i, r in enumerate(rows) if r["failed"]), 0)


def _items(root: Any) -> Any:
    yield root
    for child in root.childItems():
        yield from _items(child)
