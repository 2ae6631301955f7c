"""The Transfer Log tab's two list models: the page of transfers and the status table.

Each row is a transfer (or a drill-down entry) from the core's transfer log; its roles read
through the wording of ``text``. Both models change rows in place when live progress arrives, so
QML keeps its delegates (and the user's place).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
)
from PySide6.QtQml import QmlElement, QmlUncreatable

from core.transfers.log import LevelRow, TransferRow
from viewmodels.transfers.text import (
    PRIORITY_TEXT,
    counts_text,
    description_text,
    failed_share,
    is_indeterminate,
    level_label,
    list_status,
    peer_detail,
    peer_text,
    progress,
    status_text,
    status_tone,
    times_text,
)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1


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
        self._rows: list[Any] = []  # TransferRow or LevelRow: the subclass's own

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def roleNames(self) -> dict[int, QByteArray]:
        return {role: QByteArray(name) for role, name in self.ROLE_NAMES.items()}

    def _row(self, index: QModelIndex | QPersistentModelIndex) -> Any:
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
    def rows(self) -> list[TransferRow]:
        return list(self._rows)

    def row_of(self, transfer_id: int) -> int:
        return next((i for i, t in enumerate(self._rows) if int(t["id"]) == transfer_id), -1)

    def get(self, transfer_id: int) -> TransferRow | None:
        row = self.row_of(transfer_id)
        return self._rows[row] if row >= 0 else None

    def at(self, row: int) -> TransferRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def set_rows(self, rows: list[TransferRow]) -> None:
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

    def update(self, transfer: TransferRow) -> bool:
        """Replace a shown transfer in place; False when it is not on this page."""
        row = self.row_of(int(transfer["id"]))
        if row < 0:
            return False
        if self._rows[row] != transfer:
            self._rows[row] = dict(transfer)
            self.dataChanged.emit(self.index(row), self.index(row), _ROW_ROLES)
        return True

    def insert_newest(self, transfers: list[TransferRow], page_size: int) -> int:
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

    def rows(self) -> list[LevelRow]:
        return list(self._rows)

    def at(self, row: int) -> LevelRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def selected_row(self) -> int:
        return self._selected

    def set_rows(self, rows: list[LevelRow]) -> None:
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
