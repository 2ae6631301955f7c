"""``Core``: what it builds at once and what only on first use.

``dicom-kiosk list`` reads a SQLite index at the newest schema with the standard library alone
(core.db.light): no SQLAlchemy, no ``Core``; with files a crash left it goes through ``Core``,
which indexes them first. A ``Core`` reads such an index before ``open()`` the same way, from
any thread, without building its engine (the kiosk's first frame: tests/viewmodels/
test_first_frame.py); else its reads build the engine. Opened, it loads neither pydicom nor
pynetdicom, numpy or PIL: the node, the sender, the importer, the thumbnails and the audit
recorder are built when first read, and the writer's recovery reads headers only when a crash
left files in ``incoming/``. Each service is still built once, and thumbnails on arrival still
follow the first image stored.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from core.app import Core
from core.config import load_settings
from core.db.queries import StudyFilter
from core.dicom import synth
from core.index.importer import MemorySource
from tests.support.probe import run_probe

HEAVY = {"pydicom", "pynetdicom", "numpy", "PIL", "PySide6", "qasync", "alembic", "highdicom"}
# Our modules that ``list`` has no use for (the audit trail: it records nothing).
UNNEEDED = ("core.node", "core.imaging", "core.export", "core.audit", "core.net.qr", "core.dicom")
PROBE = """
import json, sys
from core.cli.main import main
code = main(["--data-dir", sys.argv[1], "list", "--limit", "5"])
with open(sys.argv[2], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def _demo(core: Core, patients: int = 2) -> int:
    sources = [
        MemorySource(f"demo #{i}", data)
        for i, data in enumerate(synth.demo_instances(patients, seed=3))
    ]
    return core.importer.run_sources(sources, source_name="demo").imported


def test_list_imports_none_of_the_heavy_packages(data_dir: Path, tmp_path: Path) -> None:
    with Core(load_settings(data_dir, {"fsync": False})) as core:
        assert _demo(core) > 0
    probe, done = run_probe(PROBE, str(data_dir), report=tmp_path / "modules.json")
    assert probe["code"] == 0
    assert "StudyInstanceUID" in done.stdout  # the command did list the studies
    modules = set(probe["modules"])
    assert "core.db.light" in modules
    assert {name.split(".")[0] for name in modules} & (HEAVY | {"sqlalchemy"}) == set()
    ours = {name for name in modules if name.startswith((*UNNEEDED, "core.app", "core.index"))}
    assert ours == set()


def test_list_goes_through_core_when_a_crash_left_files(data_dir: Path, tmp_path: Path) -> None:
    """An image left in ``incoming/`` (acknowledged, not yet indexed when the power went) is
    indexed by ``Core.open`` before ``list`` answers, so the list shows it."""
    settings = load_settings(data_dir, {"fsync": False})
    with Core(settings) as core:
        assert _demo(core) > 0
        before = core.count("study", StudyFilter())
    data = next(iter(synth.demo_instances(1, seed=11)))
    (settings.store_dir / "incoming" / "p1-left.dcm").write_bytes(data)
    probe, _ = run_probe(PROBE, str(data_dir), report=tmp_path / "modules.json")
    assert probe["code"] == 0
    assert {"core.app", "sqlalchemy"} <= set(probe["modules"])
    with Core(settings) as core:
        assert core.count("study", StudyFilter()) == before + 1
    assert not list((settings.store_dir / "incoming").glob("*.dcm"))


def test_services_are_built_on_first_use_and_once(data_dir: Path) -> None:
    core = Core(load_settings(data_dir, {"fsync": False}))
    try:
        core.open()
        lazy = ("importer", "thumbnails", "node", "sender", "audit", "_arrivals")
        assert not any(name in vars(core) for name in lazy)
        assert not core.built("node")
        with pytest.raises(ValueError, match="settings"):
            core.built("settings")  # built at once: not a question to ask
        seen: list[object] = []
        start = threading.Barrier(4)

        def read() -> None:
            start.wait()
            seen.append(core.node)

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(seen) == 4 and all(node is core.node for node in seen)
        assert core.sender is core.sender and core.importer is core.importer
        assert core.built("node") and core.built("sender")
        assert "thumbnails" not in vars(core) and "audit" not in vars(core)
    finally:
        core.close()  # closes only what was built: no thumbnail pool was started


def test_thumbnails_follow_the_first_images_stored(data_dir: Path) -> None:
    settings = load_settings(data_dir, {"fsync": False, "thumbnails_on_arrival": True})
    with Core(settings) as core:
        assert "thumbnails" not in vars(core)
        assert _demo(core, patients=1) > 0
        sop_uid = core.list_rows("image", StudyFilter(), limit=1)[0]["SOPInstanceUID"]
        path = core.thumbnails.path_for(sop_uid)
        deadline = time.monotonic() + 90  # a pause of 1 s, then a spawned pool on busy cores
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert path.exists()


DATABASE = ("engine", "sessions", "writer", "intake", "transfers", "registry")


def _reads(core: Core) -> tuple[object, ...]:
    return (
        core.stats(),
        core.list_rows("study", StudyFilter(), limit=5),
        core.list_rows("image", StudyFilter(), "InstanceNumber", True, limit=3, offset=1),
        core.count("series", StudyFilter()),
    )


def test_reads_before_open_need_no_engine(data_dir: Path) -> None:
    """An index at the newest schema with nothing to recover is read before ``open()`` with the
    standard library, from any thread, with the rows the engine gives; ``open()`` then builds
    the database side and the reads go through it."""
    settings = load_settings(data_dir, {"fsync": False})
    with Core(settings) as core:
        assert _demo(core) > 0
        expected = _reads(core)
    core = Core(settings)
    try:
        assert core.readable_before_open()
        seen: list[tuple[object, ...]] = []
        start = threading.Barrier(4)

        def read() -> None:
            start.wait()
            seen.append(_reads(core))

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert seen == [expected] * 4 and _reads(core) == expected
        assert not any(core.built(name) for name in DATABASE)
        core.open()
        assert core.built("engine") and core.intake.is_alive()
        assert _reads(core) == expected
    finally:
        core.close()


def test_an_index_to_migrate_or_recover_is_read_through_the_engine(data_dir: Path) -> None:
    settings = load_settings(data_dir, {"fsync": False})
    core = Core(settings)
    try:
        assert not core.readable_before_open()  # no index yet: open() makes it
        core.open()
    finally:
        core.close()
    left = settings.store_dir / "incoming" / "p1-left.dcm"
    left.write_bytes(b"")  # open() would index it first
    core = Core(settings)
    try:
        assert not core.readable_before_open()
        assert core.count("study", StudyFilter()) == 0 and core.built("engine")
    finally:
        core.close()
        left.unlink()


def test_a_core_closed_unopened_built_nothing(data_dir: Path) -> None:
    core = Core(load_settings(data_dir, {"fsync": False}))
    core.close()
    assert not any(core.built(name) for name in DATABASE)
