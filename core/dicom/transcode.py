"""Reading a stored Part 10 file for sending, and converting it when the peer needs it.

``read_dataset`` finds where the data set starts and which transfer syntax it is in, without
building pydicom objects, so the data set bytes can be sent exactly as stored.
``to_little_endian`` decodes a file with pydicom (and the installed pylibjpeg, openjpeg or
gdcm plugins for compressed pixel data) and encodes its data set in Explicit or Implicit
VR Little Endian, for a peer that does not accept the stored transfer syntax;
``dataset_to_little_endian`` does the same to a data set pynetdicom will encode (C-GET and
C-MOVE sub-operations).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian

PREAMBLE_LENGTH = 128
MAGIC = b"DICM"
# Explicit VR elements with a 4-byte length (PS3.5 7.1.2, Table 7.1-1)
LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
CHUNK = 1 << 20
PIXEL_DATA = 0x7FE00010
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


def read_dataset(path: Path) -> tuple[str, bytes | Iterator[bytes]]:
    """The transfer syntax and the data set bytes of a stored file, exactly as stored.

    A file up to ``CHUNK`` bytes comes back as one ``bytes``; a larger one as an iterator
    of chunks read while they are sent (the file is closed when the iterator ends or is
    discarded), so a large multi-frame object never sits in memory whole.
    """
    with open(path, "rb", buffering=0) as file:
        if os.fstat(file.fileno()).st_size <= CHUNK:
            data = file.readall()
            layout = parse_meta(data)
            return layout.transfer_syntax, data[layout.dataset_offset :]
        layout = parse_meta(file.read(CHUNK))
    return layout.transfer_syntax, _chunks(path, layout.dataset_offset)


def _chunks(path: Path, offset: int) -> Iterator[bytes]:
    with open(path, "rb") as file:
        file.seek(offset)
        while chunk := file.read(CHUNK):
            yield chunk


def to_little_endian(path: Path, target_syntax: str) -> bytes:
    """Decode ``path`` and return its data set encoded in ``target_syntax``.

    ``target_syntax`` is Explicit or Implicit VR Little Endian. Compressed pixel data are
    decompressed; the SOP Instance UID is kept (it is the same image, sent in another
    encoding). Raises TranscodeError with the reason when no installed decoder can do it.
    """
    if target_syntax not in LITTLE_ENDIAN_SYNTAXES:
        raise TranscodeError(f"cannot convert to transfer syntax {target_syntax}")
    try:
        read = dcmread(path)
        UID(read.file_meta.TransferSyntaxUID)
    except Exception as exc:  # pydicom raises many types for a damaged file
        raise TranscodeError(f"cannot read {path} to convert it: {exc}") from exc
    ds = dataset_to_little_endian(read, target_syntax)
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


def dataset_to_little_endian(ds: Dataset, target_syntax: str) -> Dataset:
    """``ds`` (read from a file, with its file meta) made ready to encode in ``target_syntax``.

    Compressed pixel data are decompressed and big-endian binary values swapped, in place;
    the file meta then names ``target_syntax``. Raises TranscodeError with the reason.
    """
    if target_syntax not in LITTLE_ENDIAN_SYNTAXES:
        raise TranscodeError(f"cannot convert to transfer syntax {target_syntax}")
    source = UID(str(ds.file_meta.get("TransferSyntaxUID", "")))
    try:
        if source.is_compressed:
            ds.decompress(generate_instance_uid=False)
        elif not source.is_little_endian:
            _swap_binary_values(ds)
    except Exception as exc:  # pydicom and its plugins raise many types for bad pixel data
        raise TranscodeError(f"cannot decompress {source.name} data: {exc}") from exc
    # Elements still raw are written back as read, so a standard element the source encoded
    # as UN would reach the peer as UN (a SOP Class UID it cannot find). Reading each element
    # once gives known tags their dictionary VR (pydicom's replace_un_with_known_vr).
    for _element in ds.iterall():
        pass
    implicit = target_syntax == ImplicitVRLittleEndian
    ds.file_meta.TransferSyntaxUID = UID(target_syntax)
    ds.set_original_encoding(implicit, True)  # what the values now are, for pynetdicom
    return ds


# Word size of binary values whose raw bytes pydicom keeps in the file's byte order
SWAPPED_VRS = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _swap_binary_values(ds: Dataset) -> None:
    """Big to little endian for the raw OW/OF/OL/OD/OV values pydicom does not convert."""
    bits = int(ds.get("BitsAllocated", 16) or 16)
    for element in ds.iterall():
        size = SWAPPED_VRS.get(str(element.VR))
        if not size or not isinstance(element.value, bytes | bytearray):
            continue
        if element.tag == PIXEL_DATA and bits > 16:
            size = bits // 8
        raw = bytes(element.value)
        whole = len(raw) - len(raw) % size
        swapped = np.frombuffer(raw[:whole], dtype=f">u{size}").astype(f"<u{size}").tobytes()
        element.value = swapped + raw[whole:]
