"""``Reception``: what every association of the node talks to, and the node's live state.

``DicomNode`` (core.node.server) builds one ``Reception`` and hands it to both kinds of
association: the lean storage acceptor (core.node.storage) and pynetdicom's, through the DIMSE
handlers (core.node.handlers). An association never calls back into ``DicomNode``: it asks
the reception to admit it (accept policy, association limit), gives it each C-STORE
(``receive``: durable first, then acknowledged, then handed to the core's one intake with the
association as its ``Origin``) and tells it when it ended (``finished``). ``NodeStatus``
keeps the state the Settings tab shows and publishes each change as ``NodeStateChanged``.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from pydicom import dcmread
from sqlalchemy.orm import Session, sessionmaker

from core.dicom.header import InstanceHeader, header_of, scan_dataset
from core.dicom.part10 import part10, part10_prefix
from core.errors import InvalidUIDError, RejectedFile, StoreError, StoreFullError
from core.events import ChangeBus, NodeStateChanged, QueryAnswered
from core.index.intake import Intake, Origin
from core.index.writer import IngestItem
from core.net import tls
from core.net.status import Status
from core.node.context import LeanAssociation, NodeServices
from core.node.incoming import DatasetBuffer
from core.node.limits import Limits, printable
from core.registry import NodeInfo, NodeRegistry
from core.store.files import FileStore, validate_uid
from core.transfers.log import ITEM_FAILED, ItemRecord, TransferLog

log = logging.getLogger(__name__)

_NO_AE = "-" * 17  # longer than any AE title: matches no calling AE
_POLICY_TTL = 2.0  # seconds a registry read is reused for accept decisions


@dataclass(frozen=True, slots=True)
class NodeState:
    running: bool = False
    ae_title: str = ""
    bind: str = ""
    port: int = 0
    tls_port: int = 0  # the DICOM TLS port (0: none)
    active_associations: int = 0
    images_today: int = 0
    last_error: str = ""


class NodeStatus:
    """The node's state (thread-safe); every change goes out on the bus as NodeStateChanged."""

    def __init__(self, events: ChangeBus, state: NodeState) -> None:
        self._events = events
        self._state = state
        self._lock = threading.Lock()
        self._today = datetime.now().date()  # the local day: what "today" means at the console

    @property
    def state(self) -> NodeState:
        return self._state

    def set(self, **changes: Any) -> None:
        with self._lock:
            self._state = state = replace(self._state, **changes)
        self._events.publish(NodeStateChanged(state))

    def add_active(self, delta: int) -> None:
        with self._lock:
            active = max(0, self._state.active_associations + delta)
            self._state = state = replace(self._state, active_associations=active)
        self._events.publish(NodeStateChanged(state))

    def start_day(self, received_today: int) -> None:
        """Count ``received_today`` images (by earlier runs) as today's."""
        with self._lock:
            self._today = datetime.now().date()
        self.set(images_today=received_today)

    def count_indexed(self, count: int) -> None:
        today = datetime.now().date()
        with self._lock:
            if today != self._today:
                self._today = today
                base = 0
            else:
                base = self._state.images_today
        self.set(images_today=base + count)


class _Acceptor(Protocol):
    """How many associations pynetdicom serves for us (its AE)."""

    @property
    def active_associations(self) -> list[Any]: ...


