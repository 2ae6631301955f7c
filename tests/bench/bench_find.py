"""C-FIND SCP: ``dicom-kiosk serve`` against Orthanc holding the same studies, DCMTK findscu as
the client of both, the whole findscu process timed (association included).

``BENCH_FIND_STUDIES`` (20,000) single-image studies, one patient each: 12 surnames, study
dates from 2015 to 2026, 4 modalities, drawn from a fixed seed. The files are generated once
and kept in ``BENCH_FIND_CACHE`` (a folder under the system's temporary directory by
default), then stored into both servers by ``BENCH_FIND_SENDERS`` (4) parallel storescu each.

Each query of ``QUERIES`` is run by findscu against each server in ``BENCH_FIND_ROUNDS`` (3)
interleaved rounds; each keeps its best time. Printed: every query's time and answers on
both sides and their ratio; the time per answer (the every-study query less the one-study
one, over the answers between them) and its ratio; the small queries' latency ratio; the
node's resident memory while it answers every study against while it answers a small query.
Goals (the issue): time per answer at least Orthanc's (1.0x, aim 2x), small queries within
1.2x of Orthanc's latency, memory flat in the number of answers.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.bench.common import groups, indexed, storescu
from tests.support.data import make_dataset, write
from tests.support.dcmtk import dcmtk, dcmtk_env
from tests.support.node import KioskServer
from tests.support.orthanc import Orthanc
from tests.support.ports import wait_for

STUDIES = int(os.environ.get("BENCH_FIND_STUDIES", "20000"))
ROUNDS = int(os.environ.get("BENCH_FIND_ROUNDS", "3"))
SENDERS = int(os.environ.get("BENCH_FIND_SENDERS", "4"))
CACHE = Path(
    os.environ.get("BENCH_FIND_CACHE", Path(tempfile.gettempdir()) / "dicom-kiosk-bench-find")
)

SURNAMES = ("SMITH", "JONES", "BROWN", "TAYLOR", "WILSON", "DAVIES", "EVANS", "THOMAS",
            "JOHNSON", "ROBERTS", "WALKER", "WRIGHT")  # fmt: skip
MODALITIES = ("CT", "MR", "US", "CR")
YEARS = range(2015, 2027)
_UID_ROOT = "1.2.826.0.1.3680043.10.1071"  # a root for the benchmark's own UIDs

STUDY_KEYS = ("StudyInstanceUID", "PatientName", "PatientID", "StudyDate", "StudyTime",
              "AccessionNumber", "StudyDescription", "ModalitiesInStudy",
              "NumberOfStudyRelatedInstances")  # fmt: skip
PATIENT_KEYS = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                "NumberOfPatientRelatedStudies")  # fmt: skip
SERIES_KEYS = ("StudyInstanceUID", "SeriesInstanceUID", "Modality", "SeriesNumber",
               "SeriesDescription", "NumberOfSeriesRelatedInstances")  # fmt: skip
IMAGE_KEYS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID",
              "InstanceNumber")  # fmt: skip


@dataclass(frozen=True)
class Study:
    index: int
    surname: str
    date: str
    modality: str

    @property
    def patient_id(self) -> str:
        return f"BF{self.index:06d}"

    @property
    def accession(self) -> str:
        return f"ACC{self.index:06d}"

    def uid(self, level: int) -> str:
        return f"{_UID_ROOT}.{level}.{self.index + 1}"


def plan(count: int) -> list[Study]:
    rnd = random.Random(20260101)
    studies = []
    for index in range(count):
        year = rnd.choice(YEARS)
        date = f"{year}{rnd.randrange(1, 13):02d}{rnd.randrange(1, 29):02d}"
        studies.append(Study(index, rnd.choice(SURNAMES), date, rnd.choice(MODALITIES)))
    return studies


def generated(studies: list[Study]) -> list[Path]:
    """The studies' files, from the cache when it holds them all."""
    folder = CACHE / f"{len(studies)}-v1"
    done = folder / "complete"
    files = [folder / f"{s.index // 1000:03d}" / f"{s.index:06d}.dcm" for s in studies]
    if done.exists():
        return files
    shutil.rmtree(folder, ignore_errors=True)
    for study, path in zip(studies, files, strict=True):
        ds = make_dataset(
            patient_name=f"{study.surname}^PATIENT{study.index}",
            patient_id=study.patient_id,
            study_uid=study.uid(1),
            series_uid=study.uid(2),
            sop_uid=study.uid(3),
            study_date=study.date,
            modality=study.modality,
        )
        ds.StudyTime = "101500"
        ds.AccessionNumber = study.accession
        ds.StudyDescription = f"{study.modality} examination"
        ds.SeriesNumber = 1
        ds.SeriesDescription = study.modality
        ds.PatientSex = "O"
        ds.PatientBirthDate = "19700101"
        write(ds, path)
    done.write_text("")
    return files


