"""The Settings tab's Audit view: the latest records (a saved setting is one of them) and the
Verify button, which names a record edited behind the trail's back."""

from __future__ import annotations

import asyncio

from sqlalchemy import update

from core.app import Core
from core.db.models import AuditRecord
from tests.support.qt import run_until, settle
from viewmodels.app import AppModel
from viewmodels.settings import AuditRole


def test_saved_settings_are_listed_and_verify_finds_an_edit(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app
    settings = model.settings
    settings.saveLocal("AUDITED", str(core.settings.port), "127.0.0.1")
    run_until(loop, lambda: core.settings.ae_title == "AUDITED")
    settle(loop)
    settings.refreshAudit()
    run_until(loop, lambda: settings.audit.count == 1)
    audit = settings.audit
    first = audit.index(0)
    assert audit.data(first, AuditRole.EVENT) == "Security Alert (Network Configuration)"
    assert audit.data(first, AuditRole.SUMMARY) == "settings changed: ae_title"
    assert audit.data(first, AuditRole.FAILED) is False

    settings.verifyAudit()
    run_until(loop, lambda: settings.auditText != "")
    assert settings.auditText == "Audit trail intact: 1 records checked."
    assert not settings.auditBroken

    with core.sessions.begin() as session:
        session.execute(update(AuditRecord).where(AuditRecord.id == 1).values(outcome=4))
    settings.verifyAudit()
    run_until(loop, lambda: settings.auditBroken)
    assert "record 1 was edited" in settings.auditText


def test_remote_node_changes_are_recorded(
    app: tuple[Core, AppModel], loop: asyncio.AbstractEventLoop
) -> None:
    core, model = app
    settings = model.settings
    settings.saveNode("", "PACS", "ARCHIVE", "127.0.0.1", "104", "move", ["store"])
    run_until(loop, lambda: core.audit.trail.count() == 1)
    settings.deleteNode("PACS")
    run_until(loop, lambda: core.audit.trail.count() == 2)
    summaries = [e.event.summary for e in core.audit.trail.list(newest_first=False)]
    assert summaries == ["remote node PACS added", "remote node PACS deleted"]
    (kind,) = core.audit.trail.list()[0].event.types
    assert kind.code == "110128"
