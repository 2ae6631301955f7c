"""The Transfer Log tab: incoming and outgoing transfers, their drill-down, and their operations.

The list shows one page of transfers (newest first) for one direction. The status table shows
the selected transfer by study, a study by series, a series by image. Live progress from the
core's transfer log updates rows in place.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    Property,
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.app import Core
from core.errors import KioskError
from core.transfers.log import (
    ABORTABLE,
    DELETED,
    IN_RECEIVED,
    IN_RECEIVING,
    OUT_SENT,
    RESENDABLE,
    Direction,
    TransferLog,
)
from viewmodels.levels import format_cell

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

PAGE_SIZE = 50

# What the manual allows, as the core enforces it (outgoing only for Resend and Abort).
CLEARABLE = {"out": OUT_SENT, "in": IN_RECEIVED}

# Status -> (text, tone). The tone picks a colour in the theme; the text is always shown too.
STATUS: dict[str, tuple[str, str]] = {
    "waiting": ("Waiting", "waiting"),
    "sending": ("Sending", "active"),
    "receiving": ("Receiving", "active"),
    "sent": ("Sent", "ok"),
    "received": ("Received", "ok"),
    "stored": ("Stored", "ok"),
    "duplicate": ("Duplicate", "ok"),
    "partial": ("Partly failed", "error"),
    "aborted": ("Aborted", "warning"),
    "failed": ("Failed", "error"),
}
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
PRIORITY_TEXT = {"high": "High", "medium": "Medium", "low": "Low"}
LEVEL_NAMES = {"study": "Study", "series": "Series", "image": "Image"}


def status_text(status: str) -> str:
    return STATUS.get(status, (status.capitalize(), "neutral"))[0]


def status_tone(status: str) -> str:
    return STATUS.get(status, ("", "neutral"))[1]


def _parse(iso: str | None) -> datetime | None:
    if not iso:
        return None
    try:
        value = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_time(iso: str | None, now: datetime | None = None) -> str:
    """Local time: only the time for today, the date and time otherwise."""
    value = _parse(iso)
    if value is None:
        return ""
    local = value.astimezone()
    today = (now or datetime.now().astimezone()).date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%Y-%m-%d %H:%M")


def format_duration(start: str | None, end: str | None) -> str:
    first, last = _parse(start), _parse(end)
    if first is None or last is None:
        return ""
    seconds = max(0, round((last - first).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def format_bytes(size: int | None) -> str:
    value = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def level_label(row: dict[str, Any]) -> str:
    """A drill-down row's name; a study's starts with the patient's name, shown as elsewhere."""
    label = str(row.get("label") or row.get("uid") or "")
    if row.get("level") == "study" and "^" in label:
        name, sep, rest = label.partition(" - ")
        return format_cell("PatientName", name) + sep + rest
    return label


_NAME_IN_PARENS = re.compile(r"\(([^()]*\^[^()]*)\)")


def description_text(transfer: dict[str, Any]) -> str:
    """What a transfer holds ("2 studies (DOE^JOHN)"), with the name shown as elsewhere."""
    text = str(transfer.get("description") or "")
    return _NAME_IN_PARENS.sub(lambda m: f"({format_cell('PatientName', m.group(1))})", text)


def peer_text(transfer: dict[str, Any]) -> str:
    """The destination (outgoing) or source (incoming): the node's name, else its AE title."""
    return str(transfer.get("node") or transfer.get("ae_title") or transfer.get("peer") or "?")


def peer_detail(transfer: dict[str, Any]) -> str:
    ae, peer = transfer.get("ae_title") or "", transfer.get("peer") or ""
    if ae and peer:
        return f"{ae} @ {peer}"
    return str(ae or peer)


def counts_text(transfer: dict[str, Any]) -> str:
    images, done, failed = (int(transfer.get(k) or 0) for k in ("images", "done", "failed"))
    if transfer.get("direction") == "in":
        text = f"{done:,} received"
    else:
        text = f"{done:,} of {images:,} sent"
    return text + (f" · {failed:,} failed" if failed else "")


