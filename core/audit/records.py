"""Audit events in the DICOM audit message vocabulary (PS3.15 A.5, codes of PS3.16 DCM).

An ``AuditEvent`` holds what an A.5 ``AuditMessage`` holds: the event (``EventID``, action,
outcome, event type codes), the active participants (our application, the local user, the
peer, the media) and the participant objects (studies with their SOP classes and counts,
patients with their ID and name). It is a frozen value with a canonical JSON form: that form is
what the audit trail stores and hashes (``core.audit.chain``) and what the A.5 XML is made from
(``core.audit.xml``), so a record can be rebuilt exactly from the database.

The builders below make the events the kiosk records, one per action: images received (one per
association) or sent (one per transfer), queried, retrieved, imported, exported, deleted,
loaded in the viewer; the node started or stopped; settings changed; the kiosk unlocked or left.
Participants and objects come from ``core.audit.subjects`` (index look-ups).
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Code:
    """A coded value: ``csd-code``, ``codeSystemName`` and ``originalText`` in A.5 XML."""

    code: str
    system: str
    text: str

    def to_list(self) -> list[str]:
        return [self.code, self.system, self.text]

    @classmethod
    def from_list(cls, value: Sequence[str]) -> Code:
        return cls(str(value[0]), str(value[1]), str(value[2]))


def _dcm(code: str, text: str) -> Code:
    return Code(code, "DCM", text)


# -- PS3.16 DCM codes (Context Groups 400-404) ------------------------------------------------
APPLICATION_ACTIVITY = _dcm("110100", "Application Activity")
INSTANCES_ACCESSED = _dcm("110103", "DICOM Instances Accessed")
INSTANCES_TRANSFERRED = _dcm("110104", "DICOM Instances Transferred")
STUDY_DELETED = _dcm("110105", "DICOM Study Deleted")
EXPORT = _dcm("110106", "Export")
IMPORT = _dcm("110107", "Import")
QUERY = _dcm("110112", "Query")
SECURITY_ALERT = _dcm("110113", "Security Alert")
USER_AUTHENTICATION = _dcm("110114", "User Authentication")

APPLICATION_START = _dcm("110120", "Application Start")
APPLICATION_STOP = _dcm("110121", "Application Stop")
LOGIN = _dcm("110122", "Login")
LOGOUT = _dcm("110123", "Logout")
NETWORK_CONFIGURATION = _dcm("110128", "Network Configuration")
SOFTWARE_CONFIGURATION = _dcm("110131", "Software Configuration")

ROLE_APPLICATION = _dcm("110150", "Application")
ROLE_APPLICATION_LAUNCHER = _dcm("110151", "Application Launcher")
ROLE_DESTINATION = _dcm("110152", "Destination Role ID")
ROLE_SOURCE = _dcm("110153", "Source Role ID")
ROLE_DESTINATION_MEDIA = _dcm("110154", "Destination Media")
ROLE_SOURCE_MEDIA = _dcm("110155", "Source Media")

ID_STUDY_UID = _dcm("110180", "Study Instance UID")
ID_SOP_CLASS_UID = _dcm("110181", "SOP Class UID")
ID_NODE = _dcm("110182", "Node ID")
ID_PATIENT = Code("2", "RFC-3881", "Patient Number")

# EventActionCode (A.5.1): Create, Read, Update, Delete, Execute.
CREATE, READ, UPDATE, DELETE, EXECUTE = "C", "R", "U", "D", "E"
# EventOutcomeIndicator (A.5.1).
SUCCESS, MINOR_FAILURE, SERIOUS_FAILURE, MAJOR_FAILURE = 0, 4, 8, 12
# NetworkAccessPointTypeCode: 1 machine name, 2 IP address.
ACCESS_POINT_NAME, ACCESS_POINT_IP = 1, 2
# ParticipantObjectTypeCode: 1 person, 2 system object; ...TypeCodeRole: 1 patient, 3 report,
# 13 security resource, 24 query.
PERSON, SYSTEM_OBJECT = 1, 2
ROLE_PATIENT, ROLE_REPORT, ROLE_SECURITY_RESOURCE, ROLE_QUERY = 1, 3, 13, 24

EVENT_NAMES: dict[str, str] = {
    c.code: c.text
    for c in (
        APPLICATION_ACTIVITY,
        INSTANCES_ACCESSED,
        INSTANCES_TRANSFERRED,
        STUDY_DELETED,
        EXPORT,
        IMPORT,
        QUERY,
        SECURITY_ALERT,
        USER_AUTHENTICATION,
    )
}


@dataclass(frozen=True, slots=True)
class Participant:
    """An ``ActiveParticipant``: a user, an application, a peer node or a medium."""

    user_id: str
    requestor: bool
    roles: tuple[Code, ...] = ()
    alternative_user_id: str = ""
    user_name: str = ""
    access_point: str = ""  # NetworkAccessPointID: a host name or an IP address
    access_point_type: int = 0  # 0: none; else ACCESS_POINT_NAME or ACCESS_POINT_IP

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "requestor": self.requestor,
            "roles": [r.to_list() for r in self.roles],
            "alternative_user_id": self.alternative_user_id,
            "user_name": self.user_name,
            "access_point": self.access_point,
            "access_point_type": self.access_point_type,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Participant:
        return cls(
            user_id=d["user_id"],
            requestor=bool(d["requestor"]),
            roles=tuple(Code.from_list(r) for r in d["roles"]),
            alternative_user_id=d["alternative_user_id"],
            user_name=d["user_name"],
            access_point=d["access_point"],
            access_point_type=int(d["access_point_type"]),
        )


@dataclass(frozen=True, slots=True)
class ParticipantObject:
    """A ``ParticipantObjectIdentification``: a study, a patient, a query, a setting."""

    object_id: str
    type_code: int
    role: int
    id_type: Code
    name: str = ""  # ParticipantObjectName (the patient's name)
    query: str = ""  # ParticipantObjectQuery, base64
    # ParticipantObjectDescription/SOPClass: (SOP Class UID, NumberOfInstances)
    sop_classes: tuple[tuple[str, int], ...] = ()
    anonymized: bool | None = None  # ParticipantObjectDescription/Anonymized
    details: tuple[tuple[str, str], ...] = ()  # ParticipantObjectDetail (type, value)

    @property
    def is_patient(self) -> bool:
        return self.type_code == PERSON and self.role == ROLE_PATIENT

    @property
    def is_study(self) -> bool:
        return self.id_type == ID_STUDY_UID

    def to_dict(self) -> dict[str, Any]:
        return {
            "object_id": self.object_id,
            "type_code": self.type_code,
            "role": self.role,
            "id_type": self.id_type.to_list(),
            "name": self.name,
            "query": self.query,
            "sop_classes": [[uid, count] for uid, count in self.sop_classes],
            "anonymized": self.anonymized,
            "details": [[k, v] for k, v in self.details],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ParticipantObject:
        return cls(
            object_id=d["object_id"],
            type_code=int(d["type_code"]),
            role=int(d["role"]),
            id_type=Code.from_list(d["id_type"]),
            name=d["name"],
            query=d["query"],
            sop_classes=tuple((str(u), int(n)) for u, n in d["sop_classes"]),
            anonymized=d["anonymized"],
            details=tuple((str(k), str(v)) for k, v in d["details"]),
        )


def now_iso() -> str:
    """The current time as A.5 EventDateTime: ISO 8601 UTC with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One action, as one A.5 ``AuditMessage``; ``summary`` is a line for people (no patient
    data: the participant objects carry that)."""

    event: Code
    action: str
    summary: str
    participants: tuple[Participant, ...] = ()
    objects: tuple[ParticipantObject, ...] = ()
    outcome: int = SUCCESS
    outcome_description: str = ""
    types: tuple[Code, ...] = ()
    time: str = field(default_factory=now_iso)

    @property
    def patients(self) -> list[tuple[str, str]]:
        """(Patient ID, Patient's Name) of every patient the event touched."""
        return [(o.object_id, o.name) for o in self.objects if o.is_patient]

    @property
    def studies(self) -> list[str]:
        return [o.object_id for o in self.objects if o.is_study]

    @property
    def requestor(self) -> Participant | None:
        return next((p for p in self.participants if p.requestor), None)

    @property
    def timestamp(self) -> datetime:
        """``time`` as a naive UTC datetime (the database column)."""
        parsed = datetime.fromisoformat(self.time.replace("Z", "+00:00"))
        return parsed.astimezone(UTC).replace(tzinfo=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event.to_list(),
            "action": self.action,
            "summary": self.summary,
            "participants": [p.to_dict() for p in self.participants],
            "objects": [o.to_dict() for o in self.objects],
            "outcome": self.outcome,
            "outcome_description": self.outcome_description,
            "types": [t.to_list() for t in self.types],
            "time": self.time,
        }

    def canonical(self) -> str:
        """The canonical serialization: sorted keys, no spaces, UTF-8 text (hashed as is)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditEvent:
        return cls(
            event=Code.from_list(d["event"]),
            action=d["action"],
            summary=d["summary"],
            participants=tuple(Participant.from_dict(p) for p in d["participants"]),
            objects=tuple(ParticipantObject.from_dict(o) for o in d["objects"]),
            outcome=int(d["outcome"]),
            outcome_description=d["outcome_description"],
            types=tuple(Code.from_list(t) for t in d["types"]),
            time=d["time"],
        )

    @classmethod
    def from_canonical(cls, text: str) -> AuditEvent:
        return cls.from_dict(json.loads(text))


# -- participants and objects -----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StudySubject:
    """A study an action touched, with its patient and its images by SOP class."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    sop_classes: tuple[tuple[str, int], ...] = ()

    @property
    def images(self) -> int:
        return sum(n for _uid, n in self.sop_classes)


def subject_objects(
    subjects: Iterable[StudySubject], *, anonymized: bool | None = None
) -> tuple[ParticipantObject, ...]:
    """One study object per study (A.5.3: SOPClass counts), then one object per patient."""
    studies: list[ParticipantObject] = []
    patients: dict[tuple[str, str], ParticipantObject] = {}
    for s in subjects:
        studies.append(
            ParticipantObject(
                s.study_uid,
                SYSTEM_OBJECT,
                ROLE_REPORT,
                ID_STUDY_UID,
                sop_classes=s.sop_classes,
                anonymized=anonymized,
            )
        )
        key = (s.patient_id, s.patient_name)
        if key != ("", "") and key not in patients:
            patients[key] = ParticipantObject(
                s.patient_id, PERSON, ROLE_PATIENT, ID_PATIENT, name=s.patient_name
            )
    return (*studies, *patients.values())


def images_in(subjects: Iterable[StudySubject]) -> int:
    return sum(s.images for s in subjects)


def _plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word}es" if word.endswith(("ch", "sh", "s", "x")) else f"{n} {word}s"


