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
from typing import Any, Protocol

from pydicom import dcmread
from sqlalchemy.orm import Session, sessionmaker

from core.dicom.header import InstanceHeader, header_of, scan_dataset
from core.dicom.part10 import part10
from core.errors import RejectedFile, StoreError, StoreFullError
from core.events import ChangeBus, NodeStateChanged
from core.index.intake import Intake, Origin
from core.index.writer import IngestItem
from core.net.status import Status
from core.node.context import LeanAssociation, NodeServices
from core.registry import NodeInfo, NodeRegistry
from core.store.files import FileStore
from core.transfers.log import ITEM_FAILED, ItemRecord, TransferLog

log = logging.getLogger(__name__)

_NO_AE = "-" * 17  # longer than any AE title: matches no calling AE
_POLICY_TTL = 2.0  # seconds a registry read is reused for accept decisions
MAXIMUM_ASSOCIATIONS = 32


@dataclass(frozen=True, slots=True)
class NodeState:
    running: bool = False
    ae_title: str = ""
    bind: str = ""
    port: int = 0
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
        self.accept_policy = accept_policy
        self.network_timeout = network_timeout
        self.acse_timeout = acse_timeout
        self.maximum_associations = MAXIMUM_ASSOCIATIONS
        self.lean_syntaxes: frozenset[str] = frozenset()
        self.accepting = False
        self._others: _Acceptor | None = None  # pynetdicom's AE, for the association limit
        self._lock = threading.Lock()
        self._origins: dict[int, Origin] = {}
        self._lean: set[LeanAssociation] = set()
        self._policy_cache: tuple[float, list[NodeInfo]] = (0.0, [])

    # -- the node's lifecycle (DicomNode) ------------------------------------------------------
    def open(self, others: _Acceptor, lean_syntaxes: Iterable[str]) -> None:
        self._others = others
        self.lean_syntaxes = frozenset(lean_syntaxes)
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

    def destination(self, ae_title: str) -> NodeInfo | None:
        self._policy_cache = (0.0, [])  # a move destination must be current
        for node in self._known():
            if node.ae_title == ae_title:
                return node
        return None

    # -- associations ---------------------------------------------------------------------------
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
    def receive(
        self,
        key: int,
        ae: str,
        peer: str,
        transfer_syntax: str,
        request_class: str,
        request_sop: str,
        dataset: bytes,
        after_response: list[Callable[[], None]] | None = None,
    ) -> int:
        """Keep one data set received on association ``key``; return the C-STORE status.

        The status is Status.SUCCESS only once the image is durable: in the intake journal
        (core.store.journal) or as an fsynced file in ``incoming/``. Writing the incoming
        file of a journaled image can wait until the response is on its way: then it is
        appended to ``after_response`` for the caller to run.
        """
        if not self.allows(ae, "store"):
            log.warning("refused C-STORE from %s at %s: store not allowed for this node", ae, peer)
            return Status.NOT_AUTHORIZED
        origin = self._origin(key, ae, peer)
        # The data set exactly as received, framed as a Part 10 file (no decode, no re-encode).
        data = part10(dataset, request_class, request_sop, transfer_syntax, ae)
        try:
            # Before the answer, only what decides it: the UIDs, found and valid. The rest of
            # the header (names, dates, numbers) is decoded after the answer.
            scanned = scan_dataset(dataset, transfer_syntax)
            header = scanned.header if scanned is not None else _read_header(data, transfer_syntax)
        except RejectedFile as exc:
            log.warning("refused image %r from %s: %s", request_sop[:80], ae, exc.reason)
            return self._refuse(origin, request_sop, Status.CANNOT_UNDERSTAND, exc.reason)
        except Exception as exc:  # undecodable header
            log.warning(
                "refused image %r from %s: unreadable dataset: %s", request_sop[:80], ae, exc
            )
            reason = f"unreadable dataset: {exc}"
            return self._refuse(origin, request_sop, Status.CANNOT_UNDERSTAND, reason)
        sop_uid = scanned.sop_uid if scanned is not None else header().sop_uid
        try:
            record = self.store.journal_received(data)
            path = self.store.write_incoming(data, len(data)) if record is None else None
        except StoreFullError as exc:
            log.error("refused image from %s: %s", ae, exc)
            return self._refuse(origin, sop_uid, Status.OUT_OF_RESOURCES, str(exc))
        except StoreError as exc:
            log.error("cannot store image from %s: %s", ae, exc)
            return self._refuse(origin, sop_uid, Status.PROCESSING_FAILURE, str(exc))
        # Durable now: acknowledge, and let the one intake pick it up.
        origin.stored += 1
        if path is not None:
            self.intake.store(origin, IngestItem(path, header(), len(data), ae or "network", peer))
            return Status.SUCCESS

        def write_and_ingest() -> None:
            try:
                h = header()
                if self.accepting and self.intake.hold(len(data)):
                    # the index writer writes the file at its final path
                    item = IngestItem(None, h, len(data), ae or "network", peer, data=data)
                else:  # too much held in memory already: through incoming/ instead
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

    def _refuse(self, origin: Origin, sop_uid: str, code: int, error: str) -> int:
        """Log a refused image in the association's incoming transfer; return ``code``."""
        record = ItemRecord(sop_uid[:64], "", "", "", ITEM_FAILED, code, 0, error[:500])
        self.intake.fail(origin, record)
        return code


def _read_header(data: bytes, transfer_syntax: str) -> Callable[[], InstanceHeader]:
    """The index header by pydicom's reader, for data sets the fast scan leaves to it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = header_of(dcmread(io.BytesIO(data), stop_before_pixels=True), transfer_syntax)
    return lambda: header
