"""Hostile peers for the attack tests: raw sockets from 127.0.0.2, the node's resources
measured, and a legitimate DCMTK sender beside the attack.

- ``hardened_env``      the node's limits as the attack tests set them (small, so tests stay fast)
- ``ResourceSampler``   the node's RSS and thread count every 50 ms; kills the node (by PID)
                        past ``GUARD_RSS`` so a failing node cannot take the machine with it
- ``connect``           a TCP connection to the node from ``ATTACKER`` (or any loopback address);
  ``open_idle``,        a thousand of them at once, sending nothing;
  ``Flood``             a steady rate of short ones, each sending one malformed request
- ``RawAssociation``    an association spoken byte by byte (pynetdicom's PDU classes build the
                        A-ASSOCIATE-RQ, ``core.net.dimse`` frames the rest), to misbehave on purpose
- ``image_header``,
  ``big_image``         data sets built by hand: any UID (even an invalid one), any size,
                        streamed in chunks and never held whole in memory
- ``LegitTraffic``      DCMTK storescu batches from 127.0.0.1 while an attack runs; then
                        ``missing`` lists what the node did not store;
  ``first_response_seconds``  one legitimate association timed to its first C-STORE-RSP
- ``Findings``          every expectation of a test checked, and every measurement kept, so a
                        failing test tells all that went wrong at once

Attackers connect from 127.0.0.2 (Linux routes all of 127/8 to the loopback interface), the
legitimate sender from 127.0.0.1, so per-peer limits can tell them apart. Everything a helper
opens it closes; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import select
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import psutil
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RJ, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
from pynetdicom.presentation import build_context

from core.errors import PeerClosedError, ProtocolError
from core.net import dimse
from tests.support.data import dataset_bytes, encode, make_dataset, write
from tests.support.dcmtk import dcmtk, dcmtk_env
from tests.support.node import AE as KIOSK_AE
from tests.support.node import KioskServer
from tests.support.ports import HOST

ATTACKER = "127.0.0.2"
LEGIT = "127.0.0.1"

MiB = 1 << 20
# The limits the attack tests give the node (config keys; passed as DICOM_KIOSK_<KEY>).
RECEIVE_MEMORY_BYTES = 64 * MiB
MAX_DATASET_BYTES = 256 * MiB
# The node's documented bound: 300 MB plus the receive memory budget.
RSS_BOUND = 300_000_000 + RECEIVE_MEMORY_BYTES
# Past this the sampler kills the node: a node that allocates what a peer announces (4 GiB
# for "01 00 FF FF FF FF") would otherwise take the test machine with it.
GUARD_RSS = 2 << 30
SAMPLE_INTERVAL = 0.05

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"
VERIFICATION = "1.2.840.10008.1.1"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
# The largest P-DATA-TF PDU the node promises to take (its variable field: PS3.8 D.1).
MAX_PDATA = MiB
# The one buffer every big data set is streamed from: one full P-DATA-TF fragment.
ZEROS = bytes(MAX_PDATA - 6)

_PDU_HEADER = struct.Struct(">BxI")
_PDV_HEADER = struct.Struct(">IBB")


def hardened_env(**settings: object) -> dict[str, str]:
    """``DICOM_KIOSK_*`` variables: the attack tests' limits, then ``settings`` over them."""
    values: dict[str, object] = {
        "receive_memory_bytes": RECEIVE_MEMORY_BYTES,
        "max_dataset_bytes": MAX_DATASET_BYTES,
        **settings,
    }
    return {f"DICOM_KIOSK_{key.upper()}": str(value) for key, value in values.items()}


def mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.0f} MB"


