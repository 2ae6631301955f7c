"""C-FIND identifiers: encoding the request's, reading the answers' (PS3.4 C.4.1.1.3).

``AnswerReader(wanted, syntax, query_charset).read(data)`` reads the elements ``wanted``
(keyword -> ``TEXT`` or ``NUMBER``) of one answer's bytes and gives each as the old client
read it through a pydicom ``Dataset``: text as ``str`` (multiple values joined by ``\\``, a
single value stripped), numbers (IS) as ``int`` or ``None``, each in the answer's own
Specific Character Set, or the query's when it declares none (``SPECIFIC_CHARACTER_SET``
holds that set's value). Keywords the answer does not hold are left out.

Each answer is walked once to find its top-level elements; the values are then decoded as
pydicom's converters decode them. The common case, a value without ISO 2022 escape sequences
in a character set that decodes byte for byte, is decoded here directly (a few microseconds an
answer); anything else goes to pydicom: a value with escape sequences (ISO 2022 IR 87...), an
unusual VR, a value that does not decode, or a value several values long goes through
pydicom's element conversion, and an answer with an undefined length (a sequence), in big
endian, or that does not parse is read by pydicom whole, as before. Either way the result is
pydicom's; tests/core/net/test_identifier.py checks both paths give what a ``Dataset`` gives.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Any, Literal

from core.net.findscu import EXPLICIT_LITTLE, Syntax

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

log = logging.getLogger(__name__)

TEXT: Literal["text"] = "text"
NUMBER: Literal["number"] = "number"
Kind = Literal["text", "number"]
Answer = dict[str, Any]  # keyword -> str (TEXT) or int | None (NUMBER)

SPECIFIC_CHARACTER_SET = "SpecificCharacterSet"
_CHARSET_TAG = 0x00080005
DEFAULT_ENCODINGS = ["iso8859"]  # pydicom's reading of a data set without a character set

# The keys our queries send and read: keyword -> (tag, VR), as pydicom's dictionary has them
# (tests/core/net/test_identifier.py checks), so that a query needs no pydicom. Any other
# keyword is looked up in pydicom's dictionary.
KEYS: dict[str, tuple[int, str]] = {
    "SpecificCharacterSet": (0x00080005, "CS"),
    "StudyDate": (0x00080020, "DA"),
    "SeriesDate": (0x00080021, "DA"),
    "StudyTime": (0x00080030, "TM"),
    "AccessionNumber": (0x00080050, "SH"),
    "QueryRetrieveLevel": (0x00080052, "CS"),
    "Modality": (0x00080060, "CS"),
    "ModalitiesInStudy": (0x00080061, "CS"),
    "StudyDescription": (0x00081030, "LO"),
    "SeriesDescription": (0x0008103E, "LO"),
    "PatientName": (0x00100010, "PN"),
    "PatientID": (0x00100020, "LO"),
    "PatientBirthDate": (0x00100030, "DA"),
    "BodyPartExamined": (0x00180015, "CS"),
    "StudyInstanceUID": (0x0020000D, "UI"),
    "SeriesInstanceUID": (0x0020000E, "UI"),
    "SeriesNumber": (0x00200011, "IS"),
    "NumberOfStudyRelatedSeries": (0x00201206, "IS"),
    "NumberOfStudyRelatedInstances": (0x00201208, "IS"),
    "NumberOfSeriesRelatedInstances": (0x00201209, "IS"),
}
# Specific Character Set terms that name one Python codec, as pydicom's convert_encodings
# gives it (tests/core/net/test_identifier.py checks); any other term, a multi-valued one
# with ISO 2022 code extensions among them, is converted by pydicom.
CODECS: dict[str, str] = {
    "": "iso8859", "ISO_IR 6": "iso8859", "ISO_IR 100": "latin_1", "ISO_IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3", "ISO_IR 110": "iso8859_4", "ISO_IR 144": "iso_ir_144",
    "ISO_IR 127": "iso_ir_127", "ISO_IR 126": "iso_ir_126", "ISO_IR 138": "iso_ir_138",
    "ISO_IR 148": "iso_ir_148", "ISO_IR 166": "iso_ir_166", "ISO_IR 192": "UTF8",
    "GB18030": "GB18030",
}  # fmt: skip

# Explicit VR: the VRs with a 4-byte length after two reserved bytes (PS3.5 7.1.2).
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_VRS = _LONG_VRS | {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT",
    b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
}  # fmt: skip
_SPLIT_TEXT = frozenset({"SH", "LO", "UC"})  # pydicom's convert_text: split at backslashes
_SINGLE_TEXT = frozenset({"ST", "LT", "UT"})  # convert_single_string: one value
_PLAIN = frozenset({"CS", "DA", "TM", "DT", "AS", "UI"})  # read in the default encoding
# Python codecs (as pydicom names them) that decode and encode back exactly, so that pydicom's
# PersonName round trip (decode, encode, decode) gives the decoded text unchanged.
_SIMPLE_CODECS = frozenset(
    {
        "iso8859", "latin_1", "iso8859_2", "iso8859_3", "iso8859_4", "iso_ir_126",
        "iso_ir_127", "iso_ir_138", "iso_ir_144", "iso_ir_148", "iso_ir_166", "UTF8",
        "GB18030",
    }
)  # fmt: skip
_INTEGER = re.compile(rb" *[+-]?[0-9]+ *")
_ESC = 0x1B
_HEADER = struct.Struct("<HHI")
_EXPLICIT_SHORT = struct.Struct("<HH2sH")
_UL = struct.Struct("<I")
_UNDEFINED = 0xFFFFFFFF


def text_of(value: Any) -> str:
    """A decoded element value as the client reports text: multiple values joined by ``\\``,
    a single one stripped, none as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    from pydicom.multival import MultiValue  # only pydicom makes anything else

    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def number_of(value: Any) -> int | None:
    """A decoded element value as an int, or None when empty or not a number."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def encode_identifier(identifier: Dataset, syntax: Syntax) -> bytes:
    """``identifier`` encoded as the association's transfer syntax says (not yet deflated)."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    buffer = DicomBytesIO()
    buffer.is_little_endian = syntax.little
    buffer.is_implicit_VR = syntax.implicit
    write_dataset(buffer, identifier)
    return buffer.getvalue()


