"""The Core facade: wires settings, database, store and index writer together.

The kiosk and the CLI build it the same way: ``Core(settings)`` then ``open()``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from core.config import Settings
from core.db import queries
from core.db.engine import make_engine, make_sessionmaker, upgrade
from core.export.deidentify import DeidentifyOptions
from core.export.exporter import ExportOptions, ExportSummary, Selection, export_selection
from core.imaging.thumbnails import ThumbnailCache
from core.index.writer import DeleteResult, IndexWriter, Level
from core.registry import NodeRegistry
from core.store.files import FileStore
from core.transfers.log import TransferLog
from core.transfers.queue import enqueue

log = logging.getLogger(__name__)


class Core:
    """One per process. Holds no Qt state; safe under plain asyncio and under qasync."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.db_url)
        self.sessions = make_sessionmaker(self.engine)
        self.store = FileStore(
            settings.store_dir, fsync=settings.fsync, max_bytes=settings.max_store_bytes
        )
        self.writer = IndexWriter(self.sessions, self.store, settings.duplicate_policy)
        self.thumbnails = ThumbnailCache(settings.data_dir, self.sessions, self.store)
        self.transfers = TransferLog(self.sessions)

    def open(self) -> None:
        """Migrate the schema to head, count the store's usage, index what a crash left."""
        upgrade(self.engine)
        self.store.set_used_bytes(self.stats()["bytes"])
        self.writer.recover()

    def close(self) -> None:
        self.transfers.close()
        self.thumbnails.close()
        self.engine.dispose()

    def __enter__(self) -> Core:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- reads ----------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        with self.sessions() as session:
            return queries.stats(session)

    def list_rows(
        self,
        level: queries.BrowseLevel,
        flt: queries.StudyFilter,
        sort: str | None = None,
        descending: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        with self.sessions() as session:
            return queries.list_rows(session, level, flt, sort, descending, limit, offset)

    def count(self, level: queries.BrowseLevel, flt: queries.StudyFilter) -> int:
        with self.sessions() as session:
            return queries.count(session, level, flt)

    # -- writes -----------------------------------------------------------------------------
    def export(
        self,
        targets: list[tuple[str, str]],
        folder: Path,
        fmt: str = "files",
        *,
        anonymize: bool = False,
        new_name: str = "",
        new_id: str = "",
    ) -> ExportSummary:
        """Export ``(level, key)`` targets (the kiosk's selection) to ``folder`` (blocking)."""
        keys: dict[str, list[str]] = {"patient": [], "study": [], "series": [], "instance": []}
        for level, key in targets:
            keys["instance" if level == "image" else level].append(key)
        selection = Selection(
            patients=tuple(keys["patient"]),
            studies=tuple(keys["study"]),
            series=tuple(keys["series"]),
            instances=tuple(keys["instance"]),
        )
        deidentify = (
            DeidentifyOptions(patient_name=new_name, patient_id=new_id) if anonymize else None
        )
        options = ExportOptions(folder, fmt, deidentify)  # type: ignore[arg-type]
        return export_selection(self, selection, options)

    def delete(self, level: Level, key: str) -> DeleteResult:
        """Delete rows and files, then the thumbnails of the deleted instances."""
        result = self.writer.delete(level, key)
        self.thumbnails.remove(result.sop_uids)
        return result

    # -- sending ----------------------------------------------------------------------------------
    def destinations(self) -> list[str]:
        """Names of the registered remote nodes images can be sent to."""
        return [node.name for node in NodeRegistry(self.sessions).list()]

    def send(
        self, targets: list[tuple[str, str]], destination: str, priority: str = "medium"
    ) -> int:
        """Queue ``(level, key)`` targets for ``destination``; return the transfer id (blocking).

        A running ``SendWorker`` (kiosk or ``serve``) sends it; unknown destinations and empty
        selections raise ``NotFoundError`` / ``KioskError`` with a sentence for the user.
        """
        return enqueue(self.sessions, self.transfers, targets, destination, priority)
