"""The Export dialog: where to (a folder or a zip), the format, de-identification, progress.

Invariants:

- What is exported is the selection captured when the dialog opened (``prepare``), never the
  live one: the title and the export stay those of what the user chose, whatever happens behind.
- The exporter writes only into an empty (or new) folder, so the destination offered is always a
  fresh one: ``~/dicom-export/<date-time>`` at first, then a new ``<date-time>`` folder beside the
  last destination. Choosing a folder that is not empty in the picker puts a fresh folder inside
  it; a zip goes into any folder (the exporter never overwrites a zip).
- The picker has its own ``FolderModel``: browsing and then leaving with Back changes nothing.
- The de-identification options are those of ``dicom-kiosk export``: a new name and ID, and the
  dates kept, removed or shifted (``DeidentifyOptions``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import Property, QObject, Signal, Slot
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.cli.choices import EXPORT_DATES, EXPORT_FORMATS
from viewmodels.base import guarded
from viewmodels.importing import FolderModel

if TYPE_CHECKING:  # pydicom: loaded when an export runs (Core.export)
    from core.app import Core
    from core.export.deidentify import DatesOption
    from core.export.exporter import ExportProgress, ExportSummary

log = logging.getLogger(__name__)

# The exporter's choices as plain values (importing core.export loads pydicom): the same
# tuples in the same order (tests/viewmodels/test_first_frame.py).
FORMATS = EXPORT_FORMATS
DATES_OPTIONS = EXPORT_DATES

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

EXPORT_ROOT = "dicom-export"  # in the home folder: where the first export goes
DATES_LABELS = {"keep": "Keep", "remove": "Remove", "shift": "Shift"}
FORMAT_LABELS = {"files": "Files", "dicomdir": "DICOMDIR", "zip": "Zip"}
_PLURAL = {"patient": "patients", "study": "studies", "series": "series", "image": "images"}

Selected = tuple[str, list[dict[str, Any]]]  # the level and its selected rows
Target = tuple[str, str]


def count_text(n: int, noun: str) -> str:
    """``1 study``, ``3 studies``, ``2 de-identified images``."""
    if n == 1:
        return f"1 {noun}"
    head, _, last = noun.rpartition(" ")
    return f"{n} {head + ' ' if head else ''}{_PLURAL.get(last, last + 's')}"


def fresh_folder(parent: Path, now: datetime | None = None) -> Path:
    """A folder in ``parent`` named after the date and time that does not exist yet."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
    candidate = parent / stamp
    number = 2
    while candidate.exists():
        candidate = parent / f"{stamp}-{number}"
        number += 1
    return candidate


def destination_check(destination: str, fmt: str) -> tuple[bool, str]:
    """Whether the exporter can write to ``destination`` as ``fmt``, and what to tell the user
    (blocking: it looks at the disk)."""
    if not destination.strip():
        return False, "Type a folder, or choose one with Browse."
    path = Path(destination.strip()).expanduser()
    if fmt == "zip" and path.suffix.lower() == ".zip":
        if path.exists():
            return False, "That file exists; it is not overwritten."
        return _writable(path, "A new zip file.")
    if path.exists() and not path.is_dir():
        return False, "That is a file, not a folder."
    if fmt == "zip":
        return _writable(path, "The zip file goes into this folder.")
    if not path.exists():
        return _writable(path, "A new folder is made for the export.")
    try:
        empty = next(os.scandir(path), None) is None
    except OSError as exc:
        return False, f"Cannot read the folder: {exc.strerror or exc}"
    if not empty:
        return False, "Not empty: the export needs an empty folder (Browse makes one inside)."
    return _writable(path, "The folder is empty.")


def _writable(path: Path, ok: str) -> tuple[bool, str]:
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        return False, f"Cannot write in {existing}."
    return True, ok


def nearest_folder(path: Path) -> Path:
    """``path`` if it is a folder, else its nearest ancestor that is (where Browse starts)."""
    here = path
    while not here.is_dir() and here.parent != here:
        here = here.parent
    return here


def export_message(level: str, count: int, summary: ExportSummary) -> str:
    """What the toast says after an export: what was exported, how many images, and where."""
    if summary.cancelled:
        return "Export cancelled; nothing was left behind."
    images = count_text(
        summary.exported, "de-identified image" if summary.deidentified else "image"
    )
    if level == "image":
        text = f"Exported {images}"
    elif level == "patient":
        text = f"Exported {count_text(count, level)} ({count_text(summary.studies, 'study')}, "
        text += f"{images})"
    else:
        text = f"Exported {count_text(count, level)} ({images})"
    text += f" to {summary.destination}."
    if summary.skipped:
        text += f" {count_text(len(summary.skipped), 'image')} left out: {summary.skipped[0][1]}."
    if summary.warnings:
        more = len(summary.warnings) - 1
        text += f" Warning: {summary.warnings[0]}" + (f" (and {more} more)" if more else "")
    return text


