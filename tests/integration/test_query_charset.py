"""Queries with names outside ASCII against Orthanc and DCMTK's dcmqrscp: the query carries
the Specific Character Set its keys need, the answers are read in their own, exactly the
right patients come back, and a peer that cannot handle the character set is reported.

Both peers hold the same patients, in UTF-8 files (ISO_IR 192), next to ASCII look-alikes
that a query whose letters became ``?`` (one-character wildcards) or were dropped would find.
Orthanc answers in its default encoding: UTF-8 for the matching tests; Latin-1 (its factory
setting) where a test wants a peer that cannot answer in the query's character set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.net.qr import LATIN_1, UTF_8, QueryRetrieveClient, StudyQuery
from core.net.remote import RemoteAE
from tests.support.data import make_dataset, write
from tests.support.dcmtk import Dcmqrscp
from tests.support.node import cli
from tests.support.orthanc import Orthanc

pytestmark = pytest.mark.integration

PATIENTS = {  # patient name -> patient ID
    "山田^太郎": "JP-1",
    "García^Ana": "ES-1",
    "Łukasik^Piotr": "PL-1",
    "Yılmaz^Mehmet": "TR-1",
    "Äneas^Karl": "DE-1",
    # look-alikes: what the keys above find when their letters are lost or guessed
    "Li^Na": "CN-1",
    "Garcia^Bob": "ES-2",
    "Lukasik^Jan": "PL-2",
    "Ylmaz^Ali": "TR-2",
    "Aneas^Paul": "DE-2",
}

# key -> (the patients it must find, the character set the query must carry)
QUERIES: dict[str, tuple[set[str], str]] = {
    "山田^太郎": ({"山田^太郎"}, UTF_8),
    "山田*": ({"山田^太郎"}, UTF_8),
    "García^Ana": ({"García^Ana"}, LATIN_1),
    "García*": ({"García^Ana"}, LATIN_1),
    "Łukasik^Piotr": ({"Łukasik^Piotr"}, UTF_8),
    "Łukasik*": ({"Łukasik^Piotr"}, UTF_8),
    "Yılmaz^Mehmet": ({"Yılmaz^Mehmet"}, UTF_8),
    "Yılmaz*": ({"Yılmaz^Mehmet"}, UTF_8),
    "Äneas^Karl": ({"Äneas^Karl"}, LATIN_1),
    "Äneas*": ({"Äneas^Karl"}, LATIN_1),
    "L*": ({"Li^Na", "Lukasik^Jan"}, ""),
}


@dataclass
class Peer:
    kind: str
    remote: RemoteAE
    orthanc: Orthanc | None = None


@contextmanager
def latin1_answers(orthanc: Orthanc) -> Iterator[None]:
    orthanc.set_default_encoding("Latin1")
    try:
        yield
    finally:
        orthanc.set_default_encoding("Utf8")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("charset-data")
    return [
        write(make_dataset(patient_name=name, patient_id=pid, charset=UTF_8), folder / f"{pid}.dcm")
        for name, pid in PATIENTS.items()
    ]


@pytest.fixture(scope="module", params=["orthanc", "dcmqrscp"])
def peer(request: pytest.FixtureRequest, files: list[Path]) -> Iterator[Peer]:
    if request.param == "orthanc":
        with Orthanc() as orthanc:
            for path in files:
                orthanc.upload(path.read_bytes())
            orthanc.set_default_encoding("Utf8")
            remote = RemoteAE(orthanc.ae_title, "127.0.0.1", orthanc.dicom_port, name="orthanc")
            yield Peer("orthanc", remote, orthanc)
    else:
        with Dcmqrscp() as qr:
            qr.store(files)
            yield Peer("dcmqrscp", RemoteAE(qr.ae_title, "127.0.0.1", qr.port, name="dcmqrscp"))


@pytest.fixture
def client() -> QueryRetrieveClient:
    return QueryRetrieveClient("KIOSK", timeout=20)


@pytest.mark.parametrize("key", list(QUERIES))
def test_each_name_finds_exactly_its_patients(
    client: QueryRetrieveClient, peer: Peer, key: str
) -> None:
    expected, charset = QUERIES[key]
    result = client.find_studies(peer.remote, StudyQuery(patient_name=key))
    assert {m.patient_name for m in result.matches} == expected
    assert {m.patient_id for m in result.matches} == {PATIENTS[name] for name in expected}
    assert result.charset == charset
    assert result.warnings == []


def test_patient_id_and_name_together(client: QueryRetrieveClient, peer: Peer) -> None:
    query = StudyQuery(patient_name="Łukasik", patient_id="PL", append_wildcard=True)
    result = client.find_studies(peer.remote, query)
    assert [m.patient_name for m in result.matches] == ["Łukasik^Piotr"]


@pytest.mark.parametrize("key", ["山田^太郎", "Łukasik*"])
def test_a_peer_that_cannot_answer_in_the_query_charset_is_reported(
    client: QueryRetrieveClient, peer: Peer, key: str
) -> None:
    expected = next(iter(QUERIES[key][0]))
    if peer.orthanc is None:  # dcmqrscp converts its answers to the query's character set
        result = client.find_studies(peer.remote, StudyQuery(patient_name=key))
        assert [m.patient_name for m in result.matches] == [expected]
        assert result.warnings == []
        return
    with latin1_answers(peer.orthanc):
        result = client.find_studies(peer.remote, StudyQuery(patient_name=key))
    # Orthanc found the study but could only answer its name in Latin-1, letters dropped.
    assert [m.patient_id for m in result.matches] == [PATIENTS[expected]]
    assert result.matches[0].patient_name != expected
    (warning,) = result.warnings
    assert "1 of 1 answers" in warning
    assert "patient name" in warning
    assert f"character set ({UTF_8})" in warning
    assert "ISO_IR 100" in warning


def test_cli_query_json_and_its_warning(tmp_path: Path, peer: Peer) -> None:
    remote = peer.remote
    cli(tmp_path, "nodes", "add", "pacs", "--ae", remote.ae_title, "--host", remote.host,
        "--port", str(remote.port))  # fmt: skip
    out = cli(tmp_path, "query", "pacs", "--patient-name", "山田", "--json")
    answer = json.loads(out.stdout)
    assert answer["truncated"] is False
    assert answer["warnings"] == []
    (row,) = answer["rows"]
    assert row["PatientName"] == "山田^太郎"
    assert row["PatientID"] == "JP-1"
    assert row["StudyInstanceUID"]
    if peer.orthanc is None:
        return
    with latin1_answers(peer.orthanc):
        out = cli(tmp_path, "query", "pacs", "--patient-name", "山田")
    assert "1 matches" in out.stdout
    assert "do not match the patient name" in out.stderr
    assert UTF_8 in out.stderr
