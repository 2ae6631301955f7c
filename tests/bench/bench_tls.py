"""DICOM TLS against plain TCP, in the same run: receive and send, as a ratio (goal: 0.8x).

Receive: ``BENCH_TLS_IMAGES`` (1000) generated ~40 KB CT images sent by DCMTK storescu on
loopback to ``dicom-kiosk serve``, to its plain port and to its TLS port (storescu ``+tls``
with a client certificate; the node requires one, signed by the test CA), over one
association and over 4 parallel ones; a fresh node for each run, the clock stopping when
every image is indexed. The reference: the same sends to DCMTK storescp, plain and ``+tls``
(what TLS costs DCMTK itself).

Send: our send queue (``Core.send`` + ``SendWorker``, as bench_send) to DCMTK storescp, plain
and ``+tls`` (requiring our client certificate), the clock stopping when storescp has written
every file; the reference: DCMTK storescu sending the same files, plain and ``+tls``.

The node runs with the fsync setting off: with it on, each image waits for the disk, which
hides what TLS costs in CPU (``BENCH_TLS_FSYNC=1`` measures with it on). Certificates are
RSA 2048, made for the run (tests.support.pki); TLS 1.3 is what both ends negotiate. Each
contender runs ``BENCH_TLS_ROUNDS`` (3) interleaved rounds and its best time counts (the
machine is shared); the ratio is plain time / TLS time: 1.0 costs nothing, higher is better.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from core.app import Core
from core.config import load_settings
from core.db.queries import StudyFilter
from core.dicom.synth import ct_series
from core.transfers.log import FINAL_OUT
from core.transfers.sender import SendWorker
from tests.support.dcmtk import StoreSCP, dcmtk, dcmtk_env
from tests.support.node import KioskServer
from tests.support.pki import Pki, have_openssl, make_pki
from tests.support.ports import free_port, port_open, wait_for

COUNT = int(os.environ.get("BENCH_TLS_IMAGES", "1000"))
ROUNDS = int(os.environ.get("BENCH_TLS_ROUNDS", "3"))
FSYNC = os.environ.get("BENCH_TLS_FSYNC", "0") not in ("", "0", "false")
PARALLEL = 4
GOAL = 0.8  # TLS throughput at least 0.8x plain (issue 21)
AE = "STORESCP"


def _make_series(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for i, data in enumerate(ct_series(COUNT)):
        path = folder / f"{i:05d}.dcm"
        path.write_bytes(data)
        files.append(path)
    return files


def _tls_args(pki: Pki | None) -> list[str]:
    """storescu's options for TLS with our client certificate (none: plain)."""
    if pki is None:
        return []
    return ["+tls", str(pki.client_key), str(pki.client_cert), "+cf", str(pki.ca)]


