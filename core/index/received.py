"""Receiving encoded files from a network peer: validate, make durable, then index in batches.

Used for C-GET sub-operations (and any receiver that gets whole encoded files). A file is
acknowledged only after it is durable in the store's ``incoming/`` folder, so an acknowledged
image survives a crash (see core.store.files).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from core.dicom.header import parse_instance
from core.errors import RejectedFile, StoreError, StoreFullError
from core.index.writer import IndexWriter, IngestItem, Outcome
from core.transfers.log import ITEM_DUPLICATE, ITEM_STORED, ItemRecord, TransferLog

log = logging.getLogger(__name__)

SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
CANNOT_UNDERSTAND = 0xC000
PROCESSING_FAILURE = 0x0110


@dataclass
class ReceiveCounts:
    stored: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)


class ReceivedFiles:
    """A callable sink: ``sink(encoded_file) -> DICOM status``; ``flush()`` indexes the rest."""

    def __init__(
        self,
        writer: IndexWriter,
        source: str,
        detail: str = "",
        batch_size: int = 100,
        log_to: TransferLog | None = None,
    ) -> None:
        """``log_to``: record what arrives as one incoming transfer from ``source``."""
        self.writer = writer
        self.transfers = log_to
        self.transfer_id = log_to.start_incoming(source, detail) if log_to is not None else None
        self.source = source
        self.detail = detail
        self.batch_size = batch_size
        self.counts = ReceiveCounts()
        self._batch: list[IngestItem] = []
        self._lock = threading.Lock()

    def __call__(self, data: bytes) -> int:
        try:
            parsed = parse_instance(data)
            payload = parsed.rewritten if parsed.rewritten is not None else data
            incoming = self.writer.store.write_incoming(payload, len(payload))
        except RejectedFile as exc:
            log.warning("refused an instance from %s: %s", self.source, exc.reason)
            self.counts.refused.append(exc.reason)
            return CANNOT_UNDERSTAND
        except StoreFullError as exc:
            log.error("refused an instance from %s: %s", self.source, exc)
            self.counts.refused.append(str(exc))
            return OUT_OF_RESOURCES
        except StoreError as exc:
            log.error("could not store an instance from %s: %s", self.source, exc)
            self.counts.refused.append(str(exc))
            return PROCESSING_FAILURE
        item = IngestItem(incoming, parsed.header, len(payload), self.source, self.detail)
        with self._lock:
            self._batch.append(item)
            full = len(self._batch) >= self.batch_size
        if full:
            self.flush()
        return SUCCESS

    def flush(self) -> ReceiveCounts:
        with self._lock:
            batch, self._batch = self._batch, []
            if batch:
                records = []
                for item, outcome in zip(batch, self.writer.write_batch(batch), strict=True):
                    stored = outcome in (Outcome.STORED, Outcome.REPLACED)
                    self.counts.stored += stored
                    self.counts.duplicates += not stored
                    h = item.header
                    status = ITEM_STORED if stored else ITEM_DUPLICATE
                    records.append(
                        ItemRecord(h.sop_uid, h.series_uid, h.study_uid, h.patient_name,
                                   status, SUCCESS, item.size)
                    )  # fmt: skip
                if self.transfers is not None and self.transfer_id is not None:
                    self.transfers.record_items(self.transfer_id, records)
        return self.counts

    def close(self, error: str = "") -> ReceiveCounts:
        """Index what is left and end the transfer log entry (failed when ``error``)."""
        counts = self.flush()
        if self.transfers is not None and self.transfer_id is not None:
            self.transfers.finish(self.transfer_id, error)
        return counts
