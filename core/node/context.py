"""What the DIMSE handlers and the lean storage acceptor know of the node: small Protocols.

``core.node.reception.Reception`` implements them; ``handlers`` and ``storage`` depend on
these Protocols only, never on the server or reception modules, so the node's modules form no
cycle (the server imports the others, nothing imports it back), and an association never
calls back into ``DicomNode``. ``NodeServices`` is what the node itself takes from the core
(the ``Core`` object satisfies it), so the node never imports the composition root either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.events import ChangeBus, QueryAnswered
from core.index.intake import Intake
from core.index.writer import IndexWriter
from core.node.incoming import DatasetBuffer
from core.registry import NodeInfo, NodeRegistry
from core.store.files import FileStore
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

    def query_answered(self, event: QueryAnswered) -> None:
        """Say on the change bus that a C-FIND was answered (the audit trail hears it)."""

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
        """Keep one data set received on association ``key``; the C-STORE status."""


class LeanAssociation(Protocol):
    """A lean acceptor's association as the node tracks it (to refuse it or abort it)."""

    key: int
    ae_title: str
    peer: str

    def abort(self) -> None: ...


class AcceptorContext(HandlerContext, Protocol):
    """The node as the lean storage acceptor (core.node.storage) sees it."""

    network_timeout: float
    lean_syntaxes: frozenset[str]  # storage and verification: the lean storage associations
    find_syntaxes: frozenset[str]  # the FIND models (with verification): lean query ones
    ae_title: str  # the node's own, the Retrieve AE Title of C-FIND answers

    def screen(
        self, ae_title: str, peer: str, certificate: bytes | None = None
    ) -> tuple[int, int, int] | None:
        """(result, source, diagnostic) if a new association request must be rejected;
        ``certificate``: the TLS client's DER certificate (None: plain, or none shown)."""

    def new_buffer(self, request_class: str, request_sop: str, ts: str, ae: str) -> DatasetBuffer:
        """The buffer one C-STORE data set is received into."""

    def admit(self, association: LeanAssociation) -> tuple[int, int, int] | None:
        """Register ``association``; (result, source, diagnostic) if it must be rejected."""

    def finished(
        self, key: int, error: str, lean: LeanAssociation | None = None, opened: bool = True
    ) -> None:
        """Association ``key`` ended (``opened``: it had been admitted)."""


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