def _storescu(port: int, ae: str, groups: list[list[Path]], pki: Pki | None) -> None:
    senders = [
        subprocess.Popen(
            [
                dcmtk("storescu"),
                *_tls_args(pki),
                "-aec",
                ae,
                "127.0.0.1",
                str(port),
                *map(str, group),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dcmtk_env(),
        )  # fmt: skip
        for group in groups
    ]
    for sender in senders:
        _out, err = sender.communicate(timeout=600)
        if sender.returncode != 0:
            raise RuntimeError(f"storescu failed: {err.decode(errors='replace')[-500:]}")


def _timed(send: Callable[[], None], counted: Callable[[], int], expected: int) -> float:
    start = time.perf_counter()
    send()
    wait_for(lambda: counted() >= expected, 300, f"{expected} images counted", 0.002)
    return time.perf_counter() - start


def _groups(files: list[Path], parallel: int) -> list[list[Path]]:
    return [files[i::parallel] for i in range(parallel)]


def _indexed(data_dir: Path) -> Callable[[], int]:
    db = data_dir / "index.sqlite"

    def count() -> int:
        with sqlite3.connect(db, timeout=30) as conn:
            return int(conn.execute("SELECT count(*) FROM instance").fetchone()[0])

    return count


def _scp(folder: Path, pki: Pki | None) -> StoreSCP:
    tls = (
        ["+tls", str(pki.server_key), str(pki.server_cert), "-rc", "+cf", str(pki.ca)]
        if pki
        else []
    )
    return StoreSCP(folder, *tls, ae_title=AE, debug=False)


# -- receive -----------------------------------------------------------------------------------
def receive_kiosk(base: Path, files: list[Path], parallel: int, pki: Pki | None) -> float:
    """Our node, sent to on its plain port or (``pki``) its TLS port."""
    env = {"DICOM_KIOSK_FSYNC": "true" if FSYNC else "false"}
    tls_port = free_port()
    if pki is not None:
        env.update({
            "DICOM_KIOSK_TLS_PORT": str(tls_port),
            "DICOM_KIOSK_TLS_CERT_FILE": str(pki.server_cert),
            "DICOM_KIOSK_TLS_KEY_FILE": str(pki.server_key),
            "DICOM_KIOSK_TLS_CA_FILE": str(pki.ca),
            "DICOM_KIOSK_TLS_REQUIRE_CLIENT_CERT": "true",
        })  # fmt: skip
    server = KioskServer(base / f"kiosk-{parallel}-{'tls' if pki else 'plain'}", env=env).start()
    try:
        port = server.port
        if pki is not None:
            wait_for(lambda: port_open(tls_port), 30, "the TLS port to open")
            port = tls_port
        return _timed(
            lambda: _storescu(port, server.ae, _groups(files, parallel), pki),
            _indexed(server.data_dir),
            len(files),
        )
    finally:
        server.stop()


def receive_storescp(base: Path, files: list[Path], parallel: int, pki: Pki | None) -> float:
    folder = base / f"storescp-{parallel}-{'tls' if pki else 'plain'}"
    scp = _scp(folder, pki)
    if parallel > 1:
        scp.options = ("--fork", *scp.options)  # storescp serves one association at a time
    scp.start()
    try:
        return _timed(
            lambda: _storescu(scp.port, AE, _groups(files, parallel), pki), scp.count, len(files)
        )
    finally:
        scp.stop()


# -- send --------------------------------------------------------------------------------------
class QueueSender:
    """A Core with the series imported, sending it with a SendWorker to a registered node."""

    def __init__(self, base: Path, files: list[Path], pki: Pki) -> None:
        self.pki = pki
        self.core = Core(load_settings(base / "kiosk-sender", {"fsync": False}))
        self.core.open()
        summary = self.core.importer.run(files)
        if summary.imported != len(files):
            raise RuntimeError(f"import failed: {summary.rejected[:3]}")
        rows = self.core.list_rows("study", StudyFilter(), limit=1)
        self.study = rows[0]["StudyInstanceUID"]
        self.core.registry.add("scp", AE, "127.0.0.1", 104)

    def close(self) -> None:
        self.core.close()

    def run(self, receiver: StoreSCP, tls: bool) -> float:
        core, pki = self.core, self.pki
        core.registry.edit(
            "scp", port=receiver.port, tls=tls, tls_ca_file=str(pki.ca),
            tls_cert_file=str(pki.client_cert), tls_key_file=str(pki.client_key),
        )  # fmt: skip

        async def send() -> None:
            worker = SendWorker(core)
            await worker.start()
            try:
                tid = await asyncio.to_thread(core.send, [("study", self.study)], "scp")
                while tid not in worker.active:  # watch the worker, not the database
                    if core.transfers.get(tid)["status"] in FINAL_OUT:
                        break
                    await asyncio.sleep(0.002)
                while tid in worker.active:
                    await asyncio.sleep(0.002)
                row = core.transfers.get(tid)
                if row["status"] != "sent":
                    raise RuntimeError(f"transfer {tid} {row['status']}: {row['error']}")
            finally:
                await worker.stop()

        return _timed(lambda: asyncio.run(send()), receiver.count, COUNT)


def send_storescu(files: list[Path], receiver: StoreSCP, pki: Pki | None) -> float:
    return _timed(lambda: _storescu(receiver.port, AE, [files], pki), receiver.count, len(files))


# -- the run -----------------------------------------------------------------------------------
def _ratio_line(name: str, plain: float, tls: float, goal: bool) -> str:
    ratio = plain / tls
    verdict = ""
    if goal:
        verdict = "  goal met" if ratio >= GOAL else f"  GOAL NOT MET (goal {GOAL:.1f}x)"
    return f"  {name:34} TLS/plain {ratio:5.2f}x{verdict}"


def _print(times: dict[str, float], count: int) -> None:
    for name, seconds in times.items():
        print(f"  {name:34} {seconds:6.2f} s  {count / seconds:8.1f} images/s")


def _receive(base: Path, files: list[Path], pki: Pki) -> None:
    for parallel in (1, PARALLEL):
        runs: dict[str, Callable[[Path], float]] = {}
        for label, tls in (("plain", None), ("TLS", pki)):
            runs[f"dicom-kiosk serve, {label}"] = partial(
                receive_kiosk, files=files, parallel=parallel, pki=tls
            )
            runs[f"DCMTK storescp, {label}"] = partial(
                receive_storescp, files=files, parallel=parallel, pki=tls
            )
        times: dict[str, float] = {}
        for round_ in range(ROUNDS):
            for name, run in runs.items():
                folder = base / f"receive-{parallel}-{round_}"
                folder.mkdir(exist_ok=True)
                seconds = run(folder)
                times[name] = min(times.get(name, seconds), seconds)
        label = "1 association" if parallel == 1 else f"{parallel} parallel associations"
        print(f"-- receive, {label}")
        _print(times, len(files))
        for who, goal in (("dicom-kiosk serve", True), ("DCMTK storescp", False)):
            print(_ratio_line(who, times[f"{who}, plain"], times[f"{who}, TLS"], goal))


def _send(base: Path, files: list[Path], pki: Pki) -> None:
    queue = QueueSender(base, files, pki)
    try:
        senders: dict[str, Callable[[StoreSCP], float]] = {
            "dicom-kiosk queue, plain": lambda r: queue.run(r, tls=False),
            "dicom-kiosk queue, TLS": lambda r: queue.run(r, tls=True),
            "DCMTK storescu, plain": lambda r: send_storescu(files, r, None),
            "DCMTK storescu, TLS": lambda r: send_storescu(files, r, pki),
        }
        times: dict[str, float] = {}
        for round_ in range(ROUNDS):
            for index, (name, run) in enumerate(senders.items()):
                receiver = _scp(base / f"send-{round_}-{index}", pki if "TLS" in name else None)
                receiver.start()
                try:
                    seconds = run(receiver)
                finally:
                    receiver.stop()
                times[name] = min(times.get(name, seconds), seconds)
    finally:
        queue.close()
    print("-- send, 1 association, to DCMTK storescp")
    _print(times, len(files))
    for who, goal in (("dicom-kiosk queue", True), ("DCMTK storescu", False)):
        print(_ratio_line(who, times[f"{who}, plain"], times[f"{who}, TLS"], goal))


def main() -> None:
    if not have_openssl():
        print("skipped: the openssl command is not installed")
        return
    base = Path(tempfile.mkdtemp(prefix="bench-tls-"))
    try:
        pki = make_pki(base / "pki")
        files = _make_series(base / "series")
        size = sum(p.stat().st_size for p in files) / len(files)
        print(f"{len(files)} CT images, {size / 1024:.1f} KB each, on loopback; node fsync "
              f"{'on' if FSYNC else 'off'}; best of {ROUNDS} interleaved rounds")  # fmt: skip
        _receive(base, files, pki)
        _send(base, files, pki)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
