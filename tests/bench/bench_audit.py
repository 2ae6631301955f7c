"""What the audit trail costs receive: throughput with the recorder on against bypassed.

The audit trail cannot be turned off: ``Core.start`` subscribes the recorder to the change
bus, which then writes one hash-chained record per finished association on its own thread
(core.audit.recorder), in its own transaction on the same database as the index writer. So
the reference is the same node in the same process with the recorder bypassed: the node is
started alone (``core.node.start()``), not through ``Core.start``, and nothing subscribes the
recorder. Each run has a fresh data directory (fsync off, so that the disk does not hide the
cost) and the node on loopback; DCMTK storescu sends ``BENCH_AUDIT_IMAGES`` (1000) generated
~40 KB CT images:

- over one association (one audit record for the lot: the common case of a modality);
- over ``BENCH_AUDIT_ASSOCIATIONS`` (200) associations of a few images each, 4 at a time (one
  record each: the worst case, every record contending with the index writer's batches).

The clock stops when every image is indexed (what the receive benchmarks count); with the
recorder on, how much later the last audit record was written is printed too (the trail
lags, the receive does not wait for it). The CPU time this process (the node, its writer, the
recorder) used until then is printed too: other work on a shared machine disturbs it less
than the wall clock. ``BENCH_AUDIT_ROUNDS`` (5) interleaved rounds, best and median; "noise"
is the spread of the bypassed runs (slowest / fastest - 1), and a verdict compares the
recorder's cost (best against best) with it, for the wall clock and for the CPU time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from core.app import Core
from core.config import load_settings
from tests.bench.common import count_rows, make_series, storescu
from tests.support.ports import free_port, wait_for

COUNT = int(os.environ.get("BENCH_AUDIT_IMAGES", "1000"))
ASSOCIATIONS = int(os.environ.get("BENCH_AUDIT_ASSOCIATIONS", "200"))
ROUNDS = int(os.environ.get("BENCH_AUDIT_ROUNDS", "5"))
SENDERS = 4
AE = "KIOSK"
ON, OFF = "audit recorder on", "audit recorder bypassed"


def run(base: Path, groups: list[list[Path]], audit: bool) -> tuple[float, float, float]:
    """Seconds until every image is indexed, this process's CPU seconds by then, and the
    seconds until the audit trail has every association's record (0: recorder bypassed)."""
    port = free_port()
    settings = load_settings(base, {"fsync": False, "port": port, "bind": "127.0.0.1",
                                    "ae_title": AE})  # fmt: skip
    expected = sum(len(group) for group in groups)
    rows = partial(count_rows, base / "index.sqlite")
    with Core(settings) as core:
        if audit:
            asyncio.run(core.start(sender=False))  # as serve and the kiosk start it
        else:
            asyncio.run(core.node.start())  # the node alone: nothing subscribes the recorder
        try:
            core.audit.flush()
            records_before = rows("audit_record")
            start, cpu_start = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(SENDERS) as pool:
                list(pool.map(lambda group: storescu(port, AE, [group]), groups))
            wait_for(lambda: rows("instance") >= expected, 300, "every image indexed", 0.002)
            received = time.perf_counter() - start
            cpu = time.process_time() - cpu_start
            audited = 0.0
            if audit:
                wanted = records_before + len(groups)
                wait_for(lambda: rows("audit_record") >= wanted, 120, "audit records", 0.002)
                audited = time.perf_counter() - start
        finally:
            if audit:
                asyncio.run(core.stop())
            else:
                asyncio.run(core.node.stop())
    return received, cpu, audited


def _spread(values: list[float]) -> float:
    return max(values) / min(values) - 1.0


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    try:
        files = make_series(base / "series", COUNT)
        size = sum(p.stat().st_size for p in files) / len(files)
        print(
            f"{len(files)} CT images, {size / 1024:.1f} KB each, storescu on loopback to the"
            f" node in this process (fsync off); best of {ROUNDS} interleaved rounds"
        )
        patterns = {
            "1 association": [files],
            f"{ASSOCIATIONS} associations, {SENDERS} at a time": [
                files[i::ASSOCIATIONS] for i in range(ASSOCIATIONS)
            ],
        }
        for label, groups in patterns.items():
            times: dict[str, list[float]] = {ON: [], OFF: []}
            cpus: dict[str, list[float]] = {ON: [], OFF: []}
            lag: list[float] = []
            for round_ in range(ROUNDS):
                for name in (ON, OFF) if round_ % 2 == 0 else (OFF, ON):
                    folder = base / f"{label[:3].strip()}-{round_}-{name[-3:]}"
                    received, cpu, audited = run(folder, groups, audit=name == ON)
                    times[name].append(received)
                    cpus[name].append(cpu)
                    if audited:
                        lag.append(audited - received)
            print(f"-- {label} ({len(groups)} audit records per run with the recorder on)")
            for name, values in times.items():
                best = min(values)
                print(f"  {name:26} best {best:6.2f} s  {len(files) / best:7.1f} images/s"
                      f"  (median {statistics.median(values):.2f} s);"
                      f" CPU best {min(cpus[name]):.2f} s,"
                      f" median {statistics.median(cpus[name]):.2f} s")  # fmt: skip
            ratio = min(times[OFF]) / min(times[ON])
            median = statistics.median(times[OFF]) / statistics.median(times[ON])
            cpu_ratio = min(cpus[OFF]) / min(cpus[ON])
            print(f"  on / bypassed throughput {ratio:5.2f}x (medians {median:.2f}x)")
            for what, runs, cost_ratio in (("time", times, ratio), ("CPU", cpus, cpu_ratio)):
                noise = _spread(runs[OFF])
                cost = max(0.0, 1.0 / cost_ratio - 1.0)
                verdict = "within noise" if cost <= noise else "BEYOND NOISE"
                print(f"  {what}: the recorder's cost {cost:6.1%} (best against best), noise"
                      f" {noise:6.1%} (bypassed runs' spread): {verdict}")  # fmt: skip
            extra = min(cpus[ON]) - min(cpus[OFF])
            print(f"  CPU per audit record {max(extra, 0.0) / len(groups) * 1000:.1f} ms"
                  " (best against best)")  # fmt: skip
            if lag:
                print(f"  the last audit record written {max(lag):.2f} s after the last image"
                      " was indexed (at most)")  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
