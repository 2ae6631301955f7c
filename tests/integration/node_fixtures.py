"""Fixtures for the node integration tests: our server and DCMTK on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.node_support import KioskServer, have_dcmtk


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[KioskServer]:
    if not have_dcmtk():
        pytest.fail("DCMTK is not installed (make test installs it)")
    server = KioskServer(tmp_path / "kiosk")
    try:
        yield server.start()
    finally:
        server.stop()
