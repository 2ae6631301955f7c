"""The audit trail: every action that touches patient data, as a DICOM audit event.

- ``records``: the PS3.15 A.5 / DCM vocabulary and the events' builders (one per action);
- ``chain``: the append-only, hash-chained table (``AuditTrail``: append, list, verify);
- ``entry``: a record's chaining (``append_event``), on SQLAlchemy's connection or sqlite3's;
- ``light``: one event recorded with the standard library (``dicom-kiosk query``);
- ``xml``: an event as A.5 ``AuditMessage`` XML;
- ``syslog``: RFC 5424 messages over TCP (octet counting, optional TLS) to a collector, durable;
- ``subjects``: the studies and patients an action touched (index look-ups);
- ``recorder``: ``AuditRecorder``, the core's one entry point (facades and bus subscribers);
  imported from ``core.audit.recorder`` (it uses this package's modules, so the package does
  not import it back).

Nothing here imports SQLAlchemy: ``AuditTrail`` and ``VerifyResult`` come from
``core.audit.chain``.
"""

from core.audit.entry import AuditEntry
from core.audit.records import AuditEvent, StudySubject

__all__ = [
    "AuditEntry",
    "AuditEvent",
    "StudySubject",
]
