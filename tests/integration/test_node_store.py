"""C-ECHO and C-STORE against ``dicom-kiosk serve`` with DCMTK and pynetdicom as peers."""

from __future__ import annotations

import io
import json
import signal
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, _config
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]

from tests.support.data import TEST_FILES, make_dataset
from tests.support.dcmtk import dcmtk, run
from tests.support.node import AE as KIOSK_AE
from tests.support.node import KioskServer, cli

pytestmark = pytest.mark.integration

# (storescu option proposing the syntax, pydicom test file in that syntax)
SYNTAXES = {
    "1.2.840.10008.1.2": ("-xi", "MR_small_implicit.dcm"),
    "1.2.840.10008.1.2.1": ("-xe", "CT_small.dcm"),
    "1.2.840.10008.1.2.2": ("-xb", "ExplVR_BigEnd.dcm"),
    "1.2.840.10008.1.2.1.99": ("-xd", "image_dfl.dcm"),
    "1.2.840.10008.1.2.4.50": ("-xy", "SC_jpeg_no_color_transform.dcm"),
    "1.2.840.10008.1.2.4.51": ("-xx", "JPGExtended.dcm"),
    "1.2.840.10008.1.2.4.70": ("-xs", "SC_rgb_jpeg_gdcm.dcm"),
    "1.2.840.10008.1.2.4.80": ("-xt", "MR_small_jpeg_ls_lossless.dcm"),
    "1.2.840.10008.1.2.4.90": ("-xv", "GDCMJ2K_TextGBR.dcm"),
    "1.2.840.10008.1.2.4.91": ("-xw", "JPEG2000.dcm"),
    "1.2.840.10008.1.2.5": ("-xr", "SC_rgb_rle.dcm"),
}


