"""Fast Part 10 framing of a received C-STORE data set, without building pydicom objects.

The File Meta Information (PS3.10 7.1) is encoded directly in Explicit VR Little Endian:
(0002,0000) group length, (0002,0001) version, (0002,0002) media storage SOP class,
(0002,0003) media storage SOP instance, (0002,0010) transfer syntax, (0002,0012)
implementation class, (0002,0013) implementation version, (0002,0016) source AE title.
The data set bytes follow exactly as received.
"""

from __future__ import annotations

import struct

from core.dicom.identity import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION

__all__ = ["IMPLEMENTATION_VERSION", "PREAMBLE", "file_meta", "part10", "part10_prefix"]

PREAMBLE = b"\x00" * 128 + b"DICM"


def _short(group_elem: tuple[int, int], vr: bytes, value: bytes) -> bytes:
    return struct.pack("<HH2sH", group_elem[0], group_elem[1], vr, len(value)) + value


def _uid(value: str) -> bytes:
    raw = value.encode("ascii", "replace")
    return raw + b"\x00" if len(raw) % 2 else raw


def _text(value: str) -> bytes:
    raw = value.encode("ascii", "replace")
    return raw + b" " if len(raw) % 2 else raw


# (0002,0001) OB has a 4-byte length after two reserved bytes
_VERSION = struct.pack("<HH2sHI", 2, 1, b"OB", 0, 2) + b"\x00\x01"
_IMPLEMENTATION = _short((2, 0x12), b"UI", _uid(IMPLEMENTATION_CLASS_UID)) + _short(
    (2, 0x13), b"SH", _text(IMPLEMENTATION_VERSION)
)


def file_meta(sop_class: str, sop_instance: str, transfer_syntax: str, source_ae: str) -> bytes:
    """The encoded File Meta Information group, group length included."""
    body = b"".join(
        (
            _VERSION,
            _short((2, 2), b"UI", _uid(sop_class)),
            _short((2, 3), b"UI", _uid(sop_instance)),
            _short((2, 0x10), b"UI", _uid(transfer_syntax)),
            _IMPLEMENTATION,
            _short((2, 0x16), b"AE", _text(source_ae)) if source_ae else b"",
        )
    )
    return struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(body)) + body


def part10_prefix(sop_class: str, sop_instance: str, ts: str, source_ae: str) -> bytes:
    """The preamble, prefix and File Meta Information that go before a data set."""
    return PREAMBLE + file_meta(sop_class, sop_instance, ts, source_ae)


def part10(dataset: bytes, sop_class: str, sop_instance: str, ts: str, source_ae: str) -> bytes:
    return b"".join((PREAMBLE, file_meta(sop_class, sop_instance, ts, source_ae), dataset))
