"""DIMSE status codes (PS3.7 Annex C), one enum for the node, the SCUs and the intake.

``Status`` is an ``IntEnum``, so a member is the integer that goes on the wire and compares
equal to the code a peer answered. Names follow the standard's wording.
"""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    SUCCESS = 0x0000
    PROCESSING_FAILURE = 0x0110  # Failure: Processing failure (PS3.7 C.4.2)
    SOP_CLASS_NOT_SUPPORTED = 0x0122  # Refused: SOP Class not supported
    NOT_AUTHORIZED = 0x0124  # Refused: Not Authorized (PS3.7 C.5)
    OUT_OF_RESOURCES = 0xA700  # C-STORE: Refused: Out of Resources
    OUT_OF_RESOURCES_SUBOPS = 0xA702  # C-MOVE/C-GET: unable to perform sub-operations
    MOVE_DESTINATION_UNKNOWN = 0xA801  # C-MOVE: Refused: Move Destination unknown
    IDENTIFIER_DOES_NOT_MATCH = 0xA900  # Error: Data Set does not match SOP Class
    WARNING_SUBOPS_FAILED = 0xB000  # C-MOVE/C-GET: sub-operations complete, one or more failed
    CANNOT_UNDERSTAND = 0xC000  # Error: Cannot understand (bad or missing UIDs)
    UNABLE_TO_PROCESS = 0xC001  # C-FIND/C-MOVE/C-GET: Failed: Unable to process
    CANCEL = 0xFE00  # Cancel: matching or sub-operations terminated
    PENDING = 0xFF00  # Pending: matches are continuing
