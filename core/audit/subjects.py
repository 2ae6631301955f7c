"""Who and what an audited action touched: its studies, their patients and SOP classes.

Read from the index (and the transfer log) when the action is recorded: for a delete, before
the rows go. Each function returns ``StudySubject``s, one per study, with the images counted
by SOP class (A.5.3 ``ParticipantObjectDescription/SOPClass``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.audit.records import StudySubject
from core.db.models import Instance, Patient, Series, Study, TransferItem

_CHUNK = 500

_BY_STUDY = (
    select(
        Study.study_uid,
        Patient.patient_id,
        Patient.patient_name,
        Instance.sop_class_uid,
        func.count(Instance.id),
    )
    .select_from(Instance)
    .join(Series, Instance.series_pk == Series.id)
    .join(Study, Series.study_pk == Study.id)
    .join(Patient, Study.patient_pk == Patient.id)
    .group_by(Study.study_uid, Patient.patient_id, Patient.patient_name, Instance.sop_class_uid)
)


def _collect(rows: Iterable[Sequence[Any]]) -> list[StudySubject]:
    """Rows of (study UID, patient ID, patient name, SOP class UID, count), merged by study."""
    patients: dict[str, tuple[str, str]] = {}
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for study_uid, patient_id, patient_name, sop_class, count in rows:
        patients.setdefault(study_uid, (patient_id or "", patient_name or ""))
        by_class = counts[study_uid]
        by_class[sop_class or ""] = by_class.get(sop_class or "", 0) + int(count)
    return [
        StudySubject(uid, *patients[uid], tuple(sorted(counts[uid].items())))
        for uid in sorted(counts)
    ]


def for_targets(session: Session, targets: Iterable[tuple[str, str]]) -> list[StudySubject]:
    """The kiosk's ``(level, key)`` selection: patients (PatientID or the index's patient key),
    studies, series, images (UIDs)."""
    conditions = []
    for level, key in targets:
        if level == "patient":
            conditions.append(or_(Patient.patient_id == key, Patient.patient_key == key))
        elif level == "study":
            conditions.append(Study.study_uid == key)
        elif level == "series":
            conditions.append(Series.series_uid == key)
        elif level in ("instance", "image"):
            conditions.append(Instance.sop_uid == key)
    rows: list[Sequence[Any]] = []
    for start in range(0, len(conditions), _CHUNK):
        rows += session.execute(_BY_STUDY.where(or_(*conditions[start : start + _CHUNK]))).all()
    return _collect(rows)


def for_instances(session: Session, sop_uids: Sequence[str]) -> list[StudySubject]:
    rows: list[Sequence[Any]] = []
    for start in range(0, len(sop_uids), _CHUNK):
        chunk = list(sop_uids[start : start + _CHUNK])
        rows += session.execute(_BY_STUDY.where(Instance.sop_uid.in_(chunk))).all()
    return _collect(rows)


def for_import(
    session: Session, paths: Sequence[str], since: datetime | None = None
) -> list[StudySubject]:
    """Images imported from ``paths`` (files, folders, archives, DICOMDIRs): the importer
    keeps each image's file (``path``, ``folder/...``, ``archive.zip!member``) as its
    ``source_detail``; ``since`` (naive UTC) keeps only those indexed from then on."""
    conditions = []
    for text in paths:
        root = text[: -len("DICOMDIR")].rstrip("/") if text.endswith("DICOMDIR") else text
        root = root.rstrip("/") or "/"
        pattern = root.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions += [
            Instance.source_detail == text,
            Instance.source_detail.like(f"{pattern}/%", escape="\\"),
            Instance.source_detail.like(f"{pattern}!%", escape="\\"),
        ]
    if not conditions:
        return []
    query = _BY_STUDY.where(Instance.source == "import", or_(*conditions))
    if since is not None:
        query = query.where(Instance.received_at >= since)
    return _collect(session.execute(query).all())


def for_transfer(session: Session, transfer_id: int) -> list[StudySubject]:
    """The studies of a transfer's images: the patient from the index where the study is
    there, else the name the transfer log kept; the SOP class from the item (outgoing) or the
    index (incoming)."""
    query = (
        select(
            TransferItem.study_uid,
            Patient.patient_id,
            func.coalesce(Patient.patient_name, TransferItem.patient_name),
            func.coalesce(Instance.sop_class_uid, TransferItem.sop_class_uid),
            func.count(TransferItem.id),
        )
        .select_from(TransferItem)
        .outerjoin(Study, Study.study_uid == TransferItem.study_uid)
        .outerjoin(Patient, Study.patient_pk == Patient.id)
        .outerjoin(Instance, Instance.sop_uid == TransferItem.sop_uid)
        .where(TransferItem.transfer_pk == transfer_id)
        .group_by(
            TransferItem.study_uid,
            Patient.patient_id,
            func.coalesce(Patient.patient_name, TransferItem.patient_name),
            func.coalesce(Instance.sop_class_uid, TransferItem.sop_class_uid),
        )
    )
    return _collect(session.execute(query).all())
