"""Audit records forwarded to a real rsyslog (Debian's rsyslogd) on loopback: RFC 5424 over TCP
with octet counting, the A.5 XML as the message; records made while the collector is down (and
in a process that ended meanwhile) arrive once it is up again."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from core.app import Core
from core.config import load_settings
from core.db.models import Patient, Study
from tests.support.data import seed
from tests.support.ports import free_port, wait_for
from tests.support.process import ServerProcess

pytestmark = pytest.mark.integration

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
BOM = "\ufeff"


class Rsyslog(ServerProcess):
    """rsyslogd in the foreground with its own config: imtcp on 127.0.0.1:``port``, each
    message's MSG on one line of ``output``."""

    def __init__(self, folder: Path, port: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.output = folder / "audit.log"
        self.log_path = folder / "rsyslogd.log"
        self.config = folder / "rsyslog.conf"
        self.config.write_text(
            f'global(workDirectory="{folder}" maxMessageSize="64k")\n'
            'module(load="imtcp")\n'
            f'input(type="imtcp" address="127.0.0.1" port="{port}")\n'
            'template(name="msg" type="string" string="%msg%\\n")\n'
            f'action(type="omfile" file="{self.output}" template="msg")\n'
        )
        self.pid_file = folder / "rsyslogd.pid"

    def start(self) -> Rsyslog:
        args = [RSYSLOGD, "-n", "-f", str(self.config), "-i", str(self.pid_file)]
        self._spawn(args, self.port, env={"PATH": "/usr/sbin:/usr/bin:/bin"})
        return self

    def messages(self) -> list[ET.Element]:
        """The A.5 ``AuditMessage`` of every message received so far."""
        if not self.output.exists():
            return []
        lines = self.output.read_text(encoding="utf-8").splitlines()
        return [ET.fromstring(line.removeprefix(BOM).strip()) for line in lines if line.strip()]

    def wait_for_messages(self, count: int, timeout: float = 30.0) -> list[ET.Element]:
        wait_for(lambda: len(self.messages()) >= count, timeout, f"{count} syslog messages")
        return self.messages()


def _event_ids(messages: list[ET.Element]) -> list[str]:
    ids = []
    for message in messages:
        assert message.tag == "AuditMessage"
        event_id = message.find("EventIdentification/EventID")
        assert event_id is not None and event_id.get("codeSystemName") == "DCM"
        ids.append(event_id.get("csd-code", ""))
    return ids


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    if not Path(RSYSLOGD).exists():
        pytest.skip("rsyslog is not installed (make debs-test)")
    server = Rsyslog(tmp_path / "rsyslog", free_port())
    try:
        yield server
    finally:
        server.stop()


def test_records_reach_rsyslog_also_those_made_while_it_was_down(
    rsyslog: Rsyslog, data_dir: Path, tmp_path: Path
) -> None:
    settings = load_settings(
        data_dir,
        {"fsync": False, "audit_syslog_host": "127.0.0.1", "audit_syslog_port": rsyslog.port},
    )
    # The collector is not up yet: the records wait in the database.
    with Core(settings) as core:
        seed(core)
        with core.sessions() as session:
            study = session.scalar(
                select(Study.study_uid).join(Patient).where(Patient.patient_id == "P-001")
            )
        assert study
        core.export([("study", study)], tmp_path / "out")
        core.delete("study", study)
        assert core.audit.trail.forwarded_id() == 0
        rsyslog.start()
        assert core.audit.forwarder is not None
        core.audit.forwarder.wake()  # retry now rather than after the back-off
        messages = rsyslog.wait_for_messages(2)
        assert _event_ids(messages) == ["110106", "110105"]
        wait_for(lambda: core.audit.trail.forwarded_id() == 2, 10, "the forwarded mark")
        deleted = messages[1]
        patient = [
            o
            for o in deleted.findall("ParticipantObjectIdentification")
            if o.get("ParticipantObjectTypeCode") == "1"
        ]
        assert [o.findtext("ParticipantObjectName") for o in patient] == ["Müller^Anna"]

        rsyslog.stop()
        core.audit.settings_changed(["theme"])  # made while the collector is down again
    assert len(rsyslog.messages()) == 2

    # A later process sends what this one could not.
    with Core(settings) as core:
        assert core.audit.trail.forwarded_id() == 2
        rsyslog.start()
        assert core.audit.forwarder is not None
        core.audit.forwarder.wake()
        messages = rsyslog.wait_for_messages(3)
        assert _event_ids(messages) == ["110106", "110105", "110113"]
        wait_for(lambda: core.audit.trail.forwarded_id() == 3, 10, "the forwarded mark")

        # The collector goes away under an open connection: the next record is not written
        # into the dead connection but sent once the collector is back.
        rsyslog.stop()
        core.audit.kiosk_access(unlocked=True)
        rsyslog.start()
        core.audit.forwarder.wake()
        messages = rsyslog.wait_for_messages(4)
        assert _event_ids(messages)[3:] == ["110114"]
