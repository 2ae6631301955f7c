"""One database level (patient, study, series or image) as a paged, sortable list model."""

from __future__ import annotations

import asyncio
import logging
from enum import IntEnum
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

from core.db.browse import DEFAULT_SORT, BrowseLevel, StudyFilter
from viewmodels.base import guarded

if TYPE_CHECKING:
    from core.app import Core

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

PAGE_SIZE = 50

# (key, title, relative width) of the columns each level shows, in order.
LEVEL_COLUMNS: dict[BrowseLevel, list[tuple[str, str, float]]] = {
    "patient": [
        ("PatientName", "Name", 3.0),
        ("PatientID", "Patient ID", 2.0),
        ("PatientBirthDate", "Born", 2.1),
        ("PatientSex", "Sex", 1.0),
        ("NumberOfPatientRelatedStudies", "Studies", 1.2),
        ("NumberOfPatientRelatedInstances", "Images", 1.2),
    ],
    "study": [
        ("StudyDate", "Date", 2.1),
        ("StudyTime", "Time", 1.2),
        ("StudyDescription", "Description", 3.0),
        ("ModalitiesInStudy", "Modality", 1.4),
        ("PatientName", "Patient", 2.4),
        ("AccessionNumber", "Accession", 1.6),
        ("NumberOfStudyRelatedSeries", "Series", 1.1),
        ("NumberOfStudyRelatedInstances", "Images", 1.2),
    ],
    "series": [
        ("SeriesNumber", "No.", 1.0),
        ("Modality", "Modality", 1.3),
        ("SeriesDescription", "Description", 3.0),
        ("BodyPartExamined", "Body part", 1.6),
        ("SeriesDate", "Date", 2.1),
        ("NumberOfSeriesRelatedInstances", "Images", 1.2),
    ],
    "image": [
        ("InstanceNumber", "No.", 1.0),
        ("Rows", "Rows", 1.0),
        ("Columns", "Columns", 1.2),
        ("NumberOfFrames", "Frames", 1.1),
        ("FileSize", "Size", 1.2),
        ("ReceivedAt", "Received", 2.4),
        ("Source", "Source", 1.5),
    ],
}

LEVEL_TITLES: dict[BrowseLevel, str] = {
    "patient": "Patient",
    "study": "Study",
    "series": "Series",
    "image": "Image",
}

# The column holding how many images an entry stands for (what a delete removes).
IMAGE_COUNT_COLUMN: dict[BrowseLevel, str] = {
    "patient": "NumberOfPatientRelatedInstances",
    "study": "NumberOfStudyRelatedInstances",
    "series": "NumberOfSeriesRelatedInstances",
}

KEY_COLUMN: dict[BrowseLevel, str] = {
    "patient": "_pk",
    "study": "StudyInstanceUID",
    "series": "SeriesInstanceUID",
    "image": "SOPInstanceUID",
}


def format_cell(key: str, value: Any) -> str:
    """How a value reads in a table cell."""
    if value is None or value == "":
        return ""
    text = str(value)
    if key.endswith("Date") and len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    if key.endswith("Time") and len(text) >= 4 and text[:4].isdigit():
        return f"{text[:2]}:{text[2:4]}"
    if key in ("PatientName", "ReferringPhysicianName"):
        parts = [p for p in text.split("^") if p]
        return ", ".join(parts[:2]) + (" " + " ".join(parts[2:]) if len(parts) > 2 else "")
    if key == "ModalitiesInStudy":
        return ", ".join(text.split("\\"))
    if key == "FileSize":
        size = float(value)
        for unit in ("B", "KB", "MB", "GB"):
            if size < 1024 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1024
    if key == "ReceivedAt":
        return text.replace("T", " ")
    return text


class Role(IntEnum):
    KEY = 0x0101
    CELLS = 0x0102
    SELECTED = 0x0103
    CURRENT = 0x0104
    THUMB = 0x0105
    LABEL = 0x0106


def row_key(level: BrowseLevel, row: dict[str, Any]) -> str:
    return str(row.get(KEY_COLUMN[level], ""))


