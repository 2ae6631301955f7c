"""An audit event as a DICOM audit message: the XML of PS3.15 A.5.1.

Element and attribute names follow the A.5.1 schema: ``AuditMessage`` holds one
``EventIdentification`` (with ``EventID``, ``EventTypeCode``, ``EventOutcomeDescription``),
the ``ActiveParticipant``s (each with its ``RoleIDCode``s), one ``AuditSourceIdentification`` and
the ``ParticipantObjectIdentification``s (``ParticipantObjectIDTypeCode``, then
``ParticipantObjectName`` or ``ParticipantObjectQuery``, ``ParticipantObjectDetail``, and a
``ParticipantObjectDescription`` with the study's ``SOPClass`` counts and ``Anonymized``).
Coded values carry ``csd-code``, ``codeSystemName`` and ``originalText``.
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

from core.audit.records import AuditEvent, Code

# Characters XML 1.0 cannot hold (C0 controls but tab, LF, CR; surrogates; U+FFFE/U+FFFF): a peer
# can put them in an AE title, a file in a patient's name.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _code(parent: ET.Element, tag: str, code: Code) -> None:
    ET.SubElement(
        parent,
        tag,
        {"csd-code": code.code, "codeSystemName": code.system, "originalText": code.text},
    )


def _bool(value: bool) -> str:
    return "true" if value else "false"


def audit_message(event: AuditEvent, source_id: str) -> ET.Element:
    """The ``AuditMessage`` element of ``event``, ``source_id`` its AuditSourceID."""
    root = ET.Element("AuditMessage")
    ident = ET.SubElement(
        root,
        "EventIdentification",
        {
            "EventActionCode": event.action,
            "EventDateTime": event.time,
            "EventOutcomeIndicator": str(event.outcome),
        },
    )
    _code(ident, "EventID", event.event)
    for kind in event.types:
        _code(ident, "EventTypeCode", kind)
    if event.outcome_description:
        ET.SubElement(ident, "EventOutcomeDescription").text = event.outcome_description
    for p in event.participants:
        attrs = {"UserID": p.user_id}
        if p.alternative_user_id:
            attrs["AlternativeUserID"] = p.alternative_user_id
        if p.user_name:
            attrs["UserName"] = p.user_name
        attrs["UserIsRequestor"] = _bool(p.requestor)
        if p.access_point:
            attrs["NetworkAccessPointID"] = p.access_point
            attrs["NetworkAccessPointTypeCode"] = str(p.access_point_type)
        participant = ET.SubElement(root, "ActiveParticipant", attrs)
        for role in p.roles:
            _code(participant, "RoleIDCode", role)
    ET.SubElement(root, "AuditSourceIdentification", {"AuditSourceID": source_id})
    for o in event.objects:
        obj = ET.SubElement(
            root,
            "ParticipantObjectIdentification",
            {
                "ParticipantObjectID": o.object_id,
                "ParticipantObjectTypeCode": str(o.type_code),
                "ParticipantObjectTypeCodeRole": str(o.role),
            },
        )
        _code(obj, "ParticipantObjectIDTypeCode", o.id_type)
        if o.name:
            ET.SubElement(obj, "ParticipantObjectName").text = o.name
        elif o.query:
            ET.SubElement(obj, "ParticipantObjectQuery").text = o.query
        for detail_type, value in o.details:
            ET.SubElement(
                obj,
                "ParticipantObjectDetail",
                {"type": detail_type, "value": base64.b64encode(value.encode()).decode("ascii")},
            )
        if o.sop_classes or o.anonymized is not None:
            description = ET.SubElement(obj, "ParticipantObjectDescription")
            for uid, count in o.sop_classes:
                ET.SubElement(
                    description, "SOPClass", {"UID": uid, "NumberOfInstances": str(count)}
                )
            if o.anonymized is not None:
                ET.SubElement(description, "Anonymized").text = _bool(o.anonymized)
    return root


def _clean_tree(root: ET.Element) -> None:
    for element in root.iter():
        element.attrib = {k: _clean(v) for k, v in element.attrib.items()}
        if element.text:
            element.text = _clean(element.text)


def to_xml(event: AuditEvent, source_id: str) -> bytes:
    """UTF-8 XML on one line, no declaration (a syslog message body); characters XML cannot
    hold become U+FFFD and line breaks in values are escaped, so the message stays one line."""
    root = audit_message(event, source_id)
    _clean_tree(root)
    text = ET.tostring(root, encoding="unicode")
    return text.replace("\n", "&#10;").replace("\r", "&#13;").encode("utf-8")
