"""Schema migration: the head read from the migration files, and no migration run at head."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from core.app import Core
from core.db import engine as db_engine


def test_head_revision_is_alembics_head() -> None:
    script = ScriptDirectory.from_config(db_engine.alembic_config("sqlite://"))
    assert db_engine.head_revision() is not None
    assert db_engine.head_revision() == script.get_current_head()


def _record_upgrades(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def fake_upgrade(_cfg: Any, revision: str, **_kwargs: Any) -> None:
        calls.append(revision)

    monkeypatch.setattr(command, "upgrade", fake_upgrade)
    return calls


def test_upgrade_at_head_runs_no_migration(any_core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    assert db_engine.stored_revisions(any_core.engine) == {db_engine.head_revision()}
    assert db_engine.at_head(any_core.engine)
    calls = _record_upgrades(monkeypatch)
    db_engine.upgrade(any_core.engine)
    assert calls == []


def test_upgrade_runs_when_behind_or_unversioned(
    any_core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = any_core.engine
    calls = _record_upgrades(monkeypatch)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert not db_engine.at_head(engine)
    db_engine.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    assert db_engine.stored_revisions(engine) is None
    db_engine.upgrade(engine)
    assert calls == ["head", "head"]
