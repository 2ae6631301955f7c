"""The audit trail: every action that touches patient data, as a DICOM audit event.

- ``records``: the PS3.15 A.5 / DCM vocabulary and the events' builders (one per action);
- ``chain``: the append-only, hash-chained table (``AuditTrail``: append, list, verify);
- ``xml``: an event as A.5 ``AuditMessage`` XML;
- ``syslog``: RFC 5424 messages over TCP (octet counting, optional TLS) to a collector, durable;
- ``subjects``: the studies and patients an action touched (index look-ups);
- ``recorder``: ``AuditRecorder``, the core's one entry point (facades and bus subscribers);
  imported from ``core.audit.recorder`` (it uses this package's modules, so the package does
  not import it back).
"""

from core.audit.chain import AuditEntry, AuditTrail, VerifyResult
from core.audit.records import AuditEvent, StudySubject

__all__ = [
    "AuditEntry",
    "AuditEvent",
    "AuditTrail",
    "StudySubject",
    "VerifyResult",
]
