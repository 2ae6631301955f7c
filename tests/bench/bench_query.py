"""C-FIND as a client: ``dicom-kiosk query`` against DCMTK findscu, the same query to the same
Orthanc, in the same run.

Orthanc holds ``BENCH_QUERY_STUDIES`` generated studies (one small image each, 2,000 by
default), of which ``BENCH_QUERY_MATCHING`` (1,662) belong to patients named ``SMITH^...``
(some of them with Latin-1 letters, so that the answers carry ``ISO_IR 100``); the rest to
other families. Every contender asks the same STUDY level query, ``PatientName=SMITH*`` with
the return keys ``dicom-kiosk query`` asks for, and reads every answer:

- ``dicom-kiosk query pacs --patient-name SMITH --max 0``, a new process each time, as a user
  runs it (its rows printed to a pipe);
- DCMTK ``findscu`` with ``+sr`` (every answer printed, to a pipe), a new process each time;
- our client in this process (``QueryRetrieveClient.find_studies``, the call the command and
  the Query tab make): the C-FIND alone, without the command's start-up;
- for comparison, the previous client's path in this process: pynetdicom's ``send_c_find``,
  each answer's values read from its Dataset.

Best of ``BENCH_QUERY_ROUNDS`` (5) interleaved rounds. Goal: our answers within 1.5x of
findscu's time.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from core.net.remote import RemoteAE
from tests.bench.bytecode import compile_ours
from tests.support.dcmtk import dcmtk, dcmtk_env, run
from tests.support.orthanc import Orthanc

STUDIES = int(os.environ.get("BENCH_QUERY_STUDIES", "2000"))
MATCHING = int(os.environ.get("BENCH_QUERY_MATCHING", "1662"))
ROUNDS = int(os.environ.get("BENCH_QUERY_ROUNDS", "5"))
GOAL = 1.5
FINDSCU = "DCMTK findscu +sr (process)"
COMMAND = "dicom-kiosk query (process)"
IN_PROCESS = "find_studies (in process)"
PYNETDICOM = "pynetdicom send_c_find (in process, before)"
TIMEOUT = 300.0
NODE = "pacs"

# The keys `dicom-kiosk query` sends at STUDY level (core.net.qr.QueryRetrieveClient).
RETURN_KEYS = (
    "PatientID",
    "PatientBirthDate",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyDescription",
    "ModalitiesInStudy",
    "StudyInstanceUID",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)
FIRST_NAMES = ("John", "Mary", "Jürgen", "Zoë", "Ana", "Peter", "Hélène", "Li", "Omar", "Ines")
OTHER_FAMILIES = ("JONES", "MÜLLER", "GARCÍA", "BROWN", "NGUYEN", "SMYTH", "TAYLOR")
DESCRIPTIONS = ("CT HEAD", "MR KNEE LEFT", "XR CHEST PA", "US ABDOMEN", "CT THORAX")


def study_files(folder: Path, total: int = STUDIES, matching: int = MATCHING) -> list[Path]:
    """``total`` one-image studies written to ``folder``: ``matching`` of SMITH patients."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(1662)
    files = []
    for index in range(total):
        family = "SMITH" if index < matching else rng.choice(OTHER_FAMILIES)
        first = rng.choice(FIRST_NAMES)
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.SOPClassUID = SecondaryCaptureImageStorage
        ds.SOPInstanceUID = generate_uid()
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.PatientName = f"{family}^{first}"
        ds.PatientID = f"PID{index:06d}"
        ds.PatientBirthDate = f"19{rng.randrange(30, 99)}0{rng.randrange(1, 9)}1{rng.randrange(9)}"
        ds.PatientSex = rng.choice("MF")
        ds.StudyDate = f"20{rng.randrange(10, 26):02d}0{rng.randrange(1, 9)}2{rng.randrange(9)}"
        ds.StudyTime = f"{rng.randrange(7, 19):02d}{rng.randrange(60):02d}00"
        ds.AccessionNumber = f"ACC{index:07d}"
        ds.StudyDescription = rng.choice(DESCRIPTIONS)
        ds.StudyID = str(index)
        ds.Modality = ds.StudyDescription[:2]
        ds.SeriesNumber = 1
        ds.InstanceNumber = 1
        ds.Rows = ds.Columns = 8
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.PixelData = bytes(64)
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = folder / f"{index:05d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def load(orthanc: Orthanc, files: list[Path]) -> None:
    """Store ``files`` into ``orthanc`` with DCMTK storescu, a few hundred per association."""
    for start in range(0, len(files), 500):
        chunk = [str(f) for f in files[start : start + 500]]
        run(
            [dcmtk("storescu"), "-aec", orthanc.ae_title, "127.0.0.1", str(orthanc.dicom_port)]
            + chunk,
            timeout=TIMEOUT,
        )


def _script() -> str:
    script = Path(sys.executable).with_name("dicom-kiosk")
    if not script.exists():
        raise RuntimeError(f"{script} is missing: install the package (make setup)")
    return str(script)


def findscu_args(orthanc: Orthanc, name: str = "SMITH*") -> list[str]:
    keys = ["-k", "QueryRetrieveLevel=STUDY", "-k", f"PatientName={name}"]
    for keyword in RETURN_KEYS:
        keys += ["-k", keyword]
    return [
        dcmtk("findscu"), "-S", "+sr", "-aec", orthanc.ae_title, "-aet", "KIOSK", *keys,
        "127.0.0.1", str(orthanc.dicom_port),
    ]  # fmt: skip


