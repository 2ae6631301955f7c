"""The send queue against real peers on loopback: DCMTK storescp and Orthanc.

A ``SendWorker`` runs in the test's own asyncio loop (as under ``serve``); the CLI tests run
``dicom-kiosk`` as child processes.
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pydicom
import pytest
from sqlalchemy import select

from core.app import Core
from core.config import load_settings
from core.db.models import TransferItem
from core.errors import TransferStateError
from core.transfers.log import FINAL_OUT
from core.transfers.sender import SendWorker
from tests.support.data import TEST_FILES, Library, dataset_bytes, load_library
from tests.support.dcmtk import StoreSCP, dcmtk_env
from tests.support.node import ROOT, KioskServer, cli
from tests.support.orthanc import Orthanc

pytestmark = pytest.mark.integration

T = TypeVar("T")
UNCOMPRESSED_LE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}


@pytest.fixture
def core(data_dir: Path) -> Iterator[Core]:
    overrides = {"fsync": False, "send_retries": 2, "send_retry_delay": 0.05}
    with Core(load_settings(data_dir, overrides)) as opened:
        yield opened


@pytest.fixture
def library(core: Core) -> Library:
    return load_library(core)


def add_node(core: Core, name: str, ae: str, port: int) -> None:
    core.registry.add(name, ae, "127.0.0.1", port)


def run_worker(core: Core, scenario: Callable[[SendWorker], Awaitable[T]]) -> T:
    """Run ``scenario`` with a started SendWorker on a fresh asyncio loop; stop it after."""

    async def main() -> T:
        worker = SendWorker(core)
        await worker.start()
        try:
            return await scenario(worker)
        finally:
            await worker.stop()

    return asyncio.run(main())


async def until(
    check: Callable[[], bool], timeout: float = 60.0, what: str = "the condition"
) -> None:
    """Poll ``check`` in a thread until it holds (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


async def final(core: Core, transfer_id: int, timeout: float = 60.0) -> dict[str, Any]:
    await until(
        lambda: core.transfers.get(transfer_id)["status"] in FINAL_OUT,
        timeout,
        f"transfer {transfer_id} to end",
    )
    return core.transfers.get(transfer_id)


# -- arrival --------------------------------------------------------------------------------------
def test_files_arrive_complete_at_storescp(core: Core, library: Library, tmp_path: Path) -> None:
    with StoreSCP(tmp_path / "scp", "+B") as scp:
        add_node(core, "scp", scp.ae_title, scp.port)
        tid = core.send([("patient", "P1"), ("patient", "P2")], "scp", "high")
        row = run_worker(core, lambda _w: final(core, tid))
        received = scp.files()
        requests = scp.requests()
    assert (row["status"], row["done"], row["failed"], row["images"]) == ("sent", 8, 0, 8)
    assert row["started"] and row["finished"] and row["attempts"] == 1
    assert sorted(received) == sorted(library.all_images())
    for sop_uid, path in received.items():
        assert dataset_bytes(path.read_bytes()) == dataset_bytes(library.data[sop_uid])
    assert {priority for _uid, priority in requests} == {"high"}
    # one association for the whole transfer
    assert scp.log().count("I: Association Acknowledged") == 1
    studies = core.transfers.levels(tid)
    assert [(s["total"], s["done"], s["status"]) for s in studies] == [
        (5, 5, "sent"),
        (2, 2, "sent"),
        (1, 1, "sent"),
    ]


def test_files_arrive_complete_at_orthanc(core: Core, library: Library) -> None:
    with Orthanc() as orthanc:
        add_node(core, "orthanc", orthanc.ae_title, orthanc.dicom_port)
        tid = core.send([("patient", "P1"), ("patient", "P2")], "orthanc")
        row = run_worker(core, lambda _w: final(core, tid))
        assert orthanc.count_instances() == 8
        ids = orthanc.get("/instances")
        arrived = {}
        for orthanc_id in ids:
            tags = orthanc.get(f"/instances/{orthanc_id}/simplified-tags")
            data = _download(orthanc.http_port, f"/instances/{orthanc_id}/file")
            arrived[tags["SOPInstanceUID"]] = data
    assert (row["status"], row["done"]) == ("sent", 8)
    assert sorted(arrived) == sorted(library.all_images())
    for sop_uid, data in arrived.items():
        ours = pydicom.dcmread(io.BytesIO(library.data[sop_uid]))
        theirs = pydicom.dcmread(io.BytesIO(data))
        assert theirs.PixelData == ours.PixelData
        assert theirs.PatientName == ours.PatientName


def _download(http_port: int, path: str) -> bytes:
    url = f"http://127.0.0.1:{http_port}{path}"
    with urllib.request.urlopen(url, timeout=60) as response:
        return bytes(response.read())


def test_priority_order(core: Core, library: Library, tmp_path: Path) -> None:
    with StoreSCP(tmp_path / "scp") as scp:
        add_node(core, "scp", scp.ae_title, scp.port)
        p2_study = library.studies("P2")[0]

        async def scenario(worker: SendWorker) -> list[int]:
            worker.pause()
            low = await asyncio.to_thread(core.send, [("patient", "P1")], "scp", "low")
            medium = await asyncio.to_thread(core.send, [("study", p2_study)], "scp", "medium")
            high = await asyncio.to_thread(core.send, [("patient", "P2")], "scp", "high")
            medium2 = await asyncio.to_thread(
                core.send, [("instance", library.all_images()[0])], "scp", "medium"
            )
            assert worker.active == []
            worker.resume()
            for tid in (low, medium, high, medium2):
                assert (await final(core, tid))["status"] == "sent"
            return [high, medium, medium2, low]

        order = run_worker(core, scenario)
        requests = scp.requests()
    expected: list[tuple[str, str]] = []
    for tid, priority in zip(order, ("high", "medium", "medium", "low"), strict=True):
        with core.sessions() as session:
            sops = session.scalars(
                select(TransferItem.sop_uid)
                .where(TransferItem.transfer_pk == tid)
                .order_by(TransferItem.id)
            ).all()
        expected.extend((sop, priority) for sop in sops)
    assert requests == expected


# -- abort, resend, delete, clear -----------------------------------------------------------------
def test_abort_stops_a_slow_transfer(core: Core, library: Library, tmp_path: Path) -> None:
    # storescp waits 30 s inside every C-STORE: only an aborted association ends one early.
    with StoreSCP(tmp_path / "scp", "--sleep-during", "30") as scp:
        add_node(core, "slow", scp.ae_title, scp.port)
        tid = core.send([("patient", "P1")], "slow")

        async def scenario(worker: SendWorker) -> float:
            await until(lambda: "Received Store Request" in scp.log(), 30, "the first C-STORE")
            assert worker.active == [tid]
            start = time.monotonic()
            await asyncio.to_thread(core.transfers.abort, tid)
            await until(lambda: worker.active == [], 10, "the sender to stop")
            return time.monotonic() - start

        stopped_after = run_worker(core, scenario)
        row = core.transfers.get(tid)
        assert (row["status"], row["done"], row["error"]) == ("aborted", 0, "aborted by the user")
        assert stopped_after < 5  # the C-STORE in flight would have taken 30 s
        with pytest.raises(TransferStateError, match="only waiting or sending transfers"):
            core.transfers.abort(tid)


def test_abort_from_another_process(core: Core, library: Library, tmp_path: Path) -> None:
    with StoreSCP(tmp_path / "scp", "--sleep-during", "30") as scp:
        add_node(core, "slow", scp.ae_title, scp.port)
        tid = core.send([("patient", "P1")], "slow")

        async def scenario(worker: SendWorker) -> float:
            await until(lambda: "Received Store Request" in scp.log(), 30, "the first C-STORE")
            result = await asyncio.to_thread(
                cli, core.settings.data_dir, "transfers", "abort", str(tid)
            )
            assert result.stdout.strip() == f"transfer {tid} aborted"
            start = time.monotonic()
            await until(lambda: worker.active == [], 10, "the sender to stop")
            return time.monotonic() - start

        stopped_after = run_worker(core, scenario)
    assert core.transfers.get(tid)["status"] == "aborted"
    assert stopped_after < 5


def test_resend_delete_and_clear(core: Core, library: Library, tmp_path: Path) -> None:
    with StoreSCP(tmp_path / "scp") as scp:
        add_node(core, "scp", scp.ae_title, scp.port)
        tid = core.send([("patient", "P2")], "scp")

        async def first(_w: SendWorker) -> dict[str, Any]:
            return await final(core, tid)

        assert run_worker(core, first)["status"] == "sent"
        with pytest.raises(TransferStateError, match=f"Transfer {tid} is sent: only waiting"):
            core.transfers.abort(tid)
        core.transfers.resend(tid)
        with pytest.raises(TransferStateError, match=f"Transfer {tid} is waiting: only sent"):
            core.transfers.resend(tid)
        row = run_worker(core, first)
        assert (row["status"], row["done"], row["attempts"]) == ("sent", 3, 1)
        sent_twice = [uid for uid, _p in scp.requests()]
        assert sorted(sent_twice) == sorted(2 * [s for s in library.all_images() if
                                                 s in _images_of(library, "P2")])  # fmt: skip
        waiting = core.send([("patient", "P1")], "scp")
        assert core.transfers.clear("out") == 1
        assert [r["id"] for r in core.transfers.list("out")] == [waiting]
        core.transfers.delete(waiting)
        assert core.transfers.list("out") == []


def _images_of(library: Library, patient: str) -> list[str]:
    return [sop for study in library.studies(patient) for s in library.series(study)
            for sop in library.images(s)]  # fmt: skip


def test_delete_while_sending_stops_it(core: Core, library: Library, tmp_path: Path) -> None:
    with StoreSCP(tmp_path / "scp", "--sleep-during", "30") as scp:
        add_node(core, "slow", scp.ae_title, scp.port)
        tid = core.send([("patient", "P1")], "slow")

        async def scenario(worker: SendWorker) -> None:
            await until(lambda: "Received Store Request" in scp.log(), 30, "the first C-STORE")
            await asyncio.to_thread(core.transfers.delete, tid)
            await until(lambda: worker.active == [], 10, "the sender to stop")

        run_worker(core, scenario)
    assert core.transfers.list("out") == []


# -- negotiation ----------------------------------------------------------------------------------
# rtdose_rle_1frame.dcm has standard elements encoded as UN (its SOP Class UID among them)
COMPRESSED = [
    "MR_small_jp2klossless.dcm",
    "693_J2KI.dcm",
    "SC_rgb_rle.dcm",
    "rtdose_rle_1frame.dcm",
]


def test_uncompressed_only_peer_receives_decompressed_images(core: Core, tmp_path: Path) -> None:
    files = [TEST_FILES / name for name in COMPRESSED if (TEST_FILES / name).exists()]
    assert len(files) == len(COMPRESSED)
    summary = core.importer.run(files)
    assert summary.imported == len(files), summary.rejected
    originals = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            ds = pydicom.dcmread(path)
            originals[str(ds.SOPInstanceUID)] = (str(ds.file_meta.TransferSyntaxUID), ds)
    assert {syntax for syntax, _ds in originals.values()} & {"1.2.840.10008.1.2.5"}
    assert {syntax for syntax, _ds in originals.values()} & {"1.2.840.10008.1.2.4.90"}
    with StoreSCP(tmp_path / "scp") as scp:  # no +xa: uncompressed transfer syntaxes only
        add_node(core, "plain", scp.ae_title, scp.port)
        tid = core.send([("instance", uid) for uid in originals], "plain")
        row = run_worker(core, lambda _w: final(core, tid))
        received = scp.files()
    assert (row["status"], row["done"], row["failed"]) == ("sent", len(files), 0), row["error"]
    assert sorted(received) == sorted(originals)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for sop_uid, path in received.items():
            got = pydicom.dcmread(path)
            assert str(got.file_meta.TransferSyntaxUID) in UNCOMPRESSED_LE
            _syntax, original = originals[sop_uid]
            assert np.array_equal(got.pixel_array, original.pixel_array)


# -- failures and restarts ------------------------------------------------------------------------
def test_peer_down_retries_then_fails(core: Core, library: Library) -> None:
    from tests.support.ports import free_port

    add_node(core, "down", "NOBODY", free_port())  # nothing listens there
    tid = core.send([("patient", "P2")], "down")

    async def scenario(_w: SendWorker) -> dict[str, Any]:
        return await final(core, tid, 30)

    row = run_worker(core, scenario)
    assert row["status"] == "failed" and row["attempts"] == 3  # send_retries = 2
    assert "refused the connection" in row["error"]
    assert "nothing listens on port" in row["error"]
    assert row["error"].endswith("(gave up after 3 attempts)")
    assert (row["done"], row["failed"]) == (0, 0)
    # the images were never offered: they stay unsent, shown with the transfer's status
    study = core.transfers.levels(tid)[0]
    assert (study["status"], study["done"], study["failed"]) == ("failed", 0, 0)


def test_a_permanent_rejection_fails_without_retries(
    core: Core, library: Library, tmp_path: Path
) -> None:
    """Our own node in known-only mode rejects an unregistered calling AE permanently."""
    peer = KioskServer(tmp_path / "strict").start("--accept", "known")
    try:
        add_node(core, "strict", peer.ae, peer.port)
        tid = core.send([("patient", "P2")], "strict")

        async def scenario(_w: SendWorker) -> dict[str, Any]:
            return await final(core, tid, 30)

        row = run_worker(core, scenario)
    finally:
        peer.stop()
    assert row["status"] == "failed" and row["attempts"] == 1
    assert "rejected the association" in row["error"]
    assert "register it there" in row["error"]  # the hint: the peer does not know our AE
    assert row["error"].endswith("(a permanent rejection: not retried)")


CT_ONLY_CONFIG = """
[[TransferSyntaxes]]
[Uncompressed]
TransferSyntax1 = LocalEndianExplicit
TransferSyntax2 = LittleEndianImplicit
[[PresentationContexts]]
[CTOnly]
PresentationContext1 = VerificationSOPClass\\Uncompressed
PresentationContext2 = CTImageStorage\\Uncompressed
[[Profiles]]
[CTOnly]
PresentationContexts = CTOnly
"""


def test_refused_images_are_recorded_not_retried(
    core: Core, library: Library, tmp_path: Path
) -> None:
    config = tmp_path / "ct-only.cfg"
    config.write_text(CT_ONLY_CONFIG)
    with StoreSCP(tmp_path / "scp", "-xf", str(config), "CTOnly") as scp:
        add_node(core, "ct-only", scp.ae_title, scp.port)
        tid = core.send([("patient", "P2")], "ct-only")  # 2 CR images and 1 CT image
        row = run_worker(core, lambda _w: final(core, tid))
        received = scp.files()
    assert (row["status"], row["done"], row["failed"], row["attempts"]) == ("failed", 1, 2, 1)
    assert row["error"].startswith("2 of 3 images failed: 0x0122")
    assert "does not accept Computed Radiography Image Storage" in row["error"]
    assert list(received) == _images_of_study(library, library.studies("P2")[1])
    chest, abdomen = core.transfers.levels(tid)
    assert (chest["status"], chest["failed"], abdomen["status"]) == ("failed", 2, "sent")
    [series] = core.transfers.levels(tid, chest["uid"])
    images = core.transfers.levels(tid, chest["uid"], series["uid"])
    assert [(i["status"], i["status_code"]) for i in images] == [("failed", 0x0122)] * 2


def _images_of_study(library: Library, study: str) -> list[str]:
    return [sop for s in library.series(study) for sop in library.images(s)]


def test_a_killed_sender_is_resumed_by_the_next(
    core: Core, library: Library, tmp_path: Path
) -> None:
    images = library.all_images()
    # storescp takes 1 s per image; `send --wait` is killed once two of them are recorded.
    with StoreSCP(tmp_path / "scp", "--sleep-during", "1") as scp:
        add_node(core, "slow", scp.ae_title, scp.port)
        process = subprocess.Popen(
            [sys.executable, "-m", "core.cli", "--data-dir", str(core.settings.data_dir),
             "send", "--to", "slow", "--patient", "P1", "--patient", "P2", "--wait"],
            cwd=ROOT, env={**dcmtk_env(), "DICOM_KIOSK_FSYNC": "false"},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                assert process.poll() is None, "the sender exited before it was killed"
                rows = core.transfers.list("out")
                if rows and rows[0]["done"] >= 2:
                    break
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        [row] = core.transfers.list("out")
        tid = row["id"]
        assert row["status"] == "sending" and 2 <= row["done"] < len(images)

        async def resume(_w: SendWorker) -> dict[str, Any]:
            return await final(core, tid, 60)

        row = run_worker(core, resume)
        received = scp.files()
        requests = scp.requests()
    assert (row["status"], row["done"], row["failed"], row["images"]) == ("sent", 8, 0, 8)
    assert row["attempts"] == 2
    assert set(received) == set(images)
    # What was recorded as sent is not sent again; at most the image in flight is.
    assert len(images) <= len(requests) <= len(images) + 1


def test_cli_send_and_transfers(
    core: Core, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = core.settings.data_dir
    monkeypatch.setenv("DICOM_KIOSK_FSYNC", "false")
    monkeypatch.setenv("DICOM_KIOSK_SEND_RETRY_DELAY", "0.05")
    with StoreSCP(tmp_path / "scp") as scp:
        add_node(core, "scp", scp.ae_title, scp.port)
        waiting = core.send([("patient", "P1")], "scp")
        queued = cli(data_dir, "send", "--to", "scp", "--patient", "P2", "--priority", "low")
        assert queued.stdout.splitlines() == [
            f"transfer {waiting + 1} queued: 3 images to scp (STORESCP@127.0.0.1:{scp.port}),"
            " priority low",
            "the kiosk or `dicom-kiosk serve` sends it; follow it with `transfers list`",
        ]
        study = library.studies("P2")[1]
        sent = cli(data_dir, "send", "--to", "scp", "--study", study, "--wait")
        assert sent.stdout.splitlines()[-1] == (
            f"transfer {waiting + 2} sent: 1 of 1 images sent, 0 failed"
        )
        assert sorted(scp.files()) == _images_of_study(library, study)
    # --wait sent only its own transfer
    assert [r["status"] for r in core.transfers.list("out")] == ["sent", "waiting", "waiting"]
    shown = json.loads(cli(data_dir, "transfers", "show", str(waiting + 2), "--json").stdout)
    assert (shown["status"], shown["done"], shown["description"]) == (
        "sent",
        1,
        "Study ABDOMEN (ROE^JANE)",
    )
    [study_row] = shown["studies"]
    assert study_row["uid"] == study and study_row["series"][0]["done"] == 1
    out = cli(data_dir, "transfers", "list", "--direction", "out", "--json")
    listed = json.loads(out.stdout)["rows"]
    assert [r["id"] for r in listed] == [waiting + 2, waiting + 1, waiting]
    refused = cli(data_dir, "transfers", "resend", str(waiting), check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"dicom-kiosk: Transfer {waiting} is waiting: only sent, aborted or failed transfers"
        " can be resent."
    )
    assert cli(data_dir, "transfers", "abort", str(waiting)).stdout.strip() == (
        f"transfer {waiting} aborted"
    )
    assert cli(data_dir, "transfers", "resend", str(waiting)).returncode == 0
    assert cli(data_dir, "transfers", "clear", "--direction", "out").stdout.strip() == (
        "removed 1 sent transfers"
    )
    assert cli(data_dir, "transfers", "delete", str(waiting + 1)).returncode == 0
    text = cli(data_dir, "transfers", "show", str(waiting), "--images").stdout
    assert "waiting" in text and "image 1" in text
    # Nothing listens on the node's port any more: --wait retries, fails and exits 1.
    failed = cli(data_dir, "send", "--to", "scp", "--patient", "P2", "--wait", check=False)
    assert failed.returncode == 1
    assert "failed: 0 of 3 images sent" in failed.stdout
    assert "(gave up after 4 attempts)" in failed.stdout


def test_serve_sends_what_the_cli_queued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.node import KioskServer

    data_dir = tmp_path / "served"
    with Core(load_settings(data_dir, {"fsync": False})) as core:
        library = load_library(core)
    with StoreSCP(tmp_path / "scp") as scp:
        cli(data_dir, "nodes", "add", "scp", "--ae", scp.ae_title, "--host", "127.0.0.1",
            "--port", str(scp.port))  # fmt: skip
        server = KioskServer(data_dir).start()
        try:
            queued = cli(data_dir, "send", "--to", "scp", "--patient", "P1")
            assert "queued: 5 images" in queued.stdout
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(scp.files()) < 5:
                time.sleep(0.05)
            listed = json.loads(cli(data_dir, "transfers", "list", "--json").stdout)["rows"]
            while time.monotonic() < deadline and listed[0]["status"] != "sent":
                time.sleep(0.1)
                listed = json.loads(cli(data_dir, "transfers", "list", "--json").stdout)["rows"]
        finally:
            assert server.stop() == 0
        assert sorted(scp.files()) == sorted(_images_of(library, "P1"))
    assert listed[0]["status"] == "sent" and listed[0]["done"] == 5


def test_stop_hands_back_a_transfer_stuck_connecting(core: Core, library: Library) -> None:
    """A peer that takes the connection but never answers the association request."""
    with socket.socket() as frozen:
        frozen.bind(("127.0.0.1", 0))
        frozen.listen(4)  # never accepted: the kernel completes the handshake, nobody answers
        add_node(core, "frozen", "FROZEN", frozen.getsockname()[1])
        tid = core.send([("patient", "P2")], "frozen")

        async def scenario() -> float:
            worker = SendWorker(core)
            await worker.start()
            try:
                await until(lambda: worker.active == [tid], 30, "the transfer to start")
            finally:
                start = time.monotonic()
                await worker.stop()
            return time.monotonic() - start

        stopped_after = asyncio.run(scenario())
    row = core.transfers.get(tid)
    assert (row["status"], row["done"], row["error"]) == ("waiting", 0, "")
    assert stopped_after < 20  # not the 30 s connection timeout
