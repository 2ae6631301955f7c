"""The change bus: one typed channel that says what changed, for the UI, thumbnails and the sender.

Publishers (the index writer, the transfer log and its watcher, the node) call
``bus.publish(event)`` on whatever thread made the change, after it committed. A subscriber
names the event type it wants; ``subscribe(kind, callback, loop=loop)`` delivers on that
asyncio loop (``loop.call_soon_threadsafe``), which is how viewmodels stay on the Qt thread;
without a loop the callback runs on the publisher's thread and must return fast.

Events carry what changed (UIDs, transfer ids, the node state), so a listener refreshes only
that. The bus is in-process: ``ChangeBus`` is the interface a cross-process backend (for
example PostgreSQL ``LISTEN``/``NOTIFY`` for several consoles on one database) implements;
until then changes made by other processes reach the transfer log through its watcher, which
polls the log and publishes ``TransfersChanged`` here.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndexChanged:
    """Rows of the index were committed: images stored (or replaced), or deleted."""

    stored: tuple[str, ...] = ()  # SOPInstanceUIDs now in the index
    studies: tuple[str, ...] = ()  # StudyInstanceUIDs of the stored images
    deleted: tuple[str, ...] = ()  # SOPInstanceUIDs removed


@dataclass(frozen=True, slots=True)
class TransferEvent:
    """At once, from the thread that made it: ``kind`` is queued, aborted or deleted."""

    kind: str
    transfer_id: int


@dataclass(frozen=True, slots=True)
class TransfersChanged:
    """Transfers whose row changed (``TransferLog.get`` dicts), coalesced to 10 a second.

    A deleted transfer appears once with status ``"deleted"``.
    """

    rows: tuple[Mapping[str, Any], ...] = field(default=())  # core.transfers.log.TransferRow


@dataclass(frozen=True, slots=True)
class NodeStateChanged:
    """Our DICOM node started, stopped, counted an association or an image."""

    state: Any  # core.node.reception.NodeState (kept untyped here: events import nothing)


@dataclass(frozen=True, slots=True)
class QueryAnswered:
    """Our node answered (or failed) one C-FIND: for the audit trail."""

    ae_title: str  # the requestor's calling AE title
    address: str  # its host:port
    identifier: bytes  # the query's identifier, encoded (Explicit VR Little Endian)
    matches: int
    error: str = ""
    sop_class: str = "1.2.840.10008.5.1.4.1.2.2.1"  # the information model (Study Root FIND)


Event = IndexChanged | TransferEvent | TransfersChanged | NodeStateChanged | QueryAnswered
E = TypeVar("E", IndexChanged, TransferEvent, TransfersChanged, NodeStateChanged, QueryAnswered)


class ChangeBus(Protocol):
    """What publishers and subscribers use; a cross-process backend implements the same."""

    def publish(self, event: Event) -> None: ...

    def subscribe(
        self,
        kind: type[E],
        callback: Callable[[E], None],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> Callable[[], None]: ...

    def has_subscribers(self, kind: type[Event]) -> bool: ...

    def on_subscribe(self, kind: type[Event], hook: Callable[[], None]) -> None: ...


@dataclass(slots=True)
class _Subscription:
    kind: type
    callback: Callable[[Any], None]
    loop: asyncio.AbstractEventLoop | None


class LocalBus:
    """The in-process bus. Thread-safe; a failing subscriber is logged and skipped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[_Subscription] = []
        self._hooks: dict[type, list[Callable[[], None]]] = {}

    def subscribe(
        self,
        kind: type[E],
        callback: Callable[[E], None],
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> Callable[[], None]:
        """Deliver every ``kind`` event to ``callback``; returns the unsubscribe function."""
        subscription = _Subscription(kind, callback, loop)
        with self._lock:
            self._subscriptions.append(subscription)
            hooks = list(self._hooks.get(kind, ()))
        for hook in hooks:  # e.g. the transfer log's watcher starts when someone listens
            hook()

        def unsubscribe() -> None:
            with self._lock:
                if subscription in self._subscriptions:
                    self._subscriptions.remove(subscription)

        return unsubscribe

    def on_subscribe(self, kind: type[Event], hook: Callable[[], None]) -> None:
        """Call ``hook()`` whenever a ``kind`` subscriber arrives (a publisher that polls)."""
        with self._lock:
            self._hooks.setdefault(kind, []).append(hook)

    def has_subscribers(self, kind: type[Event]) -> bool:
        with self._lock:
            return any(s.kind is kind for s in self._subscriptions)

    def publish(self, event: Event) -> None:
        with self._lock:
            targets = [s for s in self._subscriptions if isinstance(event, s.kind)]
        for target in targets:
            if target.loop is not None:
                if not target.loop.is_closed():
                    target.loop.call_soon_threadsafe(self._deliver, target, event)
            else:
                self._deliver(target, event)

    def _deliver(self, target: _Subscription, event: Event) -> None:
        with self._lock:
            if target not in self._subscriptions:
                return  # unsubscribed while the delivery was on its way
        try:
            target.callback(event)
        except Exception:
            log.exception("a %s subscriber failed", type(event).__name__)
