"""Sending stored instances to a remote node over one association (C-STORE SCU).

``plan_associations`` splits a list of items into groups that each fit into one association
(at most 128 presentation contexts, PS3.8 9.3.2.2). ``StoreAssociation`` opens one
association for a group and sends its items one by one; each C-STORE answers with a
``StoreResult``. When the peer refused an item's compressed transfer syntax but accepted
uncompressed Little Endian for its SOP class, the item is decompressed and sent that way.

Proposed presentation contexts, per SOP class:
- one context proposing Explicit and Implicit VR Little Endian (every SOP class has it:
  uncompressed items use it, compressed items fall back to it);
- one context per other transfer syntax the items are stored in (JPEG, JPEG 2000, RLE,
  deflated, big endian, ...), proposing exactly that syntax.

The association runs on one blocking socket, without pynetdicom's per-association threads
and queues (which cost several times the peer's own time per image): the A-ASSOCIATE
PDUs are built and read with pynetdicom's PDU classes, and each C-STORE is written with
the ``core.net.dimse`` codec as P-DATA-TF PDUs straight from the stored file's data set
bytes (never decoded unless it must be converted), then its C-STORE-RSP is read back.
The socket has TCP_NODELAY (no delayed-ACK wait per message) and a send buffer that
takes a whole typical image at once.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RJ, A_ASSOCIATE_RQ
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import PresentationContext

from core.dicom.part10 import IMPLEMENTATION_VERSION
from core.dicom.transcode import (
    LITTLE_ENDIAN_SYNTAXES,
    Part10Error,
    TranscodeError,
    read_dataset,
    to_little_endian,
)
from core.errors import AssociationRejected, NetworkError, PeerClosedError, ProtocolError
from core.net.association import (
    RemoteAE,
    explain_failed_request,
    explain_rejection,
    open_connection,
)
from core.net.dimse import (
    A_ABORT,
    A_RELEASE_RP,
    A_RELEASE_RQ,
    ABORT_SOURCE_PROVIDER,
    ABORT_SOURCE_USER,
    P_DATA_TF,
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_MEDIUM,
    RELEASE_RP,
    RELEASE_RQ,
    CStoreRQ,
    CStoreRSP,
    decode_command,
    encode_abort,
    encode_pdu,
    iter_pdvs,
    pdata_pdus,
    read_pdu,
)
from core.net.dimse import A_ASSOCIATE_AC as A_ASSOCIATE_AC_TYPE
from core.net.dimse import A_ASSOCIATE_RJ as A_ASSOCIATE_RJ_TYPE
from core.net.status import Status
from core.net.tls import explain as explain_tls
from core.net.tls import plain_on_tls_port, speaks_tls

log = logging.getLogger(__name__)

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"  # DICOM application context (PS3.7 A.2.1)
OUR_MAX_PDU = 1 << 16  # what we receive: only small C-STORE responses come back
MAX_RESPONSE_PDU = 1 << 22  # refuse anything larger (a peer that ignores our maximum)
SEND_BATCH = 1 << 18  # PDUs are joined into writes of about this size
SEND_BUFFER = 1 << 22  # socket send buffer: holds a whole typical image
ABORT_SEND_TIMEOUT = 0.5  # an A-ABORT is sent on a best-effort basis
MAX_CONTEXTS = 128  # PS3.8 9.3.2.2: presentation context IDs are odd numbers 1..255
UNCOMPRESSED = "uncompressed"  # the context key of a SOP class's Little Endian context
_REJECTED_PERMANENT = 0x01  # A-ASSOCIATE-RJ Result (PS3.8 9.3.4); 0x02 is transient

# Statuses (PS3.7 Annex C, PS3.4 B.2.3). The failures below are also what we report for
# an item we could not offer to the peer at all.
WARNING_STATUSES = frozenset({0x0001, 0x0107, 0x0116, 0xB000, 0xB006, 0xB007})
PENDING_STATUSES = frozenset({0xFF00, 0xFF01})  # never final; C-STORE should not use them


DatasetBytes = bytes | Iterator[bytes]


@dataclass(frozen=True)
class StoreItem:
    """One stored instance to send: its UIDs, stored transfer syntax and Part 10 file."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    path: Path


@dataclass(frozen=True)
class StoreResult:
    """The peer's answer to one C-STORE (or ours, when the item could not be offered).

    ``comment`` is the peer's Error Comment (empty when it sent none), or our reason when
    the item could not be offered.
    """

    status: int
    comment: str
    transcoded: bool

    @property
    def ok(self) -> bool:
        """Stored: success, or success with a warning (coercion, elements discarded, ...)."""
        return self.status == Status.SUCCESS or self.status in WARNING_STATUSES