# -- the node's resources ------------------------------------------------------------------------
class ResourceSampler:
    """The RSS and thread count of process ``pid``, sampled every ``interval`` s on a thread.

    Above ``kill_above`` bytes of RSS it sends SIGKILL to ``pid`` (a child of the test) and
    records it in ``killed_at``. Use as a context manager around the attack."""

    def __init__(
        self, pid: int, interval: float = SAMPLE_INTERVAL, kill_above: int = GUARD_RSS
    ) -> None:
        self.pid = pid
        self.interval = interval
        self.kill_above = kill_above
        self.process = psutil.Process(pid)
        self.baseline_rss = self.process.memory_info().rss
        self.peak_rss = self.baseline_rss
        self.peak_threads = self.process.num_threads()
        self.samples = 0
        self.killed_at: int | None = None  # the RSS at which the guard killed the node
        self.exited = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            if self.exited:
                return
            self._stop.wait(self.interval)

    def sample(self) -> None:
        try:
            rss = self.process.memory_info().rss
            threads = self.process.num_threads()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            self.exited = True
            return
        self.samples += 1
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_threads = max(self.peak_threads, threads)
        if rss > self.kill_above and self.killed_at is None:
            self.killed_at = rss
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.exited = True

    def __enter__(self) -> ResourceSampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if not self.exited:
            self.sample()  # the state at the end counts too


# -- findings ------------------------------------------------------------------------------------
@dataclass
class Findings:
    """What a test measured (``facts``) and which of its expectations failed (``problems``).

    ``check`` raises one ``AssertionError`` listing every failed expectation."""

    facts: dict[str, object] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    sink: list[tuple[str, object]] | None = None  # the test item's user_properties

    def note(self, key: str, value: object) -> None:
        self.facts[key] = value
        if self.sink is not None:
            self.sink[:] = [(k, v) for k, v in self.sink if k != key]
            self.sink.append((key, value))

    def expect(self, ok: bool, problem: str) -> bool:
        if not ok:
            self.problems.append(problem)
        return ok

    def resources(self, usage: ResourceSampler, max_threads: int | None = None) -> None:
        """The RSS bound (and a thread bound), and whether the node survived."""
        self.note("peak RSS", mb(usage.peak_rss))
        self.note("baseline RSS", mb(usage.baseline_rss))
        self.note("peak threads", usage.peak_threads)
        if usage.killed_at is not None:
            self.problems.append(
                f"the node's RSS reached {mb(usage.killed_at)}: killed by the test's guard "
                f"(bound {mb(RSS_BOUND)})"
            )
        elif usage.exited:
            self.problems.append("the node exited during the attack")
        self.expect(
            usage.peak_rss < RSS_BOUND,
            f"peak RSS {mb(usage.peak_rss)} exceeds the bound {mb(RSS_BOUND)}",
        )
        if max_threads is not None:
            self.expect(
                usage.peak_threads < max_threads,
                f"the node ran {usage.peak_threads} threads (bound {max_threads})",
            )

    def legit(self, traffic: LegitTraffic, server: KioskServer, timeout: float = 30) -> None:
        """Every image the legitimate sender sent is stored."""
        missing = traffic.missing(server, timeout)
        self.note("legit images", f"{len(traffic.sent) - len(missing)}/{len(traffic.sent)} stored")
        self.expect(not traffic.failures, "legit storescu failed: " + " | ".join(traffic.failures))
        self.expect(
            not missing, f"{len(missing)} of {len(traffic.sent)} legitimate images were not stored"
        )

    def check(self) -> None:
        if self.problems:
            measured = ", ".join(f"{k}: {v}" for k, v in self.facts.items())
            raise AssertionError("\n".join([*self.problems, f"measured: {measured}"]))


# -- raw sockets -----------------------------------------------------------------------------------
_IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def connect(port: int, source: str = ATTACKER, timeout: float = 10.0) -> socket.socket:
    """A TCP connection to the node on 127.0.0.1:``port`` from ``source`` (TCP_NODELAY)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        # the port is chosen at connect: thousands of short connections share the range
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect((HOST, port))
    except BaseException:
        sock.close()
        raise
    return sock


class Sockets:
    """Connections a test holds open; all closed on exit."""

    def __init__(self) -> None:
        self.open: list[socket.socket] = []

    def add(self, sock: socket.socket) -> socket.socket:
        self.open.append(sock)
        return sock

    def close(self) -> None:
        socks, self.open = self.open, []
        for sock in socks:
            sock.close()

    def __enter__(self) -> Sockets:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """Whether the node ends the connection within ``timeout`` s (it may first send an
    A-ASSOCIATE-RJ or A-ABORT, which is read and dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))  # at least one look
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            return False
        except OSError:  # reset
            return True


