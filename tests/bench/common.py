"""What the DICOM network benchmarks share (bench_node, bench_send, bench_tls, bench_audit).

Generated series on disk, DCMTK storescu runs (parallel associations, optional extra options
such as ``+tls``), the clock from a send until every image counts, image counters, a node or
storescp receiving one timed send, our send queue as a sender, and interleaved rounds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from core.app import Core
from core.config import load_settings
from core.db.queries import StudyFilter
from core.dicom.synth import ct_series
from core.transfers.log import FINAL_OUT
from core.transfers.sender import SendWorker
from tests.support.dcmtk import StoreSCP, dcmtk, dcmtk_env
from tests.support.node import KioskServer
from tests.support.ports import port_open, wait_for


def make_series(folder: Path, count: int) -> list[Path]:
    """``count`` generated ~40 KB CT images written to ``folder`` (created)."""
    folder.mkdir(parents=True)
    files = []
    for i, data in enumerate(ct_series(count)):
        path = folder / f"{i:05d}.dcm"
        path.write_bytes(data)
        files.append(path)
    return files


def groups(files: list[Path], parallel: int) -> list[list[Path]]:
    """``files`` dealt into ``parallel`` groups, one an association."""
    return [files[i::parallel] for i in range(parallel)]


def storescu(
    port: int, ae: str, associations: list[list[Path]], options: Sequence[str] = ()
) -> None:
    """DCMTK storescu sending each group of files over its own association, all at once; its
    ``options`` (e.g. ``+tls ...``) go before the address. ``RuntimeError`` if one fails."""
    senders = [
        subprocess.Popen(
            [dcmtk("storescu"), *options, "-aec", ae, "127.0.0.1", str(port), *map(str, group)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=dcmtk_env(),
        )
        for group in associations
    ]
    for sender in senders:
        _out, err = sender.communicate(timeout=600)
        if sender.returncode != 0:
            raise RuntimeError(f"storescu failed: {err.decode(errors='replace')[-500:]}")


def timed(
    send: Callable[[], None],
    counted: Callable[[], int],
    expected: int,
    what: str = "images counted",
) -> float:
    """Seconds from calling ``send`` until ``counted()`` reaches ``expected``."""
    start = time.perf_counter()
    send()
    wait_for(lambda: counted() >= expected, 300, f"{expected} {what}", 0.002)
    return time.perf_counter() - start


def count_rows(db: Path, table: str) -> int:
    """Rows in ``table`` of the SQLite database ``db`` (its own connection)."""
    with sqlite3.connect(db, timeout=30) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def indexed(data_dir: Path) -> Callable[[], int]:
    """A counter of the images indexed in a node's data directory."""
    db = data_dir / "index.sqlite"
    return lambda: count_rows(db, "instance")


def receive_kiosk(
    data_dir: Path,
    files: list[Path],
    parallel: int,
    env: dict[str, str],
    tls_port: int | None = None,
    options: Sequence[str] = (),
) -> float:
    """A fresh ``dicom-kiosk serve`` (``env`` added to its environment) receiving ``files``
    from storescu over ``parallel`` associations: to ``tls_port`` once it opens if given,
    else to its plain port; seconds until every image is indexed."""
    server = KioskServer(data_dir, env=env).start()
    try:
        port = server.port
        if tls_port is not None:
            wait_for(lambda: port_open(tls_port), 30, "the TLS port to open")
            port = tls_port
        return timed(
            lambda: storescu(port, server.ae, groups(files, parallel), options),
            indexed(server.data_dir),
            len(files),
        )
    finally:
        server.stop()


def receive_storescp(
    scp: StoreSCP, files: list[Path], parallel: int, options: Sequence[str] = ()
) -> float:
    """``scp`` (not yet started; forking for parallel associations) receiving ``files`` from
    storescu over ``parallel`` associations; seconds until it has written every file."""
    if parallel > 1:
        scp.options = ("--fork", *scp.options)  # storescp serves one association at a time
    scp.start()
    try:
        return timed(
            lambda: storescu(scp.port, scp.ae_title, groups(files, parallel), options),
            scp.count,
            len(files),
        )
    finally:
        scp.stop()


class QueueSender:
    """Our side: a Core with the series imported, sending it with a SendWorker to the node
    "scp" (AE title ``ae``, its port and other fields set by each ``run``)."""

    def __init__(self, data_dir: Path, files: list[Path], ae: str) -> None:
        self.count = len(files)
        self.core = Core(load_settings(data_dir, {"fsync": False}))
        self.core.open()
        summary = self.core.importer.run(files)
        if summary.imported != len(files):
            raise RuntimeError(f"import failed: {summary.rejected[:3]}")
        rows = self.core.list_rows("study", StudyFilter(), limit=1)
        self.study = rows[0]["StudyInstanceUID"]
        self.core.registry.add("scp", ae, "127.0.0.1", 104)

    def close(self) -> None:
        self.core.close()

    def run(self, receiver: StoreSCP, what: str = "images counted", **node: Any) -> float:
        """Send the study to ``receiver`` (the node's fields edited to ``node`` first);
        seconds until the transfer is sent and the receiver has written every file."""
        core = self.core
        core.registry.edit("scp", port=receiver.port, **node)

        async def send() -> None:
            worker = SendWorker(core)
            await worker.start()
            try:
                tid = await asyncio.to_thread(core.send, [("study", self.study)], "scp")
                # Watch the worker, not the database: polling SQL would slow the sender.
                while tid not in worker.active:
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

        return timed(lambda: asyncio.run(send()), receiver.count, self.count, what)


def interleaved(runs: Mapping[str, Callable[[int], float]], rounds: int) -> dict[str, list[float]]:
    """Each contender run once a round, in turn, for ``rounds`` rounds (the machine is shared:
    interleaving spreads other jobs' load over all); its seconds in order, by name. A run is
    given the round's index."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(rounds):
        for name, run in runs.items():
            times[name].append(run(round_))
    return times


def with_storescp(
    run: Callable[[StoreSCP], float], scp: Callable[[int], StoreSCP]
) -> Callable[[int], float]:
    """A contender for ``interleaved``: each round a fresh storescp, ``scp(round_)``, started,
    sent to by ``run`` and stopped."""

    def once(round_: int) -> float:
        receiver = scp(round_).start()
        try:
            return run(receiver)
        finally:
            receiver.stop()

    return once


def best(times: Mapping[str, list[float]]) -> dict[str, float]:
    """Each contender's fastest run."""
    return {name: min(values) for name, values in times.items()}


def in_folders(
    runs: Mapping[str, Callable[[Path], float]], base: Path, prefix: str
) -> dict[str, Callable[[int], float]]:
    """Contenders for ``interleaved`` working in one folder a round, ``base/<prefix>-<round>``
    (created if missing), shared by the round's contenders."""

    def in_folder(run: Callable[[Path], float]) -> Callable[[int], float]:
        def once(round_: int) -> float:
            path = base / f"{prefix}-{round_}"
            path.mkdir(exist_ok=True)
            return run(path)

        return once

    return {name: in_folder(run) for name, run in runs.items()}
