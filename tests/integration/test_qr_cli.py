"""`dicom-kiosk query` and `retrieve` (C-MOVE to our own node, and C-GET) against Orthanc and
DCMTK's dcmqrscp; retrieved images are counted and logged as incoming transfers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.dicom.synth import demo_instances
from tests.support.dcmtk import Dcmqrscp
from tests.support.orthanc import Orthanc
from tests.support.ports import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@contextmanager
def loaded_peer(kind: str, our_port: int, files: list[Path]) -> Iterator[tuple[str, int, int]]:
    """(AE title, port, number of instances) of a peer that knows us as KIOSK."""
    kiosk = ("KIOSK", "127.0.0.1", our_port)
    if kind == "orthanc":
        with Orthanc(modalities={"kiosk": kiosk}) as orthanc:
            for path in files:
                orthanc.upload(path.read_bytes())
            yield orthanc.ae_title, orthanc.dicom_port, orthanc.count_instances()
    else:
        with Dcmqrscp(hosts={"kiosk": kiosk}) as qr:
            qr.store(files)
            yield qr.ae_title, qr.port, len(files)


@pytest.mark.parametrize("peer", ["orthanc", "dcmqrscp"])
def test_query_then_retrieve_by_move_and_get(tmp_path: Path, peer: str) -> None:
    port = free_port()
    env = {**os.environ, "DICOM_KIOSK_PORT": str(port), "DICOM_KIOSK_FSYNC": "0"}
    files = []
    for index, data in enumerate(demo_instances(3, seed=5)):
        files.append(tmp_path / f"{index}.dcm")
        files[-1].write_bytes(data)

    def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "core.cli", "--data-dir", str(data), *args],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    with loaded_peer(peer, port, files) as (ae_title, peer_port, count):
        assert count == len(files)
        for data_dir, method in ((tmp_path / "m", "move"), (tmp_path / "g", "get")):
            out = cli(data_dir, "nodes", "add", "pacs", "--ae", ae_title,
                      "--host", "127.0.0.1", "--port", str(peer_port))  # fmt: skip
            assert out.returncode == 0, out.stderr
            out = cli(data_dir, "query", "pacs", "--json")
            assert out.returncode == 0, out.stderr
            studies = json.loads(out.stdout)["rows"]
            assert sum(s["NumberOfStudyRelatedInstances"] or 0 for s in studies) in (0, count)
            out = cli(data_dir, "query", "pacs", "--max", "1", "--json")
            assert json.loads(out.stdout)["truncated"] is True
            # Each C-FIND sent is a Query event (110112) of the audit trail, naming the peer.
            audit = json.loads(cli(data_dir, "audit", "list", "--json").stdout)["rows"]
            queries = [r for r in audit if r["event_id"] == "110112"]
            assert [q["outcome"] for q in queries] == [0, 0], queries
            assert all(ae_title in json.dumps(q) for q in queries)
            for study in studies:
                out = cli(data_dir, "retrieve", "pacs", "--study", study["StudyInstanceUID"],
                          "--method", method)  # fmt: skip
                assert out.returncode == 0, out.stdout + out.stderr
            stats = json.loads(cli(data_dir, "db", "stats", "--json").stdout)
            assert stats["instances"] == count, method
            log = json.loads(
                cli(data_dir, "transfers", "list", "--direction", "in", "--json").stdout
            )["rows"]
            assert sum(t["images"] for t in log) == count, log
            assert all(t["status"] == "received" for t in log)