_TEXT_VRS = frozenset({"PN", "LO", "SH", "LT", "ST", "UT", "UC"})  # in the character set


@dataclass(frozen=True)
class Identifier:
    """A C-FIND request identifier: its keys (keyword, value) and the Specific Character Set
    its text values are encoded in (``""``: the default repertoire; the ones a query needs,
    ``query_charset``'s, name one codec). Encoded here as pydicom's ``write_dataset`` encodes
    the same Dataset (tests/core/net/test_identifier.py checks), without loading pydicom."""

    keys: tuple[tuple[str, str], ...]
    charset: str = ""

    @classmethod
    def of(cls, keys: Mapping[str, str], charset: str = "") -> Identifier:
        return cls(tuple(keys.items()), charset)

    def get(self, keyword: str) -> str:
        if keyword == SPECIFIC_CHARACTER_SET:
            return self.charset
        return next((value for key, value in self.keys if key == keyword), "")

    def encode(self, syntax: Syntax) -> bytes:
        """The identifier's data set in ``syntax`` (not yet deflated)."""
        codec = CODECS[self.charset]
        elements = [(*key_of(keyword), value) for keyword, value in self.keys]
        if self.charset:
            elements.append((_CHARSET_TAG, "CS", self.charset))
        header = (
            _HEADER if syntax.implicit else struct.Struct("<HH2sH" if syntax.little else ">HH2sH")
        )
        out = bytearray()
        for tag, vr, value in sorted(elements, key=lambda element: element[0]):
            raw = value.encode(codec if vr in _TEXT_VRS else "ascii")
            if len(raw) % 2:
                raw += b"\x00" if vr == "UI" else b" "
            if syntax.implicit:
                out += header.pack(tag >> 16, tag & 0xFFFF, len(raw))
            else:
                out += header.pack(tag >> 16, tag & 0xFFFF, vr.encode("ascii"), len(raw))
            out += raw
        return bytes(out)

    def explicit_little(self) -> bytes:
        """In Explicit VR Little Endian: what the audit trail's Query record holds."""
        return self.encode(Syntax.of(EXPLICIT_LITTLE))


