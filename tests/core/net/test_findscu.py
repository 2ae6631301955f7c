"""The lean C-FIND SCU against scripted peers on loopback: what it puts on the wire, the
transfer syntaxes it reads, streaming, C-CANCEL, and peers that fail, abort, release, close,
fall silent or send rubbish in the middle of the answers (a clear error, never a hang)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from io import BytesIO

import pytest
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RJ, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
from pynetdicom.presentation import PresentationContext

from core.errors import AssociationRejected, NetworkError, ProtocolError
from core.net import dimse
from core.net.findscu import (
    C_CANCEL_RQ,
    DEFLATED_LITTLE,
    EXPLICIT_BIG,
    EXPLICIT_LITTLE,
    FIND_SYNTAXES,
    IMPLICIT_LITTLE,
    FindAssociation,
    Syntax,
    _deflate,
    _inflate,
)
from core.net.identifier import encode_identifier
from core.net.qr import (
    QueryRetrieveClient,
    StudyMatch,
    StudyQuery,
    StudyRootQueryRetrieveInformationModelFind,
)
from core.net.remote import RemoteAE

MODEL = StudyRootQueryRetrieveInformationModelFind
PDU = struct.Struct(">BxI")


# -- a scripted peer -------------------------------------------------------------------------------
@dataclass
class Request:
    """What the peer read of the C-FIND-RQ."""

    command: dict[int, dimse.Value]
    identifier: Dataset


class Peer:
    """Accepts one association on loopback (``accept_syntax`` for the query context, or
    ``None`` to refuse it; ``reject`` answers A-ASSOCIATE-RJ), reads the C-FIND-RQ and runs
    ``script(peer, request)``. Everything it read after the request is in ``later``."""

    def __init__(
        self,
        script: Callable[[Peer, Request], None] | None = None,
        accept_syntax: str | None = EXPLICIT_LITTLE,
        reject: bool = False,
    ) -> None:
        self.script = script
        self.accept_syntax = accept_syntax
        self.reject = reject
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(20)
        self.port = self.listener.getsockname()[1]
        self.remote = RemoteAE("FAKE", "127.0.0.1", self.port, name="fake")
        self.proposed: list[str] = []
        self.requests: list[Request] = []
        self.later: list[tuple[int, bytes]] = []
        self.error: BaseException | None = None
        self.conn: socket.socket | None = None
        self.go = threading.Event()  # scripts may wait for the test
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def syntax(self) -> Syntax:
        assert self.accept_syntax is not None
        return Syntax.of(self.accept_syntax)

    def _run(self) -> None:
        try:
            conn, _ = self.listener.accept()
            self.conn = conn
            conn.settimeout(20)
            with conn:
                self._serve(conn)
        except BaseException as exc:  # shown by the test that reads it
            self.error = exc

    def _serve(self, conn: socket.socket) -> None:
        pdu_type, payload = dimse.read_pdu(conn, 1 << 20)
        assert pdu_type == dimse.A_ASSOCIATE_RQ
        rq = A_ASSOCIATE_RQ()
        rq.decode(dimse.encode_pdu(pdu_type, bytes(payload)))
        primitive = rq.to_primitive()
        (context,) = primitive.presentation_context_definition_list
        self.proposed = [str(s) for s in context.transfer_syntax]
        if self.reject:
            rj = A_ASSOCIATE_RJ()
            reply = A_ASSOCIATE()
            reply.result, reply.result_source, reply.diagnostic = 1, 1, 7
            rj.from_primitive(reply)
            conn.sendall(rj.encode())
            return
        conn.sendall(self._accept(primitive, context))
        if self.accept_syntax is None:
            self.read_until_release()
            return
        self.requests.append(self.read_request())
        if self.script is not None:
            self.script(self, self.requests[-1])

    def _accept(self, primitive: A_ASSOCIATE, context: PresentationContext) -> bytes:
        result = PresentationContext()
        result.context_id = context.context_id
        result.result = 0 if self.accept_syntax else 3
        result.transfer_syntax = [self.accept_syntax or IMPLICIT_LITTLE]
        primitive.result = 0
        primitive.presentation_context_definition_results_list = [result]
        max_length = MaximumLengthNotification()
        max_length.maximum_length_received = 16384
        primitive.user_information = [max_length]
        ac = A_ASSOCIATE_AC()
        ac.from_primitive(primitive)
        return bytes(ac.encode())

    def read_message(self) -> tuple[dict[int, dimse.Value], bytes | None]:
        assert self.conn is not None
        command = bytearray()
        data = bytearray()
        elements: dict[int, dimse.Value] | None = None
        while True:
            pdu_type, payload = dimse.read_pdu(self.conn, 1 << 20)
            if pdu_type != dimse.P_DATA_TF:
                self.later.append((pdu_type, bytes(payload)))
                raise EOFError(f"PDU 0x{pdu_type:02X}")
            for pdv in dimse.iter_pdvs(payload):
                if pdv.is_command:
                    command += pdv.data
                    if pdv.is_last:
                        elements = dimse.decode_elements(command)
                        if elements[dimse.TAG_DATASET_TYPE] == dimse.NO_DATASET:
                            return elements, None
                else:
                    data += pdv.data
                    if pdv.is_last:
                        assert elements is not None
                        return elements, bytes(data)

    def read_request(self) -> Request:
        elements, data = self.read_message()
        assert data is not None
        if self.syntax.deflated:
            data = _inflate(data, "the client")
        ds = read_dataset(BytesIO(data), self.syntax.implicit, self.syntax.little)
        return Request(elements, ds)

    def read_until_release(self) -> None:
        """Read (and keep) what comes until A-RELEASE-RQ, then answer it."""
        assert self.conn is not None
        while True:
            try:
                pdu_type, payload = dimse.read_pdu(self.conn, 1 << 20)
            except (OSError, dimse.PeerClosedError):
                return
            self.later.append((pdu_type, bytes(payload)))
            if pdu_type == dimse.A_RELEASE_RQ:
                self.conn.sendall(dimse.RELEASE_RP)
                return
            if pdu_type == dimse.A_ABORT:
                return

    # -- what a script sends --
    def response(self, status: int, answer: Dataset | None = None, comment: str = "") -> bytes:
        elements: dict[int, dimse.Value] = {
            dimse.TAG_AFFECTED_SOP_CLASS: MODEL,
            dimse.TAG_COMMAND_FIELD: 0x8020,
            dimse.TAG_MESSAGE_ID_RESPONDED: 1,
            dimse.TAG_DATASET_TYPE: dimse.NO_DATASET if answer is None else 1,
            dimse.TAG_STATUS: status,
        }
        if comment:
            elements[dimse.TAG_ERROR_COMMENT] = comment
        data = None
        if answer is not None:
            data = encode_identifier(answer, self.syntax)
            if self.syntax.deflated:
                data = _deflate(data)
        return b"".join(dimse.pdata_pdus(1, dimse.encode_elements(elements), data, 16384))

    def send(self, data: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(data)

    def close(self) -> None:
        self.go.set()
        self.thread.join(10)
        self.listener.close()


@pytest.fixture
def make_peer() -> Iterator[Callable[..., Peer]]:
    peers: list[Peer] = []

    def make(*args: object, **kwargs: object) -> Peer:
        peer = Peer(*args, **kwargs)  # type: ignore[arg-type]
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()


def study(index: int, name: str = "Smith^John", charset: str | None = None) -> Dataset:
    ds = Dataset()
    if charset:
        ds.SpecificCharacterSet = charset
    ds.QueryRetrieveLevel = "STUDY"
    ds.PatientName = name
    ds.PatientID = f"P{index}"
    ds.StudyInstanceUID = f"1.2.3.{index}"
    ds.NumberOfStudyRelatedSeries = str(index)
    return ds


def answers(count: int) -> Callable[[Peer, Request], None]:
    def script(peer: Peer, request: Request) -> None:
        for index in range(count):
            peer.send(peer.response(0xFF00, study(index)))
        peer.send(peer.response(0x0000))
        peer.read_until_release()

    return script


CLIENT = QueryRetrieveClient("KIOSK", timeout=10)


# -- the exchange ----------------------------------------------------------------------------------
class TestWire:
    def test_request_and_answers(self, make_peer: Callable[..., Peer]) -> None:
        peer = make_peer(answers(3))
        result = CLIENT.find_studies(
            peer.remote, StudyQuery(patient_name="Smith", append_wildcard=True)
        )
        assert [m.study_uid for m in result.matches] == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]
        assert [m.num_series for m in result.matches] == [0, 1, 2]
        assert not result.truncated
        assert peer.proposed == FIND_SYNTAXES  # as pynetdicom proposed them
        (request,) = peer.requests
        assert request.command[dimse.TAG_COMMAND_FIELD] == 0x0020
        assert request.command[dimse.TAG_AFFECTED_SOP_CLASS] == MODEL
        assert request.command[dimse.TAG_PRIORITY] == 0
        assert request.identifier.PatientName == "Smith*"
        assert request.identifier.QueryRetrieveLevel == "STUDY"
        assert [t for t, _ in peer.later] == [dimse.A_RELEASE_RQ]  # released, not aborted

    @pytest.mark.parametrize("syntax", FIND_SYNTAXES)
    def test_every_syntax(self, make_peer: Callable[..., Peer], syntax: str) -> None:
        def script(peer: Peer, request: Request) -> None:
            assert request.identifier.PatientName == "Müller*"
            peer.send(peer.response(0xFF00, study(1, "Müller^Jürgen", "ISO_IR 100")))
            peer.send(peer.response(0xFF00, study(2, "山田^太郎", "ISO_IR 192")))
            peer.send(peer.response(0x0000))
            peer.read_until_release()

        peer = make_peer(script, accept_syntax=syntax)
        result = CLIENT.find_studies(peer.remote, StudyQuery(patient_name="Müller*"))
        assert peer.error is None
        assert [m.patient_name for m in result.matches] == ["Müller^Jürgen", "山田^太郎"]

    def test_fragmented_messages(self, make_peer: Callable[..., Peer]) -> None:
        """Command sets and identifiers split over PDVs and PDUs, two PDVs in one PDU."""

        def script(peer: Peer, request: Request) -> None:
            command = dimse.encode_elements(
                {
                    dimse.TAG_AFFECTED_SOP_CLASS: MODEL,
                    dimse.TAG_COMMAND_FIELD: 0x8020,
                    dimse.TAG_MESSAGE_ID_RESPONDED: 1,
                    dimse.TAG_DATASET_TYPE: 1,
                    dimse.TAG_STATUS: 0xFF00,
                }
            )
            data = encode_identifier(study(7), peer.syntax)
            pdvs = [
                struct.pack(">IBB", 10 + 2, 1, 0x01) + command[:10],
                struct.pack(">IBB", len(command) - 10 + 2, 1, 0x03) + command[10:],
                struct.pack(">IBB", 5 + 2, 1, 0x00) + data[:5],
            ]
            first = b"".join(pdvs)
            peer.send(PDU.pack(dimse.P_DATA_TF, len(first)) + first)
            rest = struct.pack(">IBB", len(data) - 5 + 2, 1, 0x02) + data[5:]
            peer.send(PDU.pack(dimse.P_DATA_TF, len(rest)) + rest)
            peer.send(peer.response(0x0000))
            peer.read_until_release()

        peer = make_peer(script)
        result = CLIENT.find_studies(peer.remote, StudyQuery())
        assert peer.error is None
        assert [m.study_uid for m in result.matches] == ["1.2.3.7"]

    def test_answers_stream_to_the_caller(self, make_peer: Callable[..., Peer]) -> None:
        def script(peer: Peer, request: Request) -> None:
            peer.send(peer.response(0xFF00, study(1)))
            peer.send(peer.response(0xFF00, study(2)))
            assert peer.go.wait(10)
            peer.send(peer.response(0x0000))
            peer.read_until_release()

        peer = make_peer(script)
        seen: list[StudyMatch] = []
        both = threading.Event()

        def on_match(match: StudyMatch) -> None:
            seen.append(match)
            if len(seen) == 2:
                both.set()

        query = threading.Thread(
            target=CLIENT.find_studies,
            args=(peer.remote, StudyQuery()),
            kwargs={"on_match": on_match},
        )
        query.start()
        assert both.wait(10)  # before the peer has ended the query
        assert query.is_alive()
        peer.go.set()
        query.join(10)
        assert [m.study_uid for m in seen] == ["1.2.3.1", "1.2.3.2"]

    def test_cancel_at_the_limit(self, make_peer: Callable[..., Peer]) -> None:
        def script(peer: Peer, request: Request) -> None:
            for index in range(5):
                peer.send(peer.response(0xFF00, study(index)))
            elements, _ = peer.read_message()  # the C-CANCEL-RQ
            peer.requests.append(Request(elements, Dataset()))
            peer.send(peer.response(0xFF00, study(5)))  # already on its way
            peer.send(peer.response(0xFE00))
            peer.read_until_release()

        peer = make_peer(script)
        result = CLIENT.find_studies(peer.remote, StudyQuery(max_results=3))
        assert peer.error is None
        assert [m.study_uid for m in result.matches] == ["1.2.3.0", "1.2.3.1", "1.2.3.2"]
        assert result.truncated and not result.cancelled
        cancel = peer.requests[1].command
        assert cancel[dimse.TAG_COMMAND_FIELD] == C_CANCEL_RQ
        assert cancel[dimse.TAG_MESSAGE_ID_RESPONDED] == 1
        assert cancel[dimse.TAG_DATASET_TYPE] == dimse.NO_DATASET

    def test_failure_status_releases_and_says_why(self, make_peer: Callable[..., Peer]) -> None:
        def script(peer: Peer, request: Request) -> None:
            peer.send(peer.response(0xFF00, study(1)))
            peer.send(peer.response(0xA700, comment="disk full"))
            peer.read_until_release()

        peer = make_peer(script)
        heard: list[tuple[int, str]] = []
        client = QueryRetrieveClient(
            "KIOSK", timeout=10, on_query=lambda r, i, n, e: heard.append((n, e))
        )
        with pytest.raises(
            NetworkError, match=r"0xA700: the peer is out of resources \(disk full\)"
        ):
            client.find_studies(peer.remote, StudyQuery())
        peer.close()
        assert [t for t, _ in peer.later] == [dimse.A_RELEASE_RQ]
        assert heard and heard[0][0] == 1 and "0xA700" in heard[0][1]


class TestNegotiation:
    def test_a_refused_query_model(self, make_peer: Callable[..., Peer]) -> None:
        peer = make_peer(accept_syntax=None)
        with pytest.raises(NetworkError, match="does not support C-FIND"):
            CLIENT.find_studies(peer.remote, StudyQuery())

    def test_a_rejection_says_why(self, make_peer: Callable[..., Peer]) -> None:
        peer = make_peer(reject=True)
        with pytest.raises(AssociationRejected, match="rejected the association.*Called AE"):
            CLIENT.find_studies(peer.remote, StudyQuery())

    def test_a_reset_request_is_asked_once_more(self) -> None:
        """A peer that closes at once (as dcmqrscp may when it rejects) is asked again,
        which gets the rejection and its reason."""
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(10)
        seen: list[int] = []

        def serve() -> None:
            for attempt in range(2):
                conn, _ = listener.accept()
                with conn:
                    dimse.read_pdu(conn, 1 << 20)
                    seen.append(attempt)
                    if attempt:
                        rj = A_ASSOCIATE_RJ()
                        reply = A_ASSOCIATE()
                        reply.result, reply.result_source, reply.diagnostic = 1, 1, 3
                        rj.from_primitive(reply)
                        conn.sendall(rj.encode())

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        remote = RemoteAE("FAKE", "127.0.0.1", listener.getsockname()[1])
        try:
            with pytest.raises(AssociationRejected, match="Calling AE"):
                CLIENT.find_studies(remote, StudyQuery())
        finally:
            thread.join(10)
            listener.close()
        assert seen == [0, 1]

    def test_nothing_listening(self) -> None:
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
        with pytest.raises(NetworkError, match="refused the connection"):
            CLIENT.find_studies(RemoteAE("X", "127.0.0.1", port), StudyQuery())


# -- peers that misbehave in the middle of the answers -----------------------------------------
def after_two(then: Callable[[Peer], None]) -> Callable[[Peer, Request], None]:
    def script(peer: Peer, request: Request) -> None:
        peer.send(peer.response(0xFF00, study(1)))
        peer.send(peer.response(0xFF00, study(2)))
        then(peer)

    return script


def _abort(peer: Peer) -> None:
    peer.send(dimse.encode_abort(dimse.ABORT_SOURCE_PROVIDER, 2))


def _garbage(peer: Peer) -> None:
    peer.send(b"GET / HTTP/1.1\r\n\r\n" + bytes(range(256)))
    peer.read_until_release()


def _bad_pdv(peer: Peer) -> None:
    body = struct.pack(">IBB", 5000, 1, 0x03) + b"xx"
    peer.send(PDU.pack(dimse.P_DATA_TF, len(body)) + body)
    peer.read_until_release()


def _bad_command(peer: Peer) -> None:
    command = dimse.CStoreRSP(1, MODEL, "1.2.3", 0).encode()
    body = struct.pack(">IBB", len(command) + 2, 1, 0x03) + command
    peer.send(PDU.pack(dimse.P_DATA_TF, len(body)) + body)
    peer.read_until_release()


def _close(peer: Peer) -> None:
    assert peer.conn is not None
    peer.conn.shutdown(socket.SHUT_RDWR)


def _release(peer: Peer) -> None:
    peer.send(dimse.RELEASE_RQ)
    peer.read_until_release()


def _silent(peer: Peer) -> None:
    peer.go.wait(20)


class TestMisbehaving:
    @pytest.mark.parametrize(
        ("then", "error", "message"),
        [
            (_abort, NetworkError, r"aborted the association: its DICOM protocol layer reported"
             r" unexpected PDU during the query"),
            (_garbage, ProtocolError, "unknown PDU type 0x47"),
            (_bad_pdv, ProtocolError, "PDV item length 5000 does not fit"),
            (_bad_command, ProtocolError, "answered a C-FIND with command 0x8001"),
            (_close, NetworkError, "was lost during the query: the peer closed the connection"),
            (_release, NetworkError, "released the association during the query"),
        ],
    )  # fmt: skip
    def test_a_clear_error_at_once(
        self,
        make_peer: Callable[..., Peer],
        then: Callable[[Peer], None],
        error: type[Exception],
        message: str,
    ) -> None:
        peer = make_peer(after_two(then))
        heard: list[tuple[int, str]] = []
        client = QueryRetrieveClient(
            "KIOSK", timeout=10, on_query=lambda r, i, n, e: heard.append((n, e))
        )
        started = time.monotonic()
        with pytest.raises(error, match=message):
            client.find_studies(peer.remote, StudyQuery())
        assert time.monotonic() - started < 5
        assert heard and heard[0][0] == 2  # the audit trail hears what came before

    def test_a_protocol_error_aborts(self, make_peer: Callable[..., Peer]) -> None:
        peer = make_peer(after_two(_garbage))
        with pytest.raises(ProtocolError):
            CLIENT.find_studies(peer.remote, StudyQuery())
        peer.close()
        assert [t for t, _ in peer.later] == [dimse.A_ABORT]

    def test_a_silent_peer_times_out(self, make_peer: Callable[..., Peer]) -> None:
        peer = make_peer(after_two(_silent))
        client = QueryRetrieveClient("KIOSK", timeout=1)
        started = time.monotonic()
        with pytest.raises(NetworkError, match=r"stopped answering the query \(nothing for 1 s\)"):
            client.find_studies(peer.remote, StudyQuery())
        assert time.monotonic() - started < 5

    def test_an_association_is_not_reused_after_an_error(
        self, make_peer: Callable[..., Peer]
    ) -> None:
        peer = make_peer(after_two(_garbage))
        assoc = FindAssociation.open(peer.remote, "KIOSK", MODEL, timeout=10)
        data = encode_identifier(study(0), assoc.syntax)
        with pytest.raises(ProtocolError):
            list(assoc.find(data))
        assert assoc.closed
        with pytest.raises(NetworkError, match="is closed"):
            list(assoc.find(data))


def test_deflate_round_trip() -> None:
    data = encode_identifier(study(3), Syntax.of(DEFLATED_LITTLE))
    assert _inflate(_deflate(data), "peer") == data
    with pytest.raises(ProtocolError, match="does not inflate"):
        _inflate(b"\xff\xff\xff", "peer")


def test_syntaxes() -> None:
    assert Syntax.of(IMPLICIT_LITTLE) == Syntax(IMPLICIT_LITTLE, True, True, False)
    assert Syntax.of(EXPLICIT_LITTLE) == Syntax(EXPLICIT_LITTLE, False, True, False)
    assert Syntax.of(DEFLATED_LITTLE) == Syntax(DEFLATED_LITTLE, False, True, True)
    assert Syntax.of(EXPLICIT_BIG) == Syntax(EXPLICIT_BIG, False, False, False)
