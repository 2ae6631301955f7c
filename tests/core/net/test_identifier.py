"""Reading C-FIND answers (``core.net.identifier``): for a battery of identifiers, in every
transfer syntax a C-FIND association may use, each value read is what the previous client
read, a pydicom ``Dataset`` decoded from the same bytes (as pynetdicom handed it over, with the
query's character set for answers that declare none) and read through ``ds.get``."""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from io import BytesIO
from typing import Any

import pytest
from pydicom.charset import convert_encodings
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pydicom.multival import MultiValue

from core.net.findscu import DEFLATED_LITTLE, EXPLICIT_BIG, EXPLICIT_LITTLE, IMPLICIT_LITTLE, Syntax
from core.net.identifier import (
    CODECS,
    KEYS,
    NUMBER,
    TEXT,
    AnswerReader,
    Identifier,
    Kind,
    encode_identifier,
)
from core.net.qr import SERIES_KEYS, STUDY_KEYS

WANTED: dict[str, Kind] = {**STUDY_KEYS, **SERIES_KEYS, "StudyID": TEXT, "PatientComments": TEXT}
LITTLE = [IMPLICIT_LITTLE, EXPLICIT_LITTLE]
ALL = [*LITTLE, EXPLICIT_BIG]
_LONG = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"}


# -- the previous client's reading -------------------------------------------------------------
def _old_int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _old_str(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, MultiValue):
        return "\\".join(str(v) for v in value)
    return str(value).strip()


def old_reading(data: bytes, syntax: Syntax, charset: str) -> dict[str, Any]:
    ds = read_dataset(BytesIO(data), syntax.implicit, syntax.little)
    if charset and "SpecificCharacterSet" not in ds:
        ds.SpecificCharacterSet = charset
        implicit, little = ds.original_encoding
        ds.set_original_encoding(implicit, little, convert_encodings(charset))
    answer: dict[str, Any] = {}
    for keyword, kind in WANTED.items():
        if keyword in ds:
            answer[keyword] = _old_str(ds, keyword) if kind == TEXT else _old_int(ds, keyword)
    if "SpecificCharacterSet" in ds:
        answer["SpecificCharacterSet"] = _old_str(ds, "SpecificCharacterSet")
    return answer


def new_reading(data: bytes, syntax: Syntax, charset: str) -> dict[str, Any] | None:
    return AnswerReader(WANTED, syntax, charset).read(data)


# -- identifiers built byte by byte ------------------------------------------------------------
def element(
    tag: int, vr: str | None, value: bytes, syntax: Syntax, length: int | None = None
) -> bytes:
    """One element: ``vr`` None takes the dictionary's; ``length`` overrides (0xFFFFFFFF)."""
    vr = vr or dictionary_VR(tag)
    order = "<" if syntax.little else ">"
    size = len(value) if length is None else length
    head = struct.pack(order + "HH", tag >> 16, tag & 0xFFFF)
    if syntax.implicit:
        return head + struct.pack(order + "I", size) + value
    if vr in _LONG:
        return head + vr.encode() + b"\0\0" + struct.pack(order + "I", size) + value
    return head + vr.encode() + struct.pack(order + "H", size) + value


def pad(value: bytes, vr: str) -> bytes:
    if len(value) % 2:
        return value + (b"\0" if vr == "UI" else b" ")
    return value


def identifier(syntax: Syntax, items: list[tuple[str | int, str | None, bytes]]) -> bytes:
    """Elements (keyword or tag, VR or None, raw value), sorted by tag unless a tag is given
    as an int (then in the order given)."""
    parts = []
    for key, vr, value in items:
        tag = key if isinstance(key, int) else tag_for_keyword(key)
        assert tag is not None
        parts.append(element(tag, vr, pad(value, vr or dictionary_VR(tag)), syntax))
    return b"".join(parts)


