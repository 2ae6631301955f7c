"""``dicom-kiosk query`` without ``Core``: against DCMTK's dcmqrscp, the command reads the node
and records its Query event with the standard library, loads none of the heavy packages,
and the audit trail it appends to still verifies. When ``Core`` must run first (a crash left
images to index), it does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Core
from core.config import load_settings
from core.db.queries import StudyFilter
from core.dicom import synth
from tests.support.data import make_dataset, write
from tests.support.dcmtk import Dcmqrscp
from tests.support.node import cli
from tests.support.probe import run_probe

HEAVY = {"sqlalchemy", "pydicom", "pynetdicom", "numpy", "alembic", "PIL"}
PROBE = """
import json, sys
from core.cli.main import main
code = main(["--data-dir", sys.argv[1], "query", "pacs", "--patient-name", "LIGHT", "--json"])
with open(sys.argv[2], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


@pytest.fixture(scope="module")
def pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dcmqrscp]:
    folder = tmp_path_factory.mktemp("light-query")
    files = [
        write(make_dataset(patient_name=f"LIGHT^P{i}", patient_id=f"L{i}"), folder / f"{i}.dcm")
        for i in range(3)
    ] + [write(make_dataset(patient_name="OTHER^X", patient_id="O1"), folder / "o.dcm")]
    with Dcmqrscp() as qr:
        qr.store(files)
        yield qr


def _register(data_dir: Path, pacs: Dcmqrscp) -> None:
    cli(data_dir, "nodes", "add", "pacs", "--ae", pacs.ae_title, "--host", "127.0.0.1",
        "--port", str(pacs.port))  # fmt: skip


def _probe(data_dir: Path, tmp_path: Path) -> tuple[list[dict[str, str]], set[str]]:
    probe, done = run_probe(PROBE, str(data_dir), report=tmp_path / "modules.json")
    assert probe["code"] == 0, done.stderr
    return json.loads(done.stdout)["rows"], set(probe["modules"])


def test_query_loads_nothing_heavy_and_is_audited(
    pacs: Dcmqrscp, data_dir: Path, tmp_path: Path
) -> None:
    _register(data_dir, pacs)
    rows, modules = _probe(data_dir, tmp_path)
    assert sorted(r["PatientID"] for r in rows) == ["L0", "L1", "L2"]
    assert {"core.db.light", "core.audit.light", "core.net.query"} <= modules
    assert {name.split(".")[0] for name in modules} & HEAVY == set()
    assert not {m for m in modules if m.startswith(("core.app", "core.net.qr", "core.index"))}
    # The Query event is in the trail as the recorder writes it, and the chain verifies.
    records = json.loads(cli(data_dir, "audit", "list", "--json").stdout)["rows"]
    (query,) = [r for r in records if r["event_id"] == "110112"]
    assert query["summary"] == "queried pacs: 3 matches"
    assert any(p["name"] == "pacs" and p["user_id"] == pacs.ae_title for p in query["participants"])
    assert cli(data_dir, "audit", "verify", check=False).returncode == 0
    # A second query chains onto the record Core made in between (the node's edit).
    cli(data_dir, "nodes", "edit", "pacs", "--port", str(pacs.port))
    _probe(data_dir, tmp_path)
    records = json.loads(cli(data_dir, "audit", "list", "--json").stdout)["rows"]
    events = [r["event_id"] for r in sorted(records, key=lambda r: r["id"])]
    assert events[-1] == "110112" and events.count("110112") == 2
    assert cli(data_dir, "audit", "verify", check=False).returncode == 0


def test_query_goes_through_core_when_a_crash_left_files(
    pacs: Dcmqrscp, data_dir: Path, tmp_path: Path
) -> None:
    _register(data_dir, pacs)
    settings = load_settings(data_dir, {"fsync": False})
    data = next(iter(synth.demo_instances(1, seed=12)))
    (settings.store_dir / "incoming").mkdir(parents=True, exist_ok=True)
    (settings.store_dir / "incoming" / "p1-left.dcm").write_bytes(data)
    rows, modules = _probe(data_dir, tmp_path)
    assert len(rows) == 3
    assert {"core.app", "sqlalchemy"} <= modules
    with Core(settings) as core:  # the image the crash left was indexed first
        assert core.count("study", StudyFilter()) == 1