@dataclass(frozen=True)
class Query:
    name: str
    model: str  # findscu's -S (Study Root) or -P (Patient Root)
    level: str
    keys: tuple[str, ...]
    values: dict[str, str]
    small: bool = False

    def args(self) -> list[str]:
        given = {"QueryRetrieveLevel": self.level, **{k: "" for k in self.keys}, **self.values}
        args = [self.model]
        for key, value in given.items():
            args += ["-k", f"{key}={value}" if value else key]
        return args


def queries(studies: list[Study]) -> list[Query]:
    one = studies[len(studies) // 2]
    return [
        Query("STUDY PatientName=SMITH*", "-S", "STUDY", STUDY_KEYS, {"PatientName": "SMITH*"}),
        Query("STUDY StudyDate=2024", "-S", "STUDY", STUDY_KEYS,
              {"StudyDate": "20240101-20241231"}),
        Query("STUDY ModalitiesInStudy=MR, 2025", "-S", "STUDY", STUDY_KEYS,
              {"ModalitiesInStudy": "MR", "StudyDate": "20250101-20251231"}),
        Query("STUDY PatientName=* (every study)", "-S", "STUDY", STUDY_KEYS,
              {"PatientName": "*"}),
        Query("STUDY PatientID", "-S", "STUDY", STUDY_KEYS, {"PatientID": one.patient_id},
              small=True),
        Query("STUDY AccessionNumber", "-S", "STUDY", STUDY_KEYS,
              {"AccessionNumber": one.accession}, small=True),
        Query("STUDY one day", "-S", "STUDY", STUDY_KEYS, {"StudyDate": one.date}, small=True),
        Query("PATIENT PatientName=SMITH*", "-P", "PATIENT", PATIENT_KEYS,
              {"PatientName": "SMITH*"}),
        Query("PATIENT PatientID", "-P", "PATIENT", PATIENT_KEYS,
              {"PatientID": one.patient_id}, small=True),
        Query("SERIES Modality=MR", "-S", "SERIES", SERIES_KEYS, {"Modality": "MR"}),
        Query("SERIES of one study", "-S", "SERIES", SERIES_KEYS,
              {"StudyInstanceUID": one.uid(1)}, small=True),
        Query("IMAGE StudyDate=2024", "-S", "IMAGE", IMAGE_KEYS,
              {"StudyDate": "20240101-20241231"}),
        Query("IMAGE of one series", "-S", "IMAGE", IMAGE_KEYS,
              {"StudyInstanceUID": one.uid(1), "SeriesInstanceUID": one.uid(2)}, small=True),
    ]  # fmt: skip


EVERY = "STUDY PatientName=* (every study)"
ONE = "STUDY PatientID"


def findscu(port: int, ae_title: str, query: Query, capture: bool = False) -> str:
    """Run findscu (as a user would: it logs each answer); its output if ``capture``."""
    args = [dcmtk("findscu"), "-aec", ae_title, "127.0.0.1", str(port), *query.args()]
    out = subprocess.PIPE if capture else subprocess.DEVNULL
    result = subprocess.run(
        args, stdout=out, stderr=out, text=True, timeout=600, env=dcmtk_env(), check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"findscu failed for {query.name}: {(result.stderr or '')[-500:]}")
    return (result.stdout or "") + (result.stderr or "")


def answers(port: int, ae_title: str, query: Query) -> int:
    """How many matches the server answers (findscu logs each pending response)."""
    output = findscu(port, ae_title, query, capture=True)
    return sum(1 for line in output.splitlines() if "Find Response:" in line
               and "(Pending)" in line)  # fmt: skip


def timed(port: int, ae_title: str, query: Query) -> float:
    started = time.perf_counter()
    findscu(port, ae_title, query)
    return time.perf_counter() - started


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_rss(pid: int, action: Callable[[], object]) -> float:
    """The most resident memory of process ``pid`` while ``action`` runs (sampled)."""
    peak = rss_mib(pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mib(pid))
            done.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        action()
    finally:
        done.set()
        sampler.join()
    return max(peak, rss_mib(pid))


def load(files: list[Path], kiosk: KioskServer, orthanc: Orthanc) -> tuple[float, float]:
    """Store ``files`` into both (parallel storescu); seconds each took."""
    started = time.perf_counter()
    storescu(kiosk.port, kiosk.ae, groups(files, SENDERS))
    counted = indexed(kiosk.data_dir)
    wait_for(lambda: counted() >= len(files), 600, "every study indexed", 0.2)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    storescu(orthanc.dicom_port, orthanc.ae_title, groups(files, SENDERS))
    wait_for(lambda: orthanc.count_instances() >= len(files), 600, "Orthanc to hold them", 0.2)
    return ours, time.perf_counter() - started


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="bench-find-"))
    started = time.perf_counter()
    studies = plan(STUDIES)
    files = generated(studies)
    print(f"{STUDIES} single-image studies ({time.perf_counter() - started:.1f} s to generate"
          f" or find them in {CACHE})", flush=True)  # fmt: skip
    kiosk = KioskServer(base / "kiosk", env={"DICOM_KIOSK_FSYNC": "false"})
    orthanc = Orthanc(base / "orthanc")
    try:
        kiosk.start()
        orthanc.start()
        ours_load, orthanc_load = load(files, kiosk, orthanc)
        print(f"stored by {SENDERS} parallel storescu: dicom-kiosk {ours_load:.1f} s,"
              f" Orthanc {orthanc_load:.1f} s", flush=True)  # fmt: skip
        servers = {
            "dicom-kiosk": (kiosk.port, kiosk.ae),
            "Orthanc": (orthanc.dicom_port, orthanc.ae_title),
        }
        table = queries(studies)
        found = {
            (q.name, name): answers(port, ae, q)
            for q in table
            for name, (port, ae) in servers.items()
        }
        best: dict[tuple[str, str], float] = {}
        for _round in range(ROUNDS):
            for query in table:
                for name, (port, ae) in servers.items():
                    seconds = timed(port, ae, query)
                    key = (query.name, name)
                    best[key] = min(best.get(key, seconds), seconds)
        every = next(q for q in table if q.name == EVERY)
        one = next(q for q in table if q.name == ONE)
        port, ae = servers["dicom-kiosk"]
        rss_small = peak_rss(kiosk.pid, lambda: timed(port, ae, one))
        rss_every = peak_rss(kiosk.pid, lambda: timed(port, ae, every))
        report(table, found, best, rss_small, rss_every)
    finally:
        kiosk.stop()
        orthanc.stop()
        shutil.rmtree(base, ignore_errors=True)