@QmlElement
@QmlUncreatable("A level model belongs to the database view model.")
class LevelModel(QAbstractListModel):  # type: ignore[operator]
    """A page of one level's rows; sorting, paging and selection (single or multiple)."""

    pageChanged = Signal()
    shownChanged = Signal()
    busyChanged = Signal()
    selectionChanged = Signal()
    errorOccurred = Signal(str)

    def __init__(self, core: Core, level: BrowseLevel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._level: BrowseLevel = level
        self._rows: list[dict[str, Any]] = []
        self._filter = StudyFilter()
        self._sort_key, self._descending = _default_sort(level)
        self._offset = 0
        self._page_size = PAGE_SIZE
        self._total = 0
        self._shown = level in ("patient", "study")
        self._busy = False
        self._selected: dict[str, dict[str, Any]] = {}
        self._current = ""
        self._generation = 0
        self.study_uid = ""  # for image rows: the study their thumbnails live under

    # -- Qt model --------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def roleNames(self) -> dict[int, QByteArray]:
        return {
            Role.KEY: QByteArray(b"key"),
            Role.CELLS: QByteArray(b"cells"),
            Role.SELECTED: QByteArray(b"selected"),
            Role.CURRENT: QByteArray(b"current"),
            Role.THUMB: QByteArray(b"thumb"),
            Role.LABEL: QByteArray(b"label"),
        }

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        key = row_key(self._level, row)
        if role == Role.KEY:
            return key
        if role == Role.CELLS:
            return [format_cell(c, row.get(c)) for c, _t, _w in LEVEL_COLUMNS[self._level]]
        if role == Role.SELECTED:
            return key in self._selected
        if role == Role.CURRENT:
            return key == self._current
        if role == Role.THUMB:
            return self._thumb(row)
        if role == Role.LABEL:
            return self._label(row)
        return None

    def _thumb(self, row: dict[str, Any]) -> str:
        if self._level == "series":
            return f"series/{row['StudyInstanceUID']}/{row['SeriesInstanceUID']}"
        if self._level == "image" and self.study_uid:
            return f"image/{self.study_uid}/{row['SeriesInstanceUID']}/{row['SOPInstanceUID']}"
        return ""

    def _label(self, row: dict[str, Any]) -> str:
        if self._level == "series":
            number = row.get("SeriesNumber")
            prefix = f"{number} " if number is not None else ""
            desc = row.get("SeriesDescription") or row.get("Modality") or ""
            return f"{prefix}{desc} ({row.get('NumberOfSeriesRelatedInstances', 0)})"
        if self._level == "image":
            return f"#{row.get('InstanceNumber') or '?'}"
        return ""

    # -- properties ------------------------------------------------------------------------
    @Property(str, constant=True, final=True)
    def level(self) -> str:
        return self._level

    @Property(str, constant=True, final=True)
    def title(self) -> str:
        return LEVEL_TITLES[self._level]

    @Property(list, constant=True, final=True)
    def columns(self) -> list[dict[str, Any]]:
        return [{"key": k, "title": t, "weight": w} for k, t, w in LEVEL_COLUMNS[self._level]]

    @Property(float, constant=True, final=True)
    def totalWeight(self) -> float:
        return sum(w for _k, _t, w in LEVEL_COLUMNS[self._level])

    def _get_shown(self) -> bool:
        return self._shown

    def set_shown(self, shown: bool) -> None:
        if shown != self._shown:
            self._shown = shown
            self.shownChanged.emit()

    shown = Property(bool, _get_shown, set_shown, notify=shownChanged, final=True)

    @Property(bool, notify=busyChanged, final=True)
    def busy(self) -> bool:
        return self._busy

    @Property(str, notify=pageChanged, final=True)
    def sortKey(self) -> str:
        return self._sort_key

    @Property(bool, notify=pageChanged, final=True)
    def descending(self) -> bool:
        return self._descending

    @Property(int, notify=pageChanged, final=True)
    def total(self) -> int:
        return self._total

    @Property(int, notify=pageChanged, final=True)
    def offset(self) -> int:
        return self._offset

    @Property(int, notify=pageChanged, final=True)
    def page(self) -> int:
        return self._offset // self._page_size + 1

    @Property(int, notify=pageChanged, final=True)
    def pageCount(self) -> int:
        return max(1, -(-self._total // self._page_size))

    @Property(str, notify=pageChanged, final=True)
    def rangeText(self) -> str:
        if not self._total:
            return "none"
        last = min(self._offset + len(self._rows), self._total)
        return f"{self._offset + 1}–{last} of {self._total:,}"

    @Property(int, notify=selectionChanged, final=True)
    def selectedCount(self) -> int:
        return len(self._selected)

    @Property(str, notify=selectionChanged, final=True)
    def currentKey(self) -> str:
        return self._current

    @Property(str, notify=selectionChanged, final=True)
    def currentLabel(self) -> str:
        """A short name for the current entry (shown on the level's button)."""
        row = self._selected.get(self._current)
        if row is None:
            return ""
        if self._level == "patient":
            return format_cell("PatientName", row.get("PatientName")) or str(row.get("PatientID"))
        if self._level == "study":
            date = format_cell("StudyDate", row.get("StudyDate"))
            return f"{date} {row.get('StudyDescription') or ''}".strip()
        return self._label(row)

    @Property(int, notify=selectionChanged, final=True)
    def currentRow(self) -> int:
        return self.current_index()

    def current_index(self) -> int:
        for i, row in enumerate(self._rows):
            if row_key(self._level, row) == self._current:
                return i
        return -1

    def current_key(self) -> str:
        return self._current

    def is_shown(self) -> bool:
        return self._shown

    # -- Python API (the database view model) ----------------------------------------------
    @property
    def filter(self) -> StudyFilter:
        return self._filter

    def set_filter(self, flt: StudyFilter) -> None:
        if flt != self._filter:
            self._filter = flt
            self._offset = 0

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def selected_rows(self) -> list[dict[str, Any]]:
        return list(self._selected.values())

    def selected_keys(self) -> list[str]:
        return list(self._selected)

    def current_row(self) -> dict[str, Any] | None:
        return self._selected.get(self._current)

    def selected_images(self) -> int:
        """How many images the selected entries stand for."""
        column = IMAGE_COUNT_COLUMN.get(self._level)
        if column is None:
            return len(self._selected)
        return sum(int(r.get(column) or 0) for r in self._selected.values())

    def clear(self) -> None:
        """Empty the level (its parent selection went away)."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._total = 0
        self._offset = 0
        self.endResetModel()
        self._set_selection({}, "")
        self.pageChanged.emit()

    async def reload(self, recount: bool = True) -> None:
        """Fetch the current page off the GUI thread, show it, then count the matches.

        The page comes first so it shows as soon as it can; ``recount`` is False when only
        the page or the order changed (the total stays the same).
        """
        self._generation += 1
        generation = self._generation
        self._set_busy(True)
        try:
            flt, sort, desc = self._filter, self._sort_key, self._descending
            offset, size = self._offset, self._page_size
            rows = await asyncio.to_thread(
                self._core.list_rows, self._level, flt, sort, desc, size, offset
            )
            if generation != self._generation:
                return  # a newer request superseded this one
            if not rows and offset > 0:  # the page went away (deletions): show the last one
                total = await asyncio.to_thread(self._core.count, self._level, flt)
                if generation != self._generation:
                    return
                self._total = total
                self._offset = max(0, (total - 1) // size * size)
                await self.reload(recount=False)
                return
            self._show(rows, None if recount else offset + len(rows))
            if recount:
                total = await asyncio.to_thread(self._core.count, self._level, flt)
                if generation != self._generation:
                    return
                self._total = total
                self.pageChanged.emit()
        finally:
            if generation == self._generation:
                self._set_busy(False)

    def load_now(self) -> None:
        """``reload`` on this thread, without a loop: the kiosk's first page, read before its
        window is made (the light reader answers in a few milliseconds)."""
        self._generation += 1
        flt = self._filter
        rows = self._core.list_rows(
            self._level, flt, self._sort_key, self._descending, self._page_size, self._offset
        )
        self._total = self._core.count(self._level, flt)
        self._show(rows, None)

    def _show(self, rows: list[dict[str, Any]], at_least: int | None) -> None:
        """``rows`` are the page now; the total becomes at least ``at_least`` when given (the
        page or the order changed: no recount)."""
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()
        # Keep the selection's row data current (counts change when images arrive).
        fresh = {row_key(self._level, r): r for r in rows}
        self._selected = {k: fresh.get(k, v) for k, v in self._selected.items()}
        if at_least is not None:
            self._total = max(self._total, at_least)
        self.pageChanged.emit()
        self.selectionChanged.emit()

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit()

    def _set_selection(self, selected: dict[str, dict[str, Any]], current: str) -> None:
        if selected == self._selected and current == self._current:
            return
        self._selected = selected
        self._current = current
        if self._rows:
            self.dataChanged.emit(
                self.index(0), self.index(len(self._rows) - 1), [Role.SELECTED, Role.CURRENT]
            )
        self.selectionChanged.emit()

    def select_key(self, key: str, multi: bool = False) -> None:
        row = next((r for r in self._rows if row_key(self._level, r) == key), None)
        if row is None:
            return
        if multi:
            selected = dict(self._selected)
            if key in selected:
                del selected[key]
                current = self._current
                if key == current:
                    current = next(reversed(selected), "") if selected else ""
                self._set_selection(selected, current)
                return
            selected[key] = row
            self._set_selection(selected, key)
        else:
            self._set_selection({key: row}, key)

    # -- slots for the view ------------------------------------------------------------------
    @Slot(int, bool)
    def select(self, row: int, multi: bool = False) -> None:
        if 0 <= row < len(self._rows):
            self.select_key(row_key(self._level, self._rows[row]), multi)

    @Slot()
    def selectAll(self) -> None:
        selected = {row_key(self._level, r): r for r in self._rows}
        current = self._current if self._current in selected else next(iter(selected), "")
        self._set_selection(selected, current)

    @Slot()
    def clearSelection(self) -> None:
        self._set_selection({}, "")

    @asyncSlot(str)
    @guarded("Could not sort", busy=True)
    async def sortBy(self, key: str) -> None:
        """Sort by a column; the same column again reverses the order."""
        if key == self._sort_key:
            self._descending = not self._descending
        elif key in {c for c, _t, _w in LEVEL_COLUMNS[self._level]}:
            self._sort_key, self._descending = key, False
        else:
            return
        self._offset = 0
        self.pageChanged.emit()
        await self.reload(recount=False)

    @asyncSlot(int)
    @guarded("Could not load the page", busy=True)
    async def turnPage(self, pages: int) -> None:
        """Show the next (1) or previous (-1) page."""
        offset = self._offset + pages * self._page_size
        offset = min(max(0, offset), max(0, (self._total - 1) // self._page_size * self._page_size))
        if offset == self._offset:
            return
        self._offset = offset
        await self.reload(recount=False)

    @asyncSlot()
    @guarded("Could not refresh", busy=True)
    async def refresh(self) -> None:
        await self.reload()

    @asyncSlot(int)
    @guarded("Could not move", busy=True)
    async def moveCurrent(self, delta: int) -> None:
        """Select the previous (-1) or next (1) entry, turning the page at its ends."""
        if self.current_index() < 0:  # nothing current here: start at this page's end
            if self._rows:
                self.select(0 if delta > 0 else len(self._rows) - 1, False)
            return
        row = self.current_index() + delta
        if row < 0 and self._offset > 0:
            self._offset = max(0, self._offset - self._page_size)
            await self.reload(recount=False)
            row = len(self._rows) - 1
        elif row >= len(self._rows) and self._offset + len(self._rows) < self._total:
            self._offset += self._page_size
            await self.reload(recount=False)
            row = 0
        row = min(max(row, 0), len(self._rows) - 1)
        if row >= 0:
            self.select(row, False)


def _default_sort(level: BrowseLevel) -> tuple[str, bool]:
    return DEFAULT_SORT[level]
