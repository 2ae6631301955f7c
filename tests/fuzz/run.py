"""Coverage-guided fuzzing of every target with atheris (libFuzzer): ``make fuzz``.

    python -m tests.fuzz.run [--target NAME ...] [--runs N] [--seconds S] [--time NAME=S ...]

Each target runs in a child process of this module (``--child NAME``), because
``atheris.Fuzz`` takes the process over and only ends it by exiting. The child imports our
``core`` (and the parsers it builds on, pydicom and pynetdicom) under
``atheris.instrument_imports``, so libFuzzer sees their branches, and starts from the seed
corpus of ``tests.fuzz.corpus`` plus the corpus earlier runs grew in ``.fuzz/corpus/NAME``.
One target at a time, each bounded by ``--seconds`` (and ``--runs``); the parent kills a child
that outlives its bound.

A finding is an exception a target does not expect. The child records it and goes on
fuzzing: the smallest input seen for each signature (exception type and innermost frame) is
kept as ``tests/fuzz/regressions/<target>-<hash>.bin``, which ``tests/fuzz/test_fuzz.py``
replays in ``make test``; inputs whose signature an existing regression input already has are
not kept again. A hang, an out-of-memory or a fatal signal ends the child: libFuzzer's
artifact becomes a regression input too, and the child is restarted for the time left.

Printed per target: executions, exec/s, coverage (libFuzzer's ``cov`` after the seeds and at
the end), and the findings. ``.fuzz/last-run.json`` keeps the same numbers; ``.fuzz/`` is
scratch (grown corpus, artifacts) and is not committed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".fuzz"
REGRESSIONS = Path(__file__).resolve().parent / "regressions"
# What the child instruments: our code and the parsers it hands outside bytes to. pydicom's
# generated dictionaries are data, slow to instrument and without branches worth guiding by.
INSTRUMENTED = ("core", "pydicom", "pynetdicom", "zipfile")
NOT_INSTRUMENTED = (
    "pydicom._dicom_dict",
    "pydicom._private_dict",
    "pydicom._uid_dict",
    "pydicom._storage_sopclass_uids",
    "pydicom.sr",
)
STARTUP_SECONDS = 120  # a child's allowance beyond --seconds (instrumented imports, seeds)
RESTARTS = 3  # after a hang, an out-of-memory or a fatal signal
PER_INPUT_TIMEOUT = 10  # seconds: a longer input is a hang (libFuzzer -timeout)
RSS_LIMIT_MB = 2048
MINIMIZE_SECONDS = 20.0


@dataclass
class Finding:
    target: str
    signature: str
    kind: str  # "exception" (recorded by the child), "timeout", "oom", "crash"
    file: str
    size: int
    exception: str = ""
    ours: str = ""  # innermost frame in our code (core/, tests/fuzz/)
    traceback: str = ""


@dataclass
class TargetStats:
    target: str
    executions: int = 0
    seconds: float = 0.0
    initial_cov: int = 0
    final_cov: int = 0
    final_ft: int = 0
    corpus: int = 0
    children: int = 0
    findings: list[Finding] = field(default_factory=list)
    known: list[str] = field(default_factory=list)  # signatures kept from earlier runs
    notes: list[str] = field(default_factory=list)

    @property
    def exec_per_second(self) -> float:
        return self.executions / self.seconds if self.seconds else 0.0


# -- signatures of findings ------------------------------------------------------------------------
def _short(filename: str) -> str:
    path = Path(filename)
    for base in (ROOT, *(Path(p) for p in sys.path if p.endswith("site-packages"))):
        try:
            return str(path.relative_to(base))
        except ValueError:
            continue
    return path.name if "lib/python" in filename else filename


def signature(exc: BaseException) -> tuple[str, str]:
    """(signature, innermost frame in our code): the exception type and where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__qualname__, ""
    inner = frames[-1]
    ours = ""
    for frame in reversed(frames):
        short = _short(frame.filename)
        if short.startswith(("core/", "tests/fuzz/")):
            ours = f"{short}:{frame.lineno} in {frame.name}"
            break
    return f"{type(exc).__qualname__} at {_short(inner.filename)}:{inner.lineno}", ours


