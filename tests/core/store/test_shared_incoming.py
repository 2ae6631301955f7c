"""Two processes on one store (the kiosk, and ``dicom-kiosk import`` run beside it): a process
starting takes over the incoming files of a process that is gone, and leaves those of a live
one alone (half-written spools, images its own writer is about to index)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from core.store.files import FileStore

REPO = Path(__file__).resolve().parents[3]
OTHER = """
import sys
from pathlib import Path
from core.store.files import FileStore

store = FileStore(Path(sys.argv[1]), fsync=False)
part, fh = store.open_spool()
fh.write(b"half a data set")
fh.flush()
done = store.write_incoming(b"a whole image", 13, durable=False)
print(part.name, done.name, flush=True)
sys.stdin.read()  # until the test closes our stdin
"""


def test_a_live_process_keeps_its_incoming_files_and_a_gone_one_gives_them_up(
    tmp_path: Path,
) -> None:
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER, str(tmp_path)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert other.stdout is not None
        part_name, done_name = other.stdout.readline().split()
        store = FileStore(tmp_path, fsync=False)
        assert store.pending() == []  # the other process is alive: nothing is taken
        assert (store.incoming_dir / part_name).exists()
        assert (store.incoming_dir / done_name).exists()
    finally:
        assert other.stdin is not None
        other.stdin.close()
        other.wait(30)
    assert other.returncode == 0
    # gone: its complete file is indexed by whoever starts next, its half-written one removed
    assert [p.name for p in store.pending()] == [done_name]
    assert not (store.incoming_dir / part_name).exists()
    assert list(store.owners_dir.glob("*.lock")) == []


def test_files_of_this_process_and_old_names_are_taken_as_before(tmp_path: Path) -> None:
    store = FileStore(tmp_path, fsync=False)
    mine = store.write_incoming(b"image", 5, durable=False)
    old = store.incoming_dir / "0123456789abcdef.dcm"  # named before owners were recorded
    old.write_bytes(b"image")
    (store.incoming_dir / "fedcba9876543210.part").write_bytes(b"half")
    assert sorted(store.pending()) == sorted([mine, old])
    assert not (store.incoming_dir / "fedcba9876543210.part").exists()
