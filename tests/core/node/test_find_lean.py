"""C-FIND on the lean acceptor (core.node.find), in process: which associations it serves, the
same answers and statuses as pynetdicom's path on the same node, C-CANCEL between answers,
the accept policy's 0x0124, and one QueryAnswered event per query."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.dsutils import encode
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
from pynetdicom.presentation import build_context
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelGet,
    Verification,
)

from core.app import Core
from core.events import QueryAnswered
from core.index.importer import MemorySource
from core.net import dimse
from core.net.association import NODELAY_HANDLER
from core.node.server import DicomNode
from tests.support.data import encode as part10
from tests.support.data import make_dataset

STUDY_ROOT = str(StudyRootQueryRetrieveInformationModelFind)
PATIENT_ROOT = str(PatientRootQueryRetrieveInformationModelFind)
NAMES = ["Müller^Jürgen", "Smith^John", "smithson^anna", "Διονυσιος^Ανδρεας", "山田^太郎"]
MODALITIES = ["CT", "MR", "US", "CR"]


def _import(core: Core, count: int) -> None:
    sources = []
    for i in range(count):
        ds = make_dataset(
            patient_name=NAMES[i % len(NAMES)],
            patient_id=f"PID{i % 7}" if i % 11 else "",
            study_date=f"20{15 + i % 12}0{1 + i % 9}1{i % 10}",
            modality=MODALITIES[i % 4],
            instance_number=i % 3 + 1,
        )
        ds.StudyDescription = f"Study {i}"
        sources.append(MemorySource(str(i), part10(ds)))
    assert core.importer.run_sources(sources).imported == count


class Running:
    """A DicomNode started on a free port in this process; its QueryAnswered events."""

    def __init__(self, core: Core, **options: Any) -> None:
        self.core = core
        self.node = DicomNode(core, ae_title="KIOSK", port=0, bind="127.0.0.1", **options)
        self.answered: list[QueryAnswered] = []
        self._lock = threading.Lock()
        core.events.subscribe(QueryAnswered, self._on_answered)
        asyncio.run(self.node.start())
        self.port = self.node.state.port

    def _on_answered(self, event: QueryAnswered) -> None:
        with self._lock:
            self.answered.append(event)

    def stop(self) -> None:
        asyncio.run(self.node.stop())


@pytest.fixture
def running(core: Core) -> Iterator[Running]:
    _import(core, 40)
    node = Running(core)
    try:
        yield node
    finally:
        node.stop()


def _scu(*contexts: tuple[str, str]) -> AE:
    ae = AE(ae_title="FINDSCU")
    for abstract, syntax in contexts:
        ae.add_requested_context(abstract, [syntax])
    return ae


def _query(level: str, **keys: str) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword, value in keys.items():
        setattr(ds, keyword, value or None)
    return ds


BATTERY = [
    (STUDY_ROOT, _query("STUDY", StudyInstanceUID="", PatientName="", PatientID="",
                        StudyDate="", ModalitiesInStudy="", NumberOfStudyRelatedInstances="")),
    (STUDY_ROOT, _query("STUDY", StudyInstanceUID="", PatientName="smith*")),
    (STUDY_ROOT, _query("STUDY", StudyInstanceUID="", StudyDate="20200101-20231231")),
    (STUDY_ROOT, _query("STUDY", StudyInstanceUID="", PatientName="山田*", ModalitiesInStudy="")),
    (STUDY_ROOT, _query("STUDY", StudyInstanceUID="", ModalitiesInStudy="MR\\CT")),
    (PATIENT_ROOT, _query("PATIENT", PatientID="", PatientName="",
                          NumberOfPatientRelatedStudies="")),
    (PATIENT_ROOT, _query("PATIENT", PatientID="", PatientName="?mith^john")),
    (STUDY_ROOT, _query("SERIES", SeriesInstanceUID="", Modality="C?", SeriesNumber="")),
    (STUDY_ROOT, _query("IMAGE", SOPInstanceUID="", InstanceNumber="", Rows="", Columns="",
                        ImageComments="")),
    (STUDY_ROOT, _query("NOPE", PatientName="")),
]  # fmt: skip


def _find_all(
    ae: AE, port: int, queries: list[tuple[str, Dataset]], syntax: str
) -> list[list[tuple[int, bytes]]]:
    """Each query's (status, answer encoded again) list, on one association."""
    assoc = ae.associate("127.0.0.1", port, ae_title="KIOSK", evt_handlers=[NODELAY_HANDLER])
    assert assoc.is_established
    implicit = syntax == str(ImplicitVRLittleEndian)
    try:
        results = []
        for model, query in queries:
            got = []
            for status, answer in assoc.send_c_find(query, model):
                assert status is not None
                raw = encode(answer, implicit, True) if answer is not None else b""
                got.append((int(status.Status), raw or b""))
            results.append(got)
        return results
    finally:
        assoc.release()