def _run_catching(target: Any, data: bytes) -> BaseException | None:
    try:
        target(data)
    except Exception as exc:
        return exc
    return None


# -- the child: one target under atheris -----------------------------------------------------------
class _Tracker:
    """Keeps the smallest input of each new finding signature as a regression input."""

    def __init__(self, target: str, known: set[str], findings: Path) -> None:
        self.target = target
        self.known = known
        self.findings = findings
        self.kept: dict[str, Path] = {}

    def record(self, data: bytes, exc: BaseException) -> None:
        sig, ours = signature(exc)
        if sig in self.known:
            return
        previous = self.kept.get(sig)
        if previous is not None and previous.stat().st_size <= len(data):
            return
        from tests.fuzz.corpus import regression_name

        REGRESSIONS.mkdir(parents=True, exist_ok=True)
        path = REGRESSIONS / regression_name(self.target, data)
        path.write_bytes(data)
        if previous is not None and previous != path:
            previous.unlink(missing_ok=True)
        self.kept[sig] = path
        finding = Finding(
            self.target,
            sig,
            "exception",
            str(path.relative_to(ROOT)),
            len(data),
            repr(exc)[:500],
            ours,
            "".join(traceback.format_exception(exc))[-4000:],
        )
        with self.findings.open("a") as out:
            out.write(json.dumps(asdict(finding)) + "\n")


def child(name: str, libfuzzer_args: list[str]) -> None:
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED, exclude=NOT_INSTRUMENTED):
        from tests.fuzz import targets
        from tests.fuzz.corpus import regression_inputs

    target = targets.TARGETS[name]
    known: set[str] = set()
    for path in regression_inputs(name):
        exc = _run_catching(target, path.read_bytes())
        if exc is not None:
            known.add(signature(exc)[0])
    (WORK / "state").mkdir(parents=True, exist_ok=True)
    (WORK / "state" / f"{name}.known.json").write_text(json.dumps(sorted(known)))
    if name == "associate_rq":
        print(f"FUZZ-NOTE associate_rq parses with {targets.associate_parser()}", file=sys.stderr)
    tracker = _Tracker(name, known, WORK / "state" / f"{name}.findings.jsonl")

    def one_input(data: bytes) -> None:
        try:
            target(data)
        except Exception as exc:
            tracker.record(data, exc)

    atheris.Setup([sys.argv[0], *libfuzzer_args], one_input)
    atheris.Fuzz()


# -- the parent ------------------------------------------------------------------------------------
_STATUS = re.compile(r"^#(\d+)\s+(\w+)\s+(?:cov: (\d+) ft: (\d+) )?corp: (\d+)/")
_STAT = re.compile(r"^stat::(\w+):\s+(\d+)")
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_DONE = re.compile(r"^Done (\d+) runs in (\d+) second")


def _prepare(name: str) -> tuple[Path, Path, Path]:
    from tests.fuzz.corpus import regression_inputs, regression_name, seeds

    corpus = WORK / "corpus" / name
    seed_dir = WORK / "seeds" / name
    artifacts = WORK / "artifacts" / name
    shutil.rmtree(seed_dir, ignore_errors=True)
    for folder in (corpus, seed_dir, artifacts):
        folder.mkdir(parents=True, exist_ok=True)
    for data in seeds(name):
        (seed_dir / regression_name(name, data)).write_bytes(data)
    for path in regression_inputs(name):
        shutil.copy(path, seed_dir / path.name)
    state = WORK / "state"
    state.mkdir(parents=True, exist_ok=True)
    (state / f"{name}.findings.jsonl").unlink(missing_ok=True)
    return corpus, seed_dir, artifacts


