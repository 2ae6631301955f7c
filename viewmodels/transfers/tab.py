"""The Transfer Log tab's model: direction, paging, selection, the drill-down, the operations.

It owns the two list models (``lists``), follows the core's transfer changes (published on the
core's thread, applied on the Qt thread) and runs every read and operation off the GUI thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import Property, QObject, Qt, Signal, Slot
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.errors import KioskError
from core.events import TransfersChanged
from core.transfers.log import (
    DELETED,
    IN_RECEIVED,
    IN_RECEIVING,
    OUT_SENT,
    Direction,
    TransferLog,
    TransferRow,
)
from viewmodels.base import guarded, plural
from viewmodels.transfers.lists import TransferLevelModel, TransferListModel
from viewmodels.transfers.text import (
    FINAL_FOLLOW_UPS,
    LEVEL_NAMES,
    can_abort,
    can_resend,
    follow_up,
    level_details,
    level_label,
    peer_text,
    status_text,
    transfer_details,
)

if TYPE_CHECKING:
    from core.app import Core

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

PAGE_SIZE = 50
# How often a read is tried while live changes overtake it (``_read_fresh``).
FRESH_READS = 5

_T = TypeVar("_T")

# What the manual allows, as the core enforces it (outgoing only for Resend and Abort).
CLEARABLE = {"out": OUT_SENT, "in": IN_RECEIVED}

# (key, title, relative width) of the transfer list's and the status table's columns.
LIST_COLUMNS = [
    ("status", "Status", 1.7),
    ("peer", "", 2.6),
    ("priority", "Priority", 1.1),
    ("counts", "Images", 2.6),
    ("progress", "Progress", 1.6),
    ("started", "", 1.5),
    ("finished", "Finished", 1.5),
]
LEVEL_COLUMNS = [
    ("label", "", 3.2),
    ("status", "Status", 1.7),
    ("total", "Images", 1.0),
    ("done", "", 1.0),
    ("failed", "Failed", 1.0),
    ("progress", "Progress", 1.5),
    ("error", "Error", 2.6),
    ("show", "", 1.2),
]


@dataclass(frozen=True, slots=True)
class Crumb:
    """One step of the drill-down: the level shown and the entry it belongs to."""

    level: str  # the level whose rows are shown: study, series, image
    uid: str  # the study (for series rows) or series (for image rows); "" for studies
    title: str


@QmlElement
@QmlUncreatable("The transfer log model is made by the kiosk.")
class TransferLogModel(QObject):  # type: ignore[operator]
    """Binds the Transfer Log tab to the core's transfer log."""

    directionChanged = Signal()
    pageChanged = Signal()
    selectionChanged = Signal()
    levelChanged = Signal()
    detailsChanged = Signal()
    busyChanged = Signal()
    errorOccurred = Signal(str)
    message = Signal(str)
    # (a message posted earlier, what to say instead): its transfer moved on. Whoever shows
    # messages replaces the earlier one with it while that one is still on screen.
    messageUpdated = Signal(str, str)
    # Changes published by the core, on whatever thread: a queued hop onto the Qt thread.
    _published = Signal(object)

    def __init__(self, core: Core, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._direction: Direction = "out"
        self._offset = 0
        self._has_more = False
        self._total = 0  # transfers of this direction, as last counted
        self._clearable = 0  # of those, sent (out) or received (in) ones
        self._count_task: asyncio.Task[None] | None = None
        self._count_dirty = False
        self._transfers = TransferListModel(self)
        self._levels = TransferLevelModel(self)
        self._selected: TransferRow | None = None
        self._crumbs: list[Crumb] = []
        self._details: list[dict[str, str]] = []
        self._details_title = ""
        self._details_error = ""
        # What the Details dialog describes: (transfer id, the status-table row's UID or None
        # for the transfer itself); it follows that transfer's changes while it is selected.
        self._details_subject: tuple[int, str | None] | None = None
        # The transfer the last message (after Resend) spoke of: (id, its status text, message).
        self._followed: tuple[int, str, str] | None = None
        self._busy = 0
        self._generation = 0
        self._level_generation = 0
        self._levels_task: asyncio.Task[None] | None = None
        self._levels_dirty = False
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._live_changes = 0  # batches of core changes applied so far
        # Queued: the core calls from its watcher thread; the rows change on the Qt thread.
        self._published.connect(self._apply_changes, Qt.ConnectionType.QueuedConnection)

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def log(self) -> TransferLog:
        """The core's transfer log."""
        return self._core.transfers

    async def start(self) -> None:
        """Follow the core's changes, then read the first page."""
        if self._unsubscribe is None:
            self._unsubscribe = self._core.events.subscribe(
                TransfersChanged, lambda event: self._published.emit(list(event.rows))
            )
        await self.reload()

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for task in list(self._tasks):
            task.cancel()

    # -- properties ------------------------------------------------------------------------------
    @Property(TransferListModel, constant=True, final=True)
    def transfers(self) -> TransferListModel:
        return self._transfers

    @Property(TransferLevelModel, constant=True, final=True)
    def levels(self) -> TransferLevelModel:
        return self._levels

    @Property(str, notify=directionChanged, final=True)
    def direction(self) -> str:
        return self._direction

    @Property(bool, notify=directionChanged, final=True)
    def outgoing(self) -> bool:
        return self._direction == "out"

    @Property(str, notify=directionChanged, final=True)
    def peerTitle(self) -> str:
        return "Destination" if self._direction == "out" else "Source"

    @Property(str, notify=directionChanged, final=True)
    def startedTitle(self) -> str:
        return "Queued" if self._direction == "out" else "Started"

    @Property(list, notify=directionChanged, final=True)
    def listColumns(self) -> list[dict[str, Any]]:
        """The transfer list's columns (incoming transfers have no priority)."""
        out = self._direction == "out"
        titles = {
            "peer": "Destination" if out else "Source",
            "started": "Queued" if out else "Started",
        }
        return [
            {"key": k, "title": titles.get(k, t), "weight": w}
            for k, t, w in LIST_COLUMNS
            if self._direction == "out" or k != "priority"
        ]

    @Property(dict, notify=directionChanged, final=True)
    def listWeights(self) -> dict[str, float]:
        """Each list column's share of the width (0 for a column not shown)."""
        shown = {k: w for k, _t, w in LIST_COLUMNS if self._direction == "out" or k != "priority"}
        total = sum(shown.values())
        return {k: shown.get(k, 0.0) / total for k, _t, _w in LIST_COLUMNS}

    @Property(list, notify=levelChanged, final=True)
    def levelColumns(self) -> list[dict[str, Any]]:
        done = "Sent" if self._direction == "out" else "Received"
        titles = {"label": self._level_name(), "done": done}
        return [{"key": k, "title": titles.get(k, t), "weight": w} for k, t, w in LEVEL_COLUMNS]

    @Property(dict, constant=True, final=True)
    def levelWeights(self) -> dict[str, float]:
        total = sum(w for _k, _t, w in LEVEL_COLUMNS)
        return {k: w / total for k, _t, w in LEVEL_COLUMNS}

    @Property(str, notify=pageChanged, final=True)
    def emptyText(self) -> str:
        if self._transfers.rowCount():
            return ""
        if self._direction == "out":
            return "Nothing sent yet. Select images on the Database tab and press Send."
        return "Nothing received yet. Images other DICOM nodes send to this kiosk show up here."

    @Property(int, notify=pageChanged, final=True)
    def page(self) -> int:
        return self._offset // PAGE_SIZE + 1

    @Property(bool, notify=pageChanged, final=True)
    def hasPrevious(self) -> bool:
        return self._offset > 0

    @Property(bool, notify=pageChanged, final=True)
    def hasMore(self) -> bool:
        return self._has_more

    @Property(str, notify=pageChanged, final=True)
    def rangeText(self) -> str:
        count = self._transfers.rowCount()
        if not count:
            return ""
        total = max(self._total, self._offset + count)
        return f"{self._offset + 1}–{self._offset + count} of {total}"

    @Property(int, notify=selectionChanged, final=True)
    def selectedId(self) -> int:
        return int(self._selected["id"]) if self._selected else 0

    @Property(int, notify=selectionChanged, final=True)
    def selectedRow(self) -> int:
        """The selected transfer's row on this page (-1: none, or on another page)."""
        return self._transfers.row_of(int(self._selected["id"])) if self._selected else -1

    @Property(bool, notify=selectionChanged, final=True)
    def hasSelection(self) -> bool:
        return self._selected is not None

    @Property(str, notify=selectionChanged, final=True)
    def selectedText(self) -> str:
        t = self._selected
        if t is None:
            return "Select a transfer to see it by study, series and image"
        what = "to" if t.get("direction") == "out" else "from"
        return f"#{t['id']} {what} {peer_text(t)} · {status_text(str(t.get('status')))}"

    @Property(str, notify=selectionChanged, final=True)
    def selectedError(self) -> str:
        return str(self._selected.get("error") or "") if self._selected else ""

    @Property(bool, notify=selectionChanged, final=True)
    def canResend(self) -> bool:
        return can_resend(self._selected)

    @Property(bool, notify=selectionChanged, final=True)
    def canAbort(self) -> bool:
        return can_abort(self._selected)

    @Property(bool, notify=selectionChanged, final=True)
    def canDelete(self) -> bool:
        """Any selected transfer, except one still receiving (the node writes to it)."""
        t = self._selected
        return t is not None and not (
            t.get("direction") == "in" and t.get("status") == IN_RECEIVING
        )

    @Property(bool, notify=pageChanged, final=True)
    def canClear(self) -> bool:
        """Something to clear: a sent (outgoing) or received (incoming) transfer is in the log
        (counted at the last reload; one that ended on this page since counts at once)."""
        status = CLEARABLE[self._direction]
        return self._clearable > 0 or any(t.get("status") == status for t in self._transfers.rows())

    @Property(str, notify=directionChanged, final=True)
    def clearPrompt(self) -> str:
        if self._direction == "out":
            return "Remove every sent transfer from the log? The images stay in the database."
        return "Remove every received transfer from the log? The images stay in the database."

    @Property(str, notify=selectionChanged, final=True)
    def deletePrompt(self) -> str:
        t = self._selected
        if t is None:
            return ""
        if t.get("status") == "sending":
            return (
                f"Transfer #{t['id']} is sending: stop it and remove it from the log? "
                "The images stay in the database."
            )
        return f"Remove transfer #{t['id']} from the log? The images stay in the database."

    @Property(list, notify=levelChanged, final=True)
    def crumbs(self) -> list[str]:
        return [c.title for c in self._crumbs]

    @Property(int, notify=levelChanged, final=True)
    def depth(self) -> int:
        return len(self._crumbs)

    @Property(bool, notify=levelChanged, final=True)
    def canBack(self) -> bool:
        return len(self._crumbs) > 1

    @Property(str, notify=levelChanged, final=True)
    def levelTitle(self) -> str:
        return self._level_name()

    def _level_name(self) -> str:
        return LEVEL_NAMES.get(self._crumbs[-1].level, "") if self._crumbs else ""

    @Property(str, notify=levelChanged, final=True)
    def levelEmptyText(self) -> str:
        if not self._crumbs:
            return "Select a transfer above"
        if self._levels.rowCount():
            return ""
        return "No images in this transfer yet"

    @Property(int, notify=levelChanged, final=True)
    def levelRow(self) -> int:
        """The selected row of the status table (-1: none; Details then shows the transfer)."""
        return self._levels.selected_row()

    @Property(bool, notify=levelChanged, final=True)
    def hasLevelSelection(self) -> bool:
        return self._levels.selected_row() >= 0

    @Property(str, notify=detailsChanged, final=True)
    def detailsTitle(self) -> str:
        return self._details_title

    @Property(list, notify=detailsChanged, final=True)
    def details(self) -> list[dict[str, str]]:
        return self._details

    @Property(str, notify=detailsChanged, final=True)
    def detailsError(self) -> str:
        return self._details_error

    @Property(bool, notify=busyChanged, final=True)
    def busy(self) -> bool:
        return self._busy > 0

    # -- Python API (tests, the kiosk) -----------------------------------------------------------
    def selected(self) -> TransferRow | None:
        return self._selected.copy() if self._selected else None

    async def reload(self) -> None:
        """Read the current page of the current direction; keep the selection when listed."""
        self._generation += 1
        generation = self._generation
        self._set_busy(True)
        try:
            direction, offset = self._direction, self._offset
            selected_id = int(self._selected["id"]) if self._selected is not None else 0
            rows, total, clearable, fresh = await self._read_fresh(
                lambda: self._read_page(direction, offset, selected_id)
            )
            if generation != self._generation:
                return
            self._total, self._clearable = total, clearable
            if not rows and offset > 0:  # the page emptied (cleared, deleted): go back one
                self._offset = max(0, offset - PAGE_SIZE)
                await self.reload()
                return
            self._has_more = len(rows) > PAGE_SIZE
            self._transfers.set_rows(rows[:PAGE_SIZE])
            self.pageChanged.emit()
            if self._selected is not None and int(self._selected["id"]) == selected_id:
                if fresh is None or fresh.get("direction") != direction:
                    self._set_selected(None)
                else:
                    self._set_selected(fresh, keep_level=True)
                    await self._load_levels()
        finally:
            self._set_busy(False)

    async def _read_fresh(self, read: Callable[[], _T]) -> _T:
        """``read()`` off the GUI thread, read again while live changes arrived meanwhile.

        A change published while a read runs may be newer than what the read saw (it read the
        rows before the change was committed) or older; applying the read after the change
        could then put back the state before it, and with the transfer's last change (Sent)
        nothing would correct it. A read that began after the last change arrived sees at
        least what that change says, so that read is the one kept (up to ``FRESH_READS``
        tries: a later change corrects the rest)."""
        for _ in range(FRESH_READS - 1):
            seen = self._live_changes
            result = await asyncio.to_thread(read)
            if seen == self._live_changes:
                return result
        return await asyncio.to_thread(read)

    def _read_page(
        self, direction: Direction, offset: int, selected_id: int
    ) -> tuple[list[TransferRow], int, int, TransferRow | None]:
        """One page of ``direction`` (one row more, to know whether more follow), the counts,
        and the selected transfer as it is now (on the page or not)."""
        rows = self.log.list(direction, PAGE_SIZE + 1, offset)
        total, clearable = self._counts(direction)
        fresh = next((r for r in rows[:PAGE_SIZE] if int(r["id"]) == selected_id), None)
        if fresh is None and selected_id:
            fresh = self._fetch(selected_id)
        return rows, total, clearable, fresh

    def _counts(self, direction: Direction) -> tuple[int, int]:
        return self.log.count(direction), self.log.count(direction, CLEARABLE[direction])

    def _fetch(self, transfer_id: int) -> TransferRow | None:
        try:
            return self.log.get(transfer_id).copy()
        except KioskError:
            return None

    async def select_transfer(self, transfer_id: int) -> None:
        """Select a transfer (tap on its row, or after Send) and show it by study."""
        transfer = self._transfers.get(transfer_id)
        if transfer is None:
            transfer = await self._read_fresh(lambda: self._fetch(transfer_id))
            listed = self._transfers.get(transfer_id)  # a change may have listed it meanwhile
            transfer = listed if listed is not None else transfer
        if transfer is None:
            self._set_selected(None)
            return
        self._set_selected(transfer, keep_level=False)
        await self._load_levels()

    def _set_selected(self, transfer: TransferRow | None, keep_level: bool = False) -> None:
        previous = self._selected
        same = previous is not None and transfer is not None and previous["id"] == transfer["id"]
        self._selected = transfer.copy() if transfer else None
        self._transfers.set_selected(int(transfer["id"]) if transfer else 0)
        if not (same and keep_level):
            self._crumbs = [Crumb("study", "", f"Transfer #{transfer['id']}")] if transfer else []
            self._level_generation += 1
            self._levels.set_rows([])
            self._levels.set_selected(-1)
            self.levelChanged.emit()
        if previous != self._selected:
            self.selectionChanged.emit()

    async def _load_levels(self) -> None:
        """Read the rows of the current drill-down level off the GUI thread."""
        self._level_generation += 1
        generation = self._level_generation
        if self._selected is None or not self._crumbs:
            self._levels.set_rows([])
            self.levelChanged.emit()
            return
        transfer_id = int(self._selected["id"])
        study_uid, series_uid = self._uids()
        rows = await asyncio.to_thread(self.log.levels, transfer_id, study_uid, series_uid)
        if generation != self._level_generation:
            return
        self._levels.set_rows(rows)
        self.levelChanged.emit()
        self._show_details()  # a row the Details dialog describes may have changed

    def _uids(self) -> tuple[str | None, str | None]:
        study = next((c.uid for c in self._crumbs if c.level == "series"), None)
        series = next((c.uid for c in self._crumbs if c.level == "image"), None)
        return study, series

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _set_busy(self, busy: bool) -> None:
        """Calls overlap: True starts one, False ends one; busy while any is in flight."""
        was = self._busy > 0
        self._busy = max(0, self._busy + (1 if busy else -1))
        if was != (self._busy > 0):
            self.busyChanged.emit()

    # -- live changes ------------------------------------------------------------------------------
    @guarded(None)
    def _apply_changes(self, changes: list[TransferRow]) -> None:
        """Changes from the core (on the Qt thread now): update rows in place, add new ones."""
        if changes:
            self._live_changes += 1  # a read under way may predate these (``_read_fresh``)
        new: list[TransferRow] = []
        top = max((int(t["id"]) for t in self._transfers.rows()), default=0)
        for change in changes:
            transfer_id = int(change.get("id") or 0)
            if not transfer_id:
                continue
            self._follow(change)
            if change.get("status") == DELETED:
                self._transfers.remove(transfer_id)
                if self._selected and int(self._selected["id"]) == transfer_id:
                    self._set_selected(None)
                self._details_removed(transfer_id)
                continue
            if change.get("direction") != self._direction:
                continue
            if not self._transfers.update(change) and self._offset == 0 and transfer_id > top:
                new.append(change)
            if self._selected and int(self._selected["id"]) == transfer_id:
                # Selected, on this page or not: the status line, Details and the table follow.
                self._set_selected(change, keep_level=True)
                self._show_details()
                self._reload_levels_soon()
        if new:
            if self._transfers.insert_newest(new, PAGE_SIZE):
                self._has_more = True
        if changes:  # the range text and Clear may change with any of them
            self.pageChanged.emit()
            self._recount_soon()

    def _recount_soon(self) -> None:
        """Re-count the log (range text, Clear); at most one count at a time."""
        if self._count_task is not None and not self._count_task.done():
            self._count_dirty = True
            return
        self._count_task = self._spawn(self._recount())

    @guarded(None)  # the next change counts again
    async def _recount(self) -> None:
        while True:
            self._count_dirty = False
            direction = self._direction
            counts = await asyncio.to_thread(self._counts, direction)
            if direction == self._direction:
                self._total, self._clearable = counts
                self.pageChanged.emit()
            if not self._count_dirty:
                return

    def _reload_levels_soon(self) -> None:
        """Re-read the status table; at most one read at a time, the last change wins."""
        if self._levels_task is not None and not self._levels_task.done():
            self._levels_dirty = True
            return
        self._levels_task = self._spawn(self._refresh_levels())

    @guarded("Could not show the transfer")
    async def _refresh_levels(self) -> None:
        while True:
            self._levels_dirty = False
            await self._load_levels()
            if not self._levels_dirty:
                return

    # -- slots: navigation -----------------------------------------------------------------------
    @asyncSlot(str)
    @guarded("Could not read the transfer log", busy=True)
    async def setDirection(self, direction: str) -> None:
        if direction not in ("in", "out") or direction == self._direction:
            return
        self._direction = "in" if direction == "in" else "out"
        self._offset = 0
        self._set_selected(None)
        self._transfers.set_rows([])
        self.directionChanged.emit()
        self.pageChanged.emit()
        await self.reload()

    @asyncSlot()
    @guarded("Could not read the transfer log", busy=True)
    async def refresh(self) -> None:
        """Refresh: read the log in from the database."""
        await self.reload()

    @asyncSlot(int)
    @guarded("Could not read the transfer log", busy=True)
    async def turnPage(self, pages: int) -> None:
        offset = max(0, self._offset + pages * PAGE_SIZE)
        if offset == self._offset or (pages > 0 and not self._has_more):
            return
        self._offset = offset
        await self.reload()

    @asyncSlot(int)
    @guarded("Could not show the transfer", busy=True)
    async def select(self, row: int) -> None:
        """A tap on a transfer: select it and show its studies."""
        transfer = self._transfers.at(row)
        if transfer is not None:
            await self.select_transfer(int(transfer["id"]))

    @asyncSlot(int)
    @guarded("Could not show the transfer", busy=True)
    async def showTransfer(self, transfer_id: int) -> None:
        """Open the log on one transfer (after Send): its direction, first page, selected."""
        transfer = await asyncio.to_thread(self._fetch, transfer_id)
        if transfer is None:
            self.errorOccurred.emit(f"Transfer #{transfer_id} is not in the log.")
            return
        if transfer.get("direction") != self._direction:
            self._direction = "in" if transfer.get("direction") == "in" else "out"
            self._set_selected(None)
            self.directionChanged.emit()
        self._offset = 0
        await self.reload()
        await self.select_transfer(transfer_id)

    @Slot(int)
    def selectLevelRow(self, row: int) -> None:
        """A tap on a row of the status table (what Details then describes)."""
        if self._levels.at(row) is not None:
            self._levels.set_selected(-1 if row == self._levels.selected_row() else row)
            self.levelChanged.emit()

    @asyncSlot(int)
    @guarded("Could not show the level", busy=True)
    async def showLevel(self, row: int) -> None:
        """The Show button of a status-table row: open the next level below it."""
        entry = self._levels.at(row)
        if entry is None or entry.get("level") not in ("study", "series"):
            return
        child = "series" if entry["level"] == "study" else "image"
        name = LEVEL_NAMES[str(entry["level"])]
        title = f"{name}: {level_label(entry)}"
        self._crumbs.append(Crumb(child, str(entry["uid"]), title))
        self._levels.set_rows([])
        self.levelChanged.emit()
        await self._load_levels()

    @asyncSlot(int)
    @guarded("Could not show the level", busy=True)
    async def goToDepth(self, depth: int) -> None:
        """A tap on a breadcrumb (1 = the transfer's studies): go back up to it."""
        if not 1 <= depth < len(self._crumbs):
            return
        del self._crumbs[depth:]
        self._levels.set_rows([])
        self.levelChanged.emit()
        await self._load_levels()

    @Slot()
    def back(self) -> None:
        self.goToDepth(len(self._crumbs) - 1)

    @Slot()
    def openDetails(self) -> None:
        """Fill the Details dialog: the selected status-table row, else the transfer. It then
        follows that row or transfer as it changes (``_show_details``)."""
        transfer = self._selected
        if transfer is None:
            return
        row = self._levels.at(self._levels.selected_row())
        self._details_subject = (int(transfer["id"]), str(row["uid"]) if row else None)
        self._show_details()

    def _show_details(self) -> None:
        """Describe the Details subject as it is now (after a change of its transfer or a new
        read of the status table); nothing changes while another transfer is selected."""
        transfer, subject = self._selected, self._details_subject
        if transfer is None or subject is None or int(transfer["id"]) != subject[0]:
            return
        transfer_id, uid = subject
        if uid is not None:
            row = next((r for r in self._levels.rows() if str(r.get("uid")) == uid), None)
            if row is None:
                return  # not in the table just now: keep what it said
            name = LEVEL_NAMES.get(str(row.get("level")), "Entry")
            title = f"{name} of transfer #{transfer_id}"
            details = level_details(row, transfer.get("direction") == "out")
            error = str(row.get("error") or "")
        else:
            title = f"Transfer #{transfer_id}"
            details = transfer_details(transfer)
            error = str(transfer.get("error") or "")
        if (title, details, error) != (self._details_title, self._details, self._details_error):
            self._details_title, self._details, self._details_error = title, details, error
            self.detailsChanged.emit()

    def _details_removed(self, transfer_id: int) -> None:
        if self._details_subject is not None and self._details_subject[0] == transfer_id:
            self._details_subject = None
            self._details_error = f"Transfer #{transfer_id} was removed from the log."
            self.detailsChanged.emit()

    # -- the message that follows a resent transfer -----------------------------------------------
    def _follow(self, change: TransferRow) -> None:
        """A change of the transfer the last message spoke of: say where it is now instead."""
        followed = self._followed
        if followed is None or int(change.get("id") or 0) != followed[0]:
            return
        transfer_id, status, text = followed
        if change.get("status") == DELETED:
            self._followed = None
            self.messageUpdated.emit(text, f"Transfer #{transfer_id} removed from the log.")
            return
        now, new_text = follow_up(change)
        if now == status:
            return
        self._followed = None if now in FINAL_FOLLOW_UPS else (transfer_id, now, new_text)
        self.messageUpdated.emit(text, new_text)

    # -- slots: operations -----------------------------------------------------------------------
    @guarded("Could not {verb}", busy=True)
    async def _operate(
        self, verb: str, call: Callable[[int], Any], done: str, follow: bool = False
    ) -> None:
        """Run ``call(id)`` of the core on the selected transfer, off the GUI thread; refusals
        are shown in the core's own words. ``done`` may name the transfer as ``{id}``; with
        ``follow``, later messages say where the (waiting) transfer goes from there."""
        if self._selected is None:
            return
        transfer_id = int(self._selected["id"])
        try:
            await asyncio.to_thread(call, transfer_id)
        except KioskError as exc:  # refused: the transfer moved on meanwhile
            self.errorOccurred.emit(str(exc))
        else:
            text = done.format(id=transfer_id)
            self._followed = (transfer_id, "Waiting", text) if follow else None
            self.message.emit(text)
        await self.reload()  # show where the transfer is now
        fresh = self._transfers.get(transfer_id) if follow else None
        if fresh is not None:  # it may have moved on before the message was posted
            self._follow(fresh)

    @asyncSlot()
    async def resend(self) -> None:
        await self._operate(
            "resend", self.log.resend, "Transfer #{id} is waiting to be sent again.", follow=True
        )

    @asyncSlot()
    async def abort(self) -> None:
        await self._operate("abort", self.log.abort, "Transfer #{id} aborted.")

    @asyncSlot()
    async def delete(self) -> None:
        await self._operate("delete", self.log.delete, "Transfer #{id} removed from the log.")

    @asyncSlot()
    @guarded("Could not clear", busy=True)
    async def clear(self) -> None:
        direction = self._direction
        try:
            removed = int(await asyncio.to_thread(self.log.clear, direction))
        except KioskError as exc:  # a refusal of the core, in its own words
            self.errorOccurred.emit(str(exc))
            return
        kind = "sent" if direction == "out" else "received"
        self.message.emit(f"Cleared {plural(removed, 'transfer')} {kind}.")
        self._offset = 0
        await self.reload()