def silent(socks: Iterable[socket.socket]) -> int:
    """How many of ``socks`` the node has neither answered nor closed (one poll, no wait)."""
    poller = select.poll()
    socks = list(socks)
    for sock in socks:
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    return len(socks) - len(poller.poll(0))


def pdv_pdu(context_id: int, fragment: bytes, *, command: bool, last: bool) -> bytes:
    """One P-DATA-TF PDU holding one PDV (PS3.8 9.3.5, E.2)."""
    control = (0x01 if command else 0x00) | (0x02 if last else 0x00)
    return b"".join(
        (
            _PDU_HEADER.pack(dimse.P_DATA_TF, len(fragment) + 6),
            _PDV_HEADER.pack(len(fragment) + 2, context_id, control),
            fragment,
        )
    )


Context = tuple[str, Sequence[str]]  # abstract syntax, transfer syntaxes
# One syntax per context: the node would choose Implicit VR from a list.
STORAGE: list[Context] = [
    (VERIFICATION, [ImplicitVRLittleEndian]),
    (CT, [ExplicitVRLittleEndian]),
    (CT, [ImplicitVRLittleEndian]),
]
QUERY: list[Context] = [(STUDY_FIND, [ImplicitVRLittleEndian])]


def associate_rq(
    contexts: Sequence[Context],
    *,
    calling: str = "ATTACKER",
    called: str = KIOSK_AE,
    max_pdu: int = MAX_PDATA,
) -> bytes:
    """An encoded A-ASSOCIATE-RQ proposing ``contexts`` (IDs 1, 3, 5...)."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = APPLICATION_CONTEXT
    primitive.calling_ae_title = calling
    primitive.called_ae_title = called
    proposed = []
    for number, (abstract, syntaxes) in enumerate(contexts):
        context = build_context(abstract, list(syntaxes))
        context.context_id = 2 * number + 1
        proposed.append(context)
    primitive.presentation_context_definition_list = proposed
    length = MaximumLengthNotification()
    length.maximum_length_received = max_pdu
    primitive.user_information = [length]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())


def with_calling_ae(rq: bytes, raw_title: bytes) -> bytes:
    """``rq`` with its Calling AE Title field (bytes 26-41, PS3.8 9.3.2) set to ``raw_title``
    as it is: no encoder would let a line feed through."""
    return rq[:26] + raw_title.ljust(16, b" ")[:16] + rq[42:]


class AssociationRefused(Exception):
    """The node answered the A-ASSOCIATE-RQ with something other than an A-ASSOCIATE-AC."""


@dataclass(frozen=True)
class Ending:
    """How an association ended as its peer saw it: a DIMSE response, an A-ABORT, the
    connection closed, or nothing at all within the wait."""

    kind: str  # "response", "abort", "closed", "silent"
    status: int | None = None

    def __str__(self) -> str:
        return f"response 0x{self.status:04X}" if self.kind == "response" else self.kind


class RawAssociation:
    """An association to the node from ``source``, spoken through raw bytes.

    ``contexts[i]`` is proposed with context ID ``2 i + 1``; ``context_id(abstract, syntax)``
    is the accepted one. ``rq`` replaces the A-ASSOCIATE-RQ (a hand-made one)."""

    def __init__(
        self,
        port: int,
        contexts: Sequence[Context] = STORAGE,
        *,
        calling: str = "ATTACKER",
        source: str = ATTACKER,
        rq: bytes | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.sock = connect(port, source, timeout)
        self.message_id = 0
        try:
            self.sock.sendall(rq if rq is not None else associate_rq(contexts, calling=calling))
            pdu_type, payload = dimse.read_pdu(self.sock, 1 << 16)
            if pdu_type != dimse.A_ASSOCIATE_AC:
                if pdu_type == dimse.A_ASSOCIATE_RJ:
                    rj = A_ASSOCIATE_RJ()
                    rj.decode(dimse.encode_pdu(pdu_type, bytes(payload)))
                    why = f"{rj.result}/{rj.source}/{rj.reason_diagnostic}"
                    raise AssociationRefused(f"A-ASSOCIATE-RJ (result/source/reason {why})")
                raise AssociationRefused(f"PDU type 0x{pdu_type:02X} instead of A-ASSOCIATE-AC")
            ac = A_ASSOCIATE_AC()
            ac.decode(dimse.encode_pdu(pdu_type, bytes(payload)))
            accepted = ac.to_primitive()
        except BaseException:
            self.sock.close()
            raise
        self.max_send = int(accepted.maximum_length_received or 0)
        self.accepted: dict[tuple[str, str], int] = {}
        for number, (abstract, _syntaxes) in enumerate(contexts):
            for result in accepted.presentation_context_definition_results_list:
                if result.context_id == 2 * number + 1 and result.result == 0:
                    syntax = str(result.transfer_syntax[0])
                    self.accepted.setdefault((abstract, syntax), 2 * number + 1)

    def context_id(self, abstract: str, syntax: str | None = None) -> int:
        for (accepted, accepted_syntax), number in self.accepted.items():
            if accepted == abstract and syntax in (None, accepted_syntax):
                return number
        raise AssertionError(f"no accepted context for {abstract} {syntax or ''}")

    def send(self, pdus: Iterable[bytes]) -> int:
        """Send ``pdus``; the bytes sent."""
        sent = 0
        for pdu in pdus:
            self.sock.sendall(pdu)
            sent += len(pdu)
        return sent

    def store_pdus(
        self,
        context_id: int,
        sop_class: str,
        sop_instance: str,
        dataset: bytes | Iterable[bytes],
        max_pdu: int = MAX_PDATA,
    ) -> Iterator[bytes]:
        """The P-DATA-TF PDUs of a C-STORE-RQ (the data set may be an endless iterable)."""
        self.message_id += 1
        command = dimse.CStoreRQ(self.message_id, sop_class, sop_instance).encode()
        return dimse.pdata_pdus(context_id, command, dataset, max_pdu)

    def store(
        self, context_id: int, sop_class: str, sop_instance: str, dataset: bytes | Iterable[bytes]
    ) -> int:
        """A whole C-STORE, in PDUs no longer than the node announced; its response status."""
        max_pdu = self.max_send or MAX_PDATA
        self.send(self.store_pdus(context_id, sop_class, sop_instance, dataset, max_pdu))
        response = self.read_response()
        if not isinstance(response, dimse.CStoreRSP):
            raise AssertionError(f"{type(response).__name__} instead of a C-STORE-RSP")
        return response.status

    def read_response(self, timeout: float | None = None) -> dimse.Command:
        """The next DIMSE response; ``ProtocolError`` (from the codec) or ``AssociationRefused``
        when the node sends something else."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        command = bytearray()
        while True:
            pdu_type, payload = dimse.read_pdu(self.sock, 1 << 24)
            if pdu_type != dimse.P_DATA_TF:
                raise AssociationRefused(f"PDU type 0x{pdu_type:02X} instead of a response")
            for pdv in dimse.iter_pdvs(payload):
                command += pdv.data
                if pdv.is_last and pdv.is_command:
                    return dimse.decode_command(command)

    def ending(self, timeout: float) -> Ending:
        """What the node does next, within ``timeout`` s."""
        deadline = time.monotonic() + timeout
        try:
            self.sock.settimeout(timeout)
            pdu_type, length = dimse.read_pdu_header(self.sock)
            if pdu_type == dimse.A_ABORT:
                return Ending("abort")
            if pdu_type == dimse.P_DATA_TF:
                self.sock.settimeout(max(0.1, deadline - time.monotonic()))
                payload = dimse.recv_exact(self.sock, length)
                command = bytearray()
                for pdv in dimse.iter_pdvs(payload):
                    command += pdv.data
                response = dimse.decode_command(command)
                return Ending("response", getattr(response, "status", None))
            return Ending(f"PDU 0x{pdu_type:02X}")
        except TimeoutError:
            return Ending("silent")
        except (OSError, PeerClosedError, ProtocolError):
            return Ending("closed")

    def release(self, timeout: float = 10.0) -> None:
        self.sock.settimeout(timeout)
        self.sock.sendall(dimse.RELEASE_RQ)
        pdu_type, _ = dimse.read_pdu(self.sock, 64)
        if pdu_type != dimse.A_RELEASE_RP:
            raise AssertionError(f"PDU type 0x{pdu_type:02X} instead of A-RELEASE-RP")
        self.sock.close()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawAssociation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- data sets built by hand ---------------------------------------------------------------------
