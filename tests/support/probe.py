"""A Python script run in a fresh interpreter from the repository (what a new process imports
is what it loads), writing a JSON report to the path given as its last argument."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_probe(
    script: str, *args: str, report: Path, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    """``python -c script *args report`` (bounded, must exit 0): its report and the process
    (stdout and stderr captured)."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args, str(report)], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(report.read_text())
    return found, done