class AnswerReader:
    """Reads the ``wanted`` elements of the answers of one query."""

    def __init__(self, wanted: Mapping[str, Kind], syntax: Syntax, query_charset: str) -> None:
        self._syntax = syntax
        self._query_charset = query_charset
        self._wanted: dict[int, tuple[str, Kind, str]] = {}
        for keyword, kind in wanted.items():
            tag, vr = key_of(keyword)
            self._wanted[tag] = (keyword, kind, vr)
        self._tags = frozenset(self._wanted) | {_CHARSET_TAG}
        self._charsets: dict[tuple[str | None, bytes], tuple[str, list[str]]] = {}

    # -- one answer ----------------------------------------------------------------------------
    def read(self, data: bytes) -> Answer | None:
        """The wanted elements of one answer; None when pydicom cannot read it either."""
        elements = self._walk(data) if self._syntax.little else None
        if elements is None:
            return self._read_with_pydicom(data)
        charset_element = elements.get(_CHARSET_TAG)
        if charset_element is None:
            charset, encodings = self._no_charset()
        else:
            charset, encodings = self._charset(*charset_element)
        answer: Answer = {}
        if charset_element is not None or charset:
            answer[SPECIFIC_CHARACTER_SET] = charset
        implicit = self._syntax.implicit
        for tag, (stream_vr, value) in elements.items():
            if tag == _CHARSET_TAG and tag not in self._wanted:
                continue
            keyword, kind, dictionary_vr = self._wanted[tag]
            vr = dictionary_vr if stream_vr is None else stream_vr
            fast = _fast(vr, value, kind, encodings)
            if fast is _SLOW:
                decoded = _convert(tag, vr, value, implicit, encodings)
                fast = text_of(decoded) if kind == TEXT else number_of(decoded)
            answer[keyword] = fast
        return answer

    def _walk(self, data: bytes) -> dict[int, tuple[str | None, bytes]] | None:
        """The wanted top-level elements (tag -> (VR or None, value bytes)) of a little endian
        data set; None when it holds what only pydicom reads (undefined lengths, items,
        unknown VRs) or does not parse."""
        implicit = self._syntax.implicit
        tags = self._tags
        found: dict[int, tuple[str | None, bytes]] = {}
        end = len(data)
        offset = 0
        while offset < end:
            if end - offset < 8:
                return None
            if implicit:
                group, element, length = _HEADER.unpack_from(data, offset)
                offset += 8
                vr: str | None = None
            else:
                group, element, raw_vr, length = _EXPLICIT_SHORT.unpack_from(data, offset)
                if raw_vr not in _VRS:
                    return None
                if raw_vr in _LONG_VRS:
                    if end - offset < 12:
                        return None
                    (length,) = _UL.unpack_from(data, offset + 8)
                    offset += 12
                else:
                    offset += 8
                vr = raw_vr.decode()
            if length == _UNDEFINED or group == 0xFFFE or length > end - offset:
                return None
            tag = group << 16 | element
            if tag in tags:
                found[tag] = (vr, data[offset : offset + length])
            offset += length
        return found

    def _charset(self, vr: str | None, value: bytes) -> tuple[str, list[str]]:
        """(Specific Character Set as text, Python encodings) of an answer's element."""
        key = (vr, value)
        known = self._charsets.get(key)
        if known is None:
            text = value.decode("latin-1").rstrip(" \x00").strip()
            if "\\" not in text and text in CODECS:  # one term that names one codec
                known = (text, [CODECS[text]])
            else:
                decoded = _convert(_CHARSET_TAG, vr or "CS", value, vr is None) if value else ""
                known = (text_of(decoded), _encodings(decoded))
            self._charsets[key] = known
        return known

    def _no_charset(self) -> tuple[str, list[str]]:
        """An answer without a character set is read in the query's, or pydicom's default."""
        if not self._query_charset:
            return "", DEFAULT_ENCODINGS
        key = (None, b"")
        known = self._charsets.get(key)
        if known is None:
            known = (self._query_charset, _encodings(self._query_charset))
            self._charsets[key] = known
        return known

    def _read_with_pydicom(self, data: bytes) -> Answer | None:
        """Read the answer through a pydicom Dataset, as pynetdicom handed it to the client."""
        from pydicom.charset import convert_encodings
        from pydicom.filereader import read_dataset

        try:
            ds = read_dataset(BytesIO(data), self._syntax.implicit, self._syntax.little)
            if self._query_charset and SPECIFIC_CHARACTER_SET not in ds:
                ds.SpecificCharacterSet = self._query_charset
                implicit, little = ds.original_encoding
                ds.set_original_encoding(implicit, little, convert_encodings(self._query_charset))
            answer: Answer = {}
            for tag, (keyword, kind, _vr) in self._wanted.items():
                if tag in ds:
                    value = ds[tag].value
                    answer[keyword] = text_of(value) if kind == TEXT else number_of(value)
            if SPECIFIC_CHARACTER_SET in ds:
                answer[SPECIFIC_CHARACTER_SET] = text_of(ds.SpecificCharacterSet)
        except Exception:
            log.warning("an answer's identifier could not be read; it is left out", exc_info=True)
            return None
        return answer