def j(text: str) -> bytes:
    """``text`` in ISO 2022 IR 87 as pydicom encodes a PN (escape sequences per group)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "\\ISO 2022 IR 87"
    ds.PatientName = text
    return ds["PatientName"].value.encode(convert_encodings(["", "ISO 2022 IR 87"]))


ISO2022_NAME = j("Yamada^Tarou=山田^太郎=やまだ^たろう")
CASES: dict[str, tuple[str, list[tuple[str | int, str | None, bytes]]]] = {
    # name: (query charset, elements)
    "ascii": (
        "",
        [
            ("SpecificCharacterSet", None, b""),
            ("StudyDate", None, b"20240101"),
            ("StudyTime", None, b"101010.123"),
            ("AccessionNumber", None, b"ACC1"),
            ("ModalitiesInStudy", None, b"CT\\MR"),
            ("StudyDescription", None, b"CT HEAD  "),
            ("PatientName", None, b"Smith^John^^^"),
            ("PatientID", None, b" P1 "),
            ("StudyInstanceUID", None, b"1.2.3.4\0"),
            ("NumberOfStudyRelatedSeries", None, b"3"),
            ("NumberOfStudyRelatedInstances", None, b" 12 "),
        ],
    ),
    "empty values": (
        "",
        [
            ("StudyDate", None, b""),
            ("StudyDescription", None, b""),
            ("PatientName", None, b""),
            ("PatientID", None, b"  "),
            ("StudyInstanceUID", None, b"1.2"),
            ("NumberOfStudyRelatedSeries", None, b""),
            ("NumberOfStudyRelatedInstances", None, b"  "),
        ],
    ),
    "latin-1 declared": (
        "",
        [
            ("SpecificCharacterSet", None, b"ISO_IR 100"),
            ("StudyDescription", None, "Schädel nativ".encode("latin-1")),
            ("PatientName", None, "Müller^Jürgen".encode("latin-1")),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "utf-8 declared, three groups": (
        "ISO_IR 100",
        [
            ("SpecificCharacterSet", None, b"ISO_IR 192"),
            ("StudyDescription", None, "頭部 CT".encode()),
            ("PatientName", None, "Yamada^Tarou=山田^太郎=やまだ^たろう".encode()),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "utf-8 from the query": (
        "ISO_IR 192",
        [
            ("PatientName", None, "Łukasik^Piotr".encode()),
            ("StudyDescription", None, "Żółć".encode()),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "latin-1 from the query": (
        "ISO_IR 100",
        [("PatientName", None, "García^Ana".encode("latin-1")), ("StudyInstanceUID", None, b"1")],
    ),
    "no set, no query set: latin-1 bytes": (
        "",
        [("PatientName", None, "Grün^Lisa".encode("latin-1")), ("StudyInstanceUID", None, b"1")],
    ),
    "iso 2022 ir 87": (
        "ISO_IR 192",
        [
            ("SpecificCharacterSet", None, b"\\ISO 2022 IR 87"),
            ("PatientName", None, ISO2022_NAME),
            ("StudyDescription", None, b"\x1b$B;3ED\x1b(B CT"),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "iso 2022 ir 6 and 87, ascii value": (
        "",
        [
            ("SpecificCharacterSet", None, b"ISO 2022 IR 6\\ISO 2022 IR 87"),
            ("PatientName", None, b"Yamada^Tarou"),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "iso_ir 13 half-width katakana": (
        "",
        [
            ("SpecificCharacterSet", None, b"ISO_IR 13"),
            ("PatientName", None, "ﾔﾏﾀﾞ^ﾀﾛｳ".encode("shift_jis")),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "gb18030": (
        "",
        [
            ("SpecificCharacterSet", None, b"GB18030"),
            ("PatientName", None, "Wang^XiaoDong=王^小东".encode("gb18030")),
            ("StudyDescription", None, "胸部".encode("gb18030")),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "cyrillic": (
        "",
        [
            ("SpecificCharacterSet", None, b"ISO_IR 144"),
            ("PatientName", None, "Люкceмбypг".encode("iso8859_5", "replace")),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "unknown character set": (
        "",
        [
            ("SpecificCharacterSet", None, b"ISO_IR 999"),
            ("PatientName", None, "Müller".encode("latin-1")),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "bytes that are not utf-8": (
        "",
        [
            ("SpecificCharacterSet", None, b"ISO_IR 192"),
            ("PatientName", None, b"M\xfcller^J"),
            ("StudyDescription", None, b"\xff\xfe"),
            ("StudyInstanceUID", None, b"1.2"),
        ],
    ),
    "multiple values and padding": (
        "",
        [
            ("StudyDate", None, b"20240101\\20240202"),
            ("StudyDescription", None, b"A\\B \\C"),
            ("PatientName", None, b"A^B\\C^D"),
            ("PatientID", None, b"ID\0\0"),
            ("StudyInstanceUID", None, b"1.2\\1.3"),
            ("PatientComments", None, b"line one\\line two \0"),
            ("NumberOfStudyRelatedSeries", None, b"1\\2"),
        ],
    ),
    "pn trailing groups and spaces": (
        "",
        [("PatientName", None, b"  Smith^John==  "), ("StudyInstanceUID", None, b"1")],
    ),
    "pn leading ideographic group": (
        "ISO_IR 192",
        [("PatientName", None, "=山田^太郎".encode()), ("StudyInstanceUID", None, b"1")],
    ),
    "numbers pydicom reads its own way": (
        "",
        [
            ("SeriesNumber", None, b"+7"),
            ("NumberOfSeriesRelatedInstances", None, b"3.0"),
            ("NumberOfStudyRelatedSeries", None, b"abc"),
            ("NumberOfStudyRelatedInstances", None, b"4\0"),
            ("SeriesInstanceUID", None, b"1.2"),
        ],
    ),
    "series level": (
        "",
        [
            ("Modality", None, b"CT"),
            ("SeriesDate", None, b"20240101"),
            ("SeriesDescription", None, b"Thorax 3mm"),
            ("BodyPartExamined", None, b"CHEST"),
            ("SeriesInstanceUID", None, b"1.2.3"),
            ("SeriesNumber", None, b"2"),
            ("NumberOfSeriesRelatedInstances", None, b"120"),
        ],
    ),
    "stated VRs that are not the dictionary's": (
        "",
        [
            ("StudyDescription", "UN", b"from UN"),
            ("PatientName", "LO", b"Smith^As^LO"),
            ("PatientID", "UC", b"LONG-ID"),
            ("StudyInstanceUID", None, b"1.2"),
            ("NumberOfStudyRelatedSeries", "UN", b"5"),
        ],
    ),
    "private and unknown elements between": (
        "",
        [
            ("PatientName", None, b"Smith^John"),
            (0x00091010, "LO", b"private"),
            (0x00100020, None, b"P1"),
            (0x0020000D, None, b"1.2"),
            (0x7FE00010, "OB", b"\0\1\2\3"),
        ],
    ),
    "a repeated element": (
        "",
        [
            (0x00100010, "PN", b"First^Name"),
            (0x0020000D, "UI", b"1.2"),
            (0x00100010, "PN", b"Second^Name"),
        ],
    ),
}


def _sequence(syntax: Syntax, undefined: bool) -> bytes:
    """A Referenced Study Sequence holding a PatientName that must not count."""
    inner = identifier(syntax, [("PatientName", None, b"Inner^Name")])
    order = "<" if syntax.little else ">"
    if undefined:
        item = struct.pack(order + "HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + inner
        item += struct.pack(order + "HHI", 0xFFFE, 0xE00D, 0)
        value = item + struct.pack(order + "HHI", 0xFFFE, 0xE0DD, 0)
        return element(0x00081110, "SQ", value, syntax, length=0xFFFFFFFF)
    item = struct.pack(order + "HHI", 0xFFFE, 0xE000, len(inner)) + inner
    return element(0x00081110, "SQ", item, syntax)


def _cases(syntaxes: list[str]) -> Iterator[Any]:
    for uid in syntaxes:
        for name, (charset, items) in CASES.items():
            yield pytest.param(uid, charset, items, id=f"{name}-{uid}")


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():  # pydicom warns about the odd values on purpose
        warnings.simplefilter("ignore")
        yield


class TestSameAsBefore:
    @pytest.mark.parametrize(("uid", "charset", "items"), list(_cases(ALL)))
    def test_battery(self, uid: str, charset: str, items: list[Any]) -> None:
        syntax = Syntax.of(uid)
        data = identifier(syntax, items)
        expected = old_reading(data, syntax, charset)
        assert expected  # the battery reads something
        assert new_reading(data, syntax, charset) == expected

    @pytest.mark.parametrize("undefined", [False, True])
    @pytest.mark.parametrize("uid", ALL)
    def test_sequences(self, uid: str, undefined: bool) -> None:
        syntax = Syntax.of(uid)
        head = identifier(syntax, [("SpecificCharacterSet", None, b"ISO_IR 100")])
        tail = identifier(
            syntax,
            [
                ("PatientName", None, "Grün^Lisa".encode("latin-1")),
                ("StudyInstanceUID", None, b"1"),
            ],
        )
        data = head + _sequence(syntax, undefined) + tail
        expected = old_reading(data, syntax, "")
        assert expected["PatientName"] == "Grün^Lisa"
        assert new_reading(data, syntax, "") == expected

    def test_what_pydicom_cannot_read_is_left_out(self) -> None:
        syntax = Syntax.of(EXPLICIT_LITTLE)
        # An element claiming more bytes than there are, then rubbish.
        data = identifier(syntax, [("PatientName", None, b"Smith")]) + b"\x10\x00\x20\x00LO\xff"
        assert new_reading(data, syntax, "") in (None, old_reading(data, syntax, ""))


class TestFastPath:
    def test_common_answers_need_no_pydicom_conversion(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import core.net.identifier as module

        def refuse(*args: object, **kwargs: object) -> object:
            raise AssertionError("pydicom's conversion was used")

        monkeypatch.setattr(module, "_convert", refuse)
        monkeypatch.setattr(module.AnswerReader, "_read_with_pydicom", refuse)
        for uid in LITTLE:
            syntax = Syntax.of(uid)
            reader = AnswerReader(WANTED, syntax, "")
            data = identifier(
                syntax,
                [
                    ("SpecificCharacterSet", None, b"ISO_IR 100"),
                    ("StudyDate", None, b"20240101"),
                    ("PatientName", None, "Müller^Jürgen".encode("latin-1")),
                    ("StudyInstanceUID", None, b"1.2.3"),
                    ("NumberOfStudyRelatedSeries", None, b"3"),
                ],
            )
            assert reader.read(data) == {
                "SpecificCharacterSet": "ISO_IR 100",
                "StudyDate": "20240101",
                "PatientName": "Müller^Jürgen",
                "StudyInstanceUID": "1.2.3",
                "NumberOfStudyRelatedSeries": 3,
            }


class TestEncoding:
    @pytest.mark.parametrize("uid", [*ALL, DEFLATED_LITTLE])
    def test_the_request_reads_back(self, uid: str) -> None:
        syntax = Syntax.of(uid)
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.QueryRetrieveLevel = "STUDY"
        ds.PatientName = "山田*"
        ds.StudyInstanceUID = ""
        back = read_dataset(BytesIO(encode_identifier(ds, syntax)), syntax.implicit, syntax.little)
        assert back.PatientName == "山田*"
        assert back.QueryRetrieveLevel == "STUDY"


def test_number_kinds_are_ints() -> None:
    assert {k for k, v in WANTED.items() if v == NUMBER} == {
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
        "SeriesNumber",
        "NumberOfSeriesRelatedInstances",
    }


# -- random identifiers --------------------------------------------------------------------------
_CHARSETS = [
    b"", b"ISO_IR 100", b"ISO_IR 192", b"\\ISO 2022 IR 87", b"ISO_IR 13", b"GB18030",
    b"ISO_IR 144", b"ISO 2022 IR 6\\ISO 2022 IR 100", None,
]  # fmt: skip
_PIECES = [
    b" ", b"\0", b"\\", b"=", b"^", b"a", b"Z", b"1", b"+", b"-", b".", b"\xe9", b"\xc3\xa9",
    b"\x1b$B", b"\x1b(B", b"\xff", b"\t", "山".encode(), b"0",
]  # fmt: skip
_KEYS: list[tuple[str, str | None]] = [
    ("PatientName", None), ("StudyDescription", None), ("PatientID", None), ("StudyDate", None),
    ("StudyInstanceUID", None), ("NumberOfStudyRelatedSeries", None), ("SeriesNumber", None),
    ("PatientComments", None), ("ModalitiesInStudy", None), ("StudyID", None),
    ("PatientName", "LO"), ("StudyDescription", "UN"),
]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_random_identifiers_read_as_before(seed: int) -> None:
    import random

    rng = random.Random(seed)
    for _ in range(250):
        syntax = Syntax.of(rng.choice(ALL))
        items: list[tuple[str | int, str | None, bytes]] = []
        charset = rng.choice(_CHARSETS)
        if charset is not None:
            items.append(("SpecificCharacterSet", None, charset))
        for keyword, vr in rng.sample(_KEYS, rng.randrange(1, 6)):
            if all(item[0] != keyword for item in items):
                value = b"".join(rng.choice(_PIECES) for _ in range(rng.randrange(0, 8)))
                items.append((keyword, vr, value))
        items.sort(key=lambda item: tag_for_keyword(str(item[0])) or 0)
        query_charset = rng.choice(["", "ISO_IR 100", "ISO_IR 192"])
        data = identifier(syntax, items)
        assert new_reading(data, syntax, query_charset) == old_reading(
            data, syntax, query_charset
        ), items


# -- the request's identifier, without pydicom ----------------------------------------------------
def test_our_keys_are_pydicoms() -> None:
    for keyword, (tag, vr) in KEYS.items():
        assert (tag_for_keyword(keyword), dictionary_VR(tag)) == (tag, vr), keyword
    assert set(STUDY_KEYS) | set(SERIES_KEYS) <= set(KEYS)


def test_our_codecs_are_pydicoms() -> None:
    for term, codec in CODECS.items():
        assert convert_encodings(term) == [codec], term


REQUESTS: list[tuple[str, dict[str, str]]] = [
    ("", {"QueryRetrieveLevel": "STUDY", "PatientName": "SMITH*", "PatientID": "",
          "StudyDate": "20240101-20241231", "StudyInstanceUID": "", "ModalitiesInStudy": "",
          "NumberOfStudyRelatedSeries": "", "AccessionNumber": "A1"}),
    ("ISO_IR 100", {"QueryRetrieveLevel": "STUDY", "PatientName": "Müller^Jürgen*",
                    "StudyDescription": "Schädel", "PatientBirthDate": ""}),
    ("ISO_IR 192", {"QueryRetrieveLevel": "STUDY", "PatientName": "山田^太郎", "PatientID": "ÉÉ1"}),
    ("", {"QueryRetrieveLevel": "SERIES", "StudyInstanceUID": "1.2.840.113619.2.55.3",
          "SeriesInstanceUID": "", "Modality": "MR", "SeriesNumber": "", "BodyPartExamined": "",
          "NumberOfSeriesRelatedInstances": ""}),
]  # fmt: skip


@pytest.mark.parametrize("uid", ALL)
@pytest.mark.parametrize(("charset", "keys"), REQUESTS)
def test_a_request_is_the_bytes_pydicom_writes(
    uid: str, charset: str, keys: dict[str, str]
) -> None:
    syntax = Syntax.of(uid)
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    identifier = Identifier.of(keys, charset)
    assert identifier.encode(syntax) == encode_identifier(ds, syntax)
    assert identifier.explicit_little() == encode_identifier(ds, Syntax.of(EXPLICIT_LITTLE))
    assert identifier.get("SpecificCharacterSet") == charset
    assert identifier.get("PatientName") == keys.get("PatientName", "")
