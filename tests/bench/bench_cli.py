"""Command-line start-up: ``dicom-kiosk --help`` and ``dicom-kiosk list --limit 5`` against
``python -c pass``, each launched as a user launches it (the installed ``dicom-kiosk`` script
of this environment, a new process each time), best of ``BENCH_CLI_ROUNDS`` interleaved rounds.

Goals: ``--help`` within 5x of ``python -c pass``, ``list --limit 5`` (of a small database,
made first with ``dicom-kiosk demo``) within 8x. Our modules' bytecode is compiled first, as
a user's installation has it (tests/bench/bytecode.py).
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

ROUNDS = int(os.environ.get("BENCH_CLI_ROUNDS", "7"))
TIMEOUT = 120.0
GOALS = {"--help": 5.0, "list --limit 5": 8.0}


def _script() -> str:
    """The ``dicom-kiosk`` console script beside this Python (what ``pip install`` made)."""
    script = Path(sys.executable).with_name("dicom-kiosk")
    if not script.exists():
        raise RuntimeError(f"{script} is missing: install the package (make setup)")
    return str(script)


def _run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, timeout=TIMEOUT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        kiosk = _script()
        compile_ours()
        subprocess.run(
            [kiosk, "--data-dir", str(data), "demo", "--patients", "5", "--seed", "1"],
            check=True, timeout=TIMEOUT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "--help": [kiosk, "--help"],
            "list --limit 5": [kiosk, "--data-dir", str(data), "list", "--limit", "5"],
        }
        best = dict.fromkeys(commands, float("inf"))
        for _ in range(ROUNDS):
            for name, command in commands.items():
                best[name] = min(best[name], _run(command))
        floor = best["python -c pass"]
        print(f"best of {ROUNDS} interleaved rounds, each a new process")
        print(f"python -c pass        : {floor * 1000:7.1f} ms")
        for name, goal in GOALS.items():
            ratio = best[name] / floor
            verdict = "met" if ratio <= goal else "NOT met"
            print(
                f"dicom-kiosk {name:14}: {best[name] * 1000:7.1f} ms  {ratio:5.1f}x"
                f"  (goal {goal:.0f}x: {verdict})"
            )
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
