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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import Any

from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, Association
from pynetdicom.dimse_primitives import C_STORE

from core.errors import NetworkError
from core.scu import RemoteAE, associate
from core.transcode import (
    LITTLE_ENDIAN_SYNTAXES,
    Part10Error,
    TranscodeError,
    read_part10,
    to_little_endian,
)

log = logging.getLogger(__name__)

MAX_CONTEXTS = 128  # PS3.8 9.3.2.2: presentation context IDs are odd numbers 1..255
UNCOMPRESSED = "uncompressed"  # the context key of a SOP class's Little Endian context

# C-STORE priority (PS3.7 9.1.1.1)
PRIORITY_MEDIUM = 0
PRIORITY_HIGH = 1
PRIORITY_LOW = 2

# Statuses (PS3.7 Annex C, PS3.4 B.2.3). The failures below are also what we report for
# an item we could not offer to the peer at all.
SUCCESS = 0x0000
PROCESSING_FAILURE = 0x0110
SOP_CLASS_NOT_SUPPORTED = 0x0122
WARNING_STATUSES = frozenset({0x0001, 0xB000, 0xB006, 0xB007})


@dataclass(frozen=True)
class StoreItem:
    """One stored instance to send: its UIDs, stored transfer syntax and Part 10 file."""

    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str
    path: Path


@dataclass(frozen=True)
class StoreResult:
    """The peer's answer to one C-STORE (or ours, when the item could not be offered)."""

    status: int
    comment: str
    transcoded: bool

    @property
    def ok(self) -> bool:
        """Stored: success, or success with a warning (coercion, elements discarded, ...)."""
        return self.status == SUCCESS or self.status in WARNING_STATUSES


def is_little_endian_uncompressed(syntax: str) -> bool:
    return syntax in LITTLE_ENDIAN_SYNTAXES


def context_keys(item: StoreItem) -> list[tuple[str, str]]:
    """The presentation contexts an item needs: (SOP class, syntax or UNCOMPRESSED)."""
    keys = [(item.sop_class_uid, UNCOMPRESSED)]
    if not is_little_endian_uncompressed(item.transfer_syntax):
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


class StoreAssociation:
    """One established association for sending; use ``open`` and then ``store``."""

    def __init__(self, remote: RemoteAE, assoc: Association, timeout: float) -> None:
        self.remote = remote
        self._assoc = assoc
        self._timeout = timeout
        self._message_id = 0
        self._aborted = threading.Event()
        # (SOP class, transfer syntax) -> accepted context ID
        self._accepted: dict[tuple[str, str], int] = {}
        for context in assoc.accepted_contexts:
            syntax = str(context.transfer_syntax[0])
            key = (str(context.abstract_syntax), syntax)
            self._accepted.setdefault(key, int(context.context_id))  # type: ignore[arg-type]

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
        contexts = requested_contexts(items)
        ae = AE(ae_title=calling_ae)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
        ae.connection_timeout = timeout
        for abstract, syntaxes in contexts:
            ae.add_requested_context(abstract, syntaxes)
        assoc = associate(ae, remote, timeout=timeout)
        return cls(remote, assoc, timeout)

    @property
    def max_pdu(self) -> int:
        """The peer's maximum PDU length (0: no limit)."""
        return int(self._assoc.acceptor.maximum_length or 0)

    def accepts(self, sop_class: str, syntax: str) -> bool:
        return (sop_class, syntax) in self._accepted

    def store(self, item: StoreItem, priority: int = PRIORITY_MEDIUM) -> StoreResult:
        """Send one item; the peer's status, or ours when it could not be offered."""
        if priority not in (PRIORITY_MEDIUM, PRIORITY_HIGH, PRIORITY_LOW):
            raise ValueError(f"priority must be 0 (medium), 1 (high) or 2 (low), not {priority}")
        self._check_alive()
        try:
            layout, data = read_part10(item.path)
        except (OSError, Part10Error) as exc:
            return StoreResult(PROCESSING_FAILURE, f"cannot read {item.path}: {exc}", False)
        chosen = self._choose_context(item.sop_class_uid, layout.transfer_syntax)
        if chosen is None:
            return StoreResult(SOP_CLASS_NOT_SUPPORTED, self._refusal(item, layout), False)
        context_id, syntax = chosen
        transcoded = syntax != layout.transfer_syntax
        if transcoded:
            try:
                dataset = to_little_endian(item.path, syntax)
            except TranscodeError as exc:
                return StoreResult(PROCESSING_FAILURE, str(exc), False)
        else:
            dataset = data[layout.dataset_offset :]
        status, comment = self._send(item, context_id, dataset, priority)
        return StoreResult(status, comment, transcoded)

    def _choose_context(self, sop_class: str, syntax: str) -> tuple[int, str] | None:
        if (sop_class, syntax) in self._accepted:
            return self._accepted[(sop_class, syntax)], syntax
        for fallback in LITTLE_ENDIAN_SYNTAXES:
            if (sop_class, fallback) in self._accepted:
                return self._accepted[(sop_class, fallback)], fallback
        return None

    def _refusal(self, item: StoreItem, layout: Any) -> str:
        name = UID(item.sop_class_uid).name
        if any(key[0] == item.sop_class_uid for key in self._accepted):
            return (
                f"{self.remote} accepts {name} only in transfer syntaxes we cannot convert"
                f" {UID(layout.transfer_syntax).name} to"
            )
        return f"{self.remote} does not accept {name} ({item.sop_class_uid})"

    def _send(
        self, item: StoreItem, context_id: int, dataset: bytes, priority: int
    ) -> tuple[int, str]:
        self._message_id = self._message_id % 0xFFFF + 1
        request = C_STORE()
        request.MessageID = self._message_id
        request.AffectedSOPClassUID = item.sop_class_uid
        request.AffectedSOPInstanceUID = item.sop_instance_uid
        request.Priority = priority
        request.DataSet = BytesIO(dataset)
        assoc = self._assoc
        dimse = assoc.dimse
        # Like Association.send_c_store: pause the reactor so it does not take the response.
        assoc._reactor_checkpoint.clear()
        try:
            while not assoc._is_paused and assoc.is_established:
                time.sleep(0.0001)
            dimse.send_msg(request, context_id)
            _, response = dimse.get_msg(block=True)
        finally:
            assoc._reactor_checkpoint.set()
        self._check_alive()
        if response is None:
            raise NetworkError(
                f"{self.remote} did not answer the C-STORE within {self._timeout:g} s"
                " or the association was lost"
            )
        status = int(getattr(response, "Status", PROCESSING_FAILURE))
        comment = str(getattr(response, "ErrorComment", "") or "")
        return status, comment

    def _check_alive(self) -> None:
        if self._aborted.is_set():
            raise NetworkError(f"the association with {self.remote} was aborted")
        if not self._assoc.is_established:
            raise NetworkError(f"the association with {self.remote} was lost")

    def abort(self) -> None:
        """Abort the association (from any thread); a running ``store`` raises NetworkError."""
        if self._aborted.is_set():
            return
        self._aborted.set()
        self._assoc.abort()
        # Wake a store() waiting for its response.
        self._assoc.dimse.msg_queue.put((None, None))

    def release(self) -> None:
        """Release the association normally (no effect after an abort)."""
        if not self._aborted.is_set() and self._assoc.is_established:
            self._assoc.release()

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