def test_query_only_associations_are_lean_others_pynetdicom(running: Running) -> None:
    for contexts, lean in (
        ([(STUDY_ROOT, str(ExplicitVRLittleEndian))], 1),
        ([(PATIENT_ROOT, str(ImplicitVRLittleEndian)),
          (str(Verification), str(ImplicitVRLittleEndian))], 1),
        ([(STUDY_ROOT, str(ExplicitVRLittleEndian)),
          (str(StudyRootQueryRetrieveInformationModelGet), str(ExplicitVRLittleEndian))], 0),
    ):  # fmt: skip
        assoc = _scu(*contexts).associate("127.0.0.1", running.port, ae_title="KIOSK")
        try:
            assert assoc.is_established
            assert len(running.node.reception.lean_associations()) == lean, contexts
            if any(abstract == str(Verification) for abstract, _syntax in contexts):
                assert assoc.send_c_echo().Status == 0
        finally:
            assoc.release()


@pytest.mark.parametrize("syntax", [str(ImplicitVRLittleEndian), str(ExplicitVRLittleEndian)])
def test_lean_answers_are_pynetdicoms(running: Running, syntax: str) -> None:
    """The same queries on one node, on a lean association and on pynetdicom's (a C-GET
    context makes it pynetdicom's): the same statuses and the same answers."""
    models = sorted({model for model, _query in BATTERY})
    lean = _scu(*[(model, syntax) for model in models])
    mixed = _scu(
        *[(model, syntax) for model in models],
        (str(StudyRootQueryRetrieveInformationModelGet), syntax),
    )
    ours = _find_all(lean, running.port, BATTERY, syntax)
    reference = _find_all(mixed, running.port, BATTERY, syntax)
    assert [len(r) for r in ours] == [len(r) for r in reference]
    assert ours == reference
    assert sum(len(r) for r in ours) > 100  # the battery matched studies, series, images
    assert ours[-1] == [(0xC001, b"")]  # a bad level fails, as on pynetdicom's


def test_each_query_is_announced_once(running: Running) -> None:
    lean = _scu((STUDY_ROOT, str(ExplicitVRLittleEndian)))
    running.answered.clear()
    _find_all(lean, running.port, BATTERY[:3] + BATTERY[-1:], str(ExplicitVRLittleEndian))
    events = list(running.answered)
    assert len(events) == 4
    assert all(e.ae_title == "FINDSCU" and e.sop_class == STUDY_ROOT for e in events)
    assert events[0].matches == 40 and events[0].error == ""
    assert events[-1].matches == 0 and "Level" in events[-1].error
    assert events[0].identifier  # the identifier as asked


class RawFind:
    """A C-FIND requestor on a raw socket, to send a C-CANCEL before reading any answer."""

    def __init__(self, port: int, calling: str = "RAWFIND") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        primitive = A_ASSOCIATE()
        primitive.application_context_name = "1.2.840.10008.3.1.1.1"
        primitive.calling_ae_title = calling
        primitive.called_ae_title = "KIOSK"
        context = build_context(STUDY_ROOT, [ExplicitVRLittleEndian])
        context.context_id = 1
        primitive.presentation_context_definition_list = [context]
        length = MaximumLengthNotification()
        length.maximum_length_received = 16384
        primitive.user_information = [length]
        rq = A_ASSOCIATE_RQ()
        rq.from_primitive(primitive)
        self.sock.sendall(rq.encode())
        pdu_type, payload = dimse.read_pdu(self.sock, 1 << 16)
        assert pdu_type == dimse.A_ASSOCIATE_AC
        ac = A_ASSOCIATE_AC()
        ac.decode(dimse.encode_pdu(pdu_type, bytes(payload)))

    def send_find(self, message_id: int, identifier: bytes) -> None:
        command = dimse.CFindRQ(message_id, STUDY_ROOT).encode()
        self.sock.sendall(b"".join(dimse.pdata_pdus(1, command, identifier, 16384)))

    def send_cancel(self, message_id: int) -> None:
        command = dimse.CCancelRQ(message_id).encode()
        self.sock.sendall(b"".join(dimse.pdata_pdus(1, command, None, 16384)))

    def responses(self) -> Iterator[dimse.CFindRSP]:
        """Each C-FIND-RSP until the final one (the identifiers are read and dropped)."""
        command = bytearray()
        while True:
            pdu_type, payload = dimse.read_pdu(self.sock, 1 << 20)
            assert pdu_type == dimse.P_DATA_TF, pdu_type
            for pdv in dimse.iter_pdvs(payload):
                if not pdv.is_command:
                    continue
                command += pdv.data
                if pdv.is_last:
                    response = dimse.decode_command(command)
                    command = bytearray()
                    assert isinstance(response, dimse.CFindRSP)
                    yield response
                    if not response.with_identifier:
                        return

    def release(self) -> None:
        self.sock.sendall(dimse.RELEASE_RQ)
        assert dimse.read_pdu(self.sock, 64)[0] == dimse.A_RELEASE_RP
        self.sock.close()


