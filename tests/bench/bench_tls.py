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

import os
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from tests.bench import common
from tests.bench.common import QueueSender, best, in_folders, interleaved, make_series, timed
from tests.support.dcmtk import StoreSCP
from tests.support.pki import Pki, have_openssl, make_pki
from tests.support.ports import free_port

COUNT = int(os.environ.get("BENCH_TLS_IMAGES", "1000"))
ROUNDS = int(os.environ.get("BENCH_TLS_ROUNDS", "3"))
FSYNC = os.environ.get("BENCH_TLS_FSYNC", "0") not in ("", "0", "false")
PARALLEL = 4
GOAL = 0.8  # TLS throughput at least 0.8x plain (issue 21)
AE = "STORESCP"


def _tls_args(pki: Pki | None) -> list[str]:
    """storescu's options for TLS with our client certificate (none: plain)."""
    if pki is None:
        return []
    return ["+tls", str(pki.client_key), str(pki.client_cert), "+cf", str(pki.ca)]


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
    tls_port = None
    if pki is not None:
        tls_port = free_port()
        env.update({
            "DICOM_KIOSK_TLS_PORT": str(tls_port),
            "DICOM_KIOSK_TLS_CERT_FILE": str(pki.server_cert),
            "DICOM_KIOSK_TLS_KEY_FILE": str(pki.server_key),
            "DICOM_KIOSK_TLS_CA_FILE": str(pki.ca),
            "DICOM_KIOSK_TLS_REQUIRE_CLIENT_CERT": "true",
        })  # fmt: skip
    data_dir = base / f"kiosk-{parallel}-{'tls' if pki else 'plain'}"
    return common.receive_kiosk(data_dir, files, parallel, env, tls_port, _tls_args(pki))


def receive_storescp(base: Path, files: list[Path], parallel: int, pki: Pki | None) -> float:
    scp = _scp(base / f"storescp-{parallel}-{'tls' if pki else 'plain'}", pki)
    return common.receive_storescp(scp, files, parallel, _tls_args(pki))


# -- send --------------------------------------------------------------------------------------
def send_queue(queue: QueueSender, pki: Pki, receiver: StoreSCP, tls: bool) -> float:
    """Our send queue to a node registered with the TLS setting ``tls`` and our client
    certificate."""
    return queue.run(
        receiver, tls=tls, tls_ca_file=str(pki.ca), tls_cert_file=str(pki.client_cert),
        tls_key_file=str(pki.client_key),
    )  # fmt: skip


def send_storescu(files: list[Path], receiver: StoreSCP, pki: Pki | None) -> float:
    send = partial(common.storescu, receiver.port, AE, [files], _tls_args(pki))
    return timed(send, receiver.count, len(files))


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
        rounds = in_folders(runs, base, f"receive-{parallel}")
        times = best(interleaved(rounds, ROUNDS))
        label = "1 association" if parallel == 1 else f"{parallel} parallel associations"
        print(f"-- receive, {label}")
        _print(times, len(files))
        for who, goal in (("dicom-kiosk serve", True), ("DCMTK storescp", False)):
            print(_ratio_line(who, times[f"{who}, plain"], times[f"{who}, TLS"], goal))


def _send(base: Path, files: list[Path], pki: Pki) -> None:
    queue = QueueSender(base / "kiosk-sender", files, AE)
    try:
        senders: dict[str, Callable[[StoreSCP], float]] = {
            "dicom-kiosk queue, plain": partial(send_queue, queue, pki, tls=False),
            "dicom-kiosk queue, TLS": partial(send_queue, queue, pki, tls=True),
            "DCMTK storescu, plain": partial(send_storescu, files, pki=None),
            "DCMTK storescu, TLS": partial(send_storescu, files, pki=pki),
        }

        def receiver(index: int, tls: bool) -> Callable[[int], StoreSCP]:
            return lambda r: _scp(base / f"send-{r}-{index}", pki if tls else None)

        runs = {
            name: common.with_storescp(run, receiver(index, "TLS" in name))
            for index, (name, run) in enumerate(senders.items())
        }
        times = best(interleaved(runs, ROUNDS))
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
        files = make_series(base / "series", COUNT)
        size = sum(p.stat().st_size for p in files) / len(files)
        print(f"{len(files)} CT images, {size / 1024:.1f} KB each, on loopback; node fsync "
              f"{'on' if FSYNC else 'off'}; best of {ROUNDS} interleaved rounds")  # fmt: skip
        _receive(base, files, pki)
        _send(base, files, pki)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
