"""Short, seeded, deterministic fuzz runs of every target (``make test``).

For each target of ``tests.fuzz.targets``: Hypothesis (derandomized, no example database)
over arbitrary bytes and over mutations of the target's seed corpus (bit flips, interesting
integers written over length fields, insertions, deletions, truncations), and every kept
input in ``tests/fuzz/regressions/`` (``<target>-<hash>.bin``, found by ``make fuzz``).
A target raising anything but its documented failures fails the test. Long, coverage-guided
runs: ``python -m tests.fuzz.run`` (``make fuzz``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.corpus import regression_inputs, seeds
from tests.fuzz.targets import TARGETS

# Examples per target, sized so that the whole file runs in well under a minute on 2 cores
# (the import targets write a file and walk the importer; the DICOMDIR one resolves ~50 paths).
EXAMPLES = {
    "pdu_read": 2000,
    "pdu_alloc": 1000,
    "pdvs": 2000,
    "command_elements": 2000,
    "command_message": 2000,
    "associate_rq": 1000,
    "scan_dataset": 2000,
    "scan_vs_reader": 1000,
    "parse_instance": 800,
    "header_of": 800,
    "part10_meta": 2000,
    "import_file": 500,
    "import_zip": 400,
    "import_zip_alloc": 200,
    "import_dicomdir": 150,
    "find_answer": 1500,
    "export_walk": 800,
    "associate_answer": 1500,
}
REGRESSION_SECONDS = 5.0  # a kept input that takes longer is a finding (a hang) in itself

INTERESTING = (
    0, 1, 2, 6, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x10006,
    0xFFFFF, 0x100000, 0x100001, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF,
)  # fmt: skip
MUTATIONS = ("flip", "byte", "int", "insert", "delete", "truncate", "duplicate")


@st.composite
def mutants(draw: st.DrawFn, corpus: tuple[bytes, ...]) -> bytes:
    """A seed with one to six mutations of the kinds a coverage-guided fuzzer uses."""
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(MUTATIONS))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif not data:
            continue
        elif kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[at] = draw(st.integers(0, 255))
        elif kind == "int":
            size = draw(st.sampled_from((2, 4)))
            value = draw(st.sampled_from(INTERESTING)) & ((1 << 8 * size) - 1)
            big = draw(st.booleans())
            data[at : at + size] = value.to_bytes(size, "big" if big else "little")
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "truncate":
            del data[at:]
        else:  # duplicate a chunk somewhere else
            chunk = data[at : at + draw(st.integers(1, 64))]
            where = draw(st.integers(0, len(data)))
            data[where:where] = chunk
    return bytes(data)


def _inputs(target: str) -> st.SearchStrategy[bytes]:
    corpus = tuple(seeds(target))
    arbitrary = st.binary(max_size=4096)
    if not corpus:
        return arbitrary
    return st.one_of(st.sampled_from(corpus), mutants(corpus), arbitrary)


def _fuzz_test(target: str) -> object:
    @settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=EXAMPLES[target],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(data=_inputs(target))
    def run(data: bytes) -> None:
        TARGETS[target](data)

    return run


def test_every_target_has_a_budget() -> None:
    assert set(EXAMPLES) == set(TARGETS)


def test_every_target_has_seeds() -> None:
    assert [name for name in TARGETS if not seeds(name)] == []


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_target(target: str) -> None:
    _fuzz_test(target)()  # type: ignore[operator]


def test_regression_names_name_targets() -> None:
    unknown = [p.name for p in regression_inputs() if p.name.rsplit("-", 1)[0] not in TARGETS]
    assert unknown == []


@pytest.mark.parametrize("path", regression_inputs(), ids=lambda path: path.name)
def test_regression(path: Path) -> None:
    target = TARGETS[path.name.rsplit("-", 1)[0]]
    started = time.perf_counter()
    target(path.read_bytes())
    elapsed = time.perf_counter() - started
    assert elapsed < REGRESSION_SECONDS, f"{path.name} took {elapsed:.1f} s"
