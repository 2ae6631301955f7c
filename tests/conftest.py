"""Shared fixtures: a fresh data directory and Core per test, pydicom's bundled files."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from sqlalchemy import create_engine, text

from core.app import Core
from core.config import Settings, load_settings
from tests import pg

PYDICOM_DATA = Path(pydicom.__file__).resolve().parent / "data"
TEST_FILES = PYDICOM_DATA / "test_files"
CHARSET_FILES = PYDICOM_DATA / "charset_files"

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytest_plugins = ["tests.integration.node_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("DICOM_KIOSK_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


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
    if not pg.available():
        pytest.skip("PostgreSQL server binaries are not installed")
    with pg.postgres_server() as url:
        yield url


def fresh_pg_database(server_url: str) -> str:
    name = f"t{uuid.uuid4().hex[:16]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def any_core(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Core]:
    """A Core on each supported database: the same code must behave the same on both."""
    url = None
    if request.param == "postgresql":
        url = fresh_pg_database(request.getfixturevalue("pg_server"))
    with Core(load_settings(data_dir, {"fsync": False, "db_url": url})) as opened:
        yield opened
        opened.engine.dispose()
