"""Reading what the index needs from a DICOM file, without decoding pixel data.

``parse_instance`` validates structure (Part 10 header or a bare dataset, complete element
lengths, required UIDs) and extracts the header with the Specific Character Set honoured.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import struct
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol

from pydicom import dcmread
from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.filereader import _read_file_meta_info
from pydicom.tag import BaseTag
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pydicom.valuerep import PersonName

from core.errors import InvalidUIDError, RejectedFile
from core.store.files import validate_uid

log = logging.getLogger(__name__)

UNDEFINED_LENGTH = 0xFFFFFFFF
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"


@dataclass(frozen=True, slots=True)
class InstanceHeader:
    """The attributes the index stores for one instance (decoded strings)."""

    sop_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    transfer_syntax: str
    patient_id: str = ""
    patient_name: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_time: str = ""
    accession_number: str = ""
    study_description: str = ""
    study_id: str = ""
    referring_physician: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part: str = ""
    series_date: str = ""
    series_time: str = ""
    instance_number: int | None = None
    num_frames: int = 1
    rows: int | None = None
    columns: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedInstance:
    header: InstanceHeader
    # Bytes to store when the source is not a valid Part 10 file (no preamble/meta): the
    # dataset re-encoded with a proper file meta header. None: store the source as it is.
    rewritten: bytes | None = None


_KEYWORDS = (
    "SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID",
    "PatientName", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "AccessionNumber",
    "StudyDescription", "StudyID", "ReferringPhysicianName", "Modality", "SeriesNumber",
    "SeriesDescription", "BodyPartExamined", "SeriesDate", "SeriesTime", "InstanceNumber",
    "NumberOfFrames", "Rows", "Columns",
)  # fmt: skip
_TAGS = {keyword: BaseTag(tag_for_keyword(keyword) or 0) for keyword in _KEYWORDS}
_INT_TAGS = {keyword: int(tag) for keyword, tag in _TAGS.items()}
_PERSON_NAMES = {"PatientName", "ReferringPhysicianName"}
_CHARSET_TEXT = {"PatientID", "AccessionNumber", "StudyDescription", "StudyID", "SeriesDescription"}
_BACKSLASH = {0x5C}
_SPECIFIC_CHARACTER_SET = BaseTag(0x00080005)
_DEFAULT_ENCODINGS = ("iso8859",)


@functools.lru_cache(maxsize=64)
def _encodings_of(raw: bytes) -> tuple[str, ...]:
    """Python codecs for a raw Specific Character Set value."""
    try:
        terms = [t.strip(" \x00") for t in raw.decode("ascii", "replace").split("\\")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(convert_encodings(terms))
    except Exception:
        log.debug("unusable Specific Character Set; using the default", exc_info=True)
        return _DEFAULT_ENCODINGS


def _encodings(ds: Dataset) -> list[str]:
    """Python codecs for the dataset's Specific Character Set (default repertoire if absent)."""
    elem = ds._dict.get(_SPECIFIC_CHARACTER_SET)
    if elem is None:
        return list(_DEFAULT_ENCODINGS)
    if isinstance(elem, RawDataElement):
        return list(_encodings_of(bytes(elem.value or b"")))
    try:
        value = elem.value
        terms: list[str] = [value] if isinstance(value, str) else [str(v) for v in value or []]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return convert_encodings(terms)
    except Exception:
        log.debug("unusable Specific Character Set; using the default", exc_info=True)
        return list(_DEFAULT_ENCODINGS)


def _decode_raw(raw: bytes, keyword: str, encodings: Callable[[], Sequence[str]]) -> str:
    """A string attribute decoded straight from its raw bytes (much faster than converting
    a pydicom DataElement), honouring the Specific Character Set for names and texts."""
    try:
        raw = raw.rstrip(b" \x00")
        if keyword in _PERSON_NAMES:
            text = str(PersonName(raw, list(encodings())).decode())
        elif keyword in _CHARSET_TEXT:
            text = decode_bytes(raw, list(encodings()), _BACKSLASH)
        else:
            text = raw.decode("ascii", "replace")
    except Exception:  # undecodable value: index it as empty rather than reject the image
        log.debug("cannot decode %s", keyword, exc_info=True)
        return ""
    return text.strip(" \x00")