def _shares(row: dict[str, Any]) -> tuple[float, float]:
    """(done, failed) as shares of the row's images; an incoming transfer's size is what came."""
    total = int(row.get("images", row.get("total")) or 0)
    done, failed = int(row.get("done") or 0), int(row.get("failed") or 0)
    if total <= 0:
        finished = row.get("status") not in ("receiving", "waiting", "sending")
        return (1.0 if finished else 0.0), 0.0
    if row.get("direction") == "in" and row.get("status") == "receiving":
        return 0.0, 0.0  # still coming: the total is not known
    return min(1.0, done / total), min(1.0, failed / total)


def progress(row: dict[str, Any]) -> float:
    """The share of a transfer's (or level row's) images that arrived (0..1)."""
    return _shares(row)[0]


def failed_share(row: dict[str, Any]) -> float:
    """The share of its images that failed (shown in the error colour after the progress)."""
    return _shares(row)[1]


def list_status(transfer: dict[str, Any]) -> tuple[str, str]:
    """(text, tone) of a transfer in the list: a waiting one with an error is retrying."""
    status = str(transfer.get("status") or "")
    if status == "waiting" and transfer.get("error"):
        return "Retrying", "warning"
    return status_text(status), status_tone(status)


def is_indeterminate(row: dict[str, Any]) -> bool:
    return row.get("direction") == "in" and row.get("status") == "receiving"


def times_text(transfer: dict[str, Any]) -> tuple[str, str]:
    """(queued or started, finished or what is going on now)."""
    start = format_time(transfer.get("created") or transfer.get("started"))
    finished = format_time(transfer.get("finished"))
    if not finished:
        finished = {"sending": "in progress", "receiving": "in progress"}.get(
            str(transfer.get("status")), ""
        )
    return start, finished


def can_resend(transfer: dict[str, Any] | None) -> bool:
    if transfer is None:
        return False
    return transfer.get("direction") == "out" and transfer.get("status") in RESENDABLE


def can_abort(transfer: dict[str, Any] | None) -> bool:
    if transfer is None:
        return False
    return transfer.get("direction") == "out" and transfer.get("status") in ABORTABLE


def transfer_details(transfer: dict[str, Any]) -> list[dict[str, str]]:
    """Every field of a transfer, as (name, value) lines for the Details dialog."""
    out = transfer.get("direction") == "out"
    images, done, failed = (int(transfer.get(k) or 0) for k in ("images", "done", "failed"))
    lines = [
        ("Transfer", f"#{transfer.get('id')}"),
        ("Direction", "Outgoing" if out else "Incoming"),
        ("Status", status_text(str(transfer.get("status")))),
        ("Destination" if out else "Source", peer_text(transfer)),
        ("AE title", str(transfer.get("ae_title") or "")),
        ("Address", str(transfer.get("peer") or "")),
        ("Priority", PRIORITY_TEXT.get(str(transfer.get("priority") or ""), "")),
        ("What", description_text(transfer)),
        ("Images", f"{images:,}"),
        ("Sent" if out else "Received", f"{done:,}"),
        ("Failed", f"{failed:,}"),
        ("Size", format_bytes(transfer.get("bytes"))),
        ("Attempts", str(transfer.get("attempts") or "") if out else ""),
        ("Queued" if out else "Started", format_time(transfer.get("created"))),
        ("Started", format_time(transfer.get("started")) if out else ""),
        ("Finished", format_time(transfer.get("finished"))),
        ("Duration", format_duration(transfer.get("started"), transfer.get("finished"))),
    ]
    return [{"name": name, "value": value} for name, value in lines if value]


def level_details(row: dict[str, Any], outgoing: bool) -> list[dict[str, str]]:
    code = row.get("status_code")
    lines = [
        ("Level", LEVEL_NAMES.get(str(row.get("level")), str(row.get("level") or ""))),
        ("Name", level_label(row)),
        ("UID", str(row.get("uid") or "")),
        ("Status", status_text(str(row.get("status") or ""))),
        ("Images", f"{int(row.get('total') or 0):,}"),
        ("Sent" if outgoing else "Received", f"{int(row.get('done') or 0):,}"),
        ("Failed", f"{int(row.get('failed') or 0):,}"),
        ("DICOM status", f"0x{int(code):04X}" if code else ""),
    ]
    return [{"name": name, "value": value} for name, value in lines if value]