def context_keys(item: StoreItem) -> list[tuple[str, str]]:
    """The presentation contexts an item needs: (SOP class, syntax or UNCOMPRESSED)."""
    keys = [(item.sop_class_uid, UNCOMPRESSED)]
    if item.transfer_syntax not in LITTLE_ENDIAN_SYNTAXES:
        keys.append((item.sop_class_uid, item.transfer_syntax))
    return keys


def plan_associations(items: Sequence[StoreItem]) -> list[list[StoreItem]]:
    """Group items so that each group needs at most 128 presentation contexts.

    SOP classes are packed first-fit, in the order they first appear, so a SOP class is
    split over groups only when it alone needs more than 128 contexts (then each part
    keeps the uncompressed fallback). Items keep their order within a group.
    """
    per_class: dict[str, dict[tuple[str, str], None]] = {}
    for item in items:
        keys = per_class.setdefault(item.sop_class_uid, {})
        for key in context_keys(item):
            keys.setdefault(key, None)
    sizes: list[int] = []
    home: dict[tuple[str, str], int] = {}  # context key -> its group (first one for fallbacks)

    def place(keys: list[tuple[str, str]]) -> None:
        index = next((i for i, size in enumerate(sizes) if size + len(keys) <= MAX_CONTEXTS), -1)
        if index < 0:
            index = len(sizes)
            sizes.append(0)
        sizes[index] += len(keys)
        for key in keys:
            home.setdefault(key, index)

    for sop_class, keys in per_class.items():
        if len(keys) <= MAX_CONTEXTS:
            place(list(keys))
            continue
        fallback = (sop_class, UNCOMPRESSED)
        others = [key for key in keys if key != fallback]
        for start in range(0, len(others), MAX_CONTEXTS - 1):
            place([fallback, *others[start : start + MAX_CONTEXTS - 1]])
    groups: list[list[StoreItem]] = [[] for _ in sizes]
    for item in items:
        groups[home[context_keys(item)[-1]]].append(item)
    return groups


def requested_contexts(items: Sequence[StoreItem]) -> list[tuple[str, list[str]]]:
    """(abstract syntax, transfer syntaxes) for each context the items need, in order."""
    seen: dict[tuple[str, str], None] = {}
    for item in items:
        for key in context_keys(item):
            seen.setdefault(key, None)
    contexts: list[tuple[str, list[str]]] = []
    for sop_class, syntax in seen:
        if syntax == UNCOMPRESSED:
            contexts.append((sop_class, [str(ExplicitVRLittleEndian), str(ImplicitVRLittleEndian)]))
        else:
            contexts.append((sop_class, [syntax]))
    if len(contexts) > MAX_CONTEXTS:
        raise ValueError(
            f"{len(contexts)} presentation contexts do not fit into one association"
            f" (at most {MAX_CONTEXTS}); split the items with plan_associations()"
        )
    return contexts


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the peer accepted: context IDs by (SOP class, transfer syntax), its max PDU."""

    contexts: dict[tuple[str, str], int]
    max_pdu: int  # 0: no limit


def encode_associate_rq(
    calling_ae: str, called_ae: str, contexts: Sequence[tuple[str, list[str]]]
) -> bytes:
    """An A-ASSOCIATE-RQ PDU (PS3.8 9.3.2); context IDs are 1, 3, 5, ... in order."""
    primitive = A_ASSOCIATE()
    primitive.application_context_name = APPLICATION_CONTEXT
    primitive.calling_ae_title = calling_ae
    primitive.called_ae_title = called_ae
    for index, (abstract, syntaxes) in enumerate(contexts):
        context = PresentationContext()
        context.context_id = 2 * index + 1
        context.abstract_syntax = abstract
        context.transfer_syntax = list[str | bytes | UID](syntaxes)
        primitive.presentation_context_definition_list.append(context)
    max_length = MaximumLengthNotification()
    max_length.maximum_length_received = OUR_MAX_PDU
    class_uid = ImplementationClassUIDNotification()
    class_uid.implementation_class_uid = PYDICOM_IMPLEMENTATION_UID
    version = ImplementationVersionNameNotification()
    version.implementation_version_name = IMPLEMENTATION_VERSION
    primitive.user_information = [max_length, class_uid, version]
    pdu = A_ASSOCIATE_RQ()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())


def decode_associate_ac(pdu_bytes: bytes, contexts: Sequence[tuple[str, list[str]]]) -> Negotiated:
    """The accepted contexts (matched to what we proposed by ID) and the peer's max PDU."""
    pdu = A_ASSOCIATE_AC()
    pdu.decode(pdu_bytes)
    primitive = pdu.to_primitive()
    proposed = {2 * index + 1: abstract for index, (abstract, _) in enumerate(contexts)}
    accepted: dict[tuple[str, str], int] = {}
    for result in primitive.presentation_context_definition_results_list:
        context_id = int(result.context_id or 0)
        if result.result == 0 and context_id in proposed and result.transfer_syntax:
            key = (proposed[context_id], str(result.transfer_syntax[0]))
            accepted.setdefault(key, context_id)
    return Negotiated(accepted, int(primitive.maximum_length_received or 0))


