"""Fuzz targets: every parser of bytes that come from outside (a peer, a file, a USB stick).

Each target is ``target_<name>(data: bytes) -> None``: it feeds ``data`` to a real parser of
ours and lets through only the failures that parser is documented to raise (``ProtocolError``
and its ``PeerClosedError`` from the upper layer and DIMSE codec, ``RejectedFile`` from the
header reader, ``Part10Error`` from the stored-file framing). Any other exception escaping a
target is a finding, and so is a ``PropertyViolation``: a documented property that did not
hold (the bytes a PDU read allocates, the header the fast scan gives, the accounting of an
import, what importing a zip holds in memory, a DICOMDIR that must not point outside its media).
The importer rejects whatever one file raises rather than stop; under the import targets it
raises instead where the failure is not one of its documented refusals (``_strict_import``).

Where the parser is not ours, the target says so and tolerates what the calling code
tolerates: pydicom's ``dcmread`` raises many exception types for a damaged file, and every
caller of ours wraps it (``header._read``, ``reception._read_header``'s caller); only
``MemoryError`` and ``RecursionError`` stay findings there, because they mean a resource
limit rather than a refusal.

``TARGETS`` maps each name to its function. Targets keep no state between inputs but one
scratch folder per process (``FUZZ_TMPDIR`` chooses where it is made).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import io
import os
import shutil
import struct
import tempfile
import tracemalloc
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from pydicom import dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.pdu import A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import A_ASSOCIATE

from core.dicom.header import ScannedDataSet, header_of, parse_instance, scan_dataset
from core.dicom.part10 import part10
from core.dicom.transcode import Part10Error, parse_meta
from core.errors import ProtocolError, RejectedFile
from core.index import importer
from core.index.importer import Importer, ImportSummary, collect_sources
from core.index.writer import IngestItem, Outcome
from core.net import dimse
from core.store.files import FileStore
from tests.fuzz.corpus import MEDIA

MAX_PDU = 1 << 20  # the max_length the PDU targets read with (1 MiB)
# What reading one PDU may allocate: the bytes that arrived, a quarter more for a buffer that
# grows with them, and a constant for a receive buffer of up to 64 KiB and bookkeeping.
ALLOCATION_SLACK = 128 << 10
SOCKET_CHUNK = 1460  # the fake socket delivers at most this much per recv_into (one segment)
SCAN_SYNTAXES = (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian)
Target = Callable[[bytes], None]


class PropertyViolation(Exception):
    """A documented property of a parser did not hold for an input (a finding)."""


class FakeSocket:
    """Just enough of a blocking socket for ``core.net.dimse``: ``recv_into`` reads from
    ``data``, then ``filler`` zero bytes (a peer that keeps sending, without the input having
    to hold them), at most ``chunk`` bytes a call, like TCP segments; at the end, 0."""

    def __init__(self, data: bytes, chunk: int = SOCKET_CHUNK, filler: int = 0) -> None:
        self.data = memoryview(data)
        self.chunk = chunk
        self.total = len(data) + filler
        self.delivered = 0

    def recv_into(self, buffer: Any, nbytes: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        wanted = min(nbytes or len(view), len(view), self.chunk, self.total - self.delivered)
        if wanted <= 0:
            return 0
        start = self.delivered
        real = self.data[start : start + wanted]
        view[: len(real)] = real
        view[len(real) : wanted] = _ZEROS[: wanted - len(real)]
        self.delivered += wanted
        return wanted


_ZEROS = bytes(SOCKET_CHUNK)
FILLER_UNIT = 64  # pdu_alloc: the first two bytes of an input give the filler in these units


def _tolerated_from_pydicom(exc: Exception) -> bool:
    """Whether ``dcmread`` raising ``exc`` is a refusal (expected) rather than a finding."""
    return not isinstance(exc, MemoryError | RecursionError)


# -- the upper layer and DIMSE (core/net/dimse.py) ------------------------------------------------
def target_pdu_read(data: bytes) -> None:
    """``read_pdu`` (and its ``read_pdu_header``) over a stream of PDUs, to its end."""
    sock = cast(Any, FakeSocket(data))  # dimse's parameters say socket.socket
    try:
        while True:
            pdu_type, payload = dimse.read_pdu(sock, MAX_PDU)
            if pdu_type not in dimse.PDU_TYPES or len(payload) > MAX_PDU:
                raise PropertyViolation(f"read_pdu returned type {pdu_type}, {len(payload)} bytes")
    except ProtocolError:  # PeerClosedError included: the stream ended
        return


def target_pdu_alloc(data: bytes) -> None:
    """Reading a PDU never allocates more than the bytes that arrived, plus a constant.

    PS3.8 lets a peer announce 4 GiB; house style: "never allocate what a peer announces".
    Measured with tracemalloc around each ``read_pdu`` of the stream (limit ``MAX_PDU``):
    the peak may exceed what arrived by a quarter (a growing buffer) and ``ALLOCATION_SLACK``.
    The first two bytes (big-endian) times ``FILLER_UNIT`` are zero bytes that arrive after
    the rest of the input (up to 4 MiB), so that short inputs can model long transfers.
    """
    filler = int.from_bytes(data[:2], "big") * FILLER_UNIT
    sock = FakeSocket(data[2:], filler=filler)
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        while True:
            tracemalloc.reset_peak()
            baseline = tracemalloc.get_traced_memory()[0]
            arrived_before = sock.delivered
            finished = False
            try:
                _pdu_type, payload = dimse.read_pdu(cast(Any, sock), MAX_PDU)
                del payload
            except ProtocolError:
                finished = True
            peak = tracemalloc.get_traced_memory()[1] - baseline
            arrived = sock.delivered - arrived_before
            if peak > arrived + arrived // 4 + ALLOCATION_SLACK:
                raise PropertyViolation(
                    f"reading one PDU allocated {peak} bytes when {arrived} bytes arrived"
                )
            if finished:
                return
    finally:
        if started:
            tracemalloc.stop()


def target_pdvs(data: bytes) -> None:
    """``iter_pdvs`` over a P-DATA-TF payload; every PDV must lie inside the payload."""
    total = 0
    try:
        for pdv in dimse.iter_pdvs(data):
            total += len(pdv.data) + 6
    except ProtocolError:
        return
    if total != len(data):
        raise PropertyViolation(f"PDVs cover {total} of {len(data)} payload bytes")


def target_command_elements(data: bytes) -> None:
    """``decode_elements`` of a command set."""
    try:
        dimse.decode_elements(data)
    except ProtocolError:
        return


def target_command_message(data: bytes) -> None:
    """``decode_message`` of a command set; a decoded command must encode again."""
    try:
        command, _with_dataset = dimse.decode_message(data)
    except ProtocolError:
        return
    command.encode()


# -- the association request (core/node/doorman.py, another engineer's) ---------------------------
@functools.cache
def _parse_request() -> Callable[[bytes], A_ASSOCIATE] | None:
    """``core.node.doorman.parse_request`` once it exists, else None (pynetdicom fallback)."""
    try:
        from core.node.doorman import parse_request  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as exc:
        if exc.name != "core.node.doorman":
            raise
        return None
    return cast(Callable[[bytes], A_ASSOCIATE], parse_request)


def associate_parser() -> str:
    """Which parser ``target_associate_rq`` exercises (for the runner's report)."""
    if _parse_request() is None:
        return "pynetdicom A_ASSOCIATE_RQ.decode (fallback: core.node.doorman.parse_request absent)"
    return "core.node.doorman.parse_request"


def target_associate_rq(data: bytes) -> None:
    """The A-ASSOCIATE-RQ parse: ``parse_request`` raises only ``ProtocolError``."""
    parse = _parse_request()
    if parse is None:  # the fallback is not ours: any exception is its refusal
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pdu = A_ASSOCIATE_RQ()
                pdu.decode(data)
                pdu.to_primitive()
        except Exception:
            return
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            request = parse(data)
    except ProtocolError:
        return
    if not isinstance(request, A_ASSOCIATE):
        raise PropertyViolation(f"parse_request returned {type(request).__name__}")


# -- headers (core/dicom/header.py, core/dicom/transcode.py) --------------------------------------
def _scan_input(data: bytes) -> tuple[str, bytes]:
    """The first byte chooses one of the three uncompressed syntaxes; the rest is a data set."""
    return str(SCAN_SYNTAXES[data[0] % 3]), data[1:]


def _scanned(data: bytes) -> tuple[str, bytes, ScannedDataSet] | None:
    """(syntax, data set, what the scan made of it); None where it refused or deferred."""
    if not data:
        return None
    syntax, dataset = _scan_input(data)
    try:
        scanned = scan_dataset(dataset, syntax)
    except RejectedFile:
        return None
    return None if scanned is None else (syntax, dataset, scanned)


def target_scan_dataset(data: bytes) -> None:
    """``scan_dataset`` (the check before the C-STORE answer) and the header it gives."""
    found = _scanned(data)
    if found is not None:
        found[2].header()


def target_scan_vs_reader(data: bytes) -> None:
    """Where the fast scan accepts a data set and pydicom can read it, both give one header.

    ``scan_dataset`` promises "the same header for every data set this one accepts" as
    ``header_of`` on ``dcmread``'s result. The scan walks the whole data set, so what it
    accepts has sound lengths, delimiters and order to its end.
    """
    found = _scanned(data)
    if found is None:
        return
    syntax, dataset, scanned = found
    fast = scanned.header()
    framed = part10(dataset, fast.sop_class_uid, fast.sop_uid, syntax, "FUZZ")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(framed), stop_before_pixels=True)
    except Exception as exc:
        if _tolerated_from_pydicom(exc):
            return
        raise
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = header_of(ds, syntax)
    except RejectedFile as exc:
        raise PropertyViolation(f"scan accepted, header_of rejected: {exc.reason}") from exc
    if full != fast:
        differences = [
            f"{name}: scan {getattr(fast, name)!r} reader {getattr(full, name)!r}"
            for name in fast.__slots__
            if getattr(fast, name) != getattr(full, name)
        ]
        raise PropertyViolation("scan and reader differ: " + "; ".join(differences))