_LEGACY_DATE = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})$")


def dicom_date(text: str) -> str:
    """A DA value as ``YYYYMMDD``: the ACR-NEMA form ``YYYY.MM.DD``, which PS3.5 6.2
    (Table 6.2-1, DA) asks implementations to accept, is rewritten; others keep 8 characters."""
    text = text.strip()
    legacy = _LEGACY_DATE.match(text)
    if legacy:
        return "".join(legacy.groups())
    return text[:8]


def _leading_int(text: str) -> int | None:
    text = text.split("\\", maxsplit=1)[0]
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


class _Values(Protocol):
    """The indexed attributes of one data set, as ``_header_from`` reads them."""

    def text(self, keyword: str) -> str: ...

    def unsigned(self, keyword: str) -> int | None: ...


class _DatasetValues:
    """Values of a pydicom Dataset (raw elements decoded directly where possible)."""

    def __init__(self, ds: Dataset) -> None:
        self.ds = ds
        self._encodings: list[str] | None = None

    def encodings(self) -> list[str]:
        if self._encodings is None:
            self._encodings = _encodings(self.ds)
        return self._encodings

    def text(self, keyword: str) -> str:
        elem = self.ds._dict.get(_TAGS[keyword])
        if elem is None:
            return ""
        if isinstance(elem, RawDataElement):
            return _decode_raw(bytes(elem.value or b""), keyword, self.encodings)
        try:
            value = elem.value
            if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
                return "\\".join(str(v) for v in value).strip()
            return "" if value is None else str(value).strip()
        except Exception:
            log.debug("cannot decode %s", keyword, exc_info=True)
            return ""

    def unsigned(self, keyword: str) -> int | None:
        """An unsigned short (US) such as Rows, in the file's byte order."""
        ds = self.ds
        elem = ds._dict.get(_TAGS[keyword])
        if isinstance(elem, RawDataElement):
            raw = elem.value or b""
            if len(raw) < 2:
                return None
            return int.from_bytes(raw[:2], "little" if ds.original_encoding[1] else "big")
        try:
            value = ds.get(keyword)
        except Exception:
            return None
        return int(value) if isinstance(value, int) else None


class _RawValues:
    """Values found by the fast scan: tag -> raw value bytes."""

    def __init__(self, found: dict[int, bytes], little: bool) -> None:
        self.found = found
        self.order: Literal["little", "big"] = "little" if little else "big"

    def encodings(self) -> tuple[str, ...]:
        raw = self.found.get(0x00080005)  # Specific Character Set
        return _DEFAULT_ENCODINGS if raw is None else _encodings_of(raw)

    def text(self, keyword: str) -> str:
        raw = self.found.get(_INT_TAGS[keyword])
        if raw is None:
            return ""
        if keyword in _PERSON_NAMES or keyword in _CHARSET_TEXT:
            return _decode_raw(raw, keyword, self.encodings)
        return raw.rstrip(b" \x00").decode("ascii", "replace").strip(" \x00")

    def unsigned(self, keyword: str) -> int | None:
        raw = self.found.get(_INT_TAGS[keyword])
        if raw is None or len(raw) < 2:
            return None
        return int.from_bytes(raw[:2], self.order)


def _check_meta(ds: Dataset) -> None:
    """Reject files whose File Meta Information cannot be decoded (pydicom decodes each
    element when it is first read, so an unknown VR there would surface later, unhandled)."""
    meta = getattr(ds, "file_meta", None)
    try:
        for _element in meta.iterall() if meta is not None else ():
            pass
    except Exception as exc:
        raise RejectedFile(f"unreadable file meta information: {exc}") from exc


def _check_complete(ds: Dataset) -> None:
    """Reject files whose elements are shorter than their declared length (truncated)."""
    for tag, elem in ds._dict.items():
        if isinstance(elem, RawDataElement) and elem.length != UNDEFINED_LENGTH:
            value = elem.value
            if value is not None and len(value) < elem.length:
                raise RejectedFile(
                    f"truncated file: element {tag} declares {elem.length} bytes,"
                    f" only {len(value)} present"
                )