# A-ABORT reasons from the service provider (PS3.8 9.3.8)
PROVIDER_ABORT_REASONS = {
    0: "reason not specified",
    1: "unrecognized PDU",
    2: "unexpected PDU",
    4: "unrecognized PDU parameter",
    5: "unexpected PDU parameter",
    6: "invalid PDU parameter value",
}


def explain_abort(remote: RemoteAE, payload: bytes | bytearray) -> str:
    """The message for an A-ABORT received from the peer (its source and reason)."""
    source = payload[2] if len(payload) > 2 else 0
    reason = payload[3] if len(payload) > 3 else 0
    if source == ABORT_SOURCE_PROVIDER:
        text = PROVIDER_ABORT_REASONS.get(reason, f"reason {reason}")
        return f"{remote} aborted the association: its DICOM protocol layer reported {text}"
    return f"{remote} aborted the association"


class StoreAssociation:
    """One established association for sending C-STORE requests, on a blocking socket.

    Negotiation uses pynetdicom's PDU classes; every C-STORE is written directly as
    P-DATA-TF PDUs (command set, then the data set bytes as stored, fragmented to the
    peer's maximum PDU length) and its response read back, without pynetdicom's threads.
    ``store`` and ``release`` run on one thread; ``abort`` may come from any thread.
    """

    def __init__(
        self, remote: RemoteAE, sock: socket.socket, negotiated: Negotiated, timeout: float
    ) -> None:
        self.remote = remote
        self._sock = sock
        self._contexts = negotiated.contexts
        self.max_pdu = negotiated.max_pdu
        self._timeout = timeout
        self._message_id = 0
        self._aborted = False
        self._closed = False
        self._send_lock = threading.Lock()  # one writer at a time: store() or abort()
        self._busy = threading.Lock()  # held while store() or release() uses the socket

    # -- opening ---------------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        remote: RemoteAE,
        calling_ae: str,
        items: Sequence[StoreItem],
        *,
        timeout: float,
    ) -> StoreAssociation:
        """Negotiate an association for ``items``; NetworkError says why when it fails."""
        if not items:
            raise ValueError("an association for sending needs at least one item")
        contexts = requested_contexts(items)
        request = encode_associate_rq(calling_ae, remote.ae_title, contexts)
        sock = _connect(remote, timeout)
        try:
            sock.sendall(request)
            pdu_type, payload = read_pdu(sock, MAX_RESPONSE_PDU)
        except TimeoutError as exc:
            sock.close()
            raise NetworkError(
                f"{remote} did not answer the association request within {timeout:g} s"
            ) from exc
        except PeerClosedError as exc:
            sock.close()
            raise NetworkError(
                explain_failed_request(remote)
                or f"no association with {remote}: the peer closed the connection without"
                " answering the association request"
            ) from exc
        except ProtocolError as exc:
            _close_with_abort(sock, ABORT_SOURCE_PROVIDER)
            if remote.tls is None and speaks_tls(remote.host, remote.port):
                raise NetworkError(plain_on_tls_port(str(remote))) from exc
            raise ProtocolError(
                f"no association with {remote}: its answer is not DICOM ({exc});"
                " is this the node's DICOM port?"
            ) from exc
        except ssl.SSLError as exc:  # TLS 1.3: a refused client certificate shows only now
            sock.close()
            message = "" if isinstance(exc, ssl.SSLEOFError) else explain_tls(exc, str(remote))
            raise NetworkError(message or explain_failed_request(remote)) from exc
        except OSError as exc:
            sock.close()
            raise NetworkError(
                explain_failed_request(remote) or f"no association with {remote}: {exc}"
            ) from exc
        pdu_bytes = encode_pdu(pdu_type, bytes(payload))
        if pdu_type == A_ASSOCIATE_AC_TYPE:
            try:
                negotiated = decode_associate_ac(pdu_bytes, contexts)
            except Exception as exc:  # pynetdicom's decoder raises assorted errors
                _close_with_abort(sock)
                raise ProtocolError(f"{remote} sent an unreadable A-ASSOCIATE-AC: {exc}") from exc
            return cls(remote, sock, negotiated, timeout)
        sock.close()
        if pdu_type == A_ASSOCIATE_RJ_TYPE:
            rejection = A_ASSOCIATE_RJ()
            rejection.decode(pdu_bytes)
            primitive = rejection.to_primitive()
            raise AssociationRejected(
                explain_rejection(remote, primitive, calling_ae),
                permanent=primitive.result == _REJECTED_PERMANENT,
            )
        if pdu_type == A_ABORT:
            raise NetworkError(f"{remote} aborted the association request")
        raise ProtocolError(
            f"{remote} answered the association request with PDU type 0x{pdu_type:02X}"
        )

    # -- storing ---------------------------------------------------------------------------------
    def store(self, item: StoreItem, priority: int = PRIORITY_MEDIUM) -> StoreResult:
        """Send one item; the peer's status, or ours when it could not be offered.

        Raises NetworkError when the association is lost, aborted (by the peer or by
        ``abort``), released by the peer, or the peer does not answer within the timeout.
        """
        if priority not in (PRIORITY_MEDIUM, PRIORITY_HIGH, PRIORITY_LOW):
            raise ValueError(f"priority must be 0 (medium), 1 (high) or 2 (low), not {priority}")
        with self._busy:
            self._check_open()
            try:
                syntax, dataset = read_dataset(item.path)
            except (OSError, Part10Error) as exc:
                return StoreResult(
                    Status.PROCESSING_FAILURE, f"cannot read {item.path}: {exc}", False
                )
            chosen = self._choose_context(item.sop_class_uid, syntax)
            if chosen is None:
                return StoreResult(
                    Status.SOP_CLASS_NOT_SUPPORTED, self._refusal(item, syntax), False
                )
            context_id, send_syntax = chosen
            transcoded = send_syntax != syntax
            if transcoded:
                try:
                    dataset = to_little_endian(item.path, send_syntax)
                except TranscodeError as exc:
                    return StoreResult(Status.PROCESSING_FAILURE, str(exc), False)
            self._message_id = self._message_id % 0xFFFF + 1
            command = CStoreRQ(
                self._message_id, item.sop_class_uid, item.sop_instance_uid, priority
            ).encode()
            try:
                self._send_message(context_id, command, dataset)
                response = self._read_response(self._message_id)
            except (OSError, NetworkError) as exc:
                raise self._failed(exc, "C-STORE") from exc
            except BaseException:  # the stream is in an unknown state: never reuse it
                _close_with_abort(self._sock)
                self._closed = True
                raise
            return StoreResult(response.status, response.error_comment, transcoded)

    def _choose_context(self, sop_class: str, syntax: str) -> tuple[int, str] | None:
        if (sop_class, syntax) in self._contexts:
            return self._contexts[(sop_class, syntax)], syntax
        for fallback in LITTLE_ENDIAN_SYNTAXES:
            if (sop_class, fallback) in self._contexts:
                return self._contexts[(sop_class, fallback)], fallback
        return None

    def _refusal(self, item: StoreItem, syntax: str) -> str:
        name = UID(item.sop_class_uid).name
        if any(key[0] == item.sop_class_uid for key in self._contexts):
            return (
                f"{self.remote} accepts {name} only in transfer syntaxes we cannot convert"
                f" {UID(syntax).name} to"
            )
        return f"{self.remote} does not accept {name} ({item.sop_class_uid})"

    def _send_message(self, context_id: int, command: bytes, dataset: DatasetBytes) -> None:
        batch: list[bytes] = []
        size = 0
        with self._send_lock:
            self._check_open()
            for pdu in pdata_pdus(context_id, command, dataset, self.max_pdu):
                batch.append(pdu)
                size += len(pdu)
                if size >= SEND_BATCH:
                    self._sock.sendall(b"".join(batch))
                    batch, size = [], 0
            if batch:
                self._sock.sendall(b"".join(batch))

    def _read_response(self, message_id: int) -> CStoreRSP:
        command = bytearray()
        while True:
            pdu_type, payload = read_pdu(self._sock, MAX_RESPONSE_PDU)
            if pdu_type == P_DATA_TF:
                for pdv in iter_pdvs(payload):
                    if not pdv.is_command:
                        continue  # a C-STORE-RSP has no data set; nothing to keep
                    command += pdv.data
                    if pdv.is_last:
                        response = decode_command(command)
                        if not isinstance(response, CStoreRSP):
                            raise ProtocolError(
                                f"{self.remote} answered a C-STORE with {type(response).__name__}"
                            )
                        if response.status in PENDING_STATUSES:
                            command = bytearray()  # not final: wait for the real answer
                            continue
                        if response.message_id_responded != message_id:
                            raise ProtocolError(
                                f"{self.remote} answered message {message_id} with a response"
                                f" to message {response.message_id_responded}"
                            )
                        return response
            elif pdu_type == A_ABORT:
                self._close()
                raise NetworkError(explain_abort(self.remote, payload))
            elif pdu_type == A_RELEASE_RQ:
                with contextlib.suppress(OSError):
                    self._sock.sendall(RELEASE_RP)
                self._close()
                raise NetworkError(
                    f"{self.remote} released the association while a C-STORE was in progress"
                )
            else:
                raise ProtocolError(
                    f"{self.remote} sent an unexpected PDU (type 0x{pdu_type:02X})"
                    " while we waited for a C-STORE response"
                )

    def _failed(self, exc: OSError | NetworkError, what: str) -> NetworkError:
        """Turn a failure during an exchange into the NetworkError to raise; closes."""
        if self._aborted:
            self._close()
            return NetworkError(f"the association with {self.remote} was aborted on request")
        if isinstance(exc, TimeoutError):
            _close_with_abort(self._sock)
            self._closed = True
            return NetworkError(
                f"{self.remote} did not take or answer the {what} within {self._timeout:g} s;"
                " the association was aborted"
            )
        if isinstance(exc, ProtocolError) and not isinstance(exc, PeerClosedError):
            _close_with_abort(self._sock, ABORT_SOURCE_PROVIDER)
            self._closed = True
            return exc
        self._close()
        if isinstance(exc, PeerClosedError):
            return NetworkError(
                f"the association with {self.remote} was lost: the peer closed the connection"
            )
        if isinstance(exc, NetworkError):
            return exc
        return NetworkError(f"the association with {self.remote} was lost: {exc}")

    def _check_open(self) -> None:
        if self._aborted:
            raise NetworkError(f"the association with {self.remote} was aborted on request")
        if self._closed:
            raise NetworkError(f"the association with {self.remote} is closed")

    # -- ending ----------------------------------------------------------------------------------
    def abort(self) -> None:
        """Abort the association (from any thread); a running ``store`` raises NetworkError.

        The A-ABORT PDU is sent when no other thread is writing; either way the socket is
        shut down, which wakes a ``store`` blocked on the network at once.
        """
        if self._aborted or self._closed:
            return
        self._aborted = True
        if self._send_lock.acquire(blocking=False):
            try:
                self._sock.settimeout(ABORT_SEND_TIMEOUT)
                self._sock.sendall(encode_abort(ABORT_SOURCE_USER))
            except OSError:
                pass
            finally:
                self._send_lock.release()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        if self._busy.acquire(blocking=False):  # no store() running: close here
            try:
                self._close()
            finally:
                self._busy.release()

    def release(self) -> None:
        """Release the association normally (nothing to do after an abort or a loss)."""
        with self._busy:
            if self._closed or self._aborted:
                return
            try:
                with self._send_lock:
                    self._sock.sendall(RELEASE_RQ)
                while True:
                    pdu_type, _ = read_pdu(self._sock, MAX_RESPONSE_PDU)
                    if pdu_type in (A_RELEASE_RP, A_ABORT):
                        break
            except (OSError, NetworkError) as exc:
                log.info("release with %s did not complete: %s", self.remote, exc)
            finally:
                self._close()

    def _close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()

    def __enter__(self) -> StoreAssociation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.release()
        else:
            self.abort()


def _connect(remote: RemoteAE, timeout: float) -> socket.socket:
    """A TCP connection (TLS for a TLS node) with TCP_NODELAY and ``timeout`` on every
    socket operation."""
    sock = open_connection(remote, timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # A send buffer that holds a whole typical image: sendall() hands it to the kernel in one
    # go instead of trickling it out as the peer reads (fewer wake-ups on both sides).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    return sock


def _close_with_abort(sock: socket.socket, source: int = ABORT_SOURCE_USER) -> None:
    with contextlib.suppress(OSError):
        sock.settimeout(ABORT_SEND_TIMEOUT)
        sock.sendall(encode_abort(source))
    with contextlib.suppress(OSError):
        sock.close()