def target_parse_instance(data: bytes) -> None:
    """``parse_instance`` of a file's bytes; what it rewrites for storing is accepted too."""
    try:
        parsed = parse_instance(data)
    except RejectedFile:
        return
    if parsed.rewritten is None:
        return
    try:
        again = parse_instance(parsed.rewritten)
    except RejectedFile as exc:
        raise PropertyViolation(
            f"the bytes stored for an accepted file are rejected: {exc.reason}"
        ) from exc
    if again.header.sop_uid != parsed.header.sop_uid:
        raise PropertyViolation("the bytes stored for an accepted file name another instance")


def target_header_of(data: bytes) -> None:
    """``header_of`` over ``dcmread(BytesIO(data), stop_before_pixels=True)``, as the node
    reads a data set the fast scan left to pydicom."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(data), stop_before_pixels=True)
    except InvalidDicomError:
        return
    except Exception as exc:  # pydicom's own refusals (see the module docstring)
        if _tolerated_from_pydicom(exc):
            return
        raise
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header_of(ds, str(ExplicitVRLittleEndian))
    except RejectedFile:
        return


def target_part10_meta(data: bytes) -> None:
    """``parse_meta``: where a stored file's data set starts (read before each send)."""
    try:
        layout = parse_meta(data)
    except Part10Error:
        return
    if not 132 <= layout.dataset_offset <= len(data):
        raise PropertyViolation(f"data set offset {layout.dataset_offset} of {len(data)} bytes")