_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT"}
_SCAN_CHUNK = 1 << 20
DEFER_BYTES = 1 << 20  # a file's values larger than this stay in it while its header is read
_SEQ_DELIMITER = {
    True: b"\xfe\xff\xdd\xe0\x00\x00\x00\x00",
    False: b"\xff\xfe\xe0\xdd\x00\x00\x00\x00",
}


def _check_pixel_tail(ds: Dataset, fp: BinaryIO, pos: int, size: int) -> None:
    """The pixel data element where a header-only parse stopped must be complete (``fp``
    holds ``size`` bytes; only the element's header is read, and its end searched for)."""
    if pos > size:
        raise RejectedFile(f"truncated file: the data set ends past the file's {size} bytes")
    if pos == size:
        return
    fp.seek(pos)
    head = fp.read(12)
    implicit, little = ds.original_encoding
    little = bool(little)
    if not implicit and not (head[4:6].isalpha() and head[4:6].isupper()):
        implicit = True  # mislabelled file: pydicom also falls back to implicit VR here
    order = "<" if little else ">"
    if implicit:
        header, length_at, length_size = 8, 4, 4
    elif head[4:6] in _LONG_VRS:
        header, length_at, length_size = 12, 8, 4
    else:
        header, length_at, length_size = 8, 6, 2
    if pos + header > size:
        raise RejectedFile("truncated file: the pixel data element header is cut off")
    fmt = order + ("L" if length_size == 4 else "H")
    (length,) = struct.unpack_from(fmt, head, length_at)
    if length == UNDEFINED_LENGTH:
        if not _find(fp, pos + header, _SEQ_DELIMITER[little]):
            raise RejectedFile("truncated file: encapsulated pixel data has no end delimiter")
    elif pos + header + length > size:
        raise RejectedFile(
            f"truncated file: pixel data declares {length} bytes,"
            f" only {size - pos - header} present"
        )


def _find(fp: BinaryIO, start: int, needle: bytes) -> bool:
    """Whether ``needle`` occurs in ``fp`` at or after ``start`` (read in chunks)."""
    fp.seek(start)
    tail = b""
    while chunk := fp.read(_SCAN_CHUNK):
        if needle in tail + chunk:
            return True
        tail = chunk[-(len(needle) - 1) :]
    return False


def _check_deferred(ds: Dataset, size: int) -> None:
    """Values left in the file (over ``DEFER_BYTES``) must end inside it."""
    for tag, elem in ds._dict.items():
        if (
            isinstance(elem, RawDataElement)
            and elem.value is None
            and elem.length not in (UNDEFINED_LENGTH, 0)
            and elem.value_tell + elem.length > size
        ):
            raise RejectedFile(
                f"truncated file: element {tag} declares {elem.length} bytes,"
                f" only {max(size - elem.value_tell, 0)} present"
            )