def report(
    table: list[Query],
    found: dict[tuple[str, str], int],
    best: dict[tuple[str, str], float],
    rss_small: float,
    rss_every: float,
) -> None:
    print(f"DCMTK findscu, whole process, best of {ROUNDS} interleaved rounds")
    print(f"  {'query':36} {'answers':>15} {'dicom-kiosk':>12} {'Orthanc':>9}  Orthanc/ours")
    for query in table:
        ours, theirs = best[(query.name, "dicom-kiosk")], best[(query.name, "Orthanc")]
        counts = f"{found[(query.name, 'dicom-kiosk')]}/{found[(query.name, 'Orthanc')]}"
        ratio = theirs / ours
        print(f"  {query.name:36} {counts:>15} {ours:10.3f} s {theirs:7.3f} s  {ratio:6.2f}x")

    def per_answer(name: str) -> float:
        answers = found[(EVERY, name)] - found[(ONE, name)]
        return (best[(EVERY, name)] - best[(ONE, name)]) / max(answers, 1) * 1000

    ours, theirs = per_answer("dicom-kiosk"), per_answer("Orthanc")
    print(f"  time per answer: dicom-kiosk {ours:.3f} ms, Orthanc {theirs:.3f} ms:"
          f" {theirs / ours:.2f}x Orthanc (goal >= 1.0x, aim 2x)")  # fmt: skip
    small = [q for q in table if q.small]
    worst = max(best[(q.name, "dicom-kiosk")] / best[(q.name, "Orthanc")] for q in small)
    print(f"  small queries ({len(small)}): latency at most {worst:.2f}x Orthanc's (goal <= 1.2x)")
    for level in ("PATIENT", "SERIES", "IMAGE"):
        at = [q for q in table if q.level == level and not q.small]
        for query in at:
            n = found[(query.name, "dicom-kiosk")]
            ours = best[(query.name, "dicom-kiosk")] / max(n, 1) * 1000
            theirs = best[(query.name, "Orthanc")] / max(found[(query.name, "Orthanc")], 1) * 1000
            print(f"  {level} per answer (whole query / answers): dicom-kiosk {ours:.3f} ms,"
                  f" Orthanc {theirs:.3f} ms: {theirs / ours:.2f}x")  # fmt: skip
    print(
        f"  dicom-kiosk serve RSS: {rss_every:.0f} MiB at most during the every-study query,"
        f" {rss_small:.0f} MiB during a one-study query ({rss_every - rss_small:+.0f} MiB)"
    )
    mismatched = [q.name for q in table
                  if found[(q.name, "dicom-kiosk")] != found[(q.name, "Orthanc")]]  # fmt: skip
    if mismatched:
        print(f"  answers differ in number: {', '.join(mismatched)}")


if __name__ == "__main__":
    main()
