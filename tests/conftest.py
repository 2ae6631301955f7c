"""Shared fixtures: a fresh data directory and Core per test, PostgreSQL where asked.

Launchers, test data and the other fixtures live in ``tests/support``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Core
from core.config import Settings, load_settings
from tests.support import postgres
from tests.support.postgres import fresh_pg_database

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["tests.support.node"]  # the ``kiosk`` fixture


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("DICOM_KIOSK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    # Each Core (and each `serve` a test starts) would otherwise spawn a thumbnail pool after
    # its images arrive; tests/core/test_app.py turns it on where it is what is tested.
    monkeypatch.setenv("DICOM_KIOSK_THUMBNAILS_ON_ARRIVAL", "false")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return load_settings(data_dir, {"fsync": False})


@pytest.fixture
def core(settings: Settings) -> Iterator[Core]:
    with Core(settings) as opened:
        yield opened


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One private PostgreSQL server for the test session (skipped where not installed)."""
    if not postgres.available():
        pytest.skip("PostgreSQL server binaries are not installed")
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_core(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Core]:
    """A Core on each supported database: the same code must behave the same on both."""
    url = None
    if request.param == "postgresql":
        url = fresh_pg_database(request.getfixturevalue("pg_server"))
    with Core(load_settings(data_dir, {"fsync": False, "db_url": url})) as opened:
        yield opened
        opened.engine.dispose()
