"""An audit event as PS3.15 A.5 XML and as an RFC 5424 message framed by octet counting."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from core.audit import records
from core.audit.chain import AuditEntry
from core.audit.syslog import BOM, octet_counted, syslog_message
from core.audit.xml import to_xml

LOCAL = records.Local("KIOSK", "kiosk-1", 4242, "tech")
CT = "1.2.840.10008.5.1.4.1.1.2"


def _received() -> records.AuditEvent:
    source = records.peer("MODALITY\x07", "192.0.2.7:104", True, records.ROLE_SOURCE)
    study = records.StudySubject("1.2.3", "P-1", "Doe^Jane\nX", ((CT, 3),))
    return records.received(LOCAL, source, [study], done=3, failed=0)


class TestXml:
    def test_element_names_follow_a5(self) -> None:
        root = ET.fromstring(to_xml(_received(), "KIOSK"))
        assert root.tag == "AuditMessage"
        ident = root.find("EventIdentification")
        assert ident is not None
        assert ident.get("EventActionCode") == "C" and ident.get("EventOutcomeIndicator") == "0"
        assert ident.get("EventDateTime", "").endswith("Z")
        event_id = ident.find("EventID")
        assert event_id is not None and event_id.attrib == {
            "csd-code": "110104",
            "codeSystemName": "DCM",
            "originalText": "DICOM Instances Transferred",
        }
        source, destination = root.findall("ActiveParticipant")
        assert source.get("UserIsRequestor") == "true"
        assert source.get("NetworkAccessPointID") == "192.0.2.7"
        assert source.get("NetworkAccessPointTypeCode") == "2"
        role = source.find("RoleIDCode")
        assert role is not None and role.get("csd-code") == "110153"
        assert destination.get("UserID") == "KIOSK"
        assert destination.get("AlternativeUserID") == "4242"
        audit_source = root.find("AuditSourceIdentification")
        assert audit_source is not None and audit_source.get("AuditSourceID") == "KIOSK"
        study, patient = root.findall("ParticipantObjectIdentification")
        assert study.get("ParticipantObjectID") == "1.2.3"
        assert (
            study.get("ParticipantObjectTypeCode"),
            study.get("ParticipantObjectTypeCodeRole"),
        ) == ("2", "3")
        id_type = study.find("ParticipantObjectIDTypeCode")
        assert id_type is not None and id_type.get("csd-code") == "110180"
        sop_class = study.find("ParticipantObjectDescription/SOPClass")
        assert sop_class is not None
        assert sop_class.attrib == {"UID": CT, "NumberOfInstances": "3"}
        assert patient.get("ParticipantObjectID") == "P-1"
        assert patient.findtext("ParticipantObjectName") == "Doe^Jane\nX"
        id_type = patient.find("ParticipantObjectIDTypeCode")
        assert id_type is not None and id_type.get("codeSystemName") == "RFC-3881"

    def test_one_line_and_only_characters_xml_can_hold(self) -> None:
        """A control character in a peer's AE title would make the XML unreadable; a line
        break in a name would split the message in a collector's file."""
        data = to_xml(_received(), "KIOSK")
        assert b"\n" not in data and b"\x07" not in data
        root = ET.fromstring(data)
        assert root.find("ActiveParticipant").get("UserID") == "MODALITY\ufffd"  # type: ignore[union-attr]

    def test_export_says_whether_de_identified(self) -> None:
        study = records.StudySubject("1.2.3", "P-1", "Doe^Jane", ((CT, 1),))
        event = records.exported(
            LOCAL, "/media/usb", "dicomdir", [study], exported=1, skipped=0, deidentified=True,
            cancelled=False,
        )  # fmt: skip
        root = ET.fromstring(to_xml(event, "KIOSK"))
        assert root.find("EventIdentification/EventID").get("csd-code") == "110106"  # type: ignore[union-attr]
        media = [p for p in root.findall("ActiveParticipant") if p.get("UserID") == "/media/usb"]
        assert media[0].find("RoleIDCode").get("csd-code") == "110154"  # type: ignore[union-attr]
        assert (
            root.findtext("ParticipantObjectIdentification/ParticipantObjectDescription/Anonymized")
            == "true"
        )

    def test_canonical_form_round_trips(self) -> None:
        event = _received()
        assert records.AuditEvent.from_canonical(event.canonical()) == event


class TestSyslog:
    def test_rfc5424_message_with_octet_counting(self) -> None:
        entry = AuditEntry(7, _received(), "0" * 64, "1" * 64)
        message = syslog_message(entry, "kiosk 1", "KIOSK", 99)
        header, _, body = message.partition(b" - ")
        assert re.fullmatch(
            rb"<85>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z kiosk1 dicom-kiosk 99 DICOM\+RFC3881",
            header,
        ), header
        assert body.startswith(BOM)
        assert ET.fromstring(body[len(BOM) :]).tag == "AuditMessage"
        framed = octet_counted(message)
        length, _, rest = framed.partition(b" ")
        assert int(length) == len(rest) == len(message)

    def test_a_failure_is_a_warning(self) -> None:
        source = records.peer("MOD", "192.0.2.7:104", True, records.ROLE_SOURCE)
        event = records.received(LOCAL, source, [], done=0, failed=2, error="aborted")
        assert syslog_message(AuditEntry(1, event, "", ""), "h", "K", 1).startswith(b"<84>1 ")


def test_a_wrong_pin_is_a_failed_login() -> None:
    root = ET.fromstring(to_xml(records.pin_refused(LOCAL, "lock screen"), "KIOSK"))
    ident = root.find("EventIdentification")
    assert ident is not None and ident.get("EventOutcomeIndicator") == "4"
    assert ident.findtext("EventOutcomeDescription") == "wrong PIN"
    event_id, event_type = ident.find("EventID"), ident.find("EventTypeCode")
    assert event_id is not None and event_id.get("csd-code") == "110114"  # User Authentication
    assert event_type is not None and event_type.get("csd-code") == "110122"  # Login
    person = root.find("ActiveParticipant")
    assert person is not None and person.get("UserID") == "tech"
    assert root.find("ParticipantObjectIdentification") is None