class Reception:
    """Accept policy, association bookkeeping and the C-STORE path, shared by every association.

    Implements ``core.node.context.HandlerContext`` and ``AcceptorContext``.
    """

    def __init__(
        self,
        core: NodeServices,
        status: NodeStatus,
        accept_policy: str,
        network_timeout: float,
        acse_timeout: float = 30.0,
    ) -> None:
        self.sessions: sessionmaker[Session] = core.sessions
        self.store: FileStore = core.store
        self.intake: Intake = core.intake
        self.transfers: TransferLog = core.transfers
        self.registry: NodeRegistry = core.registry
        self.status = status
        self.events: ChangeBus = core.events
        self.accept_policy = accept_policy
        self.network_timeout = network_timeout
        self.acse_timeout = acse_timeout
        self.limits = Limits.of(core.settings)
        self.maximum_associations = self.limits.max_associations
        self.lean_syntaxes: frozenset[str] = frozenset()
        self.find_syntaxes: frozenset[str] = frozenset()
        self.ae_title = ""
        self.accepting = False
        self._others: _Acceptor | None = None  # pynetdicom's AE, for the association limit
        self._lock = threading.Lock()
        self._origins: dict[int, Origin] = {}
        self._lean: set[LeanAssociation] = set()
        self._policy_cache: tuple[float, list[NodeInfo]] = (0.0, [])

    # -- the node's lifecycle (DicomNode) ------------------------------------------------------
    def open(
        self,
        others: _Acceptor,
        lean_syntaxes: Iterable[str],
        find_syntaxes: Iterable[str] = (),
        ae_title: str = "",
    ) -> None:
        """Start admitting: ``lean_syntaxes`` (storage, verification) and ``find_syntaxes``
        (the FIND models) are what the lean acceptor serves; ``ae_title`` is the node's."""
        self._others = others
        self.lean_syntaxes = frozenset(lean_syntaxes)
        self.find_syntaxes = frozenset(find_syntaxes)
        self.ae_title = ae_title
        self.accepting = True

    def lean_associations(self) -> list[LeanAssociation]:
        with self._lock:
            return list(self._lean)

    def has_origins(self) -> bool:
        return bool(self._origins)

    def end_all(self, error: str) -> None:
        """End every association still open (the node stopped)."""
        with self._lock:
            left, self._origins = list(self._origins.values()), {}
        for origin in left:
            self.intake.end(origin, error)

    # -- policy -------------------------------------------------------------------------------
    def _known(self) -> list[NodeInfo]:
        now = time.monotonic()
        stamp, nodes = self._policy_cache
        if now - stamp > _POLICY_TTL:
            nodes = self.registry.list()
            self._policy_cache = (now, nodes)
        return nodes

    def required_calling_aets(self) -> list[str]:
        if self.accept_policy != "known":
            return []
        titles = sorted({n.ae_title for n in self._known()})
        return titles or [_NO_AE]

    def allows(self, ae_title: str, service: str) -> bool:
        matches = [n for n in self._known() if n.ae_title == ae_title]
        if not matches:
            return self.accept_policy != "known"
        return any(n.allows(service) for n in matches)

    def bound_certificates(self, ae_title: str) -> frozenset[str]:
        """The fingerprints of the client certificates the registry binds ``ae_title`` to."""
        return frozenset(
            n.tls_peer_fingerprint
            for n in self._known()
            if n.ae_title == ae_title and n.tls_peer_fingerprint
        )

    def destination(self, ae_title: str) -> NodeInfo | None:
        self._policy_cache = (0.0, [])  # a move destination must be current
        for node in self._known():
            if node.ae_title == ae_title:
                return node
        return None

    def query_answered(self, event: QueryAnswered) -> None:
        self.events.publish(event)

    # -- associations ---------------------------------------------------------------------------
    def screen(
        self, ae_title: str, peer: str, certificate: bytes | None = None
    ) -> tuple[int, int, int] | None:
        """Whether a new association request can be served at all (the doorman asks before
        it gives the association a thread, on both ports and for both receive paths):
        (result, source, diagnostic) of the A-ASSOCIATE-RJ if not.

        ``certificate`` is the TLS client's DER certificate (None on the plain port, or
        when the client showed none): a calling AE title that the registry binds to a
        certificate is refused unless it is that one (core.net.tls.binding_refusal)."""
        required = self.required_calling_aets()
        if required and ae_title not in required:
            log.warning(
                "rejected association from %s at %s: calling AE not a known node (accept: known)",
                ae_title,
                peer,
            )
            return (0x01, 0x01, 0x03)  # rejected permanent, service user, calling AE unknown
        bound = self.bound_certificates(ae_title)
        refusal = tls.binding_refusal(ae_title, bound, certificate) if bound else ""
        if refusal:
            log.warning("rejected association from %s at %s: %s", ae_title, peer, refusal)
            return (0x01, 0x01, 0x03)  # rejected permanent, service user, calling AE unknown
        if not self.accepting or self._served() >= self.maximum_associations:
            log.warning(
                "rejected association from %s at %s: %s",
                ae_title,
                peer,
                "too many associations" if self.accepting else "the node is stopping",
            )
            return (0x02, 0x03, 0x02)  # rejected transient, provider, local limit exceeded
        return None

    def _served(self) -> int:
        others = self._others
        served = sum(1 for a in others.active_associations if a.is_acceptor) if others else 0
        with self._lock:
            return served + len(self._lean)

    def admit(self, association: LeanAssociation) -> tuple[int, int, int] | None:
        """Register a lean ``association``; (result, source, diagnostic) if it must be
        rejected, else None (and it counts as active). The same rules as pynetdicom applies
        to its own associations (see acse.py)."""
        with self._lock:
            self._lean.add(association)
            lean = len(self._lean)
        required = self.required_calling_aets()
        if required and association.ae_title not in required:
            log.warning(
                "rejected association from %s at %s: calling AE not a known node (accept: known)",
                association.ae_title,
                association.peer,
            )
            return (0x01, 0x01, 0x03)  # rejected permanent, service user, calling AE unknown
        others = self._others
        served = sum(1 for a in others.active_associations if a.is_acceptor) if others else 0
        if not self.accepting or lean + served > self.maximum_associations:
            with self._lock:
                self._lean.discard(association)
            log.warning(
                "rejected association from %s at %s: %s",
                association.ae_title,
                association.peer,
                "too many associations" if self.accepting else "the node is stopping",
            )
            return (0x02, 0x03, 0x02)  # rejected transient, provider, local limit exceeded
        self.status.add_active(+1)
        return None

    def opened(self) -> None:
        """pynetdicom accepted an association."""
        self.status.add_active(+1)

    def finished(
        self, key: int, error: str, lean: LeanAssociation | None = None, opened: bool = True
    ) -> None:
        """Association ``key`` ended (``error``: how, if it failed); ``opened``: it had been
        admitted (and so counted as active)."""
        with self._lock:  # pop and enqueue together: end_all must not miss or repeat one
            if lean is not None:
                self._lean.discard(lean)
            found = self._origins.pop(key, None)
            if found is not None:
                self.intake.end(found, error)
        if found is not None:
            log.info("association from %s ended: %d images", found.ae_title, found.stored)
        if opened:
            self.status.add_active(-1)

    def _origin(self, key: int, ae: str, peer: str) -> Origin:
        """The record of association ``key``, created when it first stores or fails an image.

        Its incoming transfer row is written here, before the first image is acknowledged, so
        an association cut short by a crash still shows in the log (failed, "interrupted")
        even when the index writer had not reached its images yet.
        """
        with self._lock:
            found = self._origins.get(key)
            if found is not None:
                return found
            names = [n.name for n in self._known() if n.ae_title == ae]
            found = Origin(
                key, ae, peer, names[0] if names else "", on_indexed=self.status.count_indexed
            )
            self._origins[key] = found
        try:
            found.transfer_id = self.transfers.start_incoming(ae, peer, found.node_name)
        except Exception:  # the writer creates it with the first batch instead
            log.exception("cannot record the incoming transfer from %s", ae)
        return found

    # -- C-STORE --------------------------------------------------------------------------------
    def new_buffer(self, request_class: str, request_sop: str, ts: str, ae: str) -> DatasetBuffer:
        """The buffer a lean association receives one C-STORE data set into."""
        prefix = part10_prefix(request_class, request_sop, ts, ae)
        return DatasetBuffer(
            prefix,
            self.intake.budget,
            self.store,
            spool_bytes=self.limits.receive_spool_bytes,
            max_bytes=self.limits.max_dataset_bytes,
        )

    def receive(
        self,
        key: int,
        ae: str,
        peer: str,
        transfer_syntax: str,
        request_class: str,
        request_sop: str,
        dataset: bytes | DatasetBuffer,
        after_response: list[Callable[[], None]] | None = None,
    ) -> int:
        """Keep one data set received on association ``key``; return the C-STORE status.

        ``dataset`` is the data set's bytes (pynetdicom's associations) or the buffer it was
        received into (``new_buffer``, the lean acceptor). The request's UIDs must be valid
        and name the data set's own SOP class and instance, and the data set must decode in
        the context's transfer syntax; else nothing is kept and the status says why.

        The status is Status.SUCCESS only once the image is durable: in the intake journal
        (core.store.journal) or as an fsynced file in ``incoming/``. Writing the incoming
        file of a journaled image can wait until the response is on its way: then it is
        appended to ``after_response`` for the caller to run.
        """
        buffer = dataset if isinstance(dataset, DatasetBuffer) else None
        try:
            if not self.allows(ae, "store"):
                log.warning(
                    "refused C-STORE from %s at %s: store not allowed for this node", ae, peer
                )
                return Status.NOT_AUTHORIZED
            origin = self._origin(key, ae, peer)
            for what, uid in (("SOP Class", request_class), ("SOP Instance", request_sop)):
                try:
                    validate_uid(uid, f"the request's Affected {what} UID")
                except InvalidUIDError as exc:
                    log.warning("refused C-STORE from %s at %s: %s", ae, peer, exc)
                    return self._refuse(origin, request_sop, Status.CANNOT_UNDERSTAND, str(exc))
            if buffer is not None and buffer.too_large:
                reason = (
                    f"the data set of {buffer.size} bytes exceeds the limit of"
                    f" {self.limits.max_dataset_bytes} bytes (max_dataset_bytes)"
                )
                log.warning("refused image %s from %s: %s", printable(request_sop), ae, reason)
                return self._refuse(origin, request_sop, Status.OUT_OF_RESOURCES, reason)
            if buffer is not None and buffer.error:
                log.error("refused image from %s: %s", ae, buffer.error)
                return self._refuse(origin, request_sop, Status.OUT_OF_RESOURCES, buffer.error)
            if buffer is not None and buffer.spooled:
                return self._receive_spooled(
                    origin, transfer_syntax, request_class, request_sop, buffer
                )
            held = 0
            if buffer is not None:
                data, held = buffer.take_memory()
                view = memoryview(data)[buffer.prefix_length :]
            else:
                raw = bytes(dataset)  # type: ignore[arg-type]
                data = bytearray(part10(raw, request_class, request_sop, transfer_syntax, ae))
                view = memoryview(data)[len(data) - len(raw) :]
            return self._receive_memory(
                origin, transfer_syntax, request_class, request_sop, data, view, held,
                after_response,
            )  # fmt: skip
        finally:
            if buffer is not None:
                buffer.discard()

    def _matches(
        self, origin: Origin, found: tuple[str, str], sop_class: str, sop_uid: str
    ) -> int | None:
        """Refuse a data set that is not the instance its request names (0xA900)."""
        if found == (sop_uid, sop_class):
            return None
        reason = (
            f"the data set is SOP instance {found[0]} of class {found[1]},"
            f" the request names {sop_uid} of class {sop_class}"
        )
        log.warning("refused image from %s: %s", origin.ae_title, printable(reason))
        return self._refuse(origin, sop_uid, Status.IDENTIFIER_DOES_NOT_MATCH, reason)

    def _receive_memory(
        self,
        origin: Origin,
        transfer_syntax: str,
        request_class: str,
        request_sop: str,
        data: bytearray,
        dataset: memoryview,
        held: int,
        after_response: list[Callable[[], None]] | None,
    ) -> int:
        ae, peer = origin.ae_title, origin.peer
        budget = self.intake.budget
        try:
            # Before the answer, only what decides it: the UIDs, found and valid. The rest of
            # the header (names, dates, numbers) is decoded after the answer.
            scanned = scan_dataset(bytes(dataset), transfer_syntax)
            if scanned is not None:
                header = scanned.header
                found = (scanned.uids["SOPInstanceUID"], scanned.uids["SOPClassUID"])
            else:
                full = _read_header(io.BytesIO(data), transfer_syntax)
                header, found = (lambda: full), (full.sop_uid, full.sop_class_uid)
        except RejectedFile as exc:
            budget.give(held)
            log.warning("refused image %s from %s: %s", printable(request_sop), ae, exc.reason)
            return self._refuse(origin, request_sop, Status.CANNOT_UNDERSTAND, exc.reason)
        except Exception as exc:  # undecodable header
            budget.give(held)
            reason = f"unreadable dataset: {exc}"
            log.warning("refused image %s from %s: %s", printable(request_sop), ae, reason)
            return self._refuse(origin, request_sop, Status.CANNOT_UNDERSTAND, reason)
        mismatch = self._matches(origin, found, request_class, request_sop)
        if mismatch is not None:
            budget.give(held)
            return mismatch
        sop_uid = found[0]
        try:
            record = self.store.journal_received(data)
            path = self.store.write_incoming(data, len(data)) if record is None else None
        except StoreFullError as exc:
            budget.give(held)
            log.error("refused image from %s: %s", ae, exc)
            return self._refuse(origin, sop_uid, Status.OUT_OF_RESOURCES, str(exc))
        except StoreError as exc:
            budget.give(held)
            log.error("cannot store image from %s: %s", ae, exc)
            return self._refuse(origin, sop_uid, Status.PROCESSING_FAILURE, str(exc))
        # Durable now: acknowledge, and let the one intake pick it up.
        origin.stored += 1
        if path is not None:
            budget.give(held)
            self.intake.store(origin, IngestItem(path, header(), len(data), ae or "network", peer))
            return Status.SUCCESS
        # The budget share the data set already holds, topped up to the whole file's size.
        extra = len(data) - held
        if extra > 0 and not budget.take(extra):
            budget.give(held)
            held = 0
        else:
            held = len(data)

        def write_and_ingest() -> None:
            try:
                h = header()
                if self.accepting and (held or self.intake.hold(len(data))):
                    # the index writer writes the file at its final path (and gives the
                    # budget share back)
                    item = IngestItem(None, h, len(data), ae or "network", peer, data=data)
                else:  # too much held in memory already: through incoming/ instead
                    budget.give(held)
                    incoming = self.store.write_journaled(data)
                    item = IngestItem(incoming, h, len(data), ae or "network", peer)
                self.intake.store(origin, item, record)
            except Exception as exc:  # kept by the journal: indexed at the next start
                log.error("image %s from %s waits in the intake journal: %s", sop_uid, ae, exc)

        if after_response is None:
            write_and_ingest()
        else:
            after_response.append(write_and_ingest)
        return Status.SUCCESS

    def _receive_spooled(
        self,
        origin: Origin,
        transfer_syntax: str,
        request_class: str,
        request_sop: str,
        buffer: DatasetBuffer,
    ) -> int:
        """A data set that went to disk as it arrived: check it, make it durable, index it."""
        ae = origin.ae_title
        path = buffer.spool_path()
        try:
            with open(path, "rb") as fh:
                header = _read_header(fh, transfer_syntax)
        except RejectedFile as exc:
            log.warning("refused image %s from %s: %s", printable(request_sop), ae, exc.reason)
            return self._refuse(origin, request_sop, Status.CANNOT_UNDERSTAND, exc.reason)
        except Exception as exc:
            reason = f"unreadable dataset: {exc}"
            log.warning("refused image %s from %s: %s", printable(request_sop), ae, reason)
            return self._refuse(origin, request_sop, Status.CANNOT_UNDERSTAND, reason)
        mismatch = self._matches(
            origin, (header.sop_uid, header.sop_class_uid), request_class, request_sop
        )
        if mismatch is not None:
            return mismatch
        size = buffer.prefix_length + buffer.size
        try:
            incoming = buffer.commit_spool()
        except StoreFullError as exc:
            log.error("refused image from %s: %s", ae, exc)
            return self._refuse(origin, header.sop_uid, Status.OUT_OF_RESOURCES, str(exc))
        except StoreError as exc:
            log.error("cannot store image from %s: %s", ae, exc)
            return self._refuse(origin, header.sop_uid, Status.PROCESSING_FAILURE, str(exc))
        origin.stored += 1
        self.intake.store(origin, IngestItem(incoming, header, size, ae or "network", origin.peer))
        return Status.SUCCESS

    def _refuse(self, origin: Origin, sop_uid: str, code: int, error: str) -> int:
        """Log a refused image in the association's incoming transfer; return ``code``."""
        record = ItemRecord(printable(sop_uid)[:64], "", "", "", ITEM_FAILED, code, 0, error[:500])
        self.intake.fail(origin, record)
        return code


_VR_MISMATCH = ("but found explicit VR", "but found implicit VR")


def _read_header(fh: BinaryIO, transfer_syntax: str) -> InstanceHeader:
    """The index header by pydicom's reader, for data sets the fast scan leaves to it.

    pydicom reads a data set encoded in the other VR than its transfer syntax says (and
    warns); the node refuses it, since every later reader would be told the wrong syntax."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = dcmread(fh, stop_before_pixels=True)
    for warning in caught:
        text = str(warning.message)
        if any(mismatch in text for mismatch in _VR_MISMATCH):
            explicit = "explicit" if _VR_MISMATCH[0] in text else "implicit"
            raise RejectedFile(
                f"the data set is encoded with {explicit} VR, which its presentation"
                f" context's transfer syntax {transfer_syntax} does not use"
            )
    return header_of(ds, transfer_syntax)
