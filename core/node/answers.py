"""C-FIND answers encoded straight from the index's rows, without a pydicom Dataset per answer.

``core.node.matching.find`` builds each answer as a pydicom ``Dataset`` (its elements checked by
encoding them once each), which pynetdicom then encodes again: about 0.4 ms of Python a
20-study answer of ten keys, most of a large query's time. Here the work that is the same for
every answer of a query is done once, in ``AnswerPlan``: which columns to read, each
requested key's tag, VR and header bytes, the bytes of every key answered empty and of the
keys the node fills itself. Each answer is then the concatenation of those bytes and of the
index's values encoded in place: a few microseconds a key.

The bytes are the ones pydicom writes for the same answer (``matching._response`` encoded in the
context's transfer syntax): tests/core/node/test_answers.py compares them for every key at
every level, in both VR encodings, over values chosen to be awkward. A value the short
encoders are not sure of (text outside the characters they know pydicom writes unchanged, a
number out of range, a key asked with another VR than the dictionary's) is encoded by
pydicom, through ``matching._element``. So is a whole query the plan does not cover: keys
read from the stored files at the IMAGE level, an unusual VR, a Big Endian or Deflated
context (``AnswerPlan.fast`` is False: ``matching._response`` and pynetdicom's encoder, as on
pynetdicom's associations).

Answers are read with one SQL query, streamed ``FETCH_ROWS`` rows at a time, so memory stays
flat however many studies match.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from pydicom.charset import convert_encodings
from pydicom.datadict import dictionary_has_tag, dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.dsutils import encode as pynetdicom_encode
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.node import matching

FETCH_ROWS = 500  # rows read from the database at a time

_ENCODINGS = convert_encodings("ISO_IR 192")  # answers are UTF-8 (matching._response)
# Explicit VR: these VRs have a 4-byte length after two reserved bytes (PS3.5 7.1.2).
_LONG_VRS = frozenset(
    {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}
)
# Text pydicom writes as given (once it is stripped of the characters below, and printable):
# ASCII-only VRs it writes in its default encoding, text VRs in the character set (UTF-8).
_ASCII_VRS = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "UI", "UR"})
_UTF8_VRS = frozenset({"LO", "LT", "PN", "SH", "ST", "UC", "UT"})
_US = struct.Struct("<H")
_LITTLE_ENDIAN = (str(ImplicitVRLittleEndian), str(ExplicitVRLittleEndian))

Row = Any  # a result row of the plan's query: its values by position
Part = bytes | Callable[[Row], bytes]


def element_bytes(element: DataElement, implicit: bool) -> bytes:
    """``element`` as pydicom writes it in an answer (UTF-8), Little Endian."""
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, implicit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_data_element(buffer, element, _ENCODINGS)
    return buffer.getvalue()


@lru_cache(maxsize=4096)
def _empty_bytes(tag: int, vr: str, implicit: bool) -> bytes:
    """The bytes of a key answered empty (``matching._element`` with no value)."""
    asked = DataElement(tag, vr, None)
    return element_bytes(matching._element(asked, None, ""), implicit)


@lru_cache(maxsize=64)
def _fixed_bytes(level: str, retrieve_ae: str, implicit: bool) -> tuple[tuple[int, bytes], ...]:
    """The elements the node puts in every answer (as ``matching._response``), by tag."""
    fixed = Dataset()
    fixed.SpecificCharacterSet = "ISO_IR 192"
    fixed.QueryRetrieveLevel = level
    if retrieve_ae:
        fixed.RetrieveAETitle = retrieve_ae
    return tuple((int(e.tag), element_bytes(e, implicit)) for e in fixed)


def _header(tag: int, vr: str, length: int, implicit: bool) -> bytes:
    group, elem = tag >> 16, tag & 0xFFFF
    if implicit:
        return struct.pack("<HHI", group, elem, length)
    if vr in _LONG_VRS:
        return struct.pack("<HH2sHI", group, elem, vr.encode(), 0, length)
    return struct.pack("<HH2sH", group, elem, vr.encode(), length)


def _plain_text(text: str) -> bool:
    """Text pydicom writes byte for byte (no stripping, splitting or other encoding)."""
    return text.isprintable() and text == text.strip(" ") and text != ""


class _KeyEncoder:
    """Encodes one requested key from the value at ``index`` of each row."""

    def __init__(
        self, asked: DataElement, vr: str, kind: str, index: int, implicit: bool, short: bool
    ) -> None:
        self.asked, self.vr, self.kind, self.index = asked, vr, kind, index
        self.implicit = implicit
        self.tag = int(asked.tag)
        self.empty = _empty_bytes(self.tag, vr, implicit)
        self.short = short  # the VR is the dictionary's: the short encoders apply
        self.pad = b"\x00" if vr == "UI" else b" "
        self.max_length = 0xFFFFFFFE if implicit or vr in _LONG_VRS else 0xFFFE

    def __call__(self, row: Row) -> bytes:
        value = row[self.index]
        if value is None or value == "":
            return self.empty
        raw = self._short(value) if self.short else None
        if raw is None:  # pydicom decides, as matching._response does
            return element_bytes(matching._element(self.asked, value, self.kind), self.implicit)
        if len(raw) % 2:
            raw += self.pad
        return _header(self.tag, self.vr, len(raw), self.implicit) + raw

    def _short(self, value: Any) -> bytes | None:
        vr = self.vr
        if vr == "US":
            number = value if type(value) is int else None
            return _US.pack(number) if number is not None and 0 <= number <= 0xFFFF else None
        if vr == "IS":
            return str(value).encode() if type(value) is int and abs(value) < 2**31 else None
        if not isinstance(value, str) or not _plain_text(value) or len(value) > 1024:
            return None
        if vr in _ASCII_VRS:
            return value.encode() if value.isascii() else None
        if vr in _UTF8_VRS:
            return value.encode()
        return None


class AnswerPlan:
    """What every answer of one query shares; ``encode(row)`` gives one answer's bytes.

    ``fast`` is False when the short encoders do not cover the query (see the module's
    docstring); then ``matching.find`` and pynetdicom's encoder answer it.
    """

    def __init__(
        self, identifier: Dataset, transfer_syntax: str, retrieve_ae: str, from_files: bool
    ) -> None:
        self.level = level = matching.level_of(identifier)
        depth = matching.LEVELS.index(level)
        self.implicit = transfer_syntax == str(ImplicitVRLittleEndian)
        requested = [e for e in identifier if e.tag not in matching._UNANSWERED]
        self.columns: list[Any] = []
        self.fast = transfer_syntax in _LITTLE_ENDIAN
        parts: list[tuple[int, Part]] = list(_fixed_bytes(level, retrieve_ae, self.implicit))
        for asked in requested:
            part = self._part(asked, depth, from_files and level == "IMAGE")
            if part is None:
                self.fast = False
                break
            parts.append((int(asked.tag), part))
        parts.sort(key=lambda item: item[0])
        self._parts = _merged([part for _tag, part in parts])
        self.patient_id = -1
        self.counts: list[int] = []
        if level == "PATIENT":  # the columns _one_per_patient merges on
            self.patient_id = self._column(matching.Patient.patient_id)
            self.counts = [
                self._column(getattr(matching.Patient, count)) for count in matching._PATIENT_COUNTS
            ]
        self._entity = matching._ENTITIES[depth]

    def _column(self, column: Any) -> int:
        """The index of ``column`` in the query's rows (each column read once)."""
        for index, known in enumerate(self.columns):
            if known is column:
                return index
        self.columns.append(column)
        return len(self.columns) - 1

    def _part(self, asked: DataElement, depth: int, from_files: bool) -> Part | None:
        vr = matching._vr(asked)
        if " or " in vr:
            return None  # pydicom settles an ambiguous VR from the whole answer
        key = matching.KEYS.get(asked.keyword)
        if key is None:
            if from_files:
                return None  # read from each image's file: matching.find's
            return _empty_bytes(int(asked.tag), vr, self.implicit)
        if matching.LEVELS.index(key.level) > depth or vr == "SQ":
            return _empty_bytes(int(asked.tag), vr, self.implicit)  # always answered empty
        natural = str(dictionary_VR(asked.tag)) if dictionary_has_tag(asked.tag) else ""
        index = self._column(key.column)
        return _KeyEncoder(asked, vr, key.kind, index, self.implicit, vr == natural)

    def query(self, identifier: Dataset, limit: int = 0) -> Any:
        """The one SQL query of the answers' columns, in the order ``matching.find`` answers."""
        level = self.level
        depth = matching.LEVELS.index(level)
        query = matching._joined(select(*self.columns), depth)
        query = query.where(*matching.conditions(identifier, level)).order_by(self._entity.id)
        if limit and level != "PATIENT":
            query = query.limit(limit)
        return query.execution_options(yield_per=FETCH_ROWS)

    def encode(self, row: Row) -> bytes:
        return b"".join([part if isinstance(part, bytes) else part(row) for part in self._parts])

    def rows(self, session: Session, identifier: Dataset, limit: int = 0) -> Iterator[Row]:
        """The matching rows, streamed; at the PATIENT level one per Patient ID."""
        result = session.execute(self.query(identifier, limit))
        rows: Iterator[Row] = iter(result)
        if self.level == "PATIENT":
            rows = self._one_per_patient(rows, limit)
        return rows

    def _one_per_patient(self, rows: Iterator[Row], limit: int) -> Iterator[Row]:
        """``matching._one_per_patient_id`` on rows: patients without a Patient ID are one
        answer, the first one's values with the counts summed."""
        without_id: list[Any] | None = None
        given = 0
        for row in rows:
            if row[self.patient_id]:
                if limit and given >= limit:
                    return
                given += 1
                yield row
            elif without_id is None:
                without_id = list(row)
            else:
                for index in self.counts:
                    without_id[index] += row[index]
        if without_id is not None and not (limit and given >= limit):
            yield without_id


