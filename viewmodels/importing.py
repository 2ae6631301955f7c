"""Import from a folder (USB stick, CD, network share) and the demo data, with progress.

The folder picker (``FolderModel``) is shared by the Import and Export dialogs, each with its own
instance: what one navigates to never moves the other. Hidden folders are left out unless the
user asks for them (a stick's ``.Trashes``, a home's ``.cache``). After an import every file that
was not imported is listed with its reason (``RejectionModel``), not only the first.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

from viewmodels.base import guarded

if TYPE_CHECKING:  # pydicom: loaded when the first import runs (Core.importer)
    from core.app import Core
    from core.index.importer import Importer, ImportProgress, ImportSummary

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

REMOVABLE_MEDIA = ("/media", "/mnt", "/run/media")
DEMO_PATIENTS = 6
DEMO_SEED = 1234


class FolderRole(IntEnum):
    NAME = 0x0201
    PATH = 0x0202


class RejectionRole(IntEnum):
    NAME = 0x0211  # the file's name (or zip member), what the row shows first
    PATH = 0x0212  # where it was found, as the importer names it
    REASON = 0x0213


def list_folders(path: Path, hidden: bool = False) -> list[tuple[str, str]]:
    """Sub-folders of ``path`` (name, full path), sorted by name; hidden ones only if ``hidden``."""
    entries: list[tuple[str, str]] = []
    with os.scandir(path) as it:
        for entry in it:
            if entry.name.startswith(".") and not hidden:
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
    showHiddenChanged = Signal()
    errorOccurred = Signal(str)

    def __init__(self, start: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._path = start or Path.home()
        self._folders: list[tuple[str, str]] = []
        self._hidden = False

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

    def _get_hidden(self) -> bool:
        return self._hidden

    def _set_hidden(self, hidden: bool) -> None:
        if hidden != self._hidden:
            self._hidden = hidden
            self.showHiddenChanged.emit()
            self.open(str(self._path))  # list the same folder again, with or without them

    # Whether folders whose names start with a dot are listed too.
    showHidden = Property(bool, _get_hidden, _set_hidden, notify=showHiddenChanged, final=True)

    @Property(list, constant=True, final=True)
    def shortcuts(self) -> list[dict[str, str]]:
        found = [{"label": "Home", "path": str(Path.home())}]
        for media in REMOVABLE_MEDIA:
            if Path(media).is_dir():
                found.append({"label": media, "path": media})
        return found

    async def open_path(self, path: Path) -> None:
        folders = await asyncio.to_thread(list_folders, path, self._hidden)
        self.beginResetModel()
        self._path = path
        self._folders = folders
        self.endResetModel()
        self.pathChanged.emit()

    @asyncSlot(str)
    @guarded("Cannot open {path}")
    async def open(self, path: str) -> None:
        """Show the folders in ``path`` (typed: ``~`` is the home folder)."""
        try:
            await self.open_path(Path(path.strip() or "~").expanduser())
        except OSError as exc:  # gone, or not ours to read: the reason, without a traceback
            self.errorOccurred.emit(f"Cannot open {path}: {exc.strerror or exc}")

    @Slot()
    def up(self) -> None:
        if self._path.parent != self._path:
            self.open(str(self._path.parent))


@QmlElement
@QmlUncreatable("The import model makes the list of rejected files.")
class RejectionModel(QAbstractListModel):  # type: ignore[operator]
    """The files the last import did not take, each with its reason."""

    countChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[tuple[str, str]] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def roleNames(self) -> dict[int, QByteArray]:
        return {
            RejectionRole.NAME: QByteArray(b"name"),
            RejectionRole.PATH: QByteArray(b"path"),
            RejectionRole.REASON: QByteArray(b"reason"),
        }

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        path, reason = self._rows[index.row()]
        if role == RejectionRole.NAME:
            return _display_name(path)
        if role == RejectionRole.PATH:
            return path
        return reason if role == RejectionRole.REASON else None

    @Property(int, notify=countChanged, final=True)
    def count(self) -> int:
        return len(self._rows)

    def rows(self) -> list[tuple[str, str]]:
        return list(self._rows)

    def set_rows(self, rows: list[tuple[str, str]]) -> None:
        if not rows and not self._rows:
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()
        self.countChanged.emit()


def _display_name(path: str) -> str:
    """A rejected source's own name: a zip member (``a.zip!x/y.dcm``) or a file's name."""
    archive, bang, member = path.rpartition("!")
    if bang and archive.lower().endswith(".zip") and member:
        return member.rsplit("/", 1)[-1] or path
    return Path(path).name or path


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
        self._rejections = RejectionModel(self)
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

    @property
    def rejection_model(self) -> RejectionModel:
        return self._rejections

    @Property(RejectionModel, constant=True, final=True)
    def rejections(self) -> RejectionModel:
        """Every file the last import rejected, with its reason."""
        return self._rejections

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
        self._rejections.set_rows([])
        self._status = "Preparing…"
        self._set_running(True)
        self.progressChanged.emit()
        try:
            # Built (and pydicom loaded) off the GUI thread the first time.
            importer = await asyncio.to_thread(lambda: self._core.importer)
            progress = self._progress_callback()
            if demo:
                summary = await asyncio.to_thread(self._demo, importer, progress)
            else:
                summary = await asyncio.to_thread(
                    importer.run, paths, progress, self._cancel, "import"
                )
            if not demo:  # the audit trail's Import event (110107), as the CLI records it
                await asyncio.to_thread(self._core.record_import, summary, paths)
            self._last_summary = summary
            self._rejections.set_rows(summary.rejected)
            self._summary = _summary_text(summary)
            self.progressChanged.emit()
            self.finished.emit()
            return summary
        finally:
            self._set_running(False)

    def _demo(self, importer: Importer, progress: Any) -> ImportSummary:
        from core.dicom import synth
        from core.index.importer import MemorySource

        sources = [
            MemorySource(f"demo #{i + 1}", data)
            for i, data in enumerate(synth.demo_instances(DEMO_PATIENTS, DEMO_SEED))
        ]
        return importer.run_sources(sources, None, progress, self._cancel, "demo")

    @asyncSlot(str)
    @guarded("Import failed")
    async def start(self, folder: str) -> None:
        if not self._running:  # run_import resets running, however it ends
            await self.run_import([Path(folder.strip() or "~").expanduser()])

    @asyncSlot()
    @guarded("Could not load the demo data")
    async def loadDemo(self) -> None:
        if not self._running:
            await self.run_import([], demo=True)

    @Slot()
    def reset(self) -> None:
        """Back to choosing a folder (the Import dialog opens so), unless an import runs."""
        if self._running or (not self._summary and not self._rejections.count):
            return
        self._summary = ""
        self._rejections.set_rows([])
        self.progressChanged.emit()

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
    return text
