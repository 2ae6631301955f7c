"""C-GET of images stored in a syntax the requestor does not take: images sent (and so stored)
in Explicit VR Big Endian, retrieved by DCMTK's getscu, which takes them in Explicit VR Little
Endian only (it writes them as received: +B), from our node and, for reference, from dcmqrscp.
Both convert; the images arrive whole, with the same pixels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from tests.support.data import TEST_FILES
from tests.support.dcmtk import Dcmqrscp, dcmtk, run
from tests.support.node import AE, KioskServer

pytestmark = pytest.mark.integration

BIG_ENDIAN = [TEST_FILES / "ExplVR_BigEnd.dcm", TEST_FILES / "MR_small_bigendian.dcm"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, int]]]:
    base = tmp_path_factory.mktemp("cget")
    kiosk = KioskServer(base / "kiosk").start()
    try:
        with Dcmqrscp() as qrscp:
            paths = [str(p) for p in BIG_ENDIAN]
            for ae_title, port in ((AE, kiosk.port), (qrscp.ae_title, qrscp.port)):
                # -xb: big endian first, which both accept, so they store what was sent
                run([dcmtk("storescu"), "-xb", "-aec", ae_title, "127.0.0.1", str(port), *paths])
            kiosk.wait_count(len(BIG_ENDIAN))
            stored = {i.transfer_syntax for i in kiosk.instances().values()}
            assert stored == {ExplicitVRBigEndian}, stored
            yield {"kiosk": (AE, kiosk.port), "dcmqrscp": (qrscp.ae_title, qrscp.port)}
    finally:
        kiosk.stop()


@pytest.mark.parametrize("server", ["kiosk", "dcmqrscp"])
@pytest.mark.parametrize("source", BIG_ENDIAN, ids=lambda p: p.name)
def test_c_get_converts_big_endian_for_a_little_endian_peer(
    servers: dict[str, tuple[str, int]], server: str, source: Path, tmp_path: Path
) -> None:
    stored = pydicom.dcmread(source)
    ae_title, port = servers[server]
    args = [dcmtk("getscu"), "-S", "+B", "-od", str(tmp_path), "-aec", ae_title]
    args += ["127.0.0.1", str(port), "-k", "QueryRetrieveLevel=IMAGE"]
    args += ["-k", f"StudyInstanceUID={stored.StudyInstanceUID}"]
    args += ["-k", f"SeriesInstanceUID={stored.SeriesInstanceUID}"]
    args += ["-k", f"SOPInstanceUID={stored.SOPInstanceUID}"]
    result = run(args, check=False)
    received = [p for p in tmp_path.iterdir() if p.is_file()]
    assert len(received) == 1, f"{server}: {result.stdout}\n{result.stderr}"
    got = pydicom.dcmread(received[0])
    assert got.file_meta.TransferSyntaxUID in (ExplicitVRLittleEndian, ImplicitVRLittleEndian)
    assert got.SOPInstanceUID == stored.SOPInstanceUID
    assert got.Rows == stored.Rows and got.Columns == stored.Columns
    assert np.array_equal(got.pixel_array, stored.pixel_array)