def run_findscu(orthanc: Orthanc) -> tuple[float, int]:
    """Seconds for a findscu process to list every answer, and how many it listed."""
    started = time.perf_counter()
    done = subprocess.run(
        findscu_args(orthanc), capture_output=True, timeout=TIMEOUT, env=dcmtk_env(), check=True
    )
    seconds = time.perf_counter() - started
    return seconds, done.stderr.count(b"Find Response:") + done.stdout.count(b"Find Response:")


def run_command(data_dir: Path) -> tuple[float, int]:
    """Seconds for a ``dicom-kiosk query`` process to list every answer, and how many."""
    command = [_script(), "--data-dir", str(data_dir), "query", NODE, "--patient-name", "SMITH"]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--max", "0"], capture_output=True, timeout=TIMEOUT, check=True
    )
    seconds = time.perf_counter() - started
    last = done.stdout.decode().strip().splitlines()[-1]
    return seconds, int(last.split()[0])


def run_in_process(remote: RemoteAE) -> tuple[float, int, float]:
    """Seconds for our client, in this process, to return every answer, how many, and the
    CPU seconds this process spent."""
    from core.net.qr import QueryRetrieveClient, StudyQuery

    client = QueryRetrieveClient("KIOSK", timeout=60)
    started, cpu = time.perf_counter(), time.process_time()
    result = client.find_studies(remote, StudyQuery(patient_name="SMITH", append_wildcard=True))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, len(result.matches), cpu


def run_pynetdicom(remote: RemoteAE) -> tuple[float, int, float]:
    """The previous client's path, for comparison: pynetdicom's ``send_c_find`` and each
    answer's values read from its Dataset. Seconds, answers, CPU seconds."""
    from pydicom.dataset import Dataset
    from pynetdicom import AE

    from core.net.qr import StudyRootQueryRetrieveInformationModelFind as model

    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.PatientName = "SMITH*"
    for keyword in RETURN_KEYS:
        setattr(query, keyword, "")
    started, cpu = time.perf_counter(), time.process_time()
    ae = AE(ae_title="KIOSK")
    ae.add_requested_context(model)
    assoc = ae.associate(remote.host, remote.port, ae_title=remote.ae_title)
    if not assoc.is_established:
        raise RuntimeError(f"no association with {remote}")
    rows = []
    try:
        for status, answer in assoc.send_c_find(query, model, msg_id=1):
            if status and status.Status in (0xFF00, 0xFF01) and answer is not None:
                rows.append([str(answer.get(k, "")).strip() for k in ("PatientName", *RETURN_KEYS)])
    finally:
        assoc.release()
    return time.perf_counter() - started, len(rows), time.process_time() - cpu


def register(data_dir: Path, orthanc: Orthanc) -> None:
    subprocess.run(
        [_script(), "--data-dir", str(data_dir), "nodes", "add", NODE, "--ae", orthanc.ae_title,
         "--host", "127.0.0.1", "--port", str(orthanc.dicom_port)],
        check=True, timeout=TIMEOUT, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def main() -> None:
    compile_ours()  # an installation has our bytecode (tests/bench/bytecode.py)
    base = Path(tempfile.mkdtemp(prefix="bench-query-"))
    orthanc = Orthanc(base / "orthanc")
    try:
        files = study_files(base / "studies")
        orthanc.start()
        load(orthanc, files)
        data_dir = base / "kiosk"
        register(data_dir, orthanc)
        remote = RemoteAE(orthanc.ae_title, "127.0.0.1", orthanc.dicom_port, name=NODE)
        cpu: dict[str, float] = {}

        def with_cpu(
            name: str, run: Callable[[], tuple[float, int, float]]
        ) -> Callable[[], tuple[float, int]]:
            def once() -> tuple[float, int]:
                seconds, count, spent = run()
                cpu[name] = min(cpu.get(name, spent), spent)
                return seconds, count

            return once

        contenders: dict[str, Callable[[], tuple[float, int]]] = {
            FINDSCU: lambda: run_findscu(orthanc),
            COMMAND: lambda: run_command(data_dir),
            IN_PROCESS: with_cpu(IN_PROCESS, lambda: run_in_process(remote)),
            PYNETDICOM: with_cpu(PYNETDICOM, lambda: run_pynetdicom(remote)),
        }
        best = dict.fromkeys(contenders, float("inf"))
        found: dict[str, int] = {}
        for _ in range(ROUNDS):
            for name, contender in contenders.items():
                seconds, found[name] = contender()
                best[name] = min(best[name], seconds)
        print(
            f"PatientName=SMITH* at STUDY level from Orthanc holding {STUDIES} studies"
            f" ({MATCHING} match); best of {ROUNDS} interleaved rounds"
        )
        reference = best[FINDSCU]
        for name, seconds in best.items():
            ratio = seconds / reference
            spent = f"  CPU {cpu[name]:.3f} s" if name in cpu else ""
            print(
                f"  {name:44} {seconds:6.3f} s  {found[name]:5} answers"
                f"  {ratio:5.2f}x findscu{spent}"
            )
        for name in (COMMAND, IN_PROCESS):
            ratio = best[name] / reference
            verdict = "met" if ratio <= GOAL else "NOT met"
            print(f"  goal, {name}: within {GOAL}x findscu: {verdict} ({ratio:.2f}x)")
        if len(set(found.values())) != 1:
            print(f"  answer counts differ: {found}")
    finally:
        orthanc.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