# -- files, zips and DICOMDIR media as imported (core/index/importer.py) --------------------------
@functools.cache
def _workdir() -> Path:
    """One scratch folder per process, removed at exit."""
    parent = os.environ.get("FUZZ_TMPDIR") or None
    if parent:
        os.makedirs(parent, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="fuzz-", dir=parent))
    atexit.register(shutil.rmtree, path, True)
    return path


class _Store(FileStore):
    """The file store without syncs (the parsers are under test, not the disk)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, fsync=False)


class _Writer:
    duplicate_policy = "replace"  # never asks the database which UIDs it already has

    def __init__(self, root: Path) -> None:
        self.store = _Store(root)


class _Intake:
    """``Intake.write`` without a database: every item is stored."""

    def __init__(self, root: Path) -> None:
        self.writer = _Writer(root)

    def write(self, items: Sequence[IngestItem]) -> list[Outcome]:
        store = self.writer.store
        for item in items:  # nothing keeps what is "stored"
            if item.incoming is not None:
                item.incoming.unlink(missing_ok=True)
            store.release(item.size)
        return [Outcome.STORED for _ in items]


@functools.cache
def _importer() -> Importer:
    return Importer(cast(Any, _Intake(_workdir())), cast(Any, None))


def _raise(step: str, display: str, exc: Exception) -> None:
    raise exc


@contextlib.contextmanager
def _strict_import(**limits: int) -> Iterator[None]:
    """While the block runs, the importer raises what it would otherwise turn into a
    rejection and log as unexpected (a finding: not a documented refusal), and ``limits``
    replace its module constants of the same names."""
    saved = {name: getattr(importer, name) for name in limits}
    unexpected = importer._unexpected
    importer._unexpected = _raise
    for name, value in limits.items():
        setattr(importer, name, value)
    try:
        yield
    finally:
        importer._unexpected = unexpected
        for name, value in saved.items():
            setattr(importer, name, value)


def _import(path: Path) -> ImportSummary:
    """``Importer.run`` on ``path``: each source imported, a duplicate, or rejected, and
    every rejection with a reason."""
    with warnings.catch_warnings(), _strict_import():
        warnings.simplefilter("ignore")
        summary = _importer().run([path])
    if not all(reason for _, reason in summary.rejected):
        raise PropertyViolation(f"a rejection without a reason: {summary.rejected}")
    accounted = summary.imported + summary.duplicates + len(summary.rejected)
    if accounted != summary.total or summary.stopped or summary.cancelled:
        raise PropertyViolation(
            f"{summary.total} sources but {summary.imported} imported, {summary.duplicates}"
            f" duplicates, {len(summary.rejected)} rejected"
        )
    return summary


def _dropped(name: str, data: bytes) -> Path:
    folder = _workdir() / "dropped"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def target_import_file(data: bytes) -> None:
    """A file dropped on the import (no suffix, as on media: a zip is recognised by magic)."""
    _import(_dropped("IM000001", data))


def target_import_zip(data: bytes) -> None:
    """A zip archive dropped on the import: its members are read and parsed."""
    _import(_dropped("archive.zip", data))


# The import_zip_alloc target lowers the importer's limits (a member may expand to 64 KiB, an
# archive to 256 KiB in all), so that short inputs can be bombs of every kind: honest or
# lying sizes, stored, deflate, bzip2 or LZMA. What one import may hold at its peak: the
# archive's listing (ZipInfo objects, a few hundred bytes for each 46-byte directory entry),
# and per member its bytes twice (chunks, joined) and pydicom's parse of them; bounded by
# ZIP_ALLOC_PER_INPUT_BYTE times the input, ZIP_ALLOC_PER_MEMBER_BYTE times the per-file
# limit, and a constant (read buffers of READ_CHUNK, pydicom's dictionaries on first use).
ZIP_ALLOC_LIMITS = {
    "MAX_FILE_BYTES": 64 << 10,
    "ZIP_MAX_TOTAL_BYTES": 256 << 10,
    "ZIP_RATIO_FROM_BYTES": 16 << 10,
}
ZIP_ALLOC_PER_INPUT_BYTE = 32
ZIP_ALLOC_PER_MEMBER_BYTE = 16
ZIP_ALLOC_SLACK = 4 << 20


def target_import_zip_alloc(data: bytes) -> None:
    """Importing a zip never holds more than its limits allow, whatever its headers say.

    Measured with tracemalloc around ``Importer.run`` under ``ZIP_ALLOC_LIMITS``; a zip
    bomb (a member whose compressed bytes expand a millionfold, as bzip2 of zeros does) must
    be refused by the announced sizes or stopped at them, never expanded first."""
    path = _dropped("archive.zip", data)
    bound = (
        ZIP_ALLOC_PER_INPUT_BYTE * len(data)
        + ZIP_ALLOC_PER_MEMBER_BYTE * ZIP_ALLOC_LIMITS["MAX_FILE_BYTES"]
        + ZIP_ALLOC_SLACK
    )
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        with warnings.catch_warnings(), _strict_import(**ZIP_ALLOC_LIMITS):
            warnings.simplefilter("ignore")
            _importer().run([path])
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        if started:
            tracemalloc.stop()
    if peak > bound:
        raise PropertyViolation(f"importing a {len(data)}-byte zip held {peak} bytes at its peak")


@functools.cache
def _media() -> Path:
    """A copy of pydicom's bundled media (the files its DICOMDIR names), once per process."""
    media = _workdir() / "media"
    shutil.copytree(MEDIA, media, ignore=shutil.ignore_patterns("DICOMDIR"))
    return media


