"""The exception hierarchy of the core. Every error a user can see derives from KioskError."""

from __future__ import annotations


class KioskError(Exception):
    """Base class: something the user should be told about, in plain words."""


class ConfigError(KioskError):
    """A setting has an invalid value."""


class StoreError(KioskError):
    """The file store could not keep an instance."""


class StoreFullError(StoreError):
    """The store reached its configured size limit or the disk is full."""


class InvalidUIDError(StoreError):
    """A UID is not a valid DICOM UID and cannot name a file."""


class RejectedFile(KioskError):
    """A file or dataset that cannot be indexed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFoundError(KioskError):
    """The requested patient, study, series, instance or node does not exist."""


class QueryError(KioskError):
    """A browse query was malformed (unknown column, bad date, ...)."""


class NetworkError(KioskError):
    """A DICOM peer could not be reached or refused what we asked; the text says why."""


class AssociationRejected(NetworkError):
    """The peer answered A-ASSOCIATE-RJ. A permanent rejection (a wrong AE title, an unknown
    calling AE) will not change by retrying; a transient one (the peer is busy) may."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class RetrieveError(NetworkError):
    """A C-MOVE or C-GET failed or was refused by the peer."""


class ProtocolError(NetworkError):
    """A peer broke the DICOM upper layer or DIMSE protocol (bad PDU, bad command set)."""


class PeerClosedError(ProtocolError):
    """The peer closed the connection (or stopped talking) in the middle of an exchange.

    ``partial``: the bytes that did arrive of what was being read."""

    def __init__(self, message: str, partial: bytes | bytearray = b"") -> None:
        super().__init__(message)
        self.partial = partial


class TransferStateError(KioskError):
    """A transfer log operation is not allowed in the transfer's current status."""
