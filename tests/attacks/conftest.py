"""Fixtures of the attack tests: a node started with the hardened limits, findings recorded.

Each test starts its own node (``start_node(**settings)``: ``hardened_env`` plus the test's
own settings), measures it with ``tests.support.attack.ResourceSampler`` while it attacks, and
checks its ``findings`` at the end. The measurements of every attack test are printed in the
terminal summary ("attack measurements"), passed or failed.
"""

from __future__ import annotations

import resource
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.attack import Findings, hardened_env
from tests.support.dcmtk import have_dcmtk
from tests.support.node import KioskServer

StartNode = Callable[..., KioskServer]


@pytest.fixture
def start_node(tmp_path: Path) -> Iterator[StartNode]:
    """``start_node(**settings)``: our node with the attack tests' limits and ``settings``
    (config keys), in ``tmp_path / "kiosk"``; stopped (by PID) after the test."""
    if not have_dcmtk():
        pytest.fail("DCMTK is not installed (make test installs it)")
    servers: list[KioskServer] = []

    def start(**settings: object) -> KioskServer:
        server = KioskServer(tmp_path / "kiosk", env=hardened_env(**settings))
        servers.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def findings(request: pytest.FixtureRequest) -> Findings:
    """The test's measurements (kept in its report's user properties) and failed
    expectations (``Findings.check`` at its end)."""
    return Findings(sink=request.node.user_properties)


def need_open_files(count: int) -> None:
    """Raise this process's soft RLIMIT_NOFILE to ``count`` (skip when the hard limit is lower)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= count:
        return
    if hard != resource.RLIM_INFINITY and hard < count:
        pytest.skip(f"needs {count} open files; the hard RLIMIT_NOFILE is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = []
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if "tests/attacks/" not in nodeid or getattr(report, "when", "") != "call":
                continue
            facts = ", ".join(f"{key}: {value}" for key, value in report.user_properties)
            lines.append(f"{outcome.upper():6} {nodeid.split('::', 1)[-1]}: {facts}")
    if lines:
        terminalreporter.section("attack measurements")
        for line in lines:
            terminalreporter.write_line(line)