# -- list models ---------------------------------------------------------------------------------
class TransferRole(IntEnum):
    ID = 0x0301
    STATUS = 0x0302
    STATUS_TEXT = 0x0303
    TONE = 0x0304
    PEER = 0x0305
    PEER_DETAIL = 0x0306
    PRIORITY = 0x0307
    COUNTS = 0x0308
    PROGRESS = 0x0309
    INDETERMINATE = 0x030A
    STARTED = 0x030B
    FINISHED = 0x030C
    SELECTED = 0x030D
    ERROR = 0x030E
    DESCRIPTION = 0x030F
    FAILED_SHARE = 0x0310


_TRANSFER_ROLE_NAMES = {
    TransferRole.ID: b"transferId",
    TransferRole.STATUS: b"status",
    TransferRole.STATUS_TEXT: b"statusText",
    TransferRole.TONE: b"tone",
    TransferRole.PEER: b"peer",
    TransferRole.PEER_DETAIL: b"peerDetail",
    TransferRole.PRIORITY: b"priority",
    TransferRole.COUNTS: b"counts",
    TransferRole.PROGRESS: b"progress",
    TransferRole.INDETERMINATE: b"indeterminate",
    TransferRole.STARTED: b"started",
    TransferRole.FINISHED: b"finished",
    TransferRole.SELECTED: b"selected",
    TransferRole.ERROR: b"error",
    TransferRole.DESCRIPTION: b"description",
    TransferRole.FAILED_SHARE: b"failedShare",
}
_ROW_ROLES = [r for r in TransferRole if r != TransferRole.SELECTED]


class _RowsModel(QAbstractListModel):
    """A list model over a list of dicts; subclasses give ``ROLE_NAMES`` and ``data``."""

    ROLE_NAMES: Mapping[Any, bytes] = {}

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def roleNames(self) -> dict[int, QByteArray]:
        return {role: QByteArray(name) for role, name in self.ROLE_NAMES.items()}

    def _row(self, index: QModelIndex | QPersistentModelIndex) -> dict[str, Any] | None:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]


@QmlElement
@QmlUncreatable("The transfer list belongs to the transfer log model.")
class TransferListModel(_RowsModel):  # type: ignore[operator]
    """One page of transfers, newest first; rows change in place as progress arrives."""

    ROLE_NAMES = _TRANSFER_ROLE_NAMES

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._selected = 0

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        t = self._row(index)
        if t is None:
            return None
        status = str(t.get("status") or "")
        match role:
            case TransferRole.ID:
                return int(t["id"])
            case TransferRole.STATUS:
                return status
            case TransferRole.STATUS_TEXT:
                return list_status(t)[0]
            case TransferRole.TONE:
                return list_status(t)[1]
            case TransferRole.PEER:
                return peer_text(t)
            case TransferRole.PEER_DETAIL:
                return peer_detail(t)
            case TransferRole.PRIORITY:
                return PRIORITY_TEXT.get(str(t.get("priority") or ""), "")
            case TransferRole.COUNTS:
                return counts_text(t)
            case TransferRole.PROGRESS:
                return progress(t)
            case TransferRole.INDETERMINATE:
                return is_indeterminate(t)
            case TransferRole.STARTED:
                return times_text(t)[0]
            case TransferRole.FINISHED:
                return times_text(t)[1]
            case TransferRole.SELECTED:
                return int(t["id"]) == self._selected
            case TransferRole.ERROR:
                return str(t.get("error") or "")
            case TransferRole.DESCRIPTION:
                return description_text(t)
            case TransferRole.FAILED_SHARE:
                return failed_share(t)
        return None

    # -- Python API ------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def row_of(self, transfer_id: int) -> int:
        return next((i for i, t in enumerate(self._rows) if int(t["id"]) == transfer_id), -1)

    def get(self, transfer_id: int) -> dict[str, Any] | None:
        row = self.row_of(transfer_id)
        return self._rows[row] if row >= 0 else None

    def at(self, row: int) -> dict[str, Any] | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def set_selected(self, transfer_id: int) -> None:
        if transfer_id == self._selected:
            return
        old = self.row_of(self._selected)
        self._selected = transfer_id
        for row in (old, self.row_of(transfer_id)):
            if row >= 0:
                self.dataChanged.emit(self.index(row), self.index(row), [TransferRole.SELECTED])

    def update(self, transfer: dict[str, Any]) -> bool:
        """Replace a shown transfer in place; False when it is not on this page."""
        row = self.row_of(int(transfer["id"]))
        if row < 0:
            return False
        if self._rows[row] != transfer:
            self._rows[row] = dict(transfer)
            self.dataChanged.emit(self.index(row), self.index(row), _ROW_ROLES)
        return True

    def insert_newest(self, transfers: list[dict[str, Any]], page_size: int) -> int:
        """Put new transfers at the top, keep at most a page; return how many fell off."""
        for transfer in sorted(transfers, key=lambda t: int(t["id"])):
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._rows.insert(0, dict(transfer))
            self.endInsertRows()
        dropped = max(0, len(self._rows) - page_size)
        if dropped:
            self.beginRemoveRows(QModelIndex(), page_size, len(self._rows) - 1)
            del self._rows[page_size:]
            self.endRemoveRows()
        return dropped

    def remove(self, transfer_id: int) -> bool:
        row = self.row_of(transfer_id)
        if row < 0:
            return False
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._rows[row]
        self.endRemoveRows()
        return True


