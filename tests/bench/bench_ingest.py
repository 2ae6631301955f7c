"""Ingest per study: images/s received when every study is new, by images per study.

X-ray rooms send 1-4 images a study; a CT sends hundreds. DCMTK storescu sends N ~40 KB images
(``BENCH_INGEST_IMAGES``, 1000) over one association, laid out as 1, 4 and 100 images per study
(each study a new patient, one series), to ``dicom-kiosk serve`` (fsync on, the default) and to
Debian's Orthanc, in the same run. An image counts once it is indexed and queryable (ours: in
the index; Orthanc: in its index). Best of ``BENCH_INGEST_ROUNDS`` (3) interleaved rounds.

Printed per layout: images/s for both, our ratio to Orthanc, and our rate relative to our own
100-per-study rate (what a new study costs on top of its images). Goal: ahead of Orthanc in
every layout.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from pydicom import dcmread

from core.dicom.synth import ct_series
from tests.bench.common import best, in_folders, interleaved, receive_kiosk, storescu, timed
from tests.support.orthanc import Orthanc, orthanc_binary

COUNT = int(os.environ.get("BENCH_INGEST_IMAGES", "1000"))
ROUNDS = int(os.environ.get("BENCH_INGEST_ROUNDS", "3"))
LAYOUTS = tuple(int(n) for n in os.environ.get("BENCH_INGEST_LAYOUTS", "1,4,100").split(","))
OURS = "dicom-kiosk serve"
ORTHANC = "Orthanc"
_ROOT = "1.2.826.0.1.3680043.10.1337"  # UIDs of the generated studies


def make_studies(folder: Path, count: int, per_study: int) -> list[Path]:
    """``count`` CT images written to ``folder``, ``per_study`` to a study (a new patient
    each, one series), in study order."""
    folder.mkdir(parents=True)
    template = next(ct_series(1))
    files = []
    for index in range(count):
        study, number = divmod(index, per_study)
        ds = dcmread(io.BytesIO(template))
        ds.PatientID = f"ING{per_study}-{study:06d}"
        ds.PatientName = f"INGEST^P{per_study}^{study}"
        ds.StudyInstanceUID = f"{_ROOT}.{per_study}.{study + 1}"
        ds.SeriesInstanceUID = f"{_ROOT}.{per_study}.{study + 1}.1"
        ds.SOPInstanceUID = f"{_ROOT}.{per_study}.{study + 1}.1.{number + 1}"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.AccessionNumber = f"A{study:08d}"
        ds.InstanceNumber = number + 1
        path = folder / f"{index:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def run_kiosk(folder: Path, files: list[Path]) -> float:
    return receive_kiosk(folder, files, 1, {"DICOM_KIOSK_FSYNC": "true"})


def run_orthanc(folder: Path, files: list[Path]) -> float:
    orthanc = Orthanc(folder).start()
    try:
        return timed(
            lambda: storescu(orthanc.dicom_port, orthanc.ae_title, [files]),
            orthanc.count_instances,
            len(files),
        )
    finally:
        orthanc.stop()


def _contender(
    run: Callable[[Path, list[Path]], float], name: str, files: list[Path]
) -> Callable[[Path], float]:
    """``run`` receiving ``files`` in the folder ``name`` of each round's folder."""
    return lambda folder: run(folder / name, files)


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        layouts = {n: make_studies(base / f"images-{n}", COUNT, n) for n in LAYOUTS}
        size = sum(p.stat().st_size for p in layouts[LAYOUTS[0]]) / COUNT
        print(f"{COUNT} CT images, {size / 1024:.1f} KB each, storescu on loopback, 1 association")
        print(f"best of {ROUNDS} interleaved rounds; every study new (a new patient each)")
        runs: dict[str, Callable[[Path], float]] = {}
        for n, files in layouts.items():
            runs[f"{OURS} {n}"] = _contender(run_kiosk, f"kiosk-{n}", files)
            if orthanc_binary():
                runs[f"{ORTHANC} {n}"] = _contender(run_orthanc, f"orthanc-{n}", files)
        # Nothing is deleted before the end: freeing blocks in the middle of the next
        # contender's run would slow it.
        rounds = in_folders(runs, base, "round")
        rate = {name: COUNT / s for name, s in best(interleaved(rounds, ROUNDS)).items()}
        widest = max(LAYOUTS)
        print(f"  {'images/study':>12} {'ours img/s':>11} {'Orthanc img/s':>14} {'ratio':>7}"
              f" {'vs ours at ' + str(widest):>14}")  # fmt: skip
        for n in LAYOUTS:
            ours = rate[f"{OURS} {n}"]
            theirs = rate.get(f"{ORTHANC} {n}")
            ratio = f"{ours / theirs:6.2f}x" if theirs else "     -"
            shown = f"{theirs:14.1f}" if theirs else f"{'-':>14}"
            relative = ours / rate[f"{OURS} {widest}"]
            print(f"  {n:12d} {ours:11.1f} {shown} {ratio:>7} {relative:13.2f}x")
        print("goal: ahead of Orthanc (ratio > 1x) in every layout")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