def local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container)
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "kiosk"


@dataclass(frozen=True, slots=True)
class Local:
    """Who we are: our application and the user at the kiosk (or the CLI's login)."""

    ae_title: str
    host: str
    pid: int
    user: str

    def application(self, requestor: bool, *roles: Code) -> Participant:
        return Participant(
            self.ae_title,
            requestor,
            roles or (ROLE_APPLICATION,),
            alternative_user_id=str(self.pid),
            user_name="dicom-kiosk",
            access_point=self.host,
            access_point_type=ACCESS_POINT_NAME,
        )

    def person(self) -> Participant:
        return Participant(self.user, True, access_point=self.host, access_point_type=1)


def peer(ae_title: str, address: str, requestor: bool, role: Code, name: str = "") -> Participant:
    """A remote node: its AE title, its host (``host:port`` loses the port: A.5 wants the
    host) and, when it is registered, our name for it."""
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    host = host.strip("[]")
    kind = ACCESS_POINT_IP if _is_ip(host) else (ACCESS_POINT_NAME if host else 0)
    return Participant(ae_title, requestor, (role,), user_name=name, access_point=host,
                       access_point_type=kind)  # fmt: skip


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def medium(path: str, role: Code) -> Participant:
    """A folder, archive or DICOMDIR medium (A.5.3.6 Export, A.5.3.7 Import)."""
    return Participant(path, False, (role,))