def key_of(keyword: str) -> tuple[int, str]:
    """A keyword's (tag, VR): ours, or pydicom's dictionary's."""
    known = KEYS.get(keyword)
    if known is not None:
        return known
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    if tag is None:
        raise ValueError(f"unknown keyword {keyword!r}")
    return tag, dictionary_VR(tag)


def _encodings(charset: Any) -> list[str]:
    """The Python encodings of a Specific Character Set value (pydicom's conversion)."""
    if isinstance(charset, str) and charset in CODECS:
        return [CODECS[charset]]
    from pydicom.charset import convert_encodings

    return list(convert_encodings(charset))


def _convert(tag: int, vr: str, value: bytes, implicit: bool, encodings: Any = None) -> Any:
    """One element's value as pydicom converts it."""
    from pydicom.dataelem import RawDataElement, convert_raw_data_element
    from pydicom.tag import BaseTag

    raw = RawDataElement(BaseTag(tag), vr, len(value), value, 0, implicit, True, True, False)
    return convert_raw_data_element(raw, encoding=encodings).value


class _Slow:
    """Marks a value pydicom must convert."""


_SLOW: Any = _Slow()


def _fast(vr: str, value: bytes, kind: Kind, encodings: list[str]) -> Any:
    """The value as ``text_of``/``number_of`` of pydicom's conversion gives it, when that is
    certain without pydicom; ``_SLOW`` otherwise."""
    if not value:
        return "" if kind == TEXT else None
    if kind == NUMBER:
        if vr == "IS" and _INTEGER.fullmatch(value):
            return int(value)
        return _SLOW
    if vr in _PLAIN:
        if 0x5C in value:  # a backslash: several values
            return _SLOW
        return value.decode("latin-1").rstrip(" \x00").strip()
    codec = encodings[0]
    if _ESC in value:
        return _SLOW
    if vr == "PN":
        if codec not in _SIMPLE_CODECS:
            return _SLOW
        value = value.rstrip(b"\x00 ")
    elif vr not in _SPLIT_TEXT and vr not in _SINGLE_TEXT:
        return _SLOW
    try:
        text = value.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return _SLOW
    if vr == "PN":
        if "\\" in text:
            return _SLOW
        return text.rstrip("=").strip()  # PersonName drops empty trailing groups
    if vr in _SPLIT_TEXT and "\\" in text:
        return _SLOW
    return text.rstrip("\x00 ").strip()


def as_answer(ds: Dataset, wanted: Iterable[tuple[str, Kind]]) -> Answer:
    """The ``wanted`` elements of a Dataset, as ``AnswerReader.read`` gives them."""
    answer: Answer = {}
    for keyword, kind in wanted:
        if keyword in ds:
            value = ds[keyword].value
            answer[keyword] = text_of(value) if kind == TEXT else number_of(value)
    if SPECIFIC_CHARACTER_SET in ds:
        answer[SPECIFIC_CHARACTER_SET] = text_of(ds.SpecificCharacterSet)
    return answer
