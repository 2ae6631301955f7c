"""C-FIND as an SCU: study and series queries, without pynetdicom or pydicom.

All calls here block; the async layers call them with ``asyncio.to_thread``. C-FIND runs on
one association of our own (``core.net.findscu``: the socket read straight, no pynetdicom
threads); the request's identifier is encoded and each answer read from its bytes as it
arrives (``core.net.identifier``) and handed to ``on_match`` at once; a limit or ``cancel``
sends C-CANCEL. ``core.net.qr`` adds C-MOVE and C-GET (pynetdicom) to the same client.

Character sets (PS3.5 6.1, PS3.4 C.4.1.1.3): a query whose keys are all ASCII carries no
Specific Character Set; one that Latin-1 can hold says ISO_IR 100; anything else says
ISO_IR 192 (UTF-8). Each answer is decoded with the character set it declares itself; an
answer that declares none is read in the query's own (the one a peer should answer in).
A peer that cannot handle the query's character set shows it in one of two ways, and both
are told to the caller: it fails the query (the error says which character set was sent),
or it answers with values that contradict the keys (``QueryResult.warnings``; the answers
are kept, since they may still be the right studies with their names mangled).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from core.errors import NetworkError, RetrieveError
from core.net.findscu import FindAssociation
from core.net.identifier import (
    NUMBER,
    SPECIFIC_CHARACTER_SET,
    TEXT,
    Answer,
    AnswerReader,
    Identifier,
    Kind,
    as_answer,
)
from core.net.remote import RemoteAE
from core.net.status import Status

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

log = logging.getLogger(__name__)

# PS3.4 C.6.2: Study Root Query/Retrieve Information Model
StudyRootQueryRetrieveInformationModelFind = "1.2.840.10008.5.1.4.1.2.2.1"


PENDING = (0xFF00, 0xFF01)

LATIN_1 = "ISO_IR 100"
UTF_8 = "ISO_IR 192"
# The STUDY level text keys the query can carry, and what the user calls them.
TEXT_KEYS: dict[str, str] = {
    "PatientName": "patient name",
    "PatientID": "patient ID",
    "AccessionNumber": "accession number",
    "StudyDescription": "study description",
}


@dataclass(frozen=True)
class StudyQuery:
    """What the Query tab (and ``dicom-kiosk query``) can ask a PACS for."""

    patient_name: str = ""
    patient_id: str = ""
    date_from: str = ""
    date_to: str = ""
    accession_number: str = ""
    study_description: str = ""
    max_results: int = 0  # 0: no limit
    append_wildcard: bool = False  # append * to patient name and ID


@dataclass(frozen=True)
class StudyMatch:
    study_uid: str
    patient_name: str = ""
    patient_id: str = ""
    birth_date: str = ""
    study_date: str = ""
    study_time: str = ""
    study_description: str = ""
    modalities: str = ""
    accession_number: str = ""
    num_series: int | None = None
    num_instances: int | None = None

    def keywords(self) -> dict[str, Any]:
        """The match keyed by DICOM keyword (the kiosk's tables and every ``--json``)."""
        return {
            "StudyInstanceUID": self.study_uid,
            "PatientName": self.patient_name,
            "PatientID": self.patient_id,
            "PatientBirthDate": self.birth_date,
            "StudyDate": self.study_date,
            "StudyTime": self.study_time,
            "StudyDescription": self.study_description,
            "ModalitiesInStudy": self.modalities,
            "AccessionNumber": self.accession_number,
            "NumberOfStudyRelatedSeries": self.num_series,
            "NumberOfStudyRelatedInstances": self.num_instances,
        }


@dataclass(frozen=True)
class SeriesMatch:
    series_uid: str
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part: str = ""
    series_date: str = ""
    num_instances: int | None = None

    def keywords(self, study_uid: str) -> dict[str, Any]:
        """The match keyed by DICOM keyword, with the study it belongs to."""
        return {
            "StudyInstanceUID": study_uid,
            "SeriesInstanceUID": self.series_uid,
            "SeriesNumber": self.series_number,
            "Modality": self.modality,
            "SeriesDescription": self.series_description,
            "BodyPartExamined": self.body_part,
            "SeriesDate": self.series_date,
            "NumberOfSeriesRelatedInstances": self.num_instances,
        }


T = TypeVar("T")
# Hears each C-FIND sent once it ended: (remote, identifier in Explicit VR Little Endian,
# matches, error or "").
QueryObserver = Callable[[RemoteAE, bytes, int, str], None]


@dataclass
class QueryResult(Generic[T]):
    matches: list[T] = field(default_factory=list)
    truncated: bool = False  # the peer had more than max_results; the query was cancelled
    cancelled: bool = False  # the caller cancelled; ``matches`` holds what came before
    charset: str = ""  # the Specific Character Set the query was sent with ("": none)
    warnings: list[str] = field(default_factory=list)  # the peer's answers look wrong: why


def _date_range(date_from: str, date_to: str) -> str:
    if not date_from and not date_to:
        return ""
    if date_from == date_to:
        return date_from
    return f"{date_from}-{date_to}"


def _wildcard(value: str, append: bool) -> str:
    if append and value and not value.endswith("*"):
        return value + "*"
    return value


def query_charset(values: Iterable[str]) -> str:
    """The Specific Character Set a query with these key values needs (PS3.5 6.1.2.3):
    none for ASCII, ISO_IR 100 when Latin-1 holds every character, else ISO_IR 192."""
    text = "".join(values)
    if text.isascii():
        return ""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return UTF_8
    return LATIN_1


def _fold(text: str) -> str:
    """Case and accents folded away: peers may match either way (PS3.4 C.2.2.2.1 lets PN
    matching ignore case, and some archives ignore accents), so neither is a contradiction."""
    if text.isascii():  # what the general case gives for ASCII, without its cost
        return text.lower().strip()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _pattern(key: str) -> re.Pattern[str]:
    """A key as PS3.4 C.2.2.2.4 wildcard matching reads it: ``*`` any run, ``?`` one char."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in _fold(key))
    return re.compile("".join(parts), re.DOTALL)


def _candidates(value: str, person_name: bool) -> list[str]:
    """The forms of an answer a lenient peer may have matched the key against: the whole
    value and, for a person name, each component group and its family name."""
    forms = [value]
    if person_name:
        for group in value.split("="):
            trimmed = group.rstrip("^ ")
            forms += [trimmed, trimmed.split("^")[0]]
    return [_fold(form) for form in forms]


def contradictions(keys: dict[str, str], answers: Iterable[Dataset | Answer]) -> dict[str, int]:
    """How many answers contradict each non-empty text key (keyword -> count): the answer
    holds a value for it that no lenient reading of the key matches. An empty key is
    universal; an answer without the attribute says nothing. ``answers`` are Datasets or
    what ``AnswerReader`` reads."""
    patterns = {k: _pattern(v) for k, v in keys.items() if v.strip("* ")}
    counts: dict[str, int] = {}
    if not patterns:
        return counts
    wanted = [(keyword, TEXT) for keyword in patterns]
    for answer in answers:
        values = answer if isinstance(answer, dict) else as_answer(answer, wanted)
        for keyword, pattern in patterns.items():
            value = values.get(keyword)
            if value is None:
                continue
            forms = _candidates(value, keyword == "PatientName")
            if not any(pattern.fullmatch(form) for form in forms):
                counts[keyword] = counts.get(keyword, 0) + 1
    return counts


def _charset_warnings(
    remote: RemoteAE, keys: dict[str, str], answers: list[Answer], charset: str
) -> list[str]:
    """What to tell the user when the answers contradict the keys (no names: the message
    may be logged)."""
    warnings: list[str] = []
    found = contradictions(keys, answers)
    if not found:
        return warnings
    answered = sorted({a.get(SPECIFIC_CHARACTER_SET) or "none" for a in answers})
    for keyword, count in found.items():
        text = (
            f"{count} of {len(answers)} answers from {remote} do not match the"
            f" {TEXT_KEYS.get(keyword, keyword)} asked for"
        )
        if charset:
            text += (
                f": the peer may not handle the query's character set ({charset}); it"
                f" answered in {', '.join(answered)}. Check the names, or ask the PACS"
                " administrator to enable UTF-8 (ISO_IR 192)"
            )
        else:
            text += ": the peer matches differently from DICOM's rules; check the results"
        warnings.append(text)
    return warnings


def failure(
    code: int,
    comment: str,
    what: str,
    remote: RemoteAE,
    destination: str = "",
    hint: bool = False,
    charset: str = "",
) -> NetworkError:
    text = f"{remote} answered {what} with status 0x{code:04X}"
    if code == Status.MOVE_DESTINATION_UNKNOWN:
        text += (
            f": the move destination {destination or 'AE'!r} is unknown to the peer. Register"
            " that AE title with our host and port on the PACS, or use C-GET for this node"
        )
    elif code in (0xA700, 0xA701, Status.OUT_OF_RESOURCES_SUBOPS):
        text += ": the peer is out of resources"
    elif code in (0xC000, 0xC001, 0xC002, 0xA900):
        text += ": the peer could not process the request"
    if comment:
        text += f" ({comment})"
    if charset:
        text += (
            f". The query carried Specific Character Set {charset} for the letters outside"
            " ASCII in its keys, and the peer may not support it: try the query with * in"
            " their place"
        )
    if hint and destination and code != Status.MOVE_DESTINATION_UNKNOWN:
        # Some archives (Orthanc among them) answer an unknown destination with 0xC000.
        text += (
            f". If the peer does not know the move destination {destination!r}, register that"
            " AE title with our host and port there, or use C-GET for this node"
        )
    return RetrieveError(text) if what.startswith(("C-MOVE", "C-GET")) else NetworkError(text)


# What each level's matches are made of (keyword -> how it is read).
STUDY_KEYS: dict[str, Kind] = {
    "StudyInstanceUID": TEXT,
    "PatientName": TEXT,
    "PatientID": TEXT,
    "PatientBirthDate": TEXT,
    "StudyDate": TEXT,
    "StudyTime": TEXT,
    "StudyDescription": TEXT,
    "ModalitiesInStudy": TEXT,
    "AccessionNumber": TEXT,
    "NumberOfStudyRelatedSeries": NUMBER,
    "NumberOfStudyRelatedInstances": NUMBER,
}
SERIES_KEYS: dict[str, Kind] = {
    "SeriesInstanceUID": TEXT,
    "Modality": TEXT,
    "SeriesNumber": NUMBER,
    "SeriesDescription": TEXT,
    "BodyPartExamined": TEXT,
    "SeriesDate": TEXT,
    "NumberOfSeriesRelatedInstances": NUMBER,
}


def study_match(answer: Answer) -> StudyMatch | None:
    """The study an answer describes; None without a Study Instance UID."""
    uid = answer.get("StudyInstanceUID", "")
    if not uid:
        return None
    get = answer.get
    return StudyMatch(
        study_uid=uid,
        patient_name=get("PatientName", ""),
        patient_id=get("PatientID", ""),
        birth_date=get("PatientBirthDate", ""),
        study_date=get("StudyDate", ""),
        study_time=get("StudyTime", ""),
        study_description=get("StudyDescription", ""),
        modalities=get("ModalitiesInStudy", ""),
        accession_number=get("AccessionNumber", ""),
        num_series=get("NumberOfStudyRelatedSeries"),
        num_instances=get("NumberOfStudyRelatedInstances"),
    )


def series_match(answer: Answer) -> SeriesMatch | None:
    """The series an answer describes; None without a Series Instance UID."""
    uid = answer.get("SeriesInstanceUID", "")
    if not uid:
        return None
    get = answer.get
    return SeriesMatch(
        series_uid=uid,
        modality=get("Modality", ""),
        series_number=get("SeriesNumber"),
        series_description=get("SeriesDescription", ""),
        body_part=get("BodyPartExamined", ""),
        series_date=get("SeriesDate", ""),
        num_instances=get("NumberOfSeriesRelatedInstances"),
    )


class FindClient:
    """Blocking C-FIND queries against one remote node, as local AE ``ae_title``."""

    def __init__(
        self, ae_title: str, timeout: float = 30.0, on_query: QueryObserver | None = None
    ) -> None:
        """``on_query(remote, identifier, matches, error)`` hears every C-FIND sent, after
        it ended (``error`` empty when it worked): the audit trail's Query event."""
        self.ae_title = ae_title
        self.timeout = timeout
        self.on_query = on_query

    # -- C-FIND ------------------------------------------------------------------------------
    def _find(
        self,
        remote: RemoteAE,
        identifier: Identifier,
        wanted: Mapping[str, Kind],
        limit: int = 0,
        cancel: threading.Event | None = None,
        on_answer: Callable[[Answer], None] | None = None,
    ) -> tuple[list[Answer], bool, bool]:
        """C-FIND ``identifier``: (answers, truncated, cancelled), each answer the ``wanted``
        elements. Answers that declare no Specific Character Set are read in the
        identifier's. ``on_answer`` hears each answer as it arrives."""
        found: list[Answer] = []
        try:
            result = self._find_answers(remote, identifier, wanted, found, limit, cancel,
                                        on_answer)  # fmt: skip
        except Exception as exc:
            self._heard(remote, identifier, len(found), str(exc) or type(exc).__name__)
            raise
        self._heard(remote, identifier, len(found), "")
        return result

    def _heard(self, remote: RemoteAE, identifier: Identifier, matches: int, error: str) -> None:
        if self.on_query is None:
            return
        try:
            self.on_query(remote, identifier.explicit_little(), matches, error)
        except Exception:  # the query's answers matter more than its record
            log.exception("could not record the query to %s", remote)

    def _find_answers(
        self,
        remote: RemoteAE,
        identifier: Identifier,
        wanted: Mapping[str, Kind],
        found: list[Answer],
        limit: int,
        cancel: threading.Event | None,
        on_answer: Callable[[Answer], None] | None,
    ) -> tuple[list[Answer], bool, bool]:
        charset = identifier.charset
        model = StudyRootQueryRetrieveInformationModelFind
        truncated = cancelled = False
        failed: NetworkError | None = None
        with FindAssociation.open(remote, self.ae_title, model, timeout=self.timeout) as assoc:
            reader = AnswerReader(wanted, assoc.syntax, charset)
            for response in assoc.find(identifier.encode(assoc.syntax)):
                if response.pending:
                    if cancel is not None and cancel.is_set():
                        if not (truncated or cancelled):
                            cancelled = True
                            assoc.cancel()
                        continue
                    if limit and len(found) >= limit:
                        if not (truncated or cancelled):
                            truncated = True
                            assoc.cancel()
                        continue
                    if response.identifier is not None:
                        answer = reader.read(response.identifier)
                        if answer is not None:
                            found.append(answer)
                            if on_answer is not None:
                                on_answer(answer)
                elif response.status not in (Status.SUCCESS, Status.CANCEL):
                    failed = failure(
                        response.status, response.error_comment, "C-FIND", remote,
                        charset=charset,
                    )  # fmt: skip
        if failed is not None:  # raised once the association is released
            raise failed
        return found, truncated, cancelled

    def find_studies(
        self,
        remote: RemoteAE,
        query: StudyQuery,
        cancel: threading.Event | None = None,
        on_match: Callable[[StudyMatch], None] | None = None,
    ) -> QueryResult[StudyMatch]:
        """STUDY level C-FIND; ``cancel`` set from another thread stops it with C-CANCEL.
        ``on_match`` hears each match as it arrives (on this thread), before the result."""
        keys = {
            "PatientName": _wildcard(query.patient_name, query.append_wildcard),
            "PatientID": _wildcard(query.patient_id, query.append_wildcard),
            "AccessionNumber": query.accession_number,
            "StudyDescription": query.study_description,
        }
        charset = query_charset(keys.values())
        ds = Identifier.of(
            {
                "QueryRetrieveLevel": "STUDY",
                "PatientName": keys["PatientName"],
                "PatientID": keys["PatientID"],
                "PatientBirthDate": "",
                "StudyDate": _date_range(query.date_from, query.date_to),
                "StudyTime": "",
                "AccessionNumber": keys["AccessionNumber"],
                "StudyDescription": keys["StudyDescription"],
                "ModalitiesInStudy": "",
                "StudyInstanceUID": "",
                "NumberOfStudyRelatedSeries": "",
                "NumberOfStudyRelatedInstances": "",
            },
            charset,
        )
        matches: list[StudyMatch] = []

        def on_answer(answer: Answer) -> None:
            match = study_match(answer)
            if match is not None:
                matches.append(match)
                if on_match is not None:
                    on_match(match)

        found, truncated, cancelled = self._find(
            remote, ds, STUDY_KEYS, query.max_results, cancel, on_answer
        )
        warnings = _charset_warnings(remote, keys, found, charset)
        for warning in warnings:
            log.info("%s", warning)
        return QueryResult(matches, truncated, cancelled, charset, warnings)

    def find_series(
        self,
        remote: RemoteAE,
        study_uid: str,
        modality: str = "",
        cancel: threading.Event | None = None,
    ) -> list[SeriesMatch]:
        ds = Identifier.of(
            {
                "QueryRetrieveLevel": "SERIES",
                "StudyInstanceUID": study_uid,
                "SeriesInstanceUID": "",
                "Modality": modality.upper(),
                "SeriesNumber": "",
                "SeriesDescription": "",
                "BodyPartExamined": "",
                "SeriesDate": "",
                "NumberOfSeriesRelatedInstances": "",
            }
        )
        found, _truncated, _cancelled = self._find(remote, ds, SERIES_KEYS, cancel=cancel)
        matches = [m for m in map(series_match, found) if m is not None]
        # Some peers ignore the modality key at SERIES level; the manual's filter still holds.
        if modality:
            matches = [m for m in matches if m.modality.upper() == modality.upper()]
        return sorted(matches, key=lambda m: (m.series_number is None, m.series_number or 0))
