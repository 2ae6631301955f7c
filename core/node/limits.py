"""What the node grants a peer, from the settings (README, "The node's limits").

Every resource a peer can make the node spend has a bound here: time before a complete
association request (ARTIM), connections in all and per address, established associations,
PDU and command set sizes, the largest data set, and memory (the one ``MemoryBudget``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from core.config import Settings
from core.logsafe import printable

__all__ = ["MAX_COMMAND_BYTES", "MAX_IDENTIFIER_BYTES", "MAX_RECEIVE_PDU",
           "MAX_RECEIVE_PDU_PYNETDICOM", "MAX_REQUEST_PDU",
           "Limits", "printable"]  # fmt: skip

# The largest P-DATA-TF PDU we accept: the Maximum Length we announce in A-ASSOCIATE-AC
# (PS3.8 D.1). A longer PDU is an abort (PS3.8 9.3.1).
MAX_RECEIVE_PDU = 1 << 20
# The same for associations pynetdicom serves (queries, retrieves, mixed): their messages are
# small, and pynetdicom copies each PDU as it assembles it.
MAX_RECEIVE_PDU_PYNETDICOM = 1 << 18
# The largest A-ASSOCIATE-RQ: real ones are under 4 KiB even with 128 contexts.
MAX_REQUEST_PDU = 1 << 16
# A command set is a few hundred bytes (PS3.7 E); a longer one is an abort.
MAX_COMMAND_BYTES = 1 << 16
# A query or retrieve identifier (C-FIND/C-MOVE/C-GET data set); a longer one is an abort.
MAX_IDENTIFIER_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Limits:
    """The settings of the same names (core.config.Settings holds the defaults)."""

    artim_timeout: float
    max_connections: int
    max_connections_per_peer: int
    max_associations: int
    max_dataset_bytes: int
    receive_memory_bytes: int
    receive_spool_bytes: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})