def _read(source: bytes | Path) -> tuple[Dataset, bool]:
    """Header-only read of ``source`` (bytes, or a file read with values over
    ``DEFER_BYTES`` left in it): stops before pixel data, which is checked for completeness.
    Returns the dataset and whether it had a valid Part 10 header."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    with warnings.catch_warnings(), _open(source) as fp:
        warnings.simplefilter("ignore")
        defer = None if isinstance(source, bytes) else DEFER_BYTES
        try:
            ds = dcmread(fp, stop_before_pixels=True, defer_size=defer)
            part10 = True
        except InvalidDicomError:
            fp.seek(0)
            try:
                ds = dcmread(fp, force=True, stop_before_pixels=True, defer_size=defer)
            except Exception as exc:
                raise RejectedFile(f"not a DICOM file ({exc})") from exc
            if len(ds) == 0 or "SOPInstanceUID" not in ds:
                raise RejectedFile(
                    "not a DICOM file (no DICOM header and no SOP Instance UID)"
                ) from None
            part10 = False
        except Exception as exc:
            raise RejectedFile(f"unreadable DICOM file: {exc}") from exc
        _check_meta(ds)
        _check_complete(ds)
        if defer is not None:
            _check_deferred(ds, size)
        _check_pixel_tail(ds, fp, fp.tell(), size)
        return ds, part10


def _open(source: bytes | Path) -> BinaryIO:
    # A named file (not a wrapper of it): pydicom reads deferred values by the file's name.
    return io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115


def _meta_transfer_syntax(ds: Dataset) -> str:
    """The file meta's Transfer Syntax UID; "" when absent or not text (a damaged meta can
    hold it as a sequence or a binary value)."""
    meta = getattr(ds, "file_meta", None)
    value = meta.get("TransferSyntaxUID") if meta is not None else None
    return str(value) if isinstance(value, str) else ""


def _transfer_syntax_of(ds: Dataset) -> str:
    ts = _meta_transfer_syntax(ds)
    if ts:
        return ts
    implicit, little = ds.original_encoding
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def header_of(ds: Dataset, transfer_syntax: str) -> InstanceHeader:
    """Extract and validate the indexed attributes of ``ds``."""
    return _header_from(_DatasetValues(ds), transfer_syntax)


def _required_uids(values: _Values) -> dict[str, str]:
    """The four UIDs every indexed instance needs, validated; RejectedFile if one is not."""
    uids: dict[str, str] = {}
    for keyword in ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID"):
        value = values.text(keyword)
        if not value:
            raise RejectedFile(f"missing {keyword}")
        try:
            uids[keyword] = validate_uid(value, keyword)
        except InvalidUIDError as exc:
            raise RejectedFile(str(exc)) from exc
    if uids["SOPClassUID"] == DICOMDIR_SOP_CLASS:
        raise RejectedFile("a DICOMDIR is an index of media, not an image")
    return uids


def _header_from(
    values: _Values, transfer_syntax: str, uids: dict[str, str] | None = None
) -> InstanceHeader:
    text = values.text
    if uids is None:
        uids = _required_uids(values)
    frames = _leading_int(text("NumberOfFrames"))
    return InstanceHeader(
        sop_uid=uids["SOPInstanceUID"],
        sop_class_uid=uids["SOPClassUID"],
        study_uid=uids["StudyInstanceUID"],
        series_uid=uids["SeriesInstanceUID"],
        transfer_syntax=transfer_syntax,
        patient_id=text("PatientID"),
        patient_name=text("PatientName"),
        birth_date=dicom_date(text("PatientBirthDate")),
        sex=text("PatientSex"),
        study_date=dicom_date(text("StudyDate")),
        study_time=text("StudyTime"),
        accession_number=text("AccessionNumber"),
        study_description=text("StudyDescription"),
        study_id=text("StudyID"),
        referring_physician=text("ReferringPhysicianName"),
        modality=text("Modality"),
        series_number=_leading_int(text("SeriesNumber")),
        series_description=text("SeriesDescription"),
        body_part=text("BodyPartExamined"),
        series_date=dicom_date(text("SeriesDate")),
        series_time=text("SeriesTime"),
        instance_number=_leading_int(text("InstanceNumber")),
        num_frames=frames if frames and frames > 0 else 1,
        rows=values.unsigned("Rows"),
        columns=values.unsigned("Columns"),
    )


def parse_instance(data: bytes) -> ParsedInstance:
    """Validate and index-parse one file's bytes. Raises RejectedFile with a reason."""
    ds, part10 = _read(data)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPClassUID") == DICOMDIR_SOP_CLASS:
        raise RejectedFile("a DICOMDIR is an index of media, not an image")
    ts = _transfer_syntax_of(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid values are indexed as found, not fatal
        header = header_of(ds, ts)
    if part10 and _meta_transfer_syntax(ds):
        return ParsedInstance(header)
    # Not a valid Part 10 file: read it whole and store it re-encoded with a file meta header.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = dcmread(io.BytesIO(data), force=True)
    except Exception as exc:  # damage after the header (pixel data and beyond)
        raise RejectedFile(f"unreadable DICOM file: {exc}") from exc
    rewritten = encode_part10(full, header)
    # What is stored must read back as this instance: pydicom returns an empty data set when
    # it meets an element it cannot parse, and re-encodes some damaged elements (an invalid
    # VR) into bytes it then reads differently.
    try:
        stored, _ = _read(rewritten)
    except RejectedFile as exc:
        raise RejectedFile(f"unreadable DICOM file: re-encoded, {exc.reason}") from exc
    if _DatasetValues(stored).text("SOPInstanceUID") != header.sop_uid:
        raise RejectedFile("unreadable DICOM file: its data set cannot be read whole")
    return ParsedInstance(header, rewritten=rewritten)


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """What ``parse_instance_file`` found in a file on disk."""

    header: InstanceHeader
    # False: not a valid Part 10 file (no preamble, or no transfer syntax in its file meta);
    # ``write_part10`` writes it with a complete file meta header, its data set as it is.
    part10: bool


def parse_instance_file(path: Path) -> ParsedFile:
    """Validate and index-parse one file on disk, reading no more of it than its header (and
    the header of its pixel data): memory stays bounded whatever the file's size. Raises
    RejectedFile with a reason."""
    ds, part10 = _read(path)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPClassUID") == DICOMDIR_SOP_CLASS:
        raise RejectedFile("a DICOMDIR is an index of media, not an image")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid values are indexed as found, not fatal
        header = header_of(ds, _transfer_syntax_of(ds))
    return ParsedFile(header, part10=part10 and bool(_meta_transfer_syntax(ds)))


def write_part10(source: Path, header: InstanceHeader, out: Writable) -> None:
    """Write ``source`` (a data set with no valid Part 10 header) to ``out`` as a Part 10 file:
    a preamble and a complete file meta header for ``header``, then the source's data set
    bytes as they are, copied in chunks (what the file meta said before is dropped)."""
    out.write(encode_part10(Dataset(), header))  # an empty data set: the preamble and meta
    with open(source, "rb") as fp:
        head = fp.read(132)
        fp.seek(132 if len(head) == 132 and head[128:] == b"DICM" else 0)
        try:
            _read_file_meta_info(fp)  # leaves ``fp`` where the data set starts
        except Exception as exc:
            raise RejectedFile(f"unreadable file meta information: {exc}") from exc
        while chunk := fp.read(_SCAN_CHUNK):
            out.write(chunk)


def encode_part10(ds: Dataset, header: InstanceHeader) -> bytes:
    """Encode ``ds`` as a Part 10 file with a complete file meta header."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(header.sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(header.sop_uid)
    meta.TransferSyntaxUID = UID(header.transfer_syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    buffer = io.BytesIO()
    try:
        ds.save_as(buffer, enforce_file_format=True)
    except Exception as exc:
        raise RejectedFile(f"cannot re-encode dataset as a DICOM file: {exc}") from exc
    return buffer.getvalue()


def values_of(header: InstanceHeader) -> dict[str, Any]:
    """The header as a plain dict (for logging at DEBUG and for tests)."""
    return {name: getattr(header, name) for name in header.__slots__}


# -- a fast header scan of a received data set ---------------------------------------------------
_WANTED = frozenset(int(tag) for tag in (*_TAGS.values(), _SPECIFIC_CHARACTER_SET))
_SCAN_LONG_VRS = frozenset(
    (b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV")
)
_UNDEFINED = 0xFFFFFFFF
_ITEM, _ITEM_END, _SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
_MAX_DEPTH = 16
_NOT_SCANNED = (
    "1.2.840.10008.1.2.1.99",  # deflated: the bytes must be inflated first
    "1.2.840.10008.1.2.4.95",  # JPIP referenced deflate
)


class _ScanError(Exception):
    """The data set is not plain enough for the fast scan: read it with pydicom instead."""


class _Scanner:
    def __init__(self, data: bytes, implicit: bool, little: bool) -> None:
        self.data = data
        self.implicit = implicit
        order = "<" if little else ">"
        self.tag = struct.Struct(order + "HH")
        self.u32 = struct.Struct(order + "I")
        self.u16 = struct.Struct(order + "H")

    def element(self, pos: int) -> tuple[int, bytes | None, int, int]:
        """(tag, VR or None, value length, value offset) of the element at ``pos``."""
        data = self.data
        if pos + 8 > len(data):
            raise _ScanError("truncated element header")
        group, elem = self.tag.unpack_from(data, pos)
        tag = group << 16 | elem
        if self.implicit or group == 0xFFFE:
            return tag, None, self.u32.unpack_from(data, pos + 4)[0], pos + 8
        vr = data[pos + 4 : pos + 6]
        if vr in _SCAN_LONG_VRS:
            if pos + 12 > len(data):
                raise _ScanError("truncated element header")
            return tag, vr, self.u32.unpack_from(data, pos + 8)[0], pos + 12
        if not (65 <= vr[0] <= 90 and 65 <= vr[1] <= 90):
            raise _ScanError("not an explicit VR")
        return tag, vr, self.u16.unpack_from(data, pos + 6)[0], pos + 8

    def skip_undefined(self, pos: int, depth: int) -> int:
        """Past the sequence (or undefined-length item contents) starting at ``pos``."""
        if depth > _MAX_DEPTH:
            raise _ScanError("sequences nested too deep")
        while True:
            tag, _vr, length, value = self.element(pos)
            if tag in (_SEQUENCE_END, _ITEM_END):
                return value
            if length == _UNDEFINED:
                pos = self.skip_undefined(value, depth + 1)
            else:
                pos = value + length
            if pos > len(self.data):
                raise _ScanError("an element overruns the data set")

    def scan(self) -> dict[int, bytes]:
        """The raw values of the indexed top-level elements, by tag."""
        data = self.data
        element = self.element
        end = len(data)
        found: dict[int, bytes] = {}
        pos = 0
        previous = -1
        # To the end of the data set, not only to the last indexed tag: what is acknowledged
        # must be readable as a whole (element lengths, delimiters, order), the same data set
        # pydicom's reader would see. Past the indexed tags an element costs one skip.
        while pos < end:
            tag, vr, length, value = element(pos)
            if tag <= previous:
                raise _ScanError("elements out of order")
            previous = tag
            group = tag >> 16
            if group in (0x0000, 0x0002, 0xFFFE):
                raise _ScanError("command, file meta or item tag in the data set")
            if length == _UNDEFINED:
                if tag in _WANTED or vr == b"UN":
                    raise _ScanError("undefined length on an indexed or UN element")
                pos = self.skip_undefined(value, 1)
                continue
            pos = value + length
            if pos > end:
                raise _ScanError("an element overruns the data set")
            if tag in _WANTED:
                found[tag] = data[value:pos]
        return found


@dataclass(frozen=True, slots=True)
class ScannedDataSet:
    """A data set whose UIDs the fast scan found valid; ``header()`` decodes the rest."""

    values: _RawValues
    transfer_syntax: str
    uids: dict[str, str]

    @property
    def sop_uid(self) -> str:
        return self.uids["SOPInstanceUID"]

    def header(self) -> InstanceHeader:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _header_from(self.values, self.transfer_syntax, self.uids)


def scan_dataset(dataset: bytes, transfer_syntax: str) -> ScannedDataSet | None:
    """Scan an encoded data set (no file meta) without pydicom's reader; check its UIDs.

    Walks every top-level element (sequences item by item), keeping the indexed values raw,
    so it costs a few microseconds per element. Returns None when the data set
    needs the full reader (deflated, malformed, unusual encodings); the caller then uses
    ``header_of`` on ``dcmread``'s result, which gives the same header for every data set this
    one accepts. Raises RejectedFile, like ``header_of``, for missing or invalid UIDs.
    """
    if transfer_syntax in _NOT_SCANNED:
        return None
    implicit = transfer_syntax == ImplicitVRLittleEndian
    little = transfer_syntax != ExplicitVRBigEndian
    try:
        found = _Scanner(dataset, implicit, little).scan()
    except (_ScanError, struct.error):
        return None
    values = _RawValues(found, little)
    return ScannedDataSet(values, transfer_syntax, _required_uids(values))


def scan_header(dataset: bytes, transfer_syntax: str) -> InstanceHeader | None:
    """``scan_dataset``'s whole index header (None: use the full reader)."""
    scanned = scan_dataset(dataset, transfer_syntax)
    return None if scanned is None else scanned.header()