def target_import_dicomdir(data: bytes) -> None:
    """A DICOMDIR given to the import: the files it names, never any outside the media."""
    media = _media()
    dicomdir = media / "DICOMDIR"
    dicomdir.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sources, _problems = collect_sources([dicomdir])
    root = media.resolve()
    for source in sources:
        if not source.path.resolve().is_relative_to(root):
            raise PropertyViolation(f"the DICOMDIR named {source.path}, outside its media")


# -- C-FIND answers our client reads (core.net.identifier) ------------------------------------
ANSWER_KEYS = {
    "PatientName": "text",
    "PatientID": "text",
    "StudyDate": "text",
    "StudyDescription": "text",
    "ModalitiesInStudy": "text",
    "NumberOfStudyRelatedInstances": "number",
}


def target_find_answer(data: bytes) -> None:
    """``AnswerReader.read`` of a peer's identifier bytes, in each transfer syntax: an answer
    (a dict) or None for one it cannot read, never an exception."""
    from core.net.findscu import Syntax
    from core.net.identifier import AnswerReader

    syntax = Syntax.of(SCAN_SYNTAXES[data[0] % len(SCAN_SYNTAXES)] if data else SCAN_SYNTAXES[0])
    reader = AnswerReader(ANSWER_KEYS, syntax, "ISO_IR 100" if len(data) % 2 else "")  # type: ignore[arg-type]
    answer = reader.read(data[1:])
    if answer is not None and not isinstance(answer, dict):
        raise PropertyViolation(f"read gave {type(answer).__name__}")