_LONG_VRS = frozenset({"OB", "OW", "OF", "SQ", "UT", "UN"})
FRAME = 512 * 512  # bytes of one 8-bit 512x512 frame


def _element(tag: int, vr: str, value: bytes, explicit: bool, length: int | None = None) -> bytes:
    size = len(value) if length is None else length
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if not explicit:
        return head + struct.pack("<I", size) + value
    if vr in _LONG_VRS:
        return head + vr.encode() + b"\0\0" + struct.pack("<I", size) + value
    return head + vr.encode() + struct.pack("<H", size) + value


def _text(value: str, pad: bytes = b" ") -> bytes:
    raw = value.encode("latin-1")
    return raw + pad if len(raw) % 2 else raw


def image_header(
    sop_instance: str,
    *,
    sop_class: str = CT,
    frames: int = 1,
    patient_id: str = "ATTACK",
    explicit: bool = True,
) -> bytes:
    """A data set (no file meta) up to and including the header of its Pixel Data (OB, 8-bit
    512x512 ``frames``): the pixel bytes, ``frames * FRAME`` of them, are the caller's to send.

    UIDs are written as given, valid or not: that is the point."""
    us = lambda v: struct.pack("<H", v)  # noqa: E731
    elements = [
        (0x00080016, "UI", _text(sop_class, b"\0")),
        (0x00080018, "UI", _text(sop_instance, b"\0")),
        (0x00080060, "CS", _text("CT")),
        (0x00100010, "PN", _text("ATTACK^TEST")),
        (0x00100020, "LO", _text(patient_id)),
        (0x0020000D, "UI", _text(generate_uid(), b"\0")),
        (0x0020000E, "UI", _text(generate_uid(), b"\0")),
        (0x00200013, "IS", _text("1")),
        (0x00280002, "US", us(1)),
        (0x00280004, "CS", _text("MONOCHROME2")),
        (0x00280008, "IS", _text(str(frames))),
        (0x00280010, "US", us(512)),
        (0x00280011, "US", us(512)),
        (0x00280100, "US", us(8)),
        (0x00280101, "US", us(8)),
        (0x00280102, "US", us(7)),
        (0x00280103, "US", us(0)),
    ]
    body = b"".join(_element(tag, vr, value, explicit) for tag, vr, value in elements)
    return body + _element(0x7FE00010, "OB", b"", explicit, length=frames * FRAME)