def _run_child(
    name: str, seconds: float, runs: int | None, seed: int | None, stats: TargetStats
) -> list[Path]:
    """One child run; returns libFuzzer's artifacts (hangs, OOMs, fatal signals)."""
    corpus, seed_dir = WORK / "corpus" / name, WORK / "seeds" / name
    artifacts = WORK / "artifacts" / name
    before = set(artifacts.iterdir())
    args = [
        str(corpus),
        str(seed_dir),
        f"-max_total_time={max(1, int(seconds))}",
        "-print_final_stats=1",
        f"-artifact_prefix={artifacts}/",
        f"-timeout={PER_INPUT_TIMEOUT}",
        f"-rss_limit_mb={RSS_LIMIT_MB}",
    ]
    if runs is not None:
        args.append(f"-runs={runs}")
    if seed is not None:
        args.append(f"-seed={seed}")
    scratch = WORK / "tmp" / name
    env = {**os.environ, "FUZZ_TMPDIR": str(scratch), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tests.fuzz.run", "--child", name, "--", *args]
    log_path = WORK / "logs" / f"{name}.{stats.children}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            process.wait(timeout=seconds + STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            stats.notes.append(f"child {stats.children} killed after {seconds + STARTUP_SECONDS} s")
    wall = time.monotonic() - started
    shutil.rmtree(scratch, ignore_errors=True)
    stats.children += 1
    _parse_log(log_path.read_text(errors="replace"), wall, stats)
    return sorted(set(artifacts.iterdir()) - before)


def _parse_log(text: str, wall: float, stats: TargetStats) -> None:
    executions = 0
    fuzz_seconds = 0.0
    last: re.Match[str] | None = None
    for line in text.splitlines():
        if line.startswith("FUZZ-NOTE "):
            stats.notes.append(line[len("FUZZ-NOTE ") :])
        if (status := _STATUS.match(line)) is not None:
            if status.group(2) == "INITED" and stats.children == 1 and status.group(3):
                stats.initial_cov = int(status.group(3))
            last = status
        elif (stat := _STAT.match(line)) is not None:
            if stat.group(1) == "number_of_executed_units":
                executions = int(stat.group(2))
        elif (done := _DONE.match(line)) is not None:
            fuzz_seconds = float(done.group(2))
    if last is not None:
        executions = executions or int(last.group(1))
        if last.group(3):
            stats.final_cov = int(last.group(3))
            stats.final_ft = int(last.group(4))
        stats.corpus = int(last.group(5))
    stats.executions += executions
    stats.seconds += fuzz_seconds if fuzz_seconds >= 1 else wall


def _artifact_finding(name: str, artifact: Path, log: str) -> Finding:
    from tests.fuzz.corpus import regression_name

    data = artifact.read_bytes()
    kind = artifact.name.split("-", 1)[0]  # crash, timeout, oom, leak
    REGRESSIONS.mkdir(parents=True, exist_ok=True)
    path = REGRESSIONS / regression_name(name, data)
    path.write_bytes(data)
    tail = log[log.rfind("==") - 2000 :] if "==" in log else log[-2000:]
    return Finding(name, f"{kind} (libFuzzer)", kind, str(path.relative_to(ROOT)), len(data),
                   traceback=tail)  # fmt: skip


def _minimize(finding: Finding, deadline: float) -> None:
    """Delta debugging in this process: a smaller input with the same signature replaces it."""
    from tests.fuzz.corpus import regression_name
    from tests.fuzz.targets import TARGETS

    target = TARGETS[finding.target]
    path = ROOT / finding.file
    data = path.read_bytes()

    def same(candidate: bytes) -> bool:
        exc = _run_catching(target, candidate)
        return exc is not None and signature(exc)[0] == finding.signature

    if not same(data):
        return  # does not reproduce outside the instrumented child: keep it as found
    chunk = max(1, len(data) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        at, shrunk = 0, False
        while at < len(data) and time.monotonic() < deadline:
            candidate = data[:at] + data[at + chunk :]
            if candidate and same(candidate):
                data, shrunk = candidate, True
            else:
                at += chunk
        if not shrunk:
            chunk //= 2
    if len(data) < finding.size:
        smaller = REGRESSIONS / regression_name(finding.target, data)
        smaller.write_bytes(data)
        path.unlink(missing_ok=True)
        finding.file, finding.size = str(smaller.relative_to(ROOT)), len(data)


def fuzz_target(name: str, seconds: float, runs: int | None, seed: int | None) -> TargetStats:
    stats = TargetStats(name)
    _prepare(name)
    deadline = time.monotonic() + seconds
    findings_file = WORK / "state" / f"{name}.findings.jsonl"
    for _attempt in range(1 + RESTARTS):
        left = deadline - time.monotonic()
        artifacts = _run_child(name, left, runs, seed, stats)
        log = (WORK / "logs" / f"{name}.{stats.children - 1}.log").read_text(errors="replace")
        for artifact in artifacts:
            stats.findings.append(_artifact_finding(name, artifact, log))
        if not artifacts or deadline - time.monotonic() < 10 or runs is not None:
            break
    if findings_file.exists():
        latest: dict[str, Finding] = {}
        for line in findings_file.read_text().splitlines():
            finding = Finding(**json.loads(line))
            latest[finding.signature] = finding  # the last kept input is the smallest
        stats.findings.extend(latest.values())
    known_file = WORK / "state" / f"{name}.known.json"
    if known_file.exists():
        stats.known = json.loads(known_file.read_text())
    return stats


def _report(all_stats: list[TargetStats]) -> str:
    lines = [
        f"{'target':18} {'execs':>10} {'secs':>6} {'exec/s':>8} {'cov':>13} {'ft':>6}"
        f" {'corpus':>6} {'new':>4} {'known':>5}"
    ]
    for s in all_stats:
        cov = f"{s.initial_cov}->{s.final_cov}"
        lines.append(
            f"{s.target:18} {s.executions:>10} {s.seconds:>6.0f} {s.exec_per_second:>8.0f}"
            f" {cov:>13} {s.final_ft:>6} {s.corpus:>6} {len(s.findings):>4} {len(s.known):>5}"
        )
    total = sum(s.executions for s in all_stats)
    lines.append(f"total executions: {total}")
    for s in all_stats:
        for note in s.notes:
            lines.append(f"note [{s.target}]: {note}")
        for f in s.findings:
            lines.append(f"FINDING [{s.target}] {f.signature} ({f.kind})")
            lines.append(f"    input: {f.file} ({f.size} bytes)")
            if f.exception:
                lines.append(f"    exception: {f.exception[:300]}")
            if f.ours:
                lines.append(f"    in our code: {f.ours}")
        for known in s.known:
            lines.append(f"known [{s.target}] (a regression input still fails): {known}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--child"]:
        separator = args.index("--") if "--" in args else len(args)
        child(args[1], args[separator + 1 :])
        return 0
    from tests.fuzz.targets import TARGETS

    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--target", action="append", choices=sorted(TARGETS), help="repeatable")
    parser.add_argument("--runs", type=int, help="executions per target (default: no bound)")
    parser.add_argument("--seconds", type=float, default=60.0, help="per target (default 60)")
    parser.add_argument(
        "--time",
        action="append",
        default=[],
        metavar="NAME=S",
        help="seconds for one target, overriding --seconds (repeatable)",
    )
    parser.add_argument("--seed", type=int, help="libFuzzer's random seed")
    parser.add_argument("--no-minimize", action="store_true", help="keep findings as found")
    options = parser.parse_args(args)
    seconds = dict.fromkeys(TARGETS, options.seconds)
    for item in options.time:
        name, _, value = item.partition("=")
        if name not in TARGETS:
            parser.error(f"--time {item}: no target {name!r}")
        seconds[name] = float(value)
    all_stats = []
    for name in options.target or list(TARGETS):
        print(f"fuzzing {name} for up to {seconds[name]:.0f} s ...", flush=True)
        stats = fuzz_target(name, seconds[name], options.runs, options.seed)
        if not options.no_minimize:
            for finding in stats.findings:
                if finding.kind == "exception":
                    _minimize(finding, time.monotonic() + MINIMIZE_SECONDS)
        all_stats.append(stats)
        print(_report([stats]).split("\n", 2)[1], flush=True)
    report = _report(all_stats)
    print(report)
    WORK.mkdir(exist_ok=True)
    rows = [{**asdict(s), "exec_per_second": s.exec_per_second} for s in all_stats]
    (WORK / "last-run.json").write_text(json.dumps(rows, indent=1))
    return 1 if any(s.findings for s in all_stats) else 0


if __name__ == "__main__":
    sys.exit(main())