@QmlElement
@QmlUncreatable("The export model is made by the database model.")
class ExportModel(QObject):  # type: ignore[operator]
    """One export at a time, of the selection captured when the dialog opened."""

    titleChanged = Signal()
    destinationChanged = Signal()
    checkChanged = Signal()
    optionsChanged = Signal()
    runningChanged = Signal()
    progressChanged = Signal()
    errorChanged = Signal()
    resultChanged = Signal()
    finished = Signal()  # the export is done (or cancelled): the dialog closes
    errorOccurred = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        core: Core,
        selection: Callable[[], Selected],
        target: Callable[[Any, dict[str, Any]], Sequence[Target]],
        parent: QObject | None = None,
    ) -> None:
        """``selection()``: the level and rows selected now; ``target(level, row)``: what one
        row exports, as (level, key) pairs (it may read the database)."""
        super().__init__(parent)
        self._core = core
        self._selection = selection
        self._target = target
        self._folders = FolderModel(parent=self)
        self._base = Path.home() / EXPORT_ROOT
        self._destination = ""
        self._used = True  # the destination was exported to: the next export gets a fresh one
        self._check = (False, "")
        self._check_generation = 0
        self._format = "files"
        self._dates: DatesOption = "remove"
        self._level = "study"
        self._count = 0
        self._captured: asyncio.Future[list[Target]] | None = None
        self._running = False
        self._done = 0
        self._total = 0
        self._error = ""
        self._result = ""
        self._cancel = threading.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- properties ---------------------------------------------------------------------------
    @Property(FolderModel, constant=True, final=True)
    def folders(self) -> FolderModel:
        return self._folders

    @Property(str, notify=titleChanged, final=True)
    def title(self) -> str:
        if not self._count:
            return "Export: nothing selected"
        return f"Export {count_text(self._count, self._level)}"

    @Property(bool, notify=titleChanged, final=True)
    def hasSelection(self) -> bool:
        return self._count > 0

    def _get_destination(self) -> str:
        return self._destination

    def _set_destination(self, destination: str) -> None:
        if destination != self._destination:
            self._destination = destination
            self._used = False
            self.destinationChanged.emit()
            self._recheck()

    # The folder (or .zip file) exported to; the dialog's field edits it.
    destination = Property(
        str, _get_destination, _set_destination, notify=destinationChanged, final=True
    )

    @Property(bool, notify=checkChanged, final=True)
    def destinationOk(self) -> bool:
        return self._check[0]

    @Property(str, notify=checkChanged, final=True)
    def destinationNote(self) -> str:
        return self._check[1]

    def _get_format(self) -> str:
        return self._format

    def _set_format(self, fmt: str) -> None:
        if fmt in FORMATS and fmt != self._format:
            self._format = fmt
            self.optionsChanged.emit()
            self._recheck()

    format = Property(str, _get_format, _set_format, notify=optionsChanged, final=True)

    def _get_dates(self) -> str:
        return self._dates

    def _set_dates(self, dates: str) -> None:
        if dates in DATES_OPTIONS and dates != self._dates:
            self._dates = cast("DatesOption", dates)
            self.optionsChanged.emit()

    # What de-identification does with dates: keep, remove or shift (as ``export --dates``).
    dates = Property(str, _get_dates, _set_dates, notify=optionsChanged, final=True)

    @Property(list, constant=True, final=True)
    def formats(self) -> list[dict[str, str]]:
        return [{"key": key, "label": FORMAT_LABELS[key]} for key in FORMATS]

    @Property(list, constant=True, final=True)
    def datesOptions(self) -> list[dict[str, str]]:
        return [{"key": key, "label": DATES_LABELS[key]} for key in DATES_OPTIONS]

    @Property(bool, notify=runningChanged, final=True)
    def running(self) -> bool:
        return self._running

    @Property(float, notify=progressChanged, final=True)
    def progress(self) -> float:
        return self._done / self._total if self._total else 0.0

    @Property(str, notify=progressChanged, final=True)
    def status(self) -> str:
        if not self._total:
            return "Preparing…"
        return f"{self._done} of {count_text(self._total, 'image')}"

    @Property(str, notify=resultChanged, final=True)
    def result(self) -> str:
        """What the last export did (the toast's words): what, how many images, where."""
        return self._result

    @Property(str, notify=errorChanged, final=True)
    def error(self) -> str:
        """Why the last export failed, shown in the dialog (which stays open to fix it)."""
        return self._error

    # -- the dialog opens -----------------------------------------------------------------------
    @Slot()
    def prepare(self) -> None:
        """Capture the selection (what the title names and OK exports) and offer a fresh,
        empty destination unless the user chose one that was not used yet."""
        if self._running:
            return
        level, rows = self._selection()
        rows = [dict(row) for row in rows]  # as they are now, whatever the tables do next
        self._level, self._count = level, len(rows)
        self._captured = (
            asyncio.ensure_future(asyncio.to_thread(self._resolve, level, rows)) if rows else None
        )
        self.titleChanged.emit()
        self._set_error("")
        if self._used or not self._destination:
            self._set_destination(str(fresh_folder(self._base)))
        else:
            self._recheck()

    @Slot()
    def browse(self) -> None:
        """Open the picker where the destination is (or its nearest existing folder)."""
        self._spawn(self._browse())

    @guarded("Cannot open the folder")
    async def _browse(self) -> None:
        start = Path(self._destination.strip() or str(Path.home())).expanduser()
        await self._folders.open_path(await asyncio.to_thread(nearest_folder, start))

    @asyncSlot(str)
    @guarded("Cannot use {path}")
    async def chooseFolder(self, path: str) -> None:
        """Use the folder the picker shows: as it is when it is empty (or for a zip), else a
        fresh folder inside it."""
        folder = Path(path.strip() or "~").expanduser()
        ok, _note = await asyncio.to_thread(destination_check, str(folder), self._format)
        if not ok and folder.is_dir():
            folder = await asyncio.to_thread(fresh_folder, folder)
        self._set_destination(str(folder))

    # -- export -----------------------------------------------------------------------------------
    @asyncSlot(bool, str, str)
    @guarded("Could not export", report=lambda model, text: model._set_error(text))
    async def start(self, anonymize: bool, new_name: str, new_id: str) -> None:
        """Export the captured selection to the destination with the chosen options."""
        if self._running:
            return
        if self._captured is None:
            self._set_error("Select what to export first.")
            return
        destination = Path(self._destination.strip()).expanduser()
        self._cancel = threading.Event()
        self._done = self._total = 0
        self._set_error("")
        self._set_running(True)
        try:
            targets = await self._captured
            summary = await asyncio.to_thread(
                self._core.export,
                list(targets),
                destination,
                self._format,
                anonymize=anonymize,
                new_name=new_name.strip(),
                new_id=new_id.strip(),
                dates=self._dates,
                progress=self._progress_callback(),
                cancel=self._cancel,
            )
        finally:
            self._set_running(False)
        if not summary.cancelled:
            self._used = True
            parent = destination.parent
            self._base = parent if os.access(parent, os.W_OK) else destination
        self._result = export_message(self._level, self._count, summary)
        self.resultChanged.emit()
        self.message.emit(self._result)
        self.finished.emit()

    @Slot()
    def cancel(self) -> None:
        self._cancel.set()

    # -- helpers ------------------------------------------------------------------------------
    def _resolve(self, level: str, rows: list[dict[str, Any]]) -> list[Target]:
        return [found for row in rows for found in self._target(level, row)]

    def _progress_callback(self) -> Callable[[ExportProgress], None]:
        loop = asyncio.get_running_loop()
        last = [0.0]

        def report(p: ExportProgress) -> None:  # on the worker thread
            now = time.monotonic()
            if now - last[0] >= 0.05 or p.done == p.total:
                last[0] = now
                loop.call_soon_threadsafe(self._on_progress, p.done, p.total)

        return report

    def _on_progress(self, done: int, total: int) -> None:
        self._done, self._total = done, total
        self.progressChanged.emit()

    def _set_running(self, running: bool) -> None:
        if running != self._running:
            self._running = running
            self.runningChanged.emit()
            self.progressChanged.emit()

    def _set_error(self, text: str) -> None:
        if text != self._error:
            self._error = text
            self.errorChanged.emit()

    def _recheck(self) -> None:
        self._check_generation += 1
        self._spawn(self._run_check(self._check_generation))

    @guarded(None)
    async def _run_check(self, generation: int) -> None:
        result = await asyncio.to_thread(destination_check, self._destination, self._format)
        if generation == self._check_generation and result != self._check:
            self._check = result
            self.checkChanged.emit()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
