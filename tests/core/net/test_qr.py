"""The Q/R SCU's character sets: which Specific Character Set a query carries and how its keys
are encoded, how answers are read, when answers contradict the keys, and what a failure says.
The peer is a pynetdicom C-FIND SCP on loopback that records the identifiers it receives and
answers with what each test gives it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.events import Event

from core.errors import NetworkError
from core.net.association import RemoteAE
from core.net.qr import (
    LATIN_1,
    UTF_8,
    QueryRetrieveClient,
    StudyQuery,
    StudyRootQueryRetrieveInformationModelFind,
    contradictions,
    query_charset,
)
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
