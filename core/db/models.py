"""Every table of the database: the index (patient -> study -> series -> instance), the remote
nodes registry, the transfer log with its send queue, and the audit trail.

Alembic's ``migrations/env.py`` imports this module alone, so a table defined anywhere else
would be proposed for dropping by ``alembic revision --autogenerate``.

Every DICOM column carries its tag, keyword and VR. ``*_fold`` columns hold the Unicode
case-folded value used for case-insensitive, accent-preserving matching; folding happens in
Python so SQLite and PostgreSQL match identically.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UID_LEN = 64


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Patient(Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Identity of a patient in this index: PatientID, or name and birth date when it is empty.
    patient_key: Mapped[str] = mapped_column(String(), unique=True)
    # (0010,0020) PatientID, LO. Every column the Database tab sorts by has an index: a deep
    # page is a walk of that index (core.db.queries.list_rows).
    patient_id: Mapped[str] = mapped_column(String(), default="", index=True)
    patient_id_fold: Mapped[str] = mapped_column(String(), default="", index=True)
    # (0010,0010) PatientName, PN
    patient_name: Mapped[str] = mapped_column(String(), default="", index=True)
    patient_name_fold: Mapped[str] = mapped_column(String(), default="", index=True)
    # (0010,0030) PatientBirthDate, DA
    birth_date: Mapped[str] = mapped_column(String(), default="", index=True)
    sex: Mapped[str] = mapped_column(String(), default="", index=True)  # (0010,0040) PatientSex, CS
    # (0020,1200) NumberOfPatientRelatedStudies, IS
    num_studies: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # (0020,1202) NumberOfPatientRelatedSeries, IS
    num_series: Mapped[int] = mapped_column(Integer, default=0)
    # (0020,1204) NumberOfPatientRelatedInstances, IS
    num_instances: Mapped[int] = mapped_column(Integer, default=0, index=True)

    studies: Mapped[list[Study]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", passive_deletes=True
    )


class Study(Base):
    __tablename__ = "study"
    __table_args__ = (Index("ix_study_date_time", "study_date", "study_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_pk: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), index=True
    )
    study_uid: Mapped[str] = mapped_column(String(UID_LEN), unique=True)  # (0020,000D), UI
    # (0008,0020) StudyDate, DA; (0008,0030) StudyTime, TM. Each has an index of its own for
    # the Database tab's order (the date, then the key), besides date and time together.
    study_date: Mapped[str] = mapped_column(String(), default="", index=True)
    study_time: Mapped[str] = mapped_column(String(), default="", index=True)
    # (0008,0050) AccessionNumber, SH
    accession_number: Mapped[str] = mapped_column(String(), default="", index=True)
    # (0008,1030) StudyDescription, LO
    study_description: Mapped[str] = mapped_column(String(), default="", index=True)
    study_id: Mapped[str] = mapped_column(String(), default="")  # (0020,0010) StudyID, SH
    # (0008,0090) ReferringPhysicianName, PN
    referring_physician: Mapped[str] = mapped_column(String(), default="", index=True)
    # (0008,0090) ReferringPhysicianName, PN, case-folded for matching
    referring_physician_fold: Mapped[str] = mapped_column(String(), default="", index=True)
    # (0008,0061) ModalitiesInStudy, CS multi-valued, stored backslash-joined and sorted
    modalities: Mapped[str] = mapped_column(String(), default="", index=True)
    # (0020,1206) NumberOfStudyRelatedSeries, IS
    num_series: Mapped[int] = mapped_column(Integer, default=0, index=True)
    # (0020,1208) NumberOfStudyRelatedInstances, IS
    num_instances: Mapped[int] = mapped_column(Integer, default=0, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)

    patient: Mapped[Patient] = relationship(back_populates="studies")
    series: Mapped[list[Series]] = relationship(
        back_populates="study", cascade="all, delete-orphan", passive_deletes=True
    )


class Series(Base):
    __tablename__ = "series"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    study_pk: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)
    series_uid: Mapped[str] = mapped_column(String(UID_LEN), unique=True)  # (0020,000E), UI
    modality: Mapped[str] = mapped_column(String(), default="", index=True)  # (0008,0060), CS
    series_number: Mapped[int | None] = mapped_column(Integer, index=True)  # (0020,0011), IS
    # (0008,103E) SeriesDescription, LO
    series_description: Mapped[str] = mapped_column(String(), default="", index=True)
    # (0018,0015) BodyPartExamined, CS
    body_part: Mapped[str] = mapped_column(String(), default="", index=True)
    series_date: Mapped[str] = mapped_column(String(), default="", index=True)  # (0008,0021), DA
    series_time: Mapped[str] = mapped_column(String(), default="")  # (0008,0031) SeriesTime, TM
    # (0020,1209) NumberOfSeriesRelatedInstances, IS
    num_instances: Mapped[int] = mapped_column(Integer, default=0, index=True)

    study: Mapped[Study] = relationship(back_populates="series")
    instances: Mapped[list[Instance]] = relationship(
        back_populates="series", cascade="all, delete-orphan", passive_deletes=True
    )


class Instance(Base):
    __tablename__ = "instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_pk: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    sop_uid: Mapped[str] = mapped_column(String(UID_LEN), unique=True)  # (0008,0018), UI
    sop_class_uid: Mapped[str] = mapped_column(String(UID_LEN), index=True)  # (0008,0016), UI
    instance_number: Mapped[int | None] = mapped_column(Integer, index=True)  # (0020,0013), IS
    transfer_syntax: Mapped[str] = mapped_column(String(UID_LEN), default="")  # (0002,0010), UI
    num_frames: Mapped[int] = mapped_column(Integer, default=1)  # (0028,0008) NumberOfFrames, IS
    rows: Mapped[int | None] = mapped_column(Integer)  # (0028,0010) Rows, US
    columns: Mapped[int | None] = mapped_column(Integer)  # (0028,0011) Columns, US
    file_path: Mapped[str] = mapped_column(String())  # relative to the store directory
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    received_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # Where it came from: "import" or the calling AE title of a network peer.
    source: Mapped[str] = mapped_column(String(), default="")
    source_detail: Mapped[str] = mapped_column(String(), default="")  # path or peer address

    series: Mapped[Series] = relationship(back_populates="instances")


# -- the remote nodes registry (core.registry) --------------------------------------------
class RemoteNode(Base):
    __tablename__ = "remote_node"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    ae_title: Mapped[str] = mapped_column(String(16), index=True)
    host: Mapped[str] = mapped_column(String())
    port: Mapped[int] = mapped_column(Integer)
    retrieve_method: Mapped[str] = mapped_column(String(8), default="move")
    # Comma-separated subset of SERVICES this peer may use on our node.
    allowed_services: Mapped[str] = mapped_column(String(), default="store,find,retrieve")
    # DICOM TLS (PS3.15 Annex B): our associations with it run over TLS, its certificate checked
    # against the CA file; our client certificate and key when it wants one (PEM paths).
    tls: Mapped[bool] = mapped_column(Boolean, default=False)
    tls_ca_file: Mapped[str] = mapped_column(String(), default="")
    tls_cert_file: Mapped[str] = mapped_column(String(), default="")
    tls_key_file: Mapped[str] = mapped_column(String(), default="")
    # Its AE title bound to its client certificate: the SHA-256 fingerprint (64 hex digits) of
    # the one certificate an association calling that AE title must show over TLS ("": none).
    tls_peer_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


# -- the transfer log and send queue (core.transfers) --------------------------------------
class Transfer(Base):
    __tablename__ = "transfer"
    __table_args__ = (Index("ix_transfer_direction_created", "direction", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    # in: receiving | received | failed; out: waiting | sending | sent | aborted | failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    node_name: Mapped[str] = mapped_column(String(), default="")  # registry name, if known
    ae_title: Mapped[str] = mapped_column(String(16), default="")  # calling (in) / called (out)
    peer_address: Mapped[str] = mapped_column(String(), default="")  # host:port
    priority: Mapped[int] = mapped_column(Integer, default=0)  # (0000,0700) Priority, US
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    total_images: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    done_images: Mapped[int] = mapped_column(Integer, default=0)
    failed_images: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(), default="")
    # What was selected, for people ("Study CT HEAD (DOE^JOHN)", "3 series").
    description: Mapped[str] = mapped_column(String(), default="")
    # Outgoing: how many times a sender took it since it was queued, and when a transfer that
    # could not reach its peer may be tried again.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The sender working on it ("host:pid:token") while sending.
    owner: Mapped[str] = mapped_column(String(), default="")
    # Last change, or the last heartbeat of the sender working on it.
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)


class TransferItem(Base):
    __tablename__ = "transfer_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_pk: Mapped[int] = mapped_column(
        ForeignKey("transfer.id", ondelete="CASCADE"), index=True
    )
    sop_uid: Mapped[str] = mapped_column(String(UID_LEN), index=True)  # (0008,0018), UI
    series_uid: Mapped[str] = mapped_column(String(UID_LEN), default="")  # (0020,000E), UI
    study_uid: Mapped[str] = mapped_column(String(UID_LEN), default="")  # (0020,000D), UI
    patient_name: Mapped[str] = mapped_column(String(), default="")  # (0010,0010), PN
    # in: stored | duplicate | failed; out: pending | sent | failed
    status: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int] = mapped_column(Integer, default=0)  # DIMSE status
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str] = mapped_column(String(), default="")
    # Outgoing only: what the sender needs without reading the index again.
    sop_class_uid: Mapped[str] = mapped_column(String(UID_LEN), default="")  # (0008,0016), UI
    transfer_syntax: Mapped[str] = mapped_column(String(UID_LEN), default="")  # (0002,0010), UI
    file_path: Mapped[str] = mapped_column(String(), default="")  # relative to the store


# -- the intake journal's high-water mark (core.index.intake) -------------------------------
class IntakeState(Base):
    """One row: every intake journal record up to ``journal_seq`` has been indexed (or handled
    otherwise). It commits in the transaction of the batch that indexed them, so a replay of
    the journal after a crash skips them: a study deleted since stays deleted, an instance
    replaced since stays replaced."""

    __tablename__ = "intake_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journal_seq: Mapped[int] = mapped_column(BigInteger, default=0)


# -- the audit trail (core.audit) ----------------------------------------------------------
class AuditRecord(Base):
    """One audited action, append-only. ``content`` is the event's canonical JSON (PS3.15 A.5
    vocabulary); ``hash`` is SHA-256 over ``prev_hash``, ``id`` and ``content``, and ``prev_hash``
    is the hash of record ``id - 1``: an edited, deleted or moved record breaks the chain. The
    other columns are copies of ``content`` for listing and filtering (checked by verify)."""

    __tablename__ = "audit_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # EventDateTime, UTC
    event_code: Mapped[str] = mapped_column(String(16), index=True)  # EventID (DCM code)
    action: Mapped[str] = mapped_column(String(1))  # EventActionCode
    outcome: Mapped[int] = mapped_column(Integer)  # EventOutcomeIndicator
    user_id: Mapped[str] = mapped_column(String())  # the requesting participant's UserID
    # Patient IDs and names the event touched, case-folded, one "id<TAB>name" per line.
    patients_fold: Mapped[str] = mapped_column(String())
    content: Mapped[str] = mapped_column(Text())
    # What the record is about when one action may be seen twice ("transfer:12:<finished>"),
    # so two processes watching one database record it once.
    source_key: Mapped[str | None] = mapped_column(String(), unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditState(Base):
    """One row: the head of the chain (``last_id``, ``last_hash``), so that records deleted
    from the end are detected too, and ``forwarded_id``, the last record the syslog forwarder
    delivered. Appends lock this row first: they are serialized across threads and processes."""

    __tablename__ = "audit_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    forwarded_id: Mapped[int] = mapped_column(Integer, default=0)
