"""C-FIND throughput: study-level queries on one association, against ``dicom-kiosk serve`` and,
as the reference in the same run, DCMTK's dcmqrscp holding the same images.

``BENCH_FIND_STUDIES`` studies (one image each, one patient each) are stored into both; then
``BENCH_FIND_QUERIES`` universal study queries (PatientName, PatientID, StudyDate,
StudyDescription, ModalitiesInStudy returned) are sent over one association by pynetdicom, the
same client for both, and every match is read. Best of ``BENCH_FIND_ROUNDS`` interleaved
rounds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
)

from core.dicom.synth import ct_series
from tests.support.dcmtk import Dcmqrscp, dcmtk, run
from tests.support.node import AE as KIOSK_AE
from tests.support.node import KioskServer

STUDIES = int(os.environ.get("BENCH_FIND_STUDIES", "80"))
QUERIES = int(os.environ.get("BENCH_FIND_QUERIES", "100"))
ROUNDS = int(os.environ.get("BENCH_FIND_ROUNDS", "3"))


def _studies(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for seed in range(STUDIES):
        path = folder / f"{seed:04d}.dcm"
        path.write_bytes(next(ct_series(1, size=32, seed=1000 + seed)))
        files.append(path)
    return files


def _query() -> Dataset:
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    for keyword in ("StudyInstanceUID", "PatientName", "PatientID", "StudyDate"):
        setattr(query, keyword, "")
    query.StudyDescription = ""
    query.ModalitiesInStudy = ""
    return query


def _find(port: int, ae_title: str) -> tuple[float, int]:
    """Seconds for QUERIES study queries on one association, and matches per query."""
    ae = AE(ae_title="BENCH")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    assoc = ae.associate("127.0.0.1", port, ae_title=ae_title)
    if not assoc.is_established:
        raise RuntimeError(f"no association with {ae_title} at port {port}")
    matches = 0
    try:
        started = time.perf_counter()
        for _ in range(QUERIES):
            matches = 0
            for status, _identifier in assoc.send_c_find(
                _query(), StudyRootQueryRetrieveInformationModelFind
            ):
                if status and status.Status in (0xFF00, 0xFF01):
                    matches += 1
        return time.perf_counter() - started, matches
    finally:
        assoc.release()


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-find-"))
    kiosk = KioskServer(base / "kiosk", env={"DICOM_KIOSK_FSYNC": "false"})
    qrscp = Dcmqrscp()
    try:
        files = _studies(base / "studies")
        kiosk.start()
        run(
            [dcmtk("storescu"), "-aec", KIOSK_AE, "127.0.0.1", str(kiosk.port), *map(str, files)],
            timeout=300,
        )
        kiosk.wait_count(len(files))
        qrscp.start()
        qrscp.store(files)
        contenders: dict[str, Callable[[], tuple[float, int]]] = {
            "dicom-kiosk serve": lambda: _find(kiosk.port, kiosk.ae),
            "DCMTK dcmqrscp": lambda: _find(qrscp.port, qrscp.ae_title),
        }
        best: dict[str, float] = {}
        found: dict[str, int] = {}
        for _round in range(ROUNDS):
            for name, contender in contenders.items():
                seconds, found[name] = contender()
                best[name] = min(best.get(name, seconds), seconds)
        print(f"{QUERIES} study-level C-FINDs on one association, {STUDIES} studies stored")
        print(f"best of {ROUNDS} interleaved rounds; the same pynetdicom client for both")
        for name, seconds in best.items():
            rate = QUERIES * found[name] / seconds
            print(f"  {name:20} {seconds:6.2f} s  {found[name]} matches a query  {rate:8.0f}/s")
        ratio = best["DCMTK dcmqrscp"] / best["dicom-kiosk serve"]
        print(f"  dicom-kiosk serve vs DCMTK dcmqrscp  {ratio:5.2f}x (higher is better)")
    finally:
        kiosk.stop()
        qrscp.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