# -- the events -----------------------------------------------------------------------------
def _outcome(done: int, failed: int, error: str) -> int:
    if not error and not failed:
        return SUCCESS
    return MINOR_FAILURE if done else SERIOUS_FAILURE


def received(
    local: Local,
    source: Participant,
    subjects: Sequence[StudySubject],
    *,
    done: int,
    failed: int,
    error: str = "",
    time: str | None = None,
) -> AuditEvent:
    """Images received over one association (A.5.3.4: 110104, action C)."""
    return AuditEvent(
        INSTANCES_TRANSFERRED,
        CREATE,
        f"received {_plural(done, 'image')} from {source.user_id}"
        + (f" ({source.access_point})" if source.access_point else "")
        + (f", {failed} refused" if failed else ""),
        (source, local.application(False, ROLE_DESTINATION)),
        subject_objects(subjects),
        _outcome(done, failed, error),
        error,
        time=time or now_iso(),
    )


def sent(
    local: Local,
    destination: Participant,
    subjects: Sequence[StudySubject],
    *,
    status: str,
    done: int,
    failed: int,
    error: str = "",
    time: str | None = None,
) -> AuditEvent:
    """One outgoing transfer finished (sent, aborted or failed) (A.5.3.4: 110104, action R)."""
    outcome = SUCCESS if status == "sent" else (MINOR_FAILURE if done else SERIOUS_FAILURE)
    label = destination.user_name or destination.user_id
    return AuditEvent(
        INSTANCES_TRANSFERRED,
        READ,
        f"sent {_plural(done, 'image')} to {label}: {status}"
        + (f", {failed} failed" if failed else ""),
        (local.application(True, ROLE_SOURCE), destination),
        subject_objects(subjects),
        outcome,
        error,
        time=time or now_iso(),
    )