def _sop_uid(path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _pixels(data: bytes | Path) -> bytes:
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(pydicom.dcmread(source)["PixelData"].value)


def test_echo_and_graceful_stop(kiosk: KioskServer) -> None:
    result = run([dcmtk("echoscu"), "-aec", KIOSK_AE, "127.0.0.1", str(kiosk.port)])
    assert result.returncode == 0
    assert "C-ECHO from ECHOSCU" in kiosk.log()
    assert kiosk.stop(signal.SIGINT) == 0
    assert "index flushed" in kiosk.log()
    kiosk.start()
    assert kiosk.stop(signal.SIGTERM) == 0


def test_store_every_transfer_syntax(tmp_path: Path) -> None:
    # replace: several bundled files share a SOP Instance UID; the last one sent must win
    server = KioskServer(tmp_path / "kiosk", env={"DICOM_KIOSK_DUPLICATE_POLICY": "replace"})
    server.start()
    try:
        for syntax, (option, name) in SYNTAXES.items():
            source = TEST_FILES / name
            run(
                [
                    dcmtk("storescu"),
                    option,
                    "-aec",
                    KIOSK_AE,
                    "127.0.0.1",
                    str(server.port),
                    str(source),
                ]
            )
            uid = _sop_uid(source)

            def indexed(uid: str = uid, syntax: str = syntax) -> bool:
                row = server.instances().get(uid)
                return row is not None and row.transfer_syntax == syntax

            from tests.support.ports import wait_for

            wait_for(indexed, 30, f"{name} indexed as {syntax}")
            row = server.instances()[uid]
            stored = server.data_dir / "store" / row.file_path
            # stored exactly as received: same transfer syntax, same encoded pixel data
            assert (
                str(pydicom.dcmread(stored, stop_before_pixels=True).file_meta.TransferSyntaxUID)
                == syntax
            )
            assert _pixels(stored) == _pixels(source), name
    finally:
        server.stop()
    transfers = json.loads(
        cli(server.data_dir, "transfers", "list", "--direction", "in", "--json").stdout
    )["rows"]
    assert len(transfers) == len(SYNTAXES)
    assert {t["status"] for t in transfers} == {"received"}
    assert all(t["images"] == 1 and t["ae_title"] == "STORESCU" for t in transfers)


def _send(port: int, datasets: list[Dataset], calling: str = "PYSCU") -> list[int | None]:
    """Send on one association; a status of None means no response (association gone)."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title=KIOSK_AE)
    assert assoc.is_established
    statuses: list[int | None] = []
    try:
        for ds in datasets:
            if not assoc.is_established:
                statuses.append(None)
                continue
            status = assoc.send_c_store(ds)
            statuses.append(getattr(status, "Status", None))
    finally:
        if assoc.is_established:
            assoc.release()
    return statuses


def test_hostile_and_incomplete_datasets(
    kiosk: KioskServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # let our sending side put non-conformant UIDs on the wire, as a hostile peer would
    monkeypatch.setitem(_config.VALIDATORS, "UI", lambda _value: (True, ""))
    good = make_dataset(patient_name="Good^One")
    hostile = [
        make_dataset(sop_uid="../../etc/x"),
        make_dataset(sop_uid="1.2.abc"),
        make_dataset(study_uid="../../../tmp/evil"),
        make_dataset(series_uid="1." + "3" * 70),
    ]
    missing = make_dataset()
    del missing.SeriesInstanceUID
    statuses = _send(kiosk.port, [*hostile, missing, good])
    assert statuses[-1] == 0x0000
    assert all(s not in (None, 0x0000) for s in statuses[:-1]), statuses
    # An over-long SOP Instance UID in the C-STORE command itself is refused by the DIMSE
    # layer: the association is aborted and nothing is stored.
    too_long = _send(kiosk.port, [make_dataset(sop_uid="1." + "2" * 70)], calling="LONGUID")
    assert too_long != [0x0000]
    kiosk.wait_count(1)
    assert set(kiosk.instances()) == {good.SOPInstanceUID}
    store = (kiosk.data_dir / "store").resolve()
    for path in kiosk.data_dir.parent.rglob("*"):
        if path.is_file() and path.suffix == ".dcm":
            assert store in path.resolve().parents
    assert not any(p.name == "x" for p in kiosk.data_dir.parent.rglob("x"))
    kiosk.stop()
    transfers = json.loads(cli(kiosk.data_dir, "transfers", "list", "--json").stdout)["rows"]
    first = next(t for t in transfers if t["ae_title"] == "PYSCU")
    assert first["failed"] == len(hostile) + 1
    assert first["done"] == 1
    assert first["status"] == "failed"


def test_store_full_answers_out_of_resources(tmp_path: Path) -> None:
    first = make_dataset()
    size = len(_encode(first))
    server = KioskServer(
        tmp_path / "kiosk", env={"DICOM_KIOSK_MAX_STORE_BYTES": str(int(size * 2.5))}
    )
    server.start()
    try:
        statuses = _send(server.port, [first, make_dataset(), make_dataset(), make_dataset()])
        assert statuses[:2] == [0x0000, 0x0000]
        assert statuses[2:] == [0xA700, 0xA700]
        server.wait_count(2)
        assert len(server.instances()) == 2
        incoming = server.data_dir / "store" / "incoming"
        assert not [p for p in incoming.iterdir() if p.suffix in (".part", ".dcm")]
    finally:
        server.stop()


def _encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_known_nodes_policy(tmp_path: Path) -> None:
    data = tmp_path / "kiosk"
    data.mkdir()
    cli(
        data,
        "nodes",
        "add",
        "scanner",
        "--ae",
        "SCANNER",
        "--host",
        "127.0.0.1",
        "--port",
        "104",
        "--allow",
        "store",
    )
    cli(
        data,
        "nodes",
        "add",
        "viewer",
        "--ae",
        "VIEWER",
        "--host",
        "127.0.0.1",
        "--port",
        "105",
        "--allow",
        "find",
    )
    server = KioskServer(data).start("--accept", "known")
    try:
        unknown = run(
            [dcmtk("echoscu"), "-aet", "STRANGER", "-aec", KIOSK_AE, "127.0.0.1", str(server.port)],
            check=False,
        )
        assert unknown.returncode != 0
        assert "rejected association from STRANGER" in server.log()
        run([dcmtk("echoscu"), "-aet", "SCANNER", "-aec", KIOSK_AE, "127.0.0.1", str(server.port)])
        assert _send(server.port, [make_dataset()], calling="SCANNER") == [0x0000]
        assert _send(server.port, [make_dataset()], calling="VIEWER") == [0x0124]
        assert "store not allowed" in server.log()
    finally:
        server.stop()


def test_nodes_registry_cli(tmp_path: Path, kiosk: KioskServer) -> None:
    data = tmp_path / "other"
    cli(
        data,
        "nodes",
        "add",
        "pacs",
        "--ae",
        KIOSK_AE,
        "--host",
        "127.0.0.1",
        "--port",
        str(kiosk.port),
        "--retrieve",
        "get",
        "--allow",
        "find,retrieve",
    )
    listed = json.loads(cli(data, "nodes", "list", "--json").stdout)["rows"]
    assert listed == [
        {
            "name": "pacs",
            "ae_title": KIOSK_AE,
            "host": "127.0.0.1",
            "port": kiosk.port,
            "retrieve_method": "get",
            "allowed_services": ["find", "retrieve"],
        }
    ]
    assert "C-ECHO succeeded" in cli(data, "nodes", "echo", "pacs").stdout
    cli(data, "nodes", "edit", "pacs", "--port", "1", "--name", "old-pacs")
    failed = cli(data, "nodes", "echo", "old-pacs", "--timeout", "3", check=False)
    assert failed.returncode == 1
    duplicate = cli(
        data, "nodes", "add", "old-pacs", "--ae", "X", "--host", "h", "--port", "1", check=False
    )
    assert duplicate.returncode == 1 and "exists already" in duplicate.stderr
    cli(data, "nodes", "remove", "old-pacs")
    assert json.loads(cli(data, "nodes", "list", "--json").stdout)["rows"] == []
    assert Verification  # the echo above used the Verification SOP class
