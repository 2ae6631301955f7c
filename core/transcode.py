"""Reading a stored Part 10 file for sending, and converting it when the peer needs it.

``read_part10`` finds where the data set starts and which transfer syntax it is in, without
building pydicom objects, so the data set bytes can be sent exactly as stored.
``to_little_endian`` decodes a file with pydicom (and the installed pylibjpeg, openjpeg or
gdcm plugins for compressed pixel data) and encodes its data set in Explicit or Implicit
VR Little Endian, for a peer that does not accept the stored transfer syntax.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from pydicom import dcmread
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

PREAMBLE_LENGTH = 128
MAGIC = b"DICM"
# Explicit VR elements with a 4-byte length (PS3.5 7.1.2, Table 7.1-1)
LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
LITTLE_ENDIAN_SYNTAXES = (str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian))


class Part10Error(ValueError):
    """A stored file is not a readable Part 10 file."""


class TranscodeError(ValueError):
    """A data set could not be converted to the transfer syntax a peer accepts."""


@dataclass(frozen=True, slots=True)
class Part10Layout:
    """Where the data set of a Part 10 file starts, and its transfer syntax."""

    dataset_offset: int
    transfer_syntax: str


def parse_meta(head: bytes) -> Part10Layout:
    """Parse the preamble and File Meta Information (PS3.10 7.1) at the start of a file.

    ``head`` must hold at least the whole meta group; the group is walked element by
    element (Explicit VR Little Endian), so a missing or wrong group length does no harm.
    """
    if len(head) < PREAMBLE_LENGTH + 4 or head[PREAMBLE_LENGTH : PREAMBLE_LENGTH + 4] != MAGIC:
        raise Part10Error("no DICOM Part 10 header (missing 'DICM' after the preamble)")
    pos = PREAMBLE_LENGTH + 4
    syntax = ""
    while pos + 8 <= len(head):
        group, element = struct.unpack_from("<HH", head, pos)
        if group != 2:
            break
        vr = head[pos + 4 : pos + 6]
        if vr in LONG_VRS:
            if pos + 12 > len(head):
                raise Part10Error("the file meta information is truncated")
            (length,) = struct.unpack_from("<I", head, pos + 8)
            value_at = pos + 12
        else:
            (length,) = struct.unpack_from("<H", head, pos + 6)
            value_at = pos + 8
        if value_at + length > len(head):
            raise Part10Error("the file meta information is truncated")
        if element == 0x0010:
            syntax = head[value_at : value_at + length].rstrip(b"\x00 ").decode("ascii", "replace")
        pos = value_at + length
    if 0 < len(head) - pos < 8:
        raise Part10Error("the file meta information is truncated")
    if not syntax:
        raise Part10Error("the file meta information has no Transfer Syntax UID (0002,0010)")
    return Part10Layout(pos, syntax)


def read_part10(path: Path) -> tuple[Part10Layout, bytes]:
    """Read a stored file: its layout and its data set bytes, exactly as stored."""
    data = path.read_bytes()
    return parse_meta(data), data


def to_little_endian(path: Path, target_syntax: str) -> bytes:
    """Decode ``path`` and return its data set encoded in ``target_syntax``.

    ``target_syntax`` is Explicit or Implicit VR Little Endian. Compressed pixel data are
    decompressed; the SOP Instance UID is kept (it is the same image, sent in another
    encoding). Raises TranscodeError with the reason when no installed decoder can do it.
    """
    if target_syntax not in LITTLE_ENDIAN_SYNTAXES:
        raise TranscodeError(f"cannot convert to transfer syntax {target_syntax}")
    try:
        ds = dcmread(path)
        source = UID(ds.file_meta.TransferSyntaxUID)
        if source.is_compressed:
            ds.decompress(generate_instance_uid=False)
    except Exception as exc:  # pydicom and its plugins raise many types for bad pixel data
        name = _syntax_name(path)
        raise TranscodeError(f"cannot decompress {name} data: {exc}") from exc
    buffer = DicomBytesIO()
    buffer.is_little_endian = True
    buffer.is_implicit_VR = target_syntax == ImplicitVRLittleEndian
    try:
        write_dataset(buffer, ds)
    except Exception as exc:  # an element that cannot be encoded in the target syntax
        raise TranscodeError(
            f"cannot encode the data set as {UID(target_syntax).name}: {exc}"
        ) from exc
    return buffer.getvalue()


def _syntax_name(path: Path) -> str:
    try:
        head = path.read_bytes()[:4096]
        return UID(parse_meta(head).transfer_syntax).name
    except (OSError, Part10Error):
        return "the stored"