def retrieved(
    local: Local, source: Participant, subjects: Sequence[StudySubject], *, done: int,
    failed: int, error: str = "",
) -> AuditEvent:  # fmt: skip
    """Images we retrieved (C-MOVE/C-GET) from a peer: transferred to us, we asked."""
    return AuditEvent(
        INSTANCES_TRANSFERRED,
        CREATE,
        f"retrieved {_plural(done, 'image')} from {source.user_name or source.user_id}",
        (local.person(), source, local.application(True, ROLE_DESTINATION)),
        subject_objects(subjects),
        _outcome(done, failed, error),
        error,
    )


def _query(
    summary: str, participants: tuple[Participant, ...], sop_class: str, identifier: bytes,
    error: str,
) -> AuditEvent:  # fmt: skip
    """A.5.3.10 Query (110112, action E), the identifier base64 in ParticipantObjectQuery."""
    import base64

    query = ParticipantObject(
        sop_class, SYSTEM_OBJECT, ROLE_QUERY, ID_SOP_CLASS_UID,
        query=base64.b64encode(identifier).decode("ascii"),
    )  # fmt: skip
    outcome = SERIOUS_FAILURE if error else SUCCESS
    return AuditEvent(QUERY, EXECUTE, summary, participants, (query,), outcome, error)


def queried(
    local: Local, destination: Participant, sop_class: str, identifier: bytes, matches: int,
    error: str = "",
) -> AuditEvent:  # fmt: skip
    """A C-FIND we sent to ``destination``."""
    return _query(
        f"queried {destination.user_name or destination.user_id}: {_plural(matches, 'match')}",
        (local.person(), local.application(True, ROLE_SOURCE), destination),
        sop_class, identifier, error,
    )  # fmt: skip


def query_answered(
    local: Local, source: Participant, sop_class: str, identifier: bytes, matches: int,
    error: str = "",
) -> AuditEvent:  # fmt: skip
    """A C-FIND our node answered: the requestor is the peer ``source``."""
    return _query(
        f"answered a query from {source.user_id}: {_plural(matches, 'match')}",
        (source, local.application(False, ROLE_DESTINATION)),
        sop_class, identifier, error,
    )  # fmt: skip


def imported(
    local: Local, paths: Sequence[str], subjects: Sequence[StudySubject], *, imported: int,
    rejected: int, stopped: str = "",
) -> AuditEvent:  # fmt: skip
    """Files imported from media or folders (A.5.3.7: 110107, action C)."""
    return AuditEvent(
        IMPORT,
        CREATE,
        f"imported {_plural(imported, 'image')} from {_plural(len(paths), 'path')}"
        + (f", {rejected} rejected" if rejected else ""),
        (
            local.person(),
            local.application(False, ROLE_DESTINATION),
            *(medium(p, ROLE_SOURCE_MEDIA) for p in paths),
        ),
        subject_objects(subjects),
        _outcome(imported, rejected, stopped),
        stopped or (f"{rejected} files rejected" if rejected else ""),
    )


def exported(
    local: Local, destination: str, fmt: str, subjects: Sequence[StudySubject], *,
    exported: int, skipped: int, deidentified: bool, cancelled: bool, error: str = "",
) -> AuditEvent:  # fmt: skip
    """Images written to a folder, archive or DICOMDIR (A.5.3.6: 110106, action R)."""
    how = "de-identified" if deidentified else "as stored"
    if error:
        outcome, why = (MINOR_FAILURE if exported else SERIOUS_FAILURE), error
    elif skipped or cancelled:
        outcome = MINOR_FAILURE
        why = "cancelled" if cancelled else f"{skipped} images left out"
    else:
        outcome, why = SUCCESS, ""
    return AuditEvent(
        EXPORT,
        READ,
        f"exported {_plural(exported, 'image')} ({fmt}, {how}) to {destination}"
        + (", cancelled" if cancelled else ""),
        (
            local.person(),
            local.application(False, ROLE_SOURCE),
            medium(destination, ROLE_DESTINATION_MEDIA),
        ),
        subject_objects(subjects, anonymized=deidentified),
        outcome,
        why,
    )


