"""The Q/R SCU's character sets: which Specific Character Set a query carries and how its keys
are encoded, how answers are read, when answers contradict the keys, and what a failure says;
C-CANCEL at the limit and on the caller's cancel, and series queries. The peers are pynetdicom
C-FIND SCPs on loopback that record the identifiers they receive and answer with what each
test gives them (a slow one notes when it saw the C-CANCEL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.events import Event

from core.errors import NetworkError
from core.net.qr import (
    LATIN_1,
    UTF_8,
    QueryRetrieveClient,
    StudyMatch,
    StudyQuery,
    StudyRootQueryRetrieveInformationModelFind,
    contradictions,
    query_charset,
)
from core.net.remote import RemoteAE
from tests.support.ports import free_port


@dataclass
class FindSCP:
    remote: RemoteAE
    answers: list[Dataset] = field(default_factory=list)
    failure: int = 0  # answer every query with this status instead
    received: list[Dataset] = field(default_factory=list)


@pytest.fixture
def scp() -> Iterator[FindSCP]:
    port = free_port()
    peer = FindSCP(RemoteAE("FINDSCP", "127.0.0.1", port, name="findscp"))

    def on_find(event: Event) -> Iterator[tuple[int, Dataset | None]]:
        peer.received.append(event.identifier)
        if peer.failure:
            yield peer.failure, None
            return
        for answer in peer.answers:
            yield 0xFF00, answer

    ae = AE("FINDSCP")
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_FIND, on_find)]
    )
    assert server is not None  # block=False returns the running server
    try:
        yield peer
    finally:
        server.shutdown()


def answer(name: bytes, charset: str | None, uid: str = "1.2.3") -> Dataset:
    """A STUDY level answer whose PatientName holds ``name`` as raw bytes."""
    ds = Dataset()
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = uid
    ds.PatientName = name
    return ds


def person(name: str) -> Dataset:
    ds = Dataset()
    ds.SpecificCharacterSet = UTF_8
    ds.PatientName = name
    return ds


CLIENT = QueryRetrieveClient("KIOSK", timeout=10)


class TestQueryCharset:
    @pytest.mark.parametrize(
        ("values", "expected"),
        [
            (["Smith*", "P1"], ""),
            (["García*"], LATIN_1),
            (["Äneas", "ÆØÅ"], LATIN_1),
            (["Łukasik*"], UTF_8),
            (["Yılmaz"], UTF_8),
            (["山田^太郎"], UTF_8),
            (["García", "Łukasik"], UTF_8),  # one key beyond Latin-1 decides for all
        ],
    )
    def test_the_smallest_set_that_holds_every_key(self, values: list[str], expected: str) -> None:
        assert query_charset(values) == expected

    @pytest.mark.parametrize(
        ("name", "charset", "encoded"),
        [
            ("山田*", UTF_8, "山田*".encode()),
            ("García*", LATIN_1, b"Garc\xeda*"),
            ("Smith*", None, b"Smith*"),
        ],
    )
    def test_keys_go_out_in_the_declared_set(
        self, scp: FindSCP, name: str, charset: str | None, encoded: bytes
    ) -> None:
        CLIENT.find_studies(scp.remote, StudyQuery(patient_name=name))
        (identifier,) = scp.received
        assert identifier.get("SpecificCharacterSet") == charset
        raw = identifier.get_item("PatientName").value
        assert raw.rstrip(b" ") == encoded  # no "?" in place of a letter


class TestAnswers:
    def test_each_answer_is_read_in_its_own_set(self, scp: FindSCP) -> None:
        scp.answers = [
            answer("Müller^Jürgen".encode("latin-1"), LATIN_1, "1.1"),
            answer("Łukasik^Piotr".encode(), UTF_8, "1.2"),
        ]
        result = CLIENT.find_studies(scp.remote, StudyQuery())
        assert [m.patient_name for m in result.matches] == ["Müller^Jürgen", "Łukasik^Piotr"]

    def test_an_answer_without_a_set_is_read_in_the_querys(self, scp: FindSCP) -> None:
        scp.answers = [answer("山田^太郎".encode(), None)]
        result = CLIENT.find_studies(scp.remote, StudyQuery(patient_name="山田*"))
        assert [m.patient_name for m in result.matches] == ["山田^太郎"]
        assert result.charset == UTF_8
        assert result.warnings == []

    def test_answers_that_contradict_the_key_are_kept_and_reported(self, scp: FindSCP) -> None:
        # What a peer that turned the query's letters into "?" would answer: everyone.
        scp.answers = [
            answer(b"Smith^John", None, "1.1"),
            answer("山田^太郎".encode(), UTF_8, "1.2"),
            answer(b"Li^Na", None, "1.3"),
        ]
        result = CLIENT.find_studies(scp.remote, StudyQuery(patient_name="山田*"))
        assert len(result.matches) == 3
        (warning,) = result.warnings
        assert warning.startswith("2 of 3 answers from findscp (FINDSCP@127.0.0.1:")
        assert "do not match the patient name asked for" in warning
        assert f"query's character set ({UTF_8})" in warning
        assert "山田" not in warning  # the message may be logged

    def test_a_failure_names_the_set_the_query_carried(self, scp: FindSCP) -> None:
        scp.failure = 0xC000
        with pytest.raises(NetworkError, match=r"0xC000.*Specific Character Set ISO_IR 192"):
            CLIENT.find_studies(scp.remote, StudyQuery(patient_name="山田"))
        with pytest.raises(NetworkError) as ascii_failure:
            CLIENT.find_studies(scp.remote, StudyQuery(patient_name="Smith"))
        assert "Character Set" not in str(ascii_failure.value)


class TestContradictions:
    @pytest.mark.parametrize(
        ("key", "name"),
        [
            ("山田^太郎", "山田^太郎"),
            ("山田*", "山田^太郎"),
            ("yamada*", "YAMADA^Taro"),  # case may be ignored (PS3.4 C.2.2.2.1)
            ("Garcia*", "García^Ana"),  # and accents, by some archives
            ("Smith", "Smith^John"),  # the family name alone
            ("Smith^John", "Smith^John^^^"),  # empty trailing components
            ("山田^太郎", "Yamada^Tarou=山田^太郎=やまだ^たろう"),  # one component group
            ("Gr?n*", "Grün^Lisa"),
        ],
    )
    def test_lenient_readings_are_no_contradiction(self, key: str, name: str) -> None:
        assert contradictions({"PatientName": key}, [person(name)]) == {}

    @pytest.mark.parametrize(
        ("key", "name"),
        [
            ("山田^太郎", "^"),  # letters the peer could not answer in its set
            ("Łukasik*", "ukasik^Piotr"),
            ("Yılmaz*", "Ylmaz^Mehmet"),
            ("??^??", "Smith^John"),
            ("García*", ""),
        ],
    )
    def test_a_value_no_reading_matches_contradicts(self, key: str, name: str) -> None:
        assert contradictions({"PatientName": key}, [person(name)]) == {"PatientName": 1}

    def test_empty_keys_and_missing_attributes_say_nothing(self) -> None:
        ds = person("Smith^John")
        keys = {"PatientName": "*", "PatientID": "", "AccessionNumber": "A1"}
        assert contradictions(keys, [ds]) == {}


@dataclass
class SlowSCP:
    """A pynetdicom C-FIND SCP with ``count`` answers, one every ``pause`` s, that notes
    when it saw the C-CANCEL and how many answers it had sent then."""

    remote: RemoteAE
    count: int = 200
    pause: float = 0.005
    sent: int = 0
    cancelled_after: int | None = None


@pytest.fixture
def slow_scp() -> Iterator[SlowSCP]:
    port = free_port()
    peer = SlowSCP(RemoteAE("SLOWSCP", "127.0.0.1", port, name="slow"))

    def on_find(event: Event) -> Iterator[tuple[int, Dataset | None]]:
        level = event.identifier.QueryRetrieveLevel
        for index in range(peer.count):
            if event.is_cancelled:
                peer.cancelled_after = peer.sent
                yield 0xFE00, None
                return
            ds = Dataset()
            ds.QueryRetrieveLevel = level
            ds.StudyInstanceUID = f"1.2.{index}"
            if level == "SERIES":
                ds.SeriesInstanceUID = f"1.2.{index}.1"
                ds.Modality = "CT" if index % 2 else "MR"
                ds.SeriesNumber = str(peer.count - index)
            peer.sent += 1
            yield 0xFF00, ds
            time.sleep(peer.pause)

    ae = AE("SLOWSCP")
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=[(evt.EVT_C_FIND, on_find)]
    )
    assert server is not None
    try:
        yield peer
    finally:
        server.shutdown()


class TestCancel:
    def test_the_limit_cancels_at_the_peer(self, slow_scp: SlowSCP) -> None:
        result = CLIENT.find_studies(slow_scp.remote, StudyQuery(max_results=10))
        assert [m.study_uid for m in result.matches] == [f"1.2.{i}" for i in range(10)]
        assert result.truncated and not result.cancelled
        assert slow_scp.cancelled_after is not None  # the peer saw the C-CANCEL
        assert slow_scp.cancelled_after < slow_scp.count

    def test_the_caller_cancels(self, slow_scp: SlowSCP) -> None:
        cancel = threading.Event()
        seen: list[StudyMatch] = []

        def on_match(match: StudyMatch) -> None:
            seen.append(match)
            if len(seen) == 5:
                cancel.set()

        result = CLIENT.find_studies(slow_scp.remote, StudyQuery(), cancel, on_match=on_match)
        assert result.cancelled and not result.truncated
        assert [m.study_uid for m in result.matches] == [f"1.2.{i}" for i in range(5)]
        assert slow_scp.cancelled_after is not None

    def test_no_limit_reads_everything(self, slow_scp: SlowSCP) -> None:
        slow_scp.count, slow_scp.pause = 300, 0
        result = CLIENT.find_studies(slow_scp.remote, StudyQuery())
        assert len(result.matches) == 300 and not result.truncated
        assert slow_scp.cancelled_after is None


class TestSeries:
    def test_sorted_and_filtered(self, slow_scp: SlowSCP) -> None:
        slow_scp.count, slow_scp.pause = 6, 0
        series = CLIENT.find_series(slow_scp.remote, "1.2")
        assert [s.series_number for s in series] == [1, 2, 3, 4, 5, 6]
        ct = CLIENT.find_series(slow_scp.remote, "1.2", modality="ct")
        assert {s.modality for s in ct} == {"CT"} and len(ct) == 3
