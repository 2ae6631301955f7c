"""The node's defences, piece by piece: the request parser, the connection counts, the data set
buffer and its memory budget, log escaping. tests/attacks/ runs them together against the
real node."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
from pynetdicom.presentation import build_context

from core.config import Settings
from core.errors import PeerClosedError, ProtocolError
from core.index.intake import MemoryBudget
from core.logsafe import SafeFormatter, printable
from core.net import dimse
from core.node.doorman import Connections, PeerLog, parse_request
from core.node.incoming import DatasetBuffer
from core.node.limits import Limits
from core.store.files import FileStore

CT = "1.2.840.10008.5.1.4.1.1.2"


def _request(calling: str = "SCU", called: str = "KIOSK") -> bytes:
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = calling
    primitive.called_ae_title = called
    context = build_context(CT)
    context.context_id = 1
    primitive.presentation_context_definition_list = [context]
    length = MaximumLengthNotification()
    length.maximum_length_received = 16384
    primitive.user_information = [length]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())


def test_a_well_formed_request_parses() -> None:
    rq = parse_request(_request())
    assert str(rq.calling_ae_title).strip() == "SCU"
    assert [str(cx.abstract_syntax) for cx in rq.presentation_context_definition_list] == [CT]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1],  # shorter than it announces
        lambda raw: raw + b"\0",  # longer
        lambda raw: b"\x02" + raw[1:],  # not an A-ASSOCIATE-RQ
        lambda raw: raw[:26] + b"EVIL\nFAKE LINE  " + raw[42:],  # control character in an AE
        lambda raw: raw[:26] + b" " * 16 + raw[42:],  # calling AE all spaces
        lambda raw: raw[:6] + b"\0" * (len(raw) - 6),  # no items at all
    ],
)
def test_a_malformed_request_is_a_protocol_error(mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProtocolError):
        parse_request(mangle(_request()))


def test_connections_are_limited_in_all_and_per_address(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_connections=3, max_connections_per_peer=2)
    connections = Connections(Limits.of(settings))
    assert connections.open("10.0.0.1") == ""
    assert connections.open("10.0.0.1") == ""
    assert "max_connections_per_peer" in connections.open("10.0.0.1")
    assert connections.open("10.0.0.2") == ""
    assert "max_connections" in connections.open("10.0.0.3")
    connections.close("10.0.0.1")
    assert connections.of("10.0.0.1") == 1
    assert connections.open("10.0.0.3") == ""


class _Trickle:
    """A socket that delivers ``data`` and then ends."""

    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)

    def recv_into(self, view: memoryview, n: int) -> int:
        chunk = self.stream.read(min(n, 1000))
        view[: len(chunk)] = chunk
        return len(chunk)


def test_a_read_grows_with_what_arrives_not_with_what_is_announced() -> None:
    header = bytes([dimse.P_DATA_TF, 0]) + (0xFFFFFFFF).to_bytes(4, "big")
    sock = _Trickle(header + b"x" * 10)
    pdu_type, length = dimse.read_pdu_header(sock)  # type: ignore[arg-type]
    assert (pdu_type, length) == (dimse.P_DATA_TF, 0xFFFFFFFF)
    with pytest.raises(PeerClosedError) as closed:
        dimse.recv_exact(sock, length)  # type: ignore[arg-type]
    assert bytes(closed.value.partial) == b"x" * 10


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "store", fsync=False)


def _part_files(store: FileStore) -> list[str]:
    return sorted(p.name for p in store.incoming_dir.iterdir() if p.suffix == ".part")


def test_a_small_data_set_stays_in_memory_and_holds_its_share(store: FileStore) -> None:
    budget = MemoryBudget(1 << 20)
    buffer = DatasetBuffer(b"P" * 10, budget, store, spool_bytes=1000, max_bytes=5000)
    buffer.add(memoryview(b"a" * 400))
    buffer.add(memoryview(b"b" * 400))
    assert not buffer.spooled and budget.used == 800
    data, held = buffer.take_memory()
    assert bytes(data) == b"P" * 10 + b"a" * 400 + b"b" * 400 and held == 800
    buffer.discard()
    assert budget.used == 800  # handed on: the caller gives it back


def test_a_large_data_set_goes_to_disk_and_gives_its_memory_back(store: FileStore) -> None:
    budget = MemoryBudget(1 << 20)
    buffer = DatasetBuffer(b"P" * 10, budget, store, spool_bytes=1000, max_bytes=5000)
    for chunk in (b"a" * 600, b"b" * 600, b"c" * 600):
        buffer.add(memoryview(chunk))
    assert buffer.spooled and budget.used == 0
    assert _part_files(store)  # half-written: removed at the next start, never indexed
    path = buffer.commit_spool()
    assert path.read_bytes() == b"P" * 10 + b"a" * 600 + b"b" * 600 + b"c" * 600
    assert _part_files(store) == []


def test_a_spent_budget_sends_even_a_small_data_set_to_disk(store: FileStore) -> None:
    budget = MemoryBudget(100)
    buffer = DatasetBuffer(b"", budget, store, spool_bytes=1000, max_bytes=5000)
    buffer.add(memoryview(b"a" * 200))
    assert buffer.spooled and budget.used == 0
    buffer.discard()
    assert _part_files(store) == []


def test_a_data_set_over_the_limit_is_counted_and_dropped(store: FileStore) -> None:
    budget = MemoryBudget(1 << 20)
    buffer = DatasetBuffer(b"", budget, store, spool_bytes=1000, max_bytes=2500)
    for _ in range(10):
        buffer.add(memoryview(b"a" * 600))
    assert buffer.too_large and buffer.size == 6000
    assert budget.used == 0 and _part_files(store) == []


def test_log_lines_escape_control_characters() -> None:
    assert printable("EVIL\nFAKE\r\x00\x1b") == "EVIL\\nFAKE\\r\\x00\\x1b"
    record = logging.LogRecord("t", logging.WARNING, __file__, 1, "from %s", ("A\nB",), None)
    assert SafeFormatter("%(levelname)s %(message)s").format(record) == "WARNING from A\\nB"


def test_a_flood_from_one_address_writes_one_warning_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    peers = PeerLog(every=60.0)
    with caplog.at_level(logging.WARNING, logger="core.node.doorman"):
        for _ in range(100):
            peers.warn("10.0.0.9", "closed the connection from %s: %s", "10.0.0.9", "malformed")
        peers.warn("10.0.0.8", "closed the connection from %s: %s", "10.0.0.8", "malformed")
    assert [r.getMessage() for r in caplog.records] == [
        "closed the connection from 10.0.0.9: malformed",
        "closed the connection from 10.0.0.8: malformed",
    ]
    peers.every = 0.0  # the minute is over: the next warning counts what was held back
    with caplog.at_level(logging.WARNING, logger="core.node.doorman"):
        peers.warn("10.0.0.9", "closed the connection from %s: %s", "10.0.0.9", "silent")
    assert (
        caplog.records[-1]
        .getMessage()
        .endswith("(and 99 more like it from 10.0.0.9 in the last minute)")
    )
