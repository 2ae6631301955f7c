"""Kiosk start-up: launch to the first frame that shows the Database list, cold and warm.

The kiosk (``dicom-kiosk --fullscreen``, as the e2e tests and a kiosk session start it) runs on
a fresh Xvfb (``tests.e2e.harness.XServer``) over a data directory filled as a user would
(``harness.populate``: demo patients and an import). With ``DICOM_KIOSK_REPORT_FIRST_FRAME``
set it prints ``first-frame <time.monotonic()> <time.process_time()>`` when the window has
swapped its first frame after the Database list's first page is in. The reference is the
floor: a minimal PySide6 QML window (``startup_floor.py``: a full-screen ``Window`` with a
``ListView`` of five rows), launched the same way on the same display, timed to its first
frame. Time is from just before ``Popen`` to that frame (both on ``CLOCK_MONOTONIC``); the CPU
time each process had used by then is printed too, a figure that other work on the machine
disturbs less.

Cold: the first launch with empty Qt caches (``XDG_CACHE_HOME`` and ``QML_DISK_CACHE_PATH``
point at fresh folders: no compiled QML, no shader cache). Warm: the next launch with them.
Python's bytecode (``__pycache__``) is there in both, as in an installation: ours is written
first (``tests.bench.bytecode.compile_ours``; with ``PYTHONDONTWRITEBYTECODE`` set, every
launch would compile our sources); the OS's file cache stays as it is. Best of
``BENCH_STARTUP_ROUNDS`` interleaved rounds; goal: kiosk within 3x the floor cold, 2x warm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.bytecode import compile_ours
from tests.e2e.harness import ROOT, XServer, kiosk_command, kiosk_env, populate, tools_missing
from tests.support.ports import free_port, log_tail
from tests.support.process import stop_process

ROUNDS = int(os.environ.get("BENCH_STARTUP_ROUNDS", "3"))
TIMEOUT = 90.0  # one launch to its first frame, on two busy cores
SIZE = (1280, 800)
GOALS = {"cold": 3.0, "warm": 2.0}


def launch(command: list[str], env: dict[str, str], log_path: Path) -> tuple[float, float]:
    """Seconds from start to the process's ``first-frame`` line, and the CPU seconds the
    process had used by then; the process is then stopped."""
    with open(log_path, "ab") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env,
            cwd=ROOT, start_new_session=True,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        deadline = started + TIMEOUT
        for raw in process.stdout:  # the kiosk's own stdout is quiet: its log goes to stderr
            words = raw.decode(errors="replace").split()
            if words[:1] == ["first-frame"]:
                return float(words[1]) - started, float(words[2])
            if time.monotonic() > deadline:
                break
        raise RuntimeError(
            f"{command[-1]}: no first frame (exit {process.poll()})\n" + log_tail(log_path)
        )
    finally:
        stop_process(process, group=True)
        if process.stdout is not None:
            process.stdout.close()


def main() -> None:
    missing = tools_missing()
    if missing:
        print(f"skipped: {', '.join(missing)} not installed")
        return
    base = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    xserver = XServer(*SIZE, base / "xvfb.log")
    try:
        compile_ours()
        data_dir = populate(base / "data", base / "work")
        xserver.start()
        kiosk = [*kiosk_command(), "--data-dir", str(data_dir), "--fullscreen"]
        floor = [sys.executable, "-m", "tests.bench.startup_floor"]
        best: dict[tuple[str, str], float] = {}
        cpu: dict[tuple[str, str], float] = {}
        for round_ in range(ROUNDS):
            for name, command in (("kiosk", kiosk), ("floor", floor)):
                cache = base / f"cache-{name}-{round_}"
                env = kiosk_env(
                    data_dir,
                    DISPLAY=xserver.display,
                    QT_QPA_PLATFORM="xcb",
                    DICOM_KIOSK_PORT=str(free_port()),
                    DICOM_KIOSK_BIND="127.0.0.1",
                    DICOM_KIOSK_REPORT_FIRST_FRAME="1",
                    XDG_CACHE_HOME=str(cache),
                    QML_DISK_CACHE_PATH=str(cache / "qmlcache"),
                )
                env.pop("WAYLAND_DISPLAY", None)
                for state in ("cold", "warm"):
                    seconds, used = launch(command, env, base / f"{name}.log")
                    best[name, state] = min(best.get((name, state), seconds), seconds)
                    cpu[name, state] = min(cpu.get((name, state), used), used)
        print(f"launch to the first frame showing the list, {SIZE[0]}x{SIZE[1]} Xvfb")
        print(f"best of {ROUNDS} interleaved rounds; floor: a minimal PySide6 QML ListView window")
        for state, goal in GOALS.items():
            ratio = best["kiosk", state] / best["floor", state]
            verdict = "meets" if ratio <= goal else "MISSES"
            print(
                f"  {state}: dicom-kiosk {best['kiosk', state]:5.2f} s, floor"
                f" {best['floor', state]:5.2f} s  {ratio:5.2f}x (goal <= {goal:.0f}x: {verdict})"
            )
        print("  CPU used by then (steadier than wall time on a busy machine):")
        for state in GOALS:
            kiosk_cpu, floor_cpu = cpu["kiosk", state], cpu["floor", state]
            print(
                f"  {state}: dicom-kiosk {kiosk_cpu:5.2f} s, floor {floor_cpu:5.2f} s"
                f"  {kiosk_cpu / floor_cpu:5.2f}x"
            )
    finally:
        xserver.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