def deleted(
    local: Local, level: str, subjects: Sequence[StudySubject], *, instances: int
) -> AuditEvent:
    """Patients or studies deleted (A.5.3.5: 110105); series or images deleted: 110103 with
    action D (instances of a study that stays)."""
    whole = level in ("patient", "study")
    return AuditEvent(
        STUDY_DELETED if whole else INSTANCES_ACCESSED,
        DELETE,
        f"deleted {level}: {_plural(instances, 'image')}",
        (local.person(), local.application(False, ROLE_APPLICATION)),
        subject_objects(subjects),
    )


def viewed(local: Local, subjects: Sequence[StudySubject]) -> AuditEvent:
    """Images loaded in the viewer (A.5.3.2: 110103, action R)."""
    return AuditEvent(
        INSTANCES_ACCESSED,
        READ,
        f"loaded {_plural(images_in(subjects), 'image')} in the viewer",
        (local.person(), local.application(False, ROLE_APPLICATION)),
        subject_objects(subjects),
    )


def node_activity(local: Local, started: bool, detail: str = "") -> AuditEvent:
    """Our node started or stopped (A.5.3.1: 110100 with 110120/110121)."""
    return AuditEvent(
        APPLICATION_ACTIVITY,
        EXECUTE,
        ("node started" if started else "node stopped") + (f": {detail}" if detail else ""),
        (local.application(False, ROLE_APPLICATION), local.person()),
        types=(APPLICATION_START if started else APPLICATION_STOP,),
    )


def settings_changed(local: Local, names: Iterable[str]) -> AuditEvent:
    """Settings changed (A.5.3.11 Security Alert: 110128 for the node's network settings,
    110131 for the others); each setting is a security resource object."""
    names = sorted(names)
    network = {"ae_title", "port", "bind", "accept_policy"}
    kind = NETWORK_CONFIGURATION if network & set(names) else SOFTWARE_CONFIGURATION
    return AuditEvent(
        SECURITY_ALERT,
        UPDATE,
        f"settings changed: {', '.join(names)}",
        (local.person(), local.application(False, ROLE_APPLICATION)),
        tuple(ParticipantObject(n, SYSTEM_OBJECT, ROLE_SECURITY_RESOURCE, ID_NODE) for n in names),
        types=(kind,),
    )


def remote_node_changed(local: Local, name: str, change: str) -> AuditEvent:
    """A remote node added, edited or deleted: who may send, query and receive (Security Alert,
    110128 Network Configuration; the node is the security resource)."""
    return AuditEvent(
        SECURITY_ALERT,
        UPDATE,
        f"remote node {name} {change}",
        (local.person(), local.application(False, ROLE_APPLICATION)),
        (ParticipantObject(name, SYSTEM_OBJECT, ROLE_SECURITY_RESOURCE, ID_NODE),),
        types=(NETWORK_CONFIGURATION,),
    )


def pin_refused(local: Local, purpose: str) -> AuditEvent:
    """A wrong PIN at the lock screen or a PIN prompt (``purpose``): a failed Login (A.5.3.12,
    outcome 4, as IHE ATNA records a failed user authentication)."""
    person = Participant(local.user, True, access_point=local.host, access_point_type=1)
    return AuditEvent(
        USER_AUTHENTICATION,
        EXECUTE,
        f"wrong PIN ({purpose})",
        (person, local.application(False, ROLE_APPLICATION)),
        outcome=MINOR_FAILURE,
        outcome_description="wrong PIN",
        types=(LOGIN,),
    )


def kiosk_access(local: Local, unlocked: bool, user: str = "") -> AuditEvent:
    """The kiosk unlocked (Login) or left (Logout) (A.5.3.12: 110114)."""
    person = Participant(user or local.user, True, access_point=local.host, access_point_type=1)
    return AuditEvent(
        USER_AUTHENTICATION,
        EXECUTE,
        "kiosk unlocked" if unlocked else "kiosk left",
        (person, local.application(False, ROLE_APPLICATION)),
        types=(LOGIN if unlocked else LOGOUT,),
    )