def _identifier(query: Dataset) -> bytes:
    return bytes(encode(query, False, True) or b"")


def test_a_cancel_stops_the_answers_at_once(core: Core) -> None:
    _import(core, 1500)
    node = Running(core)
    try:
        raw = RawFind(node.port)
        query = _query("STUDY", StudyInstanceUID="", PatientName="", StudyDescription="")
        raw.send_find(7, _identifier(query))
        raw.send_cancel(7)  # before reading a single answer
        responses = list(raw.responses())
        final = responses[-1]
        assert final.status == 0xFE00 and final.message_id_responded == 7
        pending = len(responses) - 1
        assert 0 < pending < 1500  # stopped within a batch of answers
        # the association goes on: the next query is answered whole
        raw.send_find(8, _identifier(_query("STUDY", StudyInstanceUID="", PatientID="PID1")))
        rest = list(raw.responses())
        assert rest[-1].status == 0 and len(rest) > 1
        raw.send_cancel(8)  # a cancel of a query answered already: ignored
        raw.release()
        assert [e.matches for e in node.answered] == [pending, len(rest) - 1]
    finally:
        node.stop()


def test_an_identifier_that_does_not_decode_is_unable_to_process(running: Running) -> None:
    raw = RawFind(running.port)
    raw.send_find(1, b"\x08\x00\x52\x00CS\xff\xff")  # an element running past its end
    assert [r.status for r in raw.responses()] == [0xC001]
    raw.release()
    assert running.answered[-1].error  # the query is in the audit trail as failed
    assert running.answered[-1].matches == 0


def test_the_accept_policy_refuses_a_query_with_0124(core: Core) -> None:
    _import(core, 3)
    core.registry.add("ct", "RAWFIND", "127.0.0.1", 104, allowed="store")
    node = Running(core, accept_policy="known")
    try:
        raw = RawFind(node.port)
        raw.send_find(3, _identifier(_query("STUDY", StudyInstanceUID="")))
        assert [(r.status, r.message_id_responded) for r in raw.responses()] == [(0x0124, 3)]
        raw.release()
        assert node.answered == []  # refused before it is a query
        core.registry.edit("ct", allowed="store,find")
        node.node.reception._policy_cache = (0.0, [])  # the registry is read again at once
        raw = RawFind(node.port)
        raw.send_find(4, _identifier(_query("STUDY", StudyInstanceUID="")))
        assert [r.status for r in raw.responses()] == [0xFF00] * 3 + [0]
        raw.release()
    finally:
        node.stop()


def test_no_patient_name_is_logged_above_debug(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """On both paths, with every logger at INFO (``serve -v``): the identifiers asked for and
    answered (patient names) reach no log record above DEBUG; pynetdicom would log each."""
    syntax = str(ExplicitVRLittleEndian)
    queries = [(STUDY_ROOT, _query("STUDY", StudyInstanceUID="", PatientName="smith*"))]
    lean = _scu((STUDY_ROOT, syntax))
    mixed = _scu((STUDY_ROOT, syntax), (str(StudyRootQueryRetrieveInformationModelGet), syntax))
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger="pynetdicom"):
        answers = _find_all(lean, running.port, queries, syntax)
        answers += _find_all(mixed, running.port, queries, syntax)
    assert sum(len(a) for a in answers) > 2  # matches came back on both paths
    assert any(r.name.startswith("pynetdicom") for r in caplog.records)  # it did log
    above = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
    assert not [m for m in above if "smith" in m.lower()], above
