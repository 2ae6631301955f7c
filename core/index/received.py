"""Receiving encoded files from a network peer: validate, make durable, then index in batches.

Used for C-GET sub-operations (and any receiver that gets whole encoded files). A file is
acknowledged only after it is durable in the store's ``incoming/`` folder, so an acknowledged
image survives a crash (see core.store.files); it is indexed by the one intake thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from core.dicom.header import parse_instance
from core.errors import RejectedFile, StoreError, StoreFullError
from core.index.intake import Intake, Origin
from core.index.writer import IngestItem
from core.net.status import Status
from core.transfers.log import TransferLog

log = logging.getLogger(__name__)


@dataclass
class ReceiveCounts:
    stored: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)


class ReceivedFiles:
    """A callable sink: ``sink(encoded_file) -> DICOM status``; ``close()`` waits for the index.

    Each file is made durable in ``incoming/`` before its status is returned, then handed to
    the core's one intake as an image of this sink's ``Origin`` (one incoming transfer).
    """

    def __init__(
        self,
        intake: Intake,
        source: str,
        detail: str = "",
        log_to: TransferLog | None = None,
    ) -> None:
        """``log_to``: record what arrives as one incoming transfer from ``source``."""
        self.intake = intake
        self.store = intake.writer.store
        self.source = source
        self.detail = detail
        self.counts = ReceiveCounts()
        self.origin = Origin(id(self), source, detail)
        if log_to is not None:
            self.origin.transfer_id = log_to.start_incoming(source, detail)
        self._ended = False

    @property
    def transfer_id(self) -> int | None:
        return self.origin.transfer_id

    def __call__(self, data: bytes) -> int:
        try:
            parsed = parse_instance(data)
            payload = parsed.rewritten if parsed.rewritten is not None else data
            incoming = self.store.write_incoming(payload, len(payload))
        except RejectedFile as exc:
            log.warning("refused an instance from %s: %s", self.source, exc.reason)
            self.counts.refused.append(exc.reason)
            return Status.CANNOT_UNDERSTAND
        except StoreFullError as exc:
            log.error("refused an instance from %s: %s", self.source, exc)
            self.counts.refused.append(str(exc))
            return Status.OUT_OF_RESOURCES
        except StoreError as exc:
            log.error("could not store an instance from %s: %s", self.source, exc)
            self.counts.refused.append(str(exc))
            return Status.PROCESSING_FAILURE
        self.origin.stored += 1
        item = IngestItem(incoming, parsed.header, len(payload), self.source, self.detail)
        self.intake.store(self.origin, item)
        return Status.SUCCESS

    def close(self, error: str = "", timeout: float = 120.0) -> ReceiveCounts:
        """End the transfer (failed when ``error``) once everything received is indexed."""
        if not self._ended:
            self._ended = True
            self.intake.end(self.origin, error)
        if not self.origin.done.wait(timeout):
            log.error("images from %s are still being indexed after %.0f s", self.source, timeout)
        self.counts.stored = self.origin.indexed
        self.counts.duplicates = self.origin.duplicates
        return self.counts
