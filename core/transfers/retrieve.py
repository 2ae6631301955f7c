"""Retrieving studies and series from a remote node into the database, the way the Query tab
does it: several targets one after the other, by C-MOVE to our own node or by C-GET, with
progress, cancel, and (C-GET) the arrivals logged as one incoming transfer.

Blocking: the async layers call ``retrieve`` with ``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.app import Core
from core.errors import RetrieveError
from core.index.received import ReceivedFiles
from core.net.qr import QueryRetrieveClient, RetrieveProgress, RetrieveResult
from core.net.remote import RemoteAE
from core.registry import NodeInfo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetrieveTarget:
    """One study, or one series of a study."""

    study_uid: str
    series_uid: str | None = None


@dataclass(frozen=True)
class RetrieveStatus:
    """Where a multi-target retrieve stands (sent to the progress callback)."""

    target: int  # 0-based index of the target being retrieved
    targets: int
    done: int  # sub-operations finished (completed, failed or warning) in this target
    total: int  # sub-operations of this target (0 until the peer says)
    completed: int  # images completed over all targets so far
    failed: int

    @property
    def fraction(self) -> float:
        within = self.done / self.total if self.total else 0.0
        return min(1.0, (self.target + within) / max(1, self.targets))


@dataclass
class RetrieveSummary:
    method: str
    targets: int = 0
    completed: int = 0
    failed: int = 0
    warning: int = 0
    cancelled: bool = False
    stored: int = 0  # C-GET: new images in the database (duplicates not counted)
    duplicates: int = 0  # C-GET: images the database had already

    def text(self) -> str:
        verb = "Retrieve cancelled after" if self.cancelled else "Retrieved"
        parts = [f"{verb} {self.completed} image{'s' if self.completed != 1 else ''}"]
        if self.method == "get" and self.duplicates:
            parts.append(f"{self.duplicates} already in the database")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.warning:
            parts.append(f"{self.warning} with warnings")
        return ", ".join(parts) + f" (C-{self.method.upper()})."


StatusCallback = Callable[[RetrieveStatus], None]


def remote_of(node: NodeInfo) -> RemoteAE:
    return node.remote()


def retrieve(
    core: Core,
    client: QueryRetrieveClient,
    node: NodeInfo,
    targets: Sequence[RetrieveTarget],
    method: str,
    *,
    destination_ae: str = "",
    progress: StatusCallback | None = None,
    cancel: threading.Event | None = None,
    wait_indexed: Callable[[float], bool] | None = None,
) -> RetrieveSummary:
    """Retrieve ``targets`` from ``node`` by ``method`` ("move" to ``destination_ae``, or "get").

    Stops at the first error (raising it; what arrived before stays in the database) or when
    ``cancel`` is set. C-MOVE: ``wait_indexed(timeout)`` is called at the end so that every
    image our node acknowledged is in the index when this returns.
    """
    if method not in ("move", "get"):
        raise RetrieveError(f"unknown retrieve method {method!r}: use move or get")
    if method == "move" and not destination_ae:
        raise RetrieveError("C-MOVE needs our AE title as the move destination")
    remote = remote_of(node)
    summary = RetrieveSummary(method, targets=len(targets))
    sink: ReceivedFiles | None = None
    if method == "get":
        sink = ReceivedFiles(
            core.intake,
            source=remote.ae_title,
            detail=f"{remote.host}:{remote.port} (C-GET)",
            log_to=core.transfers,
        )
    error = ""
    try:
        for index, target in enumerate(targets):
            if cancel is not None and cancel.is_set():
                summary.cancelled = True
                break
            before = (summary.completed, summary.failed)

            def on_progress(
                p: RetrieveProgress, index: int = index, before: tuple[int, int] = before
            ) -> None:
                if progress is None:
                    return
                done = p.completed + p.failed + p.warning
                progress(
                    RetrieveStatus(
                        index, len(targets), done, done + p.remaining,
                        before[0] + p.completed, before[1] + p.failed,
                    )
                )  # fmt: skip

            result: RetrieveResult
            if sink is not None:
                result = client.retrieve_get(
                    remote, sink, target.study_uid, target.series_uid, on_progress, cancel
                )
            else:
                result = client.retrieve_move(
                    remote, destination_ae, target.study_uid, target.series_uid, on_progress,
                    cancel,
                )  # fmt: skip
            summary.completed += result.completed
            summary.failed += result.failed
            summary.warning += result.warning
            if result.cancelled:
                summary.cancelled = True
                break
    except Exception as exc:
        error = str(exc)
        raise
    finally:
        if sink is not None:
            counts = sink.close(error)
            summary.stored, summary.duplicates = counts.stored, counts.duplicates
        elif wait_indexed is not None and not wait_indexed(60.0):
            log.warning("retrieved images are still being indexed after 60 s")
    return summary