def _merged(parts: list[Part]) -> list[Part]:
    """Neighbouring constant parts joined into one."""
    merged: list[Part] = []
    for part in parts:
        previous = merged[-1] if merged else None
        if isinstance(part, bytes) and isinstance(previous, bytes):
            merged[-1] = previous + part
        else:
            merged.append(part)
    return merged


def encoded_answers(
    session: Session,
    identifier: Dataset,
    transfer_syntax: str,
    *,
    retrieve_ae: str = "",
    read_file: matching.FileReader | None = None,
    limit: int = 0,
) -> Iterator[bytes]:
    """Each match's answer identifier, encoded in ``transfer_syntax``: the bytes pynetdicom
    sends for ``matching.find``'s answer (``b""`` for one that does not encode, as there)."""
    plan = AnswerPlan(identifier, transfer_syntax, retrieve_ae, read_file is not None)
    if plan.fast:
        encode = plan.encode
        for row in plan.rows(session, identifier, limit):
            yield encode(row)
        return
    syntax = _syntax(transfer_syntax)
    for answer in matching.find(
        session, identifier, limit, retrieve_ae=retrieve_ae, read_file=read_file
    ):
        yield pynetdicom_encode(answer, *syntax) or b""


def _syntax(transfer_syntax: str) -> tuple[bool, bool, bool]:
    from pydicom.uid import UID

    uid = UID(transfer_syntax)
    return uid.is_implicit_VR, uid.is_little_endian, uid.is_deflated