# -- the answer to our association request (core.net.acse) ------------------------------------
FUZZ_CONTEXTS = [
    ("1.2.840.10008.5.1.4.1.2.2.1", ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"]),
    ("1.2.840.10008.5.1.4.1.1.2", ["1.2.840.10008.1.2.1"]),
    ("1.2.840.10008.1.1", ["1.2.840.10008.1.2"]),
]


def target_associate_answer(data: bytes) -> None:
    """A peer's A-ASSOCIATE-AC or -RJ (a whole PDU; its payload decoded by what its type
    byte says): what was accepted, or ProtocolError, never another exception; contexts we
    did not propose are never accepted; where pynetdicom reads the same AC, the same
    contexts and maximum length."""
    from pynetdicom.pdu import A_ASSOCIATE_AC

    from core.net.acse import Negotiated, Rejection, decode_associate_ac, decode_associate_rj

    payload = data[6:]
    try:
        if data[:1] == b"\x03":
            if not isinstance(decode_associate_rj(payload), Rejection):
                raise PropertyViolation("decode_associate_rj gave no Rejection")
            return
        negotiated = decode_associate_ac(payload, FUZZ_CONTEXTS)
    except ProtocolError:
        return
    if not isinstance(negotiated, Negotiated):
        raise PropertyViolation(f"decode_associate_ac gave {type(negotiated).__name__}")
    proposed = {abstract for abstract, _ in FUZZ_CONTEXTS}
    if {abstract for abstract, _ in negotiated.contexts} - proposed:
        raise PropertyViolation("a context we did not propose was accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pdu = A_ASSOCIATE_AC()
            pdu.decode(struct.pack(">BxI", 2, len(payload)) + payload)
            primitive = pdu.to_primitive()
            theirs: dict[tuple[str, str], int] = {}
            wanted = {2 * i + 1: abstract for i, (abstract, _) in enumerate(FUZZ_CONTEXTS)}
            for result in primitive.presentation_context_definition_results_list:
                context_id = int(result.context_id or 0)
                if result.result == 0 and context_id in wanted and result.transfer_syntax:
                    key = (wanted[context_id], str(result.transfer_syntax[0]))
                    theirs.setdefault(key, context_id)
            their_max = int(primitive.maximum_length_received or 0)
    except Exception:  # noqa: BLE001 - pynetdicom refuses what we read: no comparison
        return
    if (theirs, their_max) != (negotiated.contexts, negotiated.max_pdu):
        raise PropertyViolation(
            f"pynetdicom reads {theirs}, {their_max}; we read"
            f" {negotiated.contexts}, {negotiated.max_pdu}"
        )


# -- a stored file's check before an export copies it (core.export.exporter) ------------------
def target_export_walk(data: bytes) -> None:
    """The element-header walk that vouches for a file exported unchanged: None, an intact
    file, or MalformedFileError; a file it vouches for, the full check accepts too."""
    from core.export.exporter import MalformedFileError, _checked_dataset, _intact

    try:
        intact = _intact(data)
    except MalformedFileError:
        return
    if intact is None:
        return
    try:
        _checked_dataset(data)
    except MalformedFileError as exc:
        message = f"the walk vouched for a file the full check refuses: {exc}"
        raise PropertyViolation(message) from exc


TARGETS: dict[str, Target] = {
    "pdu_read": target_pdu_read,
    "pdu_alloc": target_pdu_alloc,
    "pdvs": target_pdvs,
    "command_elements": target_command_elements,
    "command_message": target_command_message,
    "associate_rq": target_associate_rq,
    "scan_dataset": target_scan_dataset,
    "scan_vs_reader": target_scan_vs_reader,
    "parse_instance": target_parse_instance,
    "header_of": target_header_of,
    "part10_meta": target_part10_meta,
    "import_file": target_import_file,
    "import_zip": target_import_zip,
    "import_zip_alloc": target_import_zip_alloc,
    "import_dicomdir": target_import_dicomdir,
    "find_answer": target_find_answer,
    "export_walk": target_export_walk,
    "associate_answer": target_associate_answer,
}