def big_image(sop_instance: str, frames: int, **header: object) -> Iterator[bytes]:
    """A complete image of ``frames`` frames, streamed: its header, then 1 MiB chunks of
    ``ZEROS`` (the only pixel buffer, shared)."""
    yield image_header(sop_instance, frames=frames, **header)  # type: ignore[arg-type]
    left = frames * FRAME
    while left:
        chunk = min(left, len(ZEROS))
        yield ZEROS if chunk == len(ZEROS) else ZEROS[:chunk]
        left -= chunk


def endless_image(sop_instance: str, frames: int = 4096) -> Iterator[bytes]:
    """An image whose pixel data (announced as ``frames`` frames) never ends."""
    yield image_header(sop_instance, frames=frames)
    yield from itertools.repeat(ZEROS)


def legit_image(patient_id: str = "LEGIT") -> tuple[str, bytes]:
    """A small valid image made by pydicom: (its SOP Instance UID, its data set in Explicit VR
    Little Endian, as a C-STORE carries it)."""
    ds = make_dataset(patient_id=patient_id)
    return str(ds.SOPInstanceUID), dataset_bytes(encode(ds))


# -- the legitimate sender -------------------------------------------------------------------------
class LegitTraffic:
    """DCMTK storescu from 127.0.0.1, in batches of ``batch`` new images (one association
    each), on a thread, from ``start`` until ``stop``: at least one batch, at most
    ``max_batches``.

    ``prepare`` writes the first batch before the clock starts. ``sent`` lists the SOP
    Instance UIDs sent; ``failures`` the storescu runs that did not exit 0 (with the end of
    their output); ``seconds`` each run's wall time."""

    def __init__(
        self,
        folder: Path,
        port: int,
        *,
        batch: int = 50,
        max_batches: int = 40,
        ae: str = "LEGIT",
        timeout: float = 120.0,
    ) -> None:
        self.folder = folder
        self.port = port
        self.batch = batch
        self.max_batches = max_batches
        self.ae = ae
        self.timeout = timeout
        self.sent: list[str] = []
        self.failures: list[str] = []
        self.seconds: list[float] = []
        self._written = 0
        self._ready: list[tuple[Path, list[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="legit-storescu", daemon=True)

    def prepare(self) -> LegitTraffic:
        self._ready.append(self._write_batch())
        return self

    def _write_batch(self) -> tuple[Path, list[str]]:
        folder = self.folder / f"batch-{self._written:03d}"
        folder.mkdir(parents=True)
        sops = []
        for number in range(self.batch):
            ds = make_dataset(patient_id=f"{self.ae}-{self._written}", instance_number=number)
            write(ds, folder / f"{number:05d}.dcm")
            sops.append(str(ds.SOPInstanceUID))
        self._written += 1
        return folder, sops

    def send(self, folder: Path) -> int:
        """storescu of every file in ``folder`` in one association; its exit status."""
        args = [dcmtk("storescu"), "-aet", self.ae, "-aec", KIOSK_AE, "+sd",
                LEGIT, str(self.port), str(folder)]  # fmt: skip
        started = time.monotonic()
        try:
            result = subprocess.run(
                args,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                env=dcmtk_env(),
                check=False,
            )
        except subprocess.TimeoutExpired:  # run() has killed it (by PID)
            self.failures.append(f"storescu of {folder.name} timed out after {self.timeout} s")
            return -1
        finally:
            self.seconds.append(time.monotonic() - started)
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
            self.failures.append(f"storescu exited {result.returncode}: {' / '.join(tail)}")
        return result.returncode

    def _run(self) -> None:
        for _ in range(self.max_batches):
            folder, sops = self._ready.pop(0) if self._ready else self._write_batch()
            self.sent.extend(sops)
            self.send(folder)
            if self._stop.is_set():
                return

    def start(self) -> LegitTraffic:
        self._thread.start()
        return self

    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop after the batch being sent (bounded by its timeout)."""
        self._stop.set()
        self._thread.join(timeout=self.timeout + 10)

    def missing(self, server: KioskServer, timeout: float = 30.0) -> set[str]:
        """Sent images the node has not indexed after up to ``timeout`` s (no wait once the
        node has exited)."""
        return missing_images(server, self.sent, timeout)


def missing_images(
    server: KioskServer, sops: Iterable[str], timeout: float = 30.0, settle: float = 3.0
) -> set[str]:
    """Which of ``sops`` the node has not indexed: waits up to ``timeout`` s, but no longer
    than ``settle`` s without progress, and not at all once the node has exited."""
    wanted = set(sops)
    deadline = time.monotonic() + timeout
    progress = time.monotonic()
    missing = wanted
    while True:
        now_missing = wanted - set(server.instances())
        if len(now_missing) < len(missing):
            progress = time.monotonic()
        missing = now_missing
        gone = server.proc is None or server.proc.poll() is not None
        now = time.monotonic()
        if not missing or gone or now > deadline or now - progress > settle:
            return missing
        time.sleep(0.2)


def send_until(sock: socket.socket, pdus: Iterable[bytes], limit: int) -> tuple[int, str]:
    """Send ``pdus`` until ``limit`` bytes are sent or the node stops taking them: (bytes
    sent, "" / "reset" when the node closed the connection / "stalled" when it stopped
    reading for the socket's timeout)."""
    sent = 0
    try:
        for pdu in pdus:
            if sent >= limit:
                break
            sock.sendall(pdu)
            sent += len(pdu)
    except TimeoutError:
        return sent, "stalled"
    except OSError:
        return sent, "reset"
    return sent, ""


# -- many connections --------------------------------------------------------------------------
def malformed_requests(called: str = KIOSK_AE) -> list[bytes]:
    """A-ASSOCIATE-RQs no node should serve: a calling AE of spaces only, one cut short (the
    header announces the whole), one of noise, and a P-DATA-TF before any association."""
    rq = associate_rq(STORAGE, called=called)
    noise = bytes((i * 37 + 11) % 256 for i in range(200))
    return [
        with_calling_ae(rq, b" " * 16),
        rq[: len(rq) // 2],
        _PDU_HEADER.pack(dimse.A_ASSOCIATE_RQ, len(noise)) + noise,
        pdv_pdu(1, b"\0" * 64, command=True, last=True),
    ]


def _start_connect(port: int, source: str = ATTACKER) -> socket.socket:
    """A non-blocking connection to the node, under way."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((source, 0))
        sock.connect_ex((HOST, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _connected(sock: socket.socket) -> bool:
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0


def open_idle(port: int, count: int, into: Sockets, timeout: float = 15.0) -> int:
    """Open ``count`` connections from ``ATTACKER`` at once (non-blocking) that send nothing;
    those not connected within ``timeout`` s are closed. How many are held."""
    pending = {}
    for _ in range(count):
        sock = _start_connect(port)
        pending[sock.fileno()] = sock
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLOUT)
    deadline = time.monotonic() + timeout
    held = 0
    while pending and time.monotonic() < deadline:
        for fd, _event in poller.poll(100):
            sock = pending.pop(fd)
            poller.unregister(fd)
            if _connected(sock):
                sock.setblocking(True)
                into.add(sock)
                held += 1
            else:
                sock.close()
    for sock in pending.values():
        sock.close()
    return held


class Flood:
    """``rate`` new connections a second from ``ATTACKER``, each sending one of ``payloads``
    (in turn) once connected and then closing, from ``start`` until ``stop``.

    One thread, non-blocking sockets: the rate holds whatever the node does. A connection
    not established within ``timeout`` s is dropped and counted in ``unanswered``."""

    def __init__(
        self, port: int, payloads: Sequence[bytes], rate: float = 100.0, timeout: float = 1.0
    ) -> None:
        self.port = port
        self.payloads = list(payloads)
        self.rate = rate
        self.timeout = timeout
        self.attempts = 0
        self.sent = 0
        self.unanswered = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flood", daemon=True)

    def _run(self) -> None:
        poller = select.poll()
        pending: dict[int, tuple[socket.socket, bytes, float]] = {}
        payloads = itertools.cycle(self.payloads)
        started = time.monotonic()
        due = started
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                while due <= now:
                    sock = _start_connect(self.port)
                    pending[sock.fileno()] = (sock, next(payloads), now + self.timeout)
                    poller.register(sock, select.POLLOUT)
                    self.attempts += 1
                    due += 1.0 / self.rate
                for fd, _event in poller.poll(max(0, int((due - time.monotonic()) * 1000))):
                    sock, payload, _ = pending.pop(fd)
                    poller.unregister(fd)
                    if _connected(sock):
                        with contextlib.suppress(OSError):  # small: fits the send buffer
                            sock.send(payload)
                            self.sent += 1
                    else:
                        self.unanswered += 1
                    sock.close()
                now = time.monotonic()
                for fd in [fd for fd, (_s, _p, limit) in pending.items() if limit < now]:
                    sock, _, _ = pending.pop(fd)
                    poller.unregister(fd)
                    sock.close()
                    self.unanswered += 1
        finally:
            for sock, _, _ in pending.values():
                sock.close()
            self.seconds = time.monotonic() - started

    def start(self) -> Flood:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def first_response_seconds(port: int, timeout: float = 10.0) -> tuple[float, str, int]:
    """A legitimate association from 127.0.0.1 storing one image: seconds from connect to
    its C-STORE-RSP, the image's UID and the status."""
    sop, data = legit_image("PROBE")
    started = time.monotonic()
    with RawAssociation(port, STORAGE, calling="PROBE", source=LEGIT, timeout=timeout) as probe:
        status = probe.store(probe.context_id(CT, ExplicitVRLittleEndian), CT, sop, data)
        elapsed = time.monotonic() - started
        probe.release(timeout)
    return elapsed, sop, status
