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
and queues (which cost several times the peer's own time per image): the association is
negotiated by ``core.net.acse``, and each C-STORE is written with
the ``core.net.dimse`` codec as P-DATA-TF PDUs straight from the stored file's data set
bytes (never decoded unless it must be converted), then its C-STORE-RSP is read back.
The socket has TCP_NODELAY (no delayed-ACK wait per message) and a send buffer that
takes a whole typical image at once.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from core.dicom.transcode import (
    LITTLE_ENDIAN_SYNTAXES,
    Part10Error,
    TranscodeError,
    read_dataset,
    to_little_endian,
)
from core.errors import NetworkError, PeerClosedError, ProtocolError
from core.net.acse import (
    ABORT_SEND_TIMEOUT,
    LeanAssociation,
    Negotiated,
    close_with_abort,
    explain_abort,
    request_association,
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
    iter_pdvs,
    pdata_pdus,
    read_pdu,
)
from core.net.remote import RemoteAE
from core.net.status import Status

log = logging.getLogger(__name__)

MAX_RESPONSE_PDU = 1 << 22  # refuse anything larger (a peer that ignores our maximum)
SEND_BATCH = 1 << 18  # PDUs are joined into writes of about this size
SEND_BUFFER = 1 << 22  # socket send buffer: holds a whole typical image
MAX_CONTEXTS = 128  # PS3.8 9.3.2.2: presentation context IDs are odd numbers 1..255
UNCOMPRESSED = "uncompressed"  # the context key of a SOP class's Little Endian context

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


class StoreAssociation(LeanAssociation):
    """One established association for sending C-STORE requests, on a blocking socket.

    Negotiation is ``core.net.acse``'s; every C-STORE is written directly as
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
        sock, negotiated = request_association(remote, calling_ae, contexts, timeout=timeout)
        # A send buffer that holds a whole typical image: sendall() hands it to the kernel in
        # one go instead of trickling it out as the peer reads (fewer wake-ups on both sides).
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        return cls(remote, sock, negotiated, timeout)

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
                close_with_abort(self._sock)
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
            close_with_abort(self._sock)
            self._closed = True
            return NetworkError(
                f"{self.remote} did not take or answer the {what} within {self._timeout:g} s;"
                " the association was aborted"
            )
        if isinstance(exc, ProtocolError) and not isinstance(exc, PeerClosedError):
            close_with_abort(self._sock, ABORT_SOURCE_PROVIDER)
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
