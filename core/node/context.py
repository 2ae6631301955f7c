"""What the DIMSE handlers and the lean storage acceptor know of the node: two Protocols.

``core.node.server.DicomNode`` implements both; ``handlers`` and ``storage`` depend on these
Protocols only, never on the server module, so the three modules form no cycle (the server
imports the other two, nothing imports the server back). An association is an ``Origin`` of
the core's one intake. ``NodeServices`` is what the node itself takes from the core (the
``Core`` object satisfies it), so the node never imports the composition root either.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.events import ChangeBus
from core.index.intake import Intake, Origin
from core.index.writer import IndexWriter, IngestItem
from core.registry import NodeInfo, NodeRegistry
from core.store.files import FileStore
from core.store.journal import JournalRecord
from core.transfers.log import TransferLog


class HandlerContext(Protocol):
    """The node as a DIMSE handler (C-ECHO/STORE/FIND/MOVE/GET) sees it."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def store(self) -> FileStore: ...

    def allows(self, ae_title: str, service: str) -> bool:
        """May the peer with this calling AE title use ``service`` (store, find, retrieve)?"""

    def destination(self, ae_title: str) -> NodeInfo | None:
        """The registered node a C-MOVE to ``ae_title`` goes to."""

    def association_entry(self, key: int, ae: str, peer: str) -> Origin:
        """The record of association ``key``, made when it first stores or fails an image."""

    def ingest(self, assoc: Origin, item: IngestItem, record: JournalRecord | None = None) -> None:
        """Hand an acknowledged, durable image to the index writer."""

    def hold(self, size: int) -> bool:
        """May a journaled image of ``size`` bytes go to the index writer in memory?"""

    def record_failure(self, assoc: Origin, sop_uid: str, code: int, error: str) -> None:
        """Log a refused image in the association's incoming transfer."""


class LeanAssociation(Protocol):
    """A lean acceptor's association as the node tracks it (to refuse it or abort it)."""

    key: int
    ae_title: str
    peer: str

    def abort(self) -> None: ...


class AcceptorContext(HandlerContext, Protocol):
    """The node as the lean storage acceptor (core.node.storage) sees it."""

    acse_timeout: float
    network_timeout: float
    lean_syntaxes: frozenset[str]

    def lean_routing(self, delta: int) -> None:
        """Count a connection being routed or served by the lean acceptor (+1, then -1)."""

    def lean_reject_reason(
        self, ae_title: str, association: LeanAssociation
    ) -> tuple[int, int, int] | None:
        """Register ``association``; (result, source, diagnostic) if it must be rejected."""

    def association_opened(self) -> None:
        """An association was accepted."""

    def lean_finished(self, association: LeanAssociation, opened: bool, error: str) -> None:
        """The association ended (``opened``: it had been accepted)."""


class NodeServices(Protocol):
    """The services the node is built from (``core.app.Core`` has them all)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def store(self) -> FileStore: ...

    @property
    def writer(self) -> IndexWriter: ...

    @property
    def intake(self) -> Intake: ...

    @property
    def transfers(self) -> TransferLog: ...

    @property
    def registry(self) -> NodeRegistry: ...

    @property
    def events(self) -> ChangeBus: ...
