"""Import from a folder (USB stick, CD, network share) and the demo data, with progress."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from enum import IntEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    Property,
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Signal,
    Slot,
)
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.app import Core
from core.index.importer import Importer, ImportProgress, ImportSummary, MemorySource
from viewmodels.base import guarded

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

REMOVABLE_MEDIA = ("/media", "/mnt", "/run/media")
DEMO_PATIENTS = 6
DEMO_SEED = 1234


class FolderRole(IntEnum):
    NAME = 0x0201
    PATH = 0x0202


def list_folders(path: Path) -> list[tuple[str, str]]:
    """Sub-folders of ``path`` (name, full path), hidden ones left out, sorted by name."""
    entries: list[tuple[str, str]] = []
    with os.scandir(path) as it:
        for entry in it:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    entries.append((entry.name, entry.path))
            except OSError:
                continue
    return sorted(entries, key=lambda e: e[0].casefold())


@QmlElement
@QmlUncreatable("The folder picker model is made by the kiosk.")
class FolderModel(QAbstractListModel):  # type: ignore[operator]
    """A touch folder picker: the folders inside ``path``, with removable-media shortcuts."""

    pathChanged = Signal()
    errorOccurred = Signal(str)

    def __init__(self, start: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path = start or Path.home()
        self._folders: list[tuple[str, str]] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._folders)

    def roleNames(self) -> dict[int, QByteArray]:
        return {FolderRole.NAME: QByteArray(b"name"), FolderRole.PATH: QByteArray(b"path")}

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._folders):
            return None
        name, path = self._folders[index.row()]
        return name if role == FolderRole.NAME else path if role == FolderRole.PATH else None

    @Property(str, notify=pathChanged, final=True)
    def path(self) -> str:
        return str(self._path)

    @Property(bool, notify=pathChanged, final=True)
    def canGoUp(self) -> bool:
        return self._path.parent != self._path

    @Property(list, constant=True, final=True)
    def shortcuts(self) -> list[dict[str, str]]:
        found = [{"label": "Home", "path": str(Path.home())}]
        for media in REMOVABLE_MEDIA:
            if Path(media).is_dir():
                found.append({"label": media, "path": media})
        return found

    async def open_path(self, path: Path) -> None:
        folders = await asyncio.to_thread(list_folders, path)
        self.beginResetModel()
        self._path = path
        self._folders = folders
        self.endResetModel()
        self.pathChanged.emit()

    @asyncSlot(str)
    @guarded("Cannot open {path}")
    async def open(self, path: str) -> None:
        try:
            await self.open_path(Path(path))
        except OSError as exc:  # gone, or not ours to read: the reason, without a traceback
            self.errorOccurred.emit(f"Cannot open {path}: {exc.strerror or exc}")

    @Slot()
    def up(self) -> None:
        if self._path.parent != self._path:
            self.open(str(self._path.parent))


@QmlElement
@QmlUncreatable("The import model is made by the kiosk.")
class ImportModel(QObject):  # type: ignore[operator]
    """Runs the core Importer on a worker thread; progress, cancel and a summary."""

    runningChanged = Signal()
    progressChanged = Signal()
    finished = Signal()
    errorOccurred = Signal(str)

    def __init__(self, core: Core, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._folders = FolderModel(parent=self)
        self._running = False
        self._done = 0
        self._total = 0
        self._status = ""
        self._summary = ""
        self._cancel = threading.Event()
        self._last_summary: ImportSummary | None = None

    @Property(FolderModel, constant=True, final=True)
    def folders(self) -> FolderModel:
        return self._folders

    @property
    def folder_model(self) -> FolderModel:
        return self._folders

    @Property(bool, notify=runningChanged, final=True)
    def running(self) -> bool:
        return self._running

    @Property(float, notify=progressChanged, final=True)
    def progress(self) -> float:
        return self._done / self._total if self._total else 0.0

    @Property(str, notify=progressChanged, final=True)
    def status(self) -> str:
        return self._status

    @Property(str, notify=progressChanged, final=True)
    def summary(self) -> str:
        return self._summary

    @property
    def last_summary(self) -> ImportSummary | None:
        return self._last_summary

    def _set_running(self, running: bool) -> None:
        if running != self._running:
            self._running = running
            self.runningChanged.emit()

    def _on_progress(self, p: ImportProgress) -> None:
        self._done, self._total = p.done, p.total
        self._status = (
            f"{p.done} of {p.total}: imported {p.imported}, duplicates {p.duplicates},"
            f" rejected {p.rejected}"
        )
        self.progressChanged.emit()

    def _progress_callback(self) -> Any:
        loop = asyncio.get_running_loop()
        last = [0.0]

        def report(p: ImportProgress) -> None:  # on the worker thread
            now = time.monotonic()
            if now - last[0] >= 0.05 or p.done == p.total:
                last[0] = now
                loop.call_soon_threadsafe(self._on_progress, p)

        return report

    async def run_import(self, paths: list[Path], demo: bool = False) -> ImportSummary:
        self._cancel = threading.Event()
        self._done, self._total, self._summary = 0, 0, ""
        self._status = "Preparing…"
        self._set_running(True)
        self.progressChanged.emit()
        try:
            importer = self._core.importer
            progress = self._progress_callback()
            if demo:
                summary = await asyncio.to_thread(self._demo, importer, progress)
            else:
                summary = await asyncio.to_thread(
                    importer.run, paths, progress, self._cancel, "import"
                )
            self._last_summary = summary
            self._summary = _summary_text(summary)
            self.progressChanged.emit()
            self.finished.emit()
            return summary
        finally:
            self._set_running(False)

    def _demo(self, importer: Importer, progress: Any) -> ImportSummary:
        from core.dicom import synth

        sources = [
            MemorySource(f"demo #{i + 1}", data)
            for i, data in enumerate(synth.demo_instances(DEMO_PATIENTS, DEMO_SEED))
        ]
        return importer.run_sources(sources, None, progress, self._cancel, "demo")

    @asyncSlot(str)
    @guarded("Import failed")
    async def start(self, folder: str) -> None:
        if not self._running:  # run_import resets running, however it ends
            await self.run_import([Path(folder)])

    @asyncSlot()
    @guarded("Could not load the demo data")
    async def loadDemo(self) -> None:
        if not self._running:
            await self.run_import([], demo=True)

    @Slot()
    def cancel(self) -> None:
        self._cancel.set()
        self._status = "Cancelling…"
        self.progressChanged.emit()


def _summary_text(summary: ImportSummary) -> str:
    text = (
        f"Imported {summary.imported}, duplicates {summary.duplicates},"
        f" rejected {len(summary.rejected)}."
    )
    if summary.cancelled:
        text += " Cancelled: images imported so far are kept."
    if summary.stopped:
        text += f" Stopped: {summary.stopped}."
    if summary.rejected:
        first = summary.rejected[0]
        text += f" First rejected: {Path(first[0]).name}: {first[1]}"
    return text
