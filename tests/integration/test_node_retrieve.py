"""C-MOVE to a running DCMTK storescp and C-GET with getscu."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.support.data import make_dataset, write
from tests.support.dcmtk import StoreSCP, dcmtk, run
from tests.support.node import AE, KioskServer, cli

pytestmark = pytest.mark.integration

STUDY = generate_uid()
OTHER_STUDY = generate_uid()
SERIES = [generate_uid(), generate_uid()]


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[KioskServer, dict[str, str]]]:
    base = tmp_path_factory.mktemp("retrieve")
    datasets = [
        make_dataset(patient_id="R1", study_uid=STUDY, series_uid=SERIES[i % 2], instance_number=i)
        for i in range(6)
    ]
    datasets.append(make_dataset(patient_id="R2", study_uid=OTHER_STUDY))
    files = [write(ds, base / "in" / f"{i}.dcm") for i, ds in enumerate(datasets)]
    server = KioskServer(base / "kiosk").start()
    try:
        run([dcmtk("storescu"), "-aec", AE, "127.0.0.1", str(server.port), *map(str, files)])
        server.wait_count(len(files))
        yield server, {ds.SOPInstanceUID: ds.SeriesInstanceUID for ds in datasets}
    finally:
        server.stop()


def _received(folder: Path) -> set[str]:
    return {str(pydicom.dcmread(p).SOPInstanceUID) for p in folder.iterdir() if p.is_file()}


def test_move_study_to_storescp(loaded: tuple[KioskServer, dict[str, str]], tmp_path: Path) -> None:
    server, sops = loaded
    dest = StoreSCP(tmp_path / "dest", "+xa", ae_title="DEST").start()
    try:
        cli(
            server.data_dir,
            "nodes",
            "add",
            "dest",
            "--ae",
            "DEST",
            "--host",
            "127.0.0.1",
            "--port",
            str(dest.port),
        )
        result = run(
            [
                dcmtk("movescu"),
                "-v",
                "-S",
                "-aec",
                AE,
                "-aem",
                "DEST",
                "127.0.0.1",
                str(server.port),
                "-k",
                "QueryRetrieveLevel=STUDY",
                "-k",
                f"StudyInstanceUID={STUDY}",
            ]
        )
        assert "Final Move Response (Success)" in result.stderr + result.stdout
        assert _received(dest.folder) == _study_sops(sops)
        # series level, Patient Root
        second = tmp_path / "dest2"
        dest.stop()
        dest = StoreSCP(second, "+xa", ae_title="DEST")
        cli(server.data_dir, "nodes", "edit", "dest", "--port", str(dest.port))
        dest.start()
        run(
            [
                dcmtk("movescu"),
                "-P",
                "-aec",
                AE,
                "-aem",
                "DEST",
                "127.0.0.1",
                str(server.port),
                "-k",
                "QueryRetrieveLevel=SERIES",
                "-k",
                "PatientID=R1",
                "-k",
                f"StudyInstanceUID={STUDY}",
                "-k",
                f"SeriesInstanceUID={SERIES[1]}",
            ]
        )
        assert _received(second) == {s for s, series in sops.items() if series == SERIES[1]}
    finally:
        dest.stop()
        cli(server.data_dir, "nodes", "remove", "dest", check=False)


def _study_sops(sops: dict[str, str]) -> set[str]:
    return {sop for sop, series in sops.items() if series in SERIES}


def test_move_to_unknown_destination(loaded: tuple[KioskServer, dict[str, str]]) -> None:
    server, _sops = loaded
    result = run(
        [
            dcmtk("movescu"),
            "-v",
            "-S",
            "-aec",
            AE,
            "-aem",
            "NOWHERE",
            "127.0.0.1",
            str(server.port),
            "-k",
            "QueryRetrieveLevel=STUDY",
            "-k",
            f"StudyInstanceUID={STUDY}",
        ],
        check=False,
    )
    output = result.stderr + result.stdout
    assert "MoveDestinationUnknown" in output or "a801" in output.lower(), output
    assert "unknown destination 'NOWHERE'" in server.log()


def test_get_series_and_image(loaded: tuple[KioskServer, dict[str, str]], tmp_path: Path) -> None:
    server, sops = loaded
    out = tmp_path / "got"
    out.mkdir()
    run(
        [
            dcmtk("getscu"),
            "-S",
            "-aec",
            AE,
            "-od",
            str(out),
            "127.0.0.1",
            str(server.port),
            "-k",
            "QueryRetrieveLevel=SERIES",
            "-k",
            f"StudyInstanceUID={STUDY}",
            "-k",
            f"SeriesInstanceUID={SERIES[0]}",
        ]
    )
    assert _received(out) == {s for s, series in sops.items() if series == SERIES[0]}
    one = next(s for s, series in sops.items() if series == SERIES[1])
    out2 = tmp_path / "got2"
    out2.mkdir()
    run(
        [
            dcmtk("getscu"),
            "-P",
            "-aec",
            AE,
            "-od",
            str(out2),
            "127.0.0.1",
            str(server.port),
            "-k",
            "QueryRetrieveLevel=IMAGE",
            "-k",
            "PatientID=R1",
            "-k",
            f"StudyInstanceUID={STUDY}",
            "-k",
            f"SeriesInstanceUID={SERIES[1]}",
            "-k",
            f"SOPInstanceUID={one}",
        ]
    )
    assert _received(out2) == {one}


# -- compressed images for a peer that takes only uncompressed data --------------------------------
# file -> the storescu option that proposes its transfer syntax (JPEG 2000 lossless, RLE)
COMPRESSED = {"GDCMJ2K_TextGBR.dcm": "-xv", "SC_rgb_rle.dcm": "-xr"}
TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


@pytest.fixture
def compressed(kiosk: KioskServer) -> dict[str, pydicom.Dataset]:
    for name, option in COMPRESSED.items():
        run([dcmtk("storescu"), option, "-aec", AE, "127.0.0.1", str(kiosk.port),
             str(TEST_FILES / name)])  # fmt: skip
    kiosk.wait_count(len(COMPRESSED))
    originals = [pydicom.dcmread(TEST_FILES / name) for name in COMPRESSED]
    assert all(ds.file_meta.TransferSyntaxUID.is_compressed for ds in originals)
    return {str(ds.SOPInstanceUID): ds for ds in originals}


def _decompressed_as_sent(folder: Path, originals: dict[str, pydicom.Dataset]) -> None:
    got = {str(ds.SOPInstanceUID): ds for ds in map(pydicom.dcmread, _files(folder))}
    assert sorted(got) == sorted(originals)
    for sop, ds in got.items():
        assert not ds.file_meta.TransferSyntaxUID.is_compressed
        assert (ds.pixel_array == originals[sop].pixel_array).all()


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file()]


def test_move_decompresses_for_an_uncompressed_only_destination(
    kiosk: KioskServer, compressed: dict[str, pydicom.Dataset], tmp_path: Path
) -> None:
    dest = StoreSCP(tmp_path / "dest", ae_title="PLAIN").start()
    try:
        cli(kiosk.data_dir, "nodes", "add", "plain", "--ae", "PLAIN", "--host", "127.0.0.1",
            "--port", str(dest.port))  # fmt: skip
        result = run(
            [dcmtk("movescu"), "-v", "-S", "-aec", AE, "-aem", "PLAIN", "127.0.0.1",
             str(kiosk.port), "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID=*"]
        )  # fmt: skip
        assert "Final Move Response (Success)" in result.stderr + result.stdout
        _decompressed_as_sent(dest.folder, compressed)
    finally:
        dest.stop()


def test_get_decompresses_for_a_requestor_taking_only_uncompressed(
    kiosk: KioskServer, compressed: dict[str, pydicom.Dataset], tmp_path: Path
) -> None:
    out = tmp_path / "got"
    out.mkdir()
    run(
        [dcmtk("getscu"), "-P", "-aec", AE, "-od", str(out), "127.0.0.1", str(kiosk.port),
         "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID=*"]
    )  # fmt: skip
    _decompressed_as_sent(out, compressed)