class LevelRole(IntEnum):
    LEVEL = 0x0401
    UID = 0x0402
    LABEL = 0x0403
    STATUS = 0x0404
    STATUS_TEXT = 0x0405
    TONE = 0x0406
    TOTAL = 0x0407
    DONE = 0x0408
    FAILED = 0x0409
    PROGRESS = 0x040A
    ERROR = 0x040B
    CAN_SHOW = 0x040C
    SELECTED = 0x040D
    FAILED_SHARE = 0x040E


_LEVEL_ROLE_NAMES = {
    LevelRole.LEVEL: b"level",
    LevelRole.UID: b"uid",
    LevelRole.LABEL: b"label",
    LevelRole.STATUS: b"status",
    LevelRole.STATUS_TEXT: b"statusText",
    LevelRole.TONE: b"tone",
    LevelRole.TOTAL: b"total",
    LevelRole.DONE: b"done",
    LevelRole.FAILED: b"failed",
    LevelRole.PROGRESS: b"progress",
    LevelRole.ERROR: b"error",
    LevelRole.CAN_SHOW: b"canShow",
    LevelRole.SELECTED: b"selected",
    LevelRole.FAILED_SHARE: b"failedShare",
}


@QmlElement
@QmlUncreatable("The status table belongs to the transfer log model.")
class TransferLevelModel(_RowsModel):  # type: ignore[operator]
    """The status table: the rows of one level of the selected transfer."""

    ROLE_NAMES = _LEVEL_ROLE_NAMES

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._selected = -1

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        r = self._row(index)
        if r is None:
            return None
        status = str(r.get("status") or "")
        match role:
            case LevelRole.LEVEL:
                return str(r.get("level") or "")
            case LevelRole.UID:
                return str(r.get("uid") or "")
            case LevelRole.LABEL:
                return level_label(r)
            case LevelRole.STATUS:
                return status
            case LevelRole.STATUS_TEXT:
                return status_text(status)
            case LevelRole.TONE:
                return status_tone(status)
            case LevelRole.TOTAL:
                return int(r.get("total") or 0)
            case LevelRole.DONE:
                return int(r.get("done") or 0)
            case LevelRole.FAILED:
                return int(r.get("failed") or 0)
            case LevelRole.PROGRESS:
                return progress(r)
            case LevelRole.ERROR:
                return str(r.get("error") or "")
            case LevelRole.CAN_SHOW:
                return r.get("level") in ("study", "series")
            case LevelRole.SELECTED:
                return index.row() == self._selected
            case LevelRole.FAILED_SHARE:
                return failed_share(r)
        return None

    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def at(self, row: int) -> dict[str, Any] | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def selected_row(self) -> int:
        return self._selected

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        """New rows: in place when the same entries are shown (live counts), else a reset."""
        if [r.get("uid") for r in rows] == [r.get("uid") for r in self._rows]:
            for i, row in enumerate(rows):
                if row != self._rows[i]:
                    self._rows[i] = dict(row)
                    self.dataChanged.emit(self.index(i), self.index(i))
            return
        self.beginResetModel()
        self._rows = list(rows)
        self._selected = -1
        self.endResetModel()

    def set_selected(self, row: int) -> None:
        if row == self._selected:
            return
        old, self._selected = self._selected, row
        for r in (old, row):
            if 0 <= r < len(self._rows):
                self.dataChanged.emit(self.index(r), self.index(r), [LevelRole.SELECTED])


