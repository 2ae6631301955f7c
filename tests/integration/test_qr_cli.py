"""`dicom-kiosk query` and `retrieve` (C-MOVE to our own node, and C-GET) against Orthanc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.synth import demo_instances
from tests.peers import free_port, orthanc_server

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_query_then_retrieve_by_move_and_get(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DICOM_KIOSK_PORT": str(port), "DICOM_KIOSK_FSYNC": "0"}

    def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core.cli", "--data-dir", str(data), *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    with orthanc_server(modalities={"kiosk": ("KIOSK", "127.0.0.1", port)}) as orthanc:
        for data in demo_instances(3, seed=5):
            orthanc.upload(data)
        for data_dir, method in ((tmp_path / "m", "move"), (tmp_path / "g", "get")):
            out = cli(data_dir, "nodes", "add", "pacs", "--ae", orthanc.ae_title,
                      "--host", "127.0.0.1", "--port", str(orthanc.dicom_port))  # fmt: skip
            assert out.returncode == 0, out.stderr
            out = cli(data_dir, "query", "pacs", "--json")
            assert out.returncode == 0, out.stderr
            studies = json.loads(out.stdout)["matches"]
            assert len(studies) == len(orthanc.rest("GET", "/studies"))
            out = cli(data_dir, "query", "pacs", "--max", "1", "--json")
            assert json.loads(out.stdout)["truncated"] is True
            for study in studies:
                out = cli(data_dir, "retrieve", "pacs", "--study", study["study_uid"],
                          "--method", method)  # fmt: skip
                assert out.returncode == 0, out.stdout + out.stderr
            stats = json.loads(cli(data_dir, "db", "stats", "--json").stdout)
            assert stats["instances"] == orthanc.count_instances(), method
