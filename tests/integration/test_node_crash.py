"""SIGKILL of `dicom-kiosk serve` during a storescu run: no acknowledged image is lost."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest

from core.dicom.synth import ct_series
from tests.support.dcmtk import dcmtk, dcmtk_env
from tests.support.node import AE, KioskServer, cli

pytestmark = pytest.mark.integration

IMAGES = 400
KILL_AFTER = 80
_SENDING = re.compile(r"Sending file: (.+\.dcm)")


def _sop(path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _dataset(data: bytes) -> bytes:
    """The data set of a Part 10 file: what follows the file meta group."""
    assert data[128:132] == b"DICM"
    (group_length,) = struct.unpack_from("<I", data, 140)
    return data[144 + group_length :]


def _acknowledged(sender: subprocess.Popen[str]) -> Iterator[Path]:
    """The files storescu -v reports as stored (Success), as it reports them."""
    assert sender.stdout is not None
    current: Path | None = None
    for line in sender.stdout:
        match = _SENDING.search(line)
        if match:
            current = Path(match.group(1))
        elif "Received Store Response (Success)" in line and current is not None:
            yield current


# fsync on: acknowledged after an fdatasync of the journal; off: after the journal write
@pytest.mark.parametrize("fsync", ["true", "false"])
def test_sigkill_during_storescu_loses_no_acknowledged_image(tmp_path: Path, fsync: str) -> None:
    source = tmp_path / "series"
    source.mkdir()
    files = []
    for i, data in enumerate(ct_series(IMAGES, size=96)):
        path = source / f"{i:04d}.dcm"
        path.write_bytes(data)
        files.append(path)
    server = KioskServer(tmp_path / "kiosk", env={"DICOM_KIOSK_FSYNC": fsync}).start()
    acknowledged: list[Path] = []
    killed = threading.Event()
    sender = subprocess.Popen(
        [dcmtk("storescu"), "-v", "-aec", AE, "127.0.0.1", str(server.port), *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dcmtk_env(),
    )
    try:
        for path in _acknowledged(sender):
            acknowledged.append(path)
            if len(acknowledged) == KILL_AFTER and not killed.is_set():
                server.kill()  # SIGKILL, while storescu is still sending
                killed.set()
        sender.wait(60)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait(10)
        server.stop()
    assert killed.is_set(), "the sender finished before the kill"
    assert KILL_AFTER <= len(acknowledged) < IMAGES
    # restart: recovery indexes whatever was acknowledged but not yet indexed
    server.start()
    try:
        indexed = server.instances()
        missing = [p.name for p in acknowledged if _sop(p) not in indexed]
        assert not missing, f"{len(missing)} acknowledged images lost: {missing[:5]}"
        for path in acknowledged:
            row = indexed[_sop(path)]
            stored = (server.data_dir / "store" / row.file_path).read_bytes()
            assert _dataset(stored) == _dataset(path.read_bytes()), path.name
        incoming = server.data_dir / "store" / "incoming"
        assert not list(incoming.glob("*.part"))
    finally:
        server.stop()
    transfers = json.loads(cli(server.data_dir, "transfers", "list", "--json").stdout)["rows"]
    assert transfers[0]["status"] == "failed"
    assert "interrupted" in transfers[0]["error"]


def _write_series(folder: Path, count: int, seed: int) -> list[Path]:
    folder.mkdir()
    files = []
    for i, data in enumerate(ct_series(count, size=64, seed=seed)):
        path = folder / f"{i:05d}.dcm"
        path.write_bytes(data)
        files.append(path)
    return files


def test_a_study_deleted_while_images_stream_in_stays_deleted_after_a_crash(
    tmp_path: Path,
) -> None:
    """Delete a study (sent to the wrong patient, say) while another sender keeps storing,
    then SIGKILL the node before its intake journal is emptied: the restart must not bring
    the deleted study back from the journal, and must keep every other acknowledged image."""
    wrong = _write_series(tmp_path / "wrong", 20, seed=11)
    stream = _write_series(tmp_path / "stream", 3000, seed=12)
    server = KioskServer(tmp_path / "kiosk").start()
    command = [dcmtk("storescu"), "-v", "-aec", AE, "127.0.0.1", str(server.port)]
    acknowledged: list[Path] = []
    streaming = threading.Event()
    sender = subprocess.Popen(
        [*command, *map(str, stream)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dcmtk_env(),
    )

    def follow() -> None:
        for path in _acknowledged(sender):
            acknowledged.append(path)
            streaming.set()

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        assert streaming.wait(30), "the streaming sender stored nothing"
        done = subprocess.run(
            [*command, *map(str, wrong)],
            check=False,
            env=dcmtk_env(),
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        wrong_sops = {_sop(p) for p in wrong}
        server.wait_count(len(acknowledged) + len(wrong))
        assert wrong_sops <= set(server.instances())
        study = str(pydicom.dcmread(wrong[0], stop_before_pixels=True).StudyInstanceUID)
        cli(server.data_dir, "delete", "--study", study)
        assert not wrong_sops & set(server.instances())
        assert sender.poll() is None, "the stream ended before the kill"
        server.kill()  # SIGKILL while images still stream in
        sender.wait(60)
        reader.join(30)
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait(10)
        server.stop()
    server.start()
    try:
        indexed = server.instances()
        back = wrong_sops & set(indexed)
        assert not back, f"{len(back)} deleted images came back from the intake journal"
        missing = [p.name for p in acknowledged if _sop(p) not in indexed]
        assert not missing, f"{len(missing)} acknowledged images lost: {missing[:5]}"
        stored = {p.name for p in (server.data_dir / "store").rglob("*") if p.is_file()}
        assert not {f"{sop}.dcm" for sop in wrong_sops} & stored
    finally:
        server.stop()