# -- the tab's model ------------------------------------------------------------------------------
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
        self._selected: dict[str, Any] | None = None
        self._crumbs: list[Crumb] = []
        self._details: list[dict[str, str]] = []
        self._details_title = ""
        self._details_error = ""
        self._busy = 0
        self._generation = 0
        self._level_generation = 0
        self._levels_task: asyncio.Task[None] | None = None
        self._levels_dirty = False
        self._unsubscribe: Callable[[], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
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
            self._unsubscribe = self.log.subscribe(self._published.emit)
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
    def selected(self) -> dict[str, Any] | None:
        return dict(self._selected) if self._selected else None

    def crumb_path(self) -> list[Crumb]:
        return list(self._crumbs)

    async def reload(self) -> None:
        """Read the current page of the current direction; keep the selection when listed."""
        self._generation += 1
        generation = self._generation
        self._set_busy(1)
        try:
            direction, offset = self._direction, self._offset
            rows = await asyncio.to_thread(self.log.list, direction, PAGE_SIZE + 1, offset)
            total, clearable = await asyncio.to_thread(self._counts, direction)
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
            selected = self._selected
            if selected is not None:
                fresh = self._transfers.get(int(selected["id"]))
                if fresh is None:
                    fresh = await asyncio.to_thread(self._fetch, int(selected["id"]))
                if generation != self._generation:
                    return
                if fresh is None or fresh.get("direction") != direction:
                    self._set_selected(None)
                else:
                    self._set_selected(fresh, keep_level=True)
                    await self._load_levels()
        finally:
            self._set_busy(-1)

    def _counts(self, direction: Direction) -> tuple[int, int]:
        return self.log.count(direction), self.log.count(direction, CLEARABLE[direction])

    def _fetch(self, transfer_id: int) -> dict[str, Any] | None:
        try:
            return dict(self.log.get(transfer_id))
        except KioskError:
            return None

    async def select_transfer(self, transfer_id: int) -> None:
        """Select a transfer (tap on its row, or after Send) and show it by study."""
        transfer = self._transfers.get(transfer_id)
        if transfer is None:
            transfer = await asyncio.to_thread(self._fetch, transfer_id)
        if transfer is None:
            self._set_selected(None)
            return
        self._set_selected(transfer, keep_level=False)
        await self._load_levels()

    def _set_selected(self, transfer: dict[str, Any] | None, keep_level: bool = False) -> None:
        previous = self._selected
        same = previous is not None and transfer is not None and previous["id"] == transfer["id"]
        self._selected = dict(transfer) if transfer else None
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

    def _uids(self) -> tuple[str | None, str | None]:
        study = next((c.uid for c in self._crumbs if c.level == "series"), None)
        series = next((c.uid for c in self._crumbs if c.level == "image"), None)
        return study, series

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _set_busy(self, delta: int) -> None:
        was = self._busy > 0
        self._busy = max(0, self._busy + delta)
        if was != (self._busy > 0):
            self.busyChanged.emit()

    # -- live changes ------------------------------------------------------------------------------
    def _apply_changes(self, changes: list[dict[str, Any]]) -> None:
        """Changes from the core (on the Qt thread now): update rows in place, add new ones."""
        try:
            new: list[dict[str, Any]] = []
            removed = False
            top = max((int(t["id"]) for t in self._transfers.rows()), default=0)
            for change in changes:
                transfer_id = int(change.get("id") or 0)
                if not transfer_id:
                    continue
                if change.get("status") == DELETED:
                    removed |= self._transfers.remove(transfer_id)
                    if self._selected and int(self._selected["id"]) == transfer_id:
                        self._set_selected(None)
                    continue
                if change.get("direction") != self._direction:
                    continue
                if not self._transfers.update(change):
                    if self._offset == 0 and transfer_id > top:
                        new.append(change)
                    continue
                if self._selected and int(self._selected["id"]) == transfer_id:
                    self._set_selected(change, keep_level=True)
                    self._reload_levels_soon()
            if new:
                if self._transfers.insert_newest(new, PAGE_SIZE):
                    self._has_more = True
            if new or removed or changes:
                self.pageChanged.emit()
                self._recount_soon()
        except Exception:
            log.exception("applying transfer changes failed")

    def _recount_soon(self) -> None:
        """Re-count the log (range text, Clear); at most one count at a time."""
        if self._count_task is not None and not self._count_task.done():
            self._count_dirty = True
            return
        self._count_task = self._spawn(self._recount())

    async def _recount(self) -> None:
        try:
            while True:
                self._count_dirty = False
                direction = self._direction
                counts = await asyncio.to_thread(self._counts, direction)
                if direction == self._direction:
                    self._total, self._clearable = counts
                    self.pageChanged.emit()
                if not self._count_dirty:
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("counting the transfer log failed", exc_info=True)

    def _reload_levels_soon(self) -> None:
        """Re-read the status table; at most one read at a time, the last change wins."""
        if self._levels_task is not None and not self._levels_task.done():
            self._levels_dirty = True
            return
        self._levels_task = self._spawn(self._refresh_levels())

    async def _refresh_levels(self) -> None:
        try:
            while True:
                self._levels_dirty = False
                await self._load_levels()
                if not self._levels_dirty:
                    return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("reading the transfer's levels failed")
            self.errorOccurred.emit(f"Could not show the transfer: {exc}")

    # -- slots: navigation -----------------------------------------------------------------------
    @asyncSlot(str)
    async def setDirection(self, direction: str) -> None:
        try:
            self._set_busy(1)
            if direction not in ("in", "out") or direction == self._direction:
                return
            self._direction = "in" if direction == "in" else "out"
            self._offset = 0
            self._set_selected(None)
            self._transfers.set_rows([])
            self.directionChanged.emit()
            self.pageChanged.emit()
            await self.reload()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("switching the transfer direction failed")
            self.errorOccurred.emit(f"Could not read the transfer log: {exc}")
        finally:
            self._set_busy(-1)

    @asyncSlot()
    async def refresh(self) -> None:
        """Refresh: read the log in from the database."""
        try:
            self._set_busy(1)
            await self.reload()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("reading the transfer log failed")
            self.errorOccurred.emit(f"Could not read the transfer log: {exc}")
        finally:
            self._set_busy(-1)

    @asyncSlot(int)
    async def turnPage(self, pages: int) -> None:
        try:
            self._set_busy(1)
            offset = max(0, self._offset + pages * PAGE_SIZE)
            if offset == self._offset or (pages > 0 and not self._has_more):
                return
            self._offset = offset
            await self.reload()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("paging the transfer log failed")
            self.errorOccurred.emit(f"Could not read the transfer log: {exc}")
        finally:
            self._set_busy(-1)

    @asyncSlot(int)
    async def select(self, row: int) -> None:
        """A tap on a transfer: select it and show its studies."""
        try:
            self._set_busy(1)
            transfer = self._transfers.at(row)
            if transfer is not None:
                await self.select_transfer(int(transfer["id"]))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("showing a transfer failed")
            self.errorOccurred.emit(f"Could not show the transfer: {exc}")
        finally:
            self._set_busy(-1)

    @asyncSlot(int)
    async def showTransfer(self, transfer_id: int) -> None:
        """Open the log on one transfer (after Send): its direction, first page, selected."""
        try:
            self._set_busy(1)
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
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("showing transfer %s failed", transfer_id)
            self.errorOccurred.emit(f"Could not show the transfer: {exc}")
        finally:
            self._set_busy(-1)

    @Slot(int)
    def selectLevelRow(self, row: int) -> None:
        """A tap on a row of the status table (what Details then describes)."""
        if self._levels.at(row) is not None:
            self._levels.set_selected(-1 if row == self._levels.selected_row() else row)
            self.levelChanged.emit()

    @asyncSlot(int)
    async def showLevel(self, row: int) -> None:
        """The Show button of a status-table row: open the next level below it."""
        try:
            self._set_busy(1)
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
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("opening a transfer level failed")
            self.errorOccurred.emit(f"Could not show the level: {exc}")
        finally:
            self._set_busy(-1)

    @asyncSlot(int)
    async def goToDepth(self, depth: int) -> None:
        """A tap on a breadcrumb (1 = the transfer's studies): go back up to it."""
        try:
            self._set_busy(1)
            if not 1 <= depth < len(self._crumbs):
                return
            del self._crumbs[depth:]
            self._levels.set_rows([])
            self.levelChanged.emit()
            await self._load_levels()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("going back in a transfer failed")
            self.errorOccurred.emit(f"Could not show the level: {exc}")
        finally:
            self._set_busy(-1)

    @Slot()
    def back(self) -> None:
        self.goToDepth(len(self._crumbs) - 1)

    @Slot()
    def openDetails(self) -> None:
        """Fill the Details dialog: the selected status-table row, else the transfer."""
        transfer = self._selected
        if transfer is None:
            return
        row = self._levels.at(self._levels.selected_row())
        outgoing = transfer.get("direction") == "out"
        if row is not None:
            name = LEVEL_NAMES.get(str(row.get("level")), "Entry")
            self._details_title = f"{name} of transfer #{transfer['id']}"
            self._details = level_details(row, outgoing)
            self._details_error = str(row.get("error") or "")
        else:
            self._details_title = f"Transfer #{transfer['id']}"
            self._details = transfer_details(transfer)
            self._details_error = str(transfer.get("error") or "")
        self.detailsChanged.emit()

    # -- slots: operations -----------------------------------------------------------------------
    async def _operate(self, verb: str, call: Callable[[int], Any], done: str) -> None:
        """Run ``call(id)`` of the core on the selected transfer, off the GUI thread; refusals
        are shown in the core's own words. ``done`` may name the transfer as ``{id}``."""
        self._set_busy(1)
        try:
            if self._selected is None:
                return
            transfer_id = int(self._selected["id"])
            await asyncio.to_thread(call, transfer_id)
            self.message.emit(done.format(id=transfer_id))
            await self.reload()
        except asyncio.CancelledError:
            raise
        except KioskError as exc:
            self.errorOccurred.emit(str(exc))
            await self.reload()  # the transfer moved on meanwhile: show where it is now
        except Exception as exc:
            log.exception("%s failed", verb)
            self.errorOccurred.emit(f"Could not {verb}: {exc}")
        finally:
            self._set_busy(-1)

    @asyncSlot()
    async def resend(self) -> None:
        await self._operate(
            "resend", self.log.resend, "Transfer #{id} is waiting to be sent again."
        )

    @asyncSlot()
    async def abort(self) -> None:
        await self._operate("abort", self.log.abort, "Transfer #{id} aborted.")

    @asyncSlot()
    async def delete(self) -> None:
        await self._operate("delete", self.log.delete, "Transfer #{id} removed from the log.")

    @asyncSlot()
    async def clear(self) -> None:
        try:
            self._set_busy(1)
            direction = self._direction
            try:
                removed = int(await asyncio.to_thread(self.log.clear, direction))
            except KioskError as exc:  # a refusal of the core, in its own words
                self.errorOccurred.emit(str(exc))
                return
            kind = "sent" if direction == "out" else "received"
            self.message.emit(f"Cleared {_plural(removed, 'transfer')} {kind}.")
            self._offset = 0
            await self.reload()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("clear failed")
            self.errorOccurred.emit(f"Could not clear: {exc}")
        finally:
            self._set_busy(-1)
