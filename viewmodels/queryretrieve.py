"""The Query/Retrieve tab: query a remote node's studies, show a study's series on demand,
retrieve the selection (C-MOVE to our node or C-GET) with progress and cancel; its Options."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
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

from core.registry import NodeInfo, NodeRegistry
from viewmodels.base import guarded, plural
from viewmodels.levels import format_cell
from viewmodels.settings import SettingsStore

if TYPE_CHECKING:  # pynetdicom: loaded at the first query or retrieve (or when the node is built)
    from core.app import Core
    from core.net.qr import QueryRetrieveClient, SeriesMatch, StudyMatch, StudyQuery
    from core.node.server import DicomNode
    from core.transfers.retrieve import RetrieveStatus, RetrieveTarget

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

MODALITIES = ("CT", "MR", "CR", "DX", "US", "MG", "NM", "PT", "XA", "RF", "OT")
MAX_RESULT_CHOICES = (25, 50, 100, 250, 1000, 0)  # 0: no limit
READY = "Choose a server and tap Query."
NO_NODES = "No remote servers yet: add the PACS under Settings, Remote nodes."
QUERY_FAILED = "The query failed."
ENTER_QUERY = "No studies: enter what to look for and tap Query"

# (key, title, relative width) of the result tables; keys are DICOM keywords.
STUDY_COLUMNS: list[tuple[str, str, float]] = [
    ("PatientName", "Patient", 2.6),
    ("PatientID", "Patient ID", 2.0),
    ("StudyDate", "Date", 2.1),
    ("StudyDescription", "Description", 2.8),
    ("ModalitiesInStudy", "Modality", 1.5),
    ("AccessionNumber", "Accession", 1.9),
    ("NumberOfStudyRelatedSeries", "Series", 1.3),
    ("NumberOfStudyRelatedInstances", "Images", 1.4),
]
SERIES_COLUMNS: list[tuple[str, str, float]] = [
    ("SeriesNumber", "No.", 1.0),
    ("Modality", "Modality", 1.6),
    ("SeriesDescription", "Description", 2.0),
    ("NumberOfSeriesRelatedInstances", "Images", 1.4),
]
# Newest studies first, as in the Database tab; series in their numbered order.
STUDY_SORT = ("StudyDate", True)
SERIES_SORT = ("SeriesNumber", False)


def study_row(m: StudyMatch) -> dict[str, Any]:
    return m.keywords()


def series_row(study_uid: str, m: SeriesMatch) -> dict[str, Any]:
    return m.keywords(study_uid)


def _sort_value(value: Any) -> tuple[int, Any]:
    """Empty values last; numbers as numbers, text case-insensitively."""
    if value is None or value == "":
        return (2, "")
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value).casefold())


class Role(IntEnum):
    KEY = 0x0201
    CELLS = 0x0202
    SELECTED = 0x0203
    CURRENT = 0x0204


@QmlElement
@QmlUncreatable("Result lists belong to the Query/Retrieve view model.")
class ResultListModel(QAbstractListModel):  # type: ignore[operator]
    """Query results held in memory (at most the maximum matches): sorted, selectable."""

    sortChanged = Signal()
    selectionChanged = Signal()
    countChanged = Signal()
    busyChanged = Signal()

    def __init__(
        self,
        columns: list[tuple[str, str, float]],
        key: str,
        sort: tuple[str, bool] = ("", False),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._columns = columns
        self._key = key
        self._rows: list[dict[str, Any]] = []
        self._sort_key, self._descending = sort
        self._selected: set[str] = set()
        self._current = ""
        self._busy = False

    # -- Qt model --------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def roleNames(self) -> dict[int, QByteArray]:
        return {
            Role.KEY: QByteArray(b"key"),
            Role.CELLS: QByteArray(b"cells"),
            Role.SELECTED: QByteArray(b"selected"),
            Role.CURRENT: QByteArray(b"current"),
        }

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        key = str(row[self._key])
        if role == Role.KEY:
            return key
        if role == Role.CELLS:
            return [format_cell(c, row.get(c)) for c, _t, _w in self._columns]
        if role == Role.SELECTED:
            return key in self._selected
        if role == Role.CURRENT:
            return key == self._current
        return None

    # -- properties ------------------------------------------------------------------------
    @Property(list, constant=True, final=True)
    def columns(self) -> list[dict[str, Any]]:
        return [{"key": k, "title": t, "weight": w} for k, t, w in self._columns]

    @Property(float, constant=True, final=True)
    def totalWeight(self) -> float:
        return sum(w for _k, _t, w in self._columns)

    @Property(str, notify=sortChanged, final=True)
    def sortKey(self) -> str:
        return self._sort_key

    @Property(bool, notify=sortChanged, final=True)
    def descending(self) -> bool:
        return self._descending

    @Property(int, notify=countChanged, final=True)
    def count(self) -> int:
        return len(self._rows)

    @Property(int, notify=selectionChanged, final=True)
    def selectedCount(self) -> int:
        return len(self._selected)

    @Property(int, notify=selectionChanged, final=True)
    def currentRow(self) -> int:
        return next((i for i, r in enumerate(self._rows) if str(r[self._key]) == self._current), -1)

    @Property(bool, notify=busyChanged, final=True)
    def busy(self) -> bool:
        return self._busy

    def set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit()

    # -- Python API ------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        return list(self._rows)

    def row(self, index: int) -> dict[str, Any] | None:
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def current_row(self) -> dict[str, Any] | None:
        return next((r for r in self._rows if str(r[self._key]) == self._current), None)

    def selected_rows(self) -> list[dict[str, Any]]:
        return [r for r in self._rows if str(r[self._key]) in self._selected]

    def set_rows(self, rows: list[dict[str, Any]]) -> None:
        self.beginResetModel()
        self._rows = self._sorted(rows)
        self.endResetModel()
        self.countChanged.emit()
        self._set_selection(set(), "")

    def _sorted(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self._sort_key:
            return list(rows)
        key = self._sort_key
        filled = [r for r in rows if r.get(key) not in (None, "")]
        empty = [r for r in rows if r.get(key) in (None, "")]
        filled.sort(key=lambda r: _sort_value(r.get(key)), reverse=self._descending)
        return filled + empty

    def _set_selection(self, selected: set[str], current: str) -> None:
        if selected == self._selected and current == self._current:
            return
        self._selected, self._current = selected, current
        if self._rows:
            self.dataChanged.emit(
                self.index(0), self.index(len(self._rows) - 1), [Role.SELECTED, Role.CURRENT]
            )
        self.selectionChanged.emit()

    def select(self, index: int, multi: bool) -> bool:
        """Tap on a row: select it only, or (multi) add or remove it. True when it is current."""
        row = self.row(index)
        if row is None:
            return False
        key = str(row[self._key])
        if not multi:
            self._set_selection({key}, key)
            return True
        selected = set(self._selected)
        if key in selected:
            selected.discard(key)
            current = self._current if self._current != key else ""
            self._set_selection(selected, current)
            return False
        selected.add(key)
        self._set_selection(selected, key)
        return True

    # -- slots -------------------------------------------------------------------------------
    @Slot(str)
    def sortBy(self, key: str) -> None:
        """Sort by a column; the same column again reverses the order."""
        if key == self._sort_key:
            self._descending = not self._descending
        elif key in {c for c, _t, _w in self._columns}:
            self._sort_key, self._descending = key, False
        else:
            return
        self.beginResetModel()
        self._rows = self._sorted(self._rows)
        self.endResetModel()
        self.sortChanged.emit()
        self.selectionChanged.emit()

    @Slot()
    def selectAll(self) -> None:
        keys = {str(r[self._key]) for r in self._rows}
        self._set_selection(keys, self._current if self._current in keys else "")

    @Slot()
    def clearSelection(self) -> None:
        self._set_selection(set(), "")


Opener = Callable[[str, str], Awaitable[bool]]


@QmlElement
@QmlUncreatable("The kiosk makes the Query/Retrieve view model.")
class QueryRetrieveModel(QObject):  # type: ignore[operator]
    """Query fields, the server picker, the two result tables, Retrieve, and the Options."""

    fieldsChanged = Signal()
    nodesChanged = Signal()
    queryingChanged = Signal()
    statusChanged = Signal()
    retrievingChanged = Signal()
    progressChanged = Signal()
    optionsChanged = Signal()
    selectionChanged = Signal()
    multiSelectChanged = Signal()
    errorOccurred = Signal(str)
    message = Signal(str)
    queryFinished = Signal()
    seriesLoaded = Signal()
    retrieveFinished = Signal(str)
    viewerRequested = Signal()

    def __init__(
        self,
        core: Core,
        node: DicomNode | None,
        store: SettingsStore,
        opener: Opener | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``node``: where C-MOVE retrieves go; None for the core's own, read when needed."""
        super().__init__(parent)
        self._core = core
        self._given_node = node
        self._store = store
        self._opener = opener
        self._studies = ResultListModel(STUDY_COLUMNS, "StudyInstanceUID", STUDY_SORT, self)
        self._series = ResultListModel(SERIES_COLUMNS, "SeriesInstanceUID", SERIES_SORT, self)
        self._studies.selectionChanged.connect(self.selectionChanged)
        self._series.selectionChanged.connect(self.selectionChanged)
        self._fields = {"name": "", "id": "", "accession": "", "from": "", "to": "", "mod": ""}
        self._nodes: list[NodeInfo] = []
        self._node_name = ""
        self._queried_node: NodeInfo | None = None  # the server of the results on show
        self._querying = False
        self._query_node = ""  # the server the running query asks
        self._status = READY
        self._truncated = False
        self._multi = False
        self._series_cache: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self._series_study = ""
        self._retrieving = False
        self._progress = 0.0
        self._progress_text = ""
        self._query_cancel: threading.Event | None = None
        self._query_task: asyncio.Future[Any] | None = None
        self._retrieve_cancel: threading.Event | None = None
        self._retrieve_targets: list[RetrieveTarget] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def _registry(self) -> NodeRegistry:
        """The core's remote nodes, read when used: the first frame needs no database engine."""
        return self._core.registry

    @property
    def _node(self) -> DicomNode:
        return self._given_node if self._given_node is not None else self._core.node

    def client(self) -> QueryRetrieveClient:
        return self._core.qr_client(timeout=20.0)  # its C-FINDs go into the audit trail

    # -- properties: fields ----------------------------------------------------------------
    @Property(ResultListModel, constant=True, final=True)
    def studies(self) -> ResultListModel:
        return self._studies

    @Property(ResultListModel, constant=True, final=True)
    def series(self) -> ResultListModel:
        return self._series

    @Property(str, notify=fieldsChanged, final=True)
    def patientName(self) -> str:
        return self._fields["name"]

    @Property(str, notify=fieldsChanged, final=True)
    def patientId(self) -> str:
        return self._fields["id"]

    @Property(str, notify=fieldsChanged, final=True)
    def accession(self) -> str:
        return self._fields["accession"]

    @Property(str, notify=fieldsChanged, final=True)
    def dateFrom(self) -> str:
        return self._fields["from"]

    @Property(str, notify=fieldsChanged, final=True)
    def dateTo(self) -> str:
        return self._fields["to"]

    @Property(str, notify=fieldsChanged, final=True)
    def dateFromText(self) -> str:
        return format_cell("StudyDate", self._fields["from"]) or "any"

    @Property(str, notify=fieldsChanged, final=True)
    def dateToText(self) -> str:
        return format_cell("StudyDate", self._fields["to"]) or "any"

    @Property(str, notify=fieldsChanged, final=True)
    def modality(self) -> str:
        return self._fields["mod"]

    @Property(list, constant=True, final=True)
    def modalities(self) -> list[str]:
        return ["Any", *MODALITIES]

    # -- properties: server, status ------------------------------------------------------------
    @Property(list, notify=nodesChanged, final=True)
    def nodeNames(self) -> list[str]:
        return [n.name for n in self._nodes]

    @Property(str, notify=nodesChanged, final=True)
    def nodeName(self) -> str:
        return self._node_name

    @Property(int, notify=nodesChanged, final=True)
    def nodeIndex(self) -> int:
        return next((i for i, n in enumerate(self._nodes) if n.name == self._node_name), -1)

    @Property(str, notify=nodesChanged, final=True)
    def nodeText(self) -> str:
        node = self._current_node()
        if node is None:
            return NO_NODES
        method = node.retrieve_method.upper()
        return f"{node.ae_title}@{node.host}:{node.port} · retrieve by C-{method}"

    @Property(bool, notify=queryingChanged, final=True)
    def querying(self) -> bool:
        return self._querying

    @Property(str, notify=statusChanged, final=True)
    def status(self) -> str:
        return self._status

    @Property(bool, notify=statusChanged, final=True)
    def truncated(self) -> bool:
        return self._truncated

    @Property(str, notify=statusChanged, final=True)
    def studiesEmptyText(self) -> str:
        """What the empty study list says: querying, nothing matched, failed, or how to start."""
        if self._querying:
            return f"Querying {self._query_node}…"
        if self._queried_node is not None:
            return f"No studies on {self._queried_node.name} matched the query."
        if self._status == QUERY_FAILED:
            return "The query failed: no results to show."
        return ENTER_QUERY

    @Property(str, notify=nodesChanged, final=True)
    def resultsNode(self) -> str:
        """The server whose results are on show ("" when none)."""
        return self._queried_node.name if self._queried_node is not None else ""

    @Property(str, notify=selectionChanged, final=True)
    def selectionText(self) -> str:
        series = len(self._series.selected_rows())
        studies = len(self._studies.selected_rows())
        if series:
            return f"{plural(series, 'series', 'series')} selected"
        if studies:
            return f"{plural(studies, 'study', 'studies')} selected"
        return "Nothing selected"

    @Property(bool, notify=selectionChanged, final=True)
    def canRetrieve(self) -> bool:
        return bool(self._series.selected_rows() or self._studies.selected_rows())

    @Property(str, notify=selectionChanged, final=True)
    def seriesTitle(self) -> str:
        study = self._studies.current_row()
        if study is None:
            return "Tap a study to see its series"
        desc = study.get("StudyDescription") or "Study"
        return f"Series of {desc} ({format_cell('StudyDate', study.get('StudyDate'))})"

    def _get_multi(self) -> bool:
        return self._multi

    def _set_multi(self, multi: bool) -> None:
        if multi != self._multi:
            self._multi = multi
            self.multiSelectChanged.emit()

    multiSelect = Property(bool, _get_multi, _set_multi, notify=multiSelectChanged, final=True)

    # -- properties: retrieve ------------------------------------------------------------------
    @Property(bool, notify=retrievingChanged, final=True)
    def retrieving(self) -> bool:
        return self._retrieving

    @Property(float, notify=progressChanged, final=True)
    def progress(self) -> float:
        return self._progress

    @Property(str, notify=progressChanged, final=True)
    def progressText(self) -> str:
        return self._progress_text

    # -- properties: options --------------------------------------------------------------------
    @Property(int, notify=optionsChanged, final=True)
    def maxResults(self) -> int:
        return self._core.settings.qr_max_results

    @Property(list, constant=True, final=True)
    def maxResultChoices(self) -> list[dict[str, Any]]:
        return [{"value": n, "label": str(n) if n else "No limit"} for n in MAX_RESULT_CHOICES]

    @Property(bool, notify=optionsChanged, final=True)
    def appendWildcard(self) -> bool:
        return self._core.settings.qr_append_wildcard

    @Property(bool, notify=optionsChanged, final=True)
    def autoLoad(self) -> bool:
        return self._core.settings.qr_auto_load

    # -- field slots ------------------------------------------------------------------------------
    def _set_field(self, name: str, value: str) -> None:
        if self._fields[name] != value:
            self._fields[name] = value
            self.fieldsChanged.emit()

    @Slot(str)
    def setPatientName(self, text: str) -> None:
        self._set_field("name", text.strip())

    @Slot(str)
    def setPatientId(self, text: str) -> None:
        self._set_field("id", text.strip())

    @Slot(str)
    def setAccession(self, text: str) -> None:
        self._set_field("accession", text.strip())

    @Slot(str)
    def setDateFrom(self, yyyymmdd: str) -> None:
        self._set_field("from", yyyymmdd)
        if self._fields["to"] and yyyymmdd > self._fields["to"]:
            self._set_field("to", yyyymmdd)

    @Slot(str)
    def setDateTo(self, yyyymmdd: str) -> None:
        self._set_field("to", yyyymmdd)
        if self._fields["from"] and yyyymmdd < self._fields["from"]:
            self._set_field("from", yyyymmdd)

    @Slot(int)
    def lastDays(self, days: int) -> None:
        """Today (1), the last 7 days (7), ..."""
        today = date.today()
        self._set_field("from", (today - timedelta(days=max(1, days) - 1)).strftime("%Y%m%d"))
        self._set_field("to", today.strftime("%Y%m%d"))

    @Slot()
    def anyDate(self) -> None:
        self._set_field("from", "")
        self._set_field("to", "")

    @Slot(str)
    def setModality(self, modality: str) -> None:
        value = "" if modality in ("", "Any") else modality.upper()
        if value != self._fields["mod"]:
            self._set_field("mod", value)
            if self._series_study:  # the modality filter applies to the series list
                self._spawn(self._show_series(self._series_study))

    @Slot()
    def clearFields(self) -> None:
        for name in self._fields:
            self._fields[name] = ""
        self.fieldsChanged.emit()

    @Slot(str)
    def setNode(self, name: str) -> None:
        """Choose the server: the results (and a running query) of the last one go; the
        choice is saved for the next start."""
        if name != self._node_name and any(n.name == name for n in self._nodes):
            self.cancelQuery()
            self._node_name = name
            self._clear_results()
            self.nodesChanged.emit()
            self._set_status(READY)
            self._spawn(self._save_server(name))

    @guarded("Could not save the server")
    async def _save_server(self, name: str) -> None:
        if name == self._node_name and name != self._core.settings.qr_server:
            await self._store.save(qr_server=name)

    def _clear_results(self) -> None:
        """Forget the results on show: studies, series, their selection and cache."""
        changed = self._queried_node is not None
        self._queried_node = None
        self._series_cache.clear()
        self._series_study = ""
        self._series.set_rows([])
        self._series.set_busy(False)
        self._studies.set_rows([])
        if changed:
            self.nodesChanged.emit()
            self.statusChanged.emit()  # the empty text no longer names them
        self.selectionChanged.emit()

    def _current_node(self) -> NodeInfo | None:
        return next((n for n in self._nodes if n.name == self._node_name), None)

    def query_of(self) -> StudyQuery:
        from core.net.qr import StudyQuery

        s = self._core.settings
        f = self._fields
        return StudyQuery(
            patient_name=f["name"],
            patient_id=f["id"],
            date_from=f["from"],
            date_to=f["to"],
            accession_number=f["accession"],
            max_results=s.qr_max_results,
            append_wildcard=s.qr_append_wildcard,
        )

    # -- nodes ----------------------------------------------------------------------------------
    async def load_nodes(self) -> None:
        nodes = await asyncio.to_thread(self._registry.list)
        names = [n.name for n in nodes]
        if nodes == self._nodes:
            return
        self._nodes = nodes
        if self._node_name not in names:
            saved = self._core.settings.qr_server
            self._node_name = saved if saved in names else names[0] if names else ""
        if self._queried_node is not None and self._queried_node.name != self._node_name:
            self._clear_results()  # the server of the results is gone
        self.nodesChanged.emit()
        if self._queried_node is None and not self._querying:
            self._set_status(READY if nodes else NO_NODES)

    @asyncSlot()
    @guarded("Could not list the remote servers")
    async def refreshNodes(self) -> None:
        await self.load_nodes()

    # -- query ------------------------------------------------------------------------------------
    def _set_querying(self, querying: bool) -> None:
        if querying != self._querying:
            self._querying = querying
            self.queryingChanged.emit()

    def _set_status(self, text: str, truncated: bool = False) -> None:
        if (text, truncated) != (self._status, self._truncated):
            self._status, self._truncated = text, truncated
            self.statusChanged.emit()

    def _query_failed(self, text: str) -> None:
        self._clear_results()
        self._set_status(QUERY_FAILED)
        self.errorOccurred.emit(text)

    @asyncSlot()
    @guarded("Query failed", report=_query_failed)
    async def query(self) -> None:
        """C-FIND the studies matching the fields on the chosen server (off the GUI thread)."""
        from core.transfers.retrieve import remote_of

        if self._querying:
            return
        node = self._current_node()
        if node is None:
            self.errorOccurred.emit("Add a remote server under Settings first.")
            return
        cancel = threading.Event()
        self._query_cancel = cancel
        self._query_node = node.name
        self._clear_results()  # the last results go at once: they are not this query's
        self._set_querying(True)
        try:
            self._set_status(f"Querying {node.name}…")
            query = self.query_of()
            future = asyncio.ensure_future(
                asyncio.to_thread(self.client().find_studies, remote_of(node), query, cancel)
            )
            self._query_task = future
            try:
                result = await future
            except asyncio.CancelledError:
                if cancel.is_set():  # the user's Cancel: not an error, and not ours to re-raise
                    self._set_status("Query cancelled.")
                    return
                raise
            if cancel.is_set():
                self._set_status("Query cancelled.")
                return
            self._queried_node = node
            self.nodesChanged.emit()
            self._studies.set_rows([study_row(m) for m in result.matches])
            count = len(result.matches)
            if result.truncated:
                text = (
                    f"Showing the first {count} studies: {node.name} has more. Narrow the"
                    " query, or raise Maximum matches under Options."
                )
            else:
                text = f"{plural(count, 'study', 'studies')} on {node.name}."
            if result.warnings:  # the peer's answers contradict the query: say so twice
                text = f"Check the results: {node.name} answered what the query did not ask. {text}"
            self._set_status(text, result.truncated)
            for warning in result.warnings:
                self.errorOccurred.emit(f"{warning}.")
            self.selectionChanged.emit()
            self.queryFinished.emit()
        finally:
            cancel.set()  # a search still running (this task was cancelled) stops
            self._query_cancel = None
            self._query_task = None
            self._set_querying(False)
            self.statusChanged.emit()  # the empty text follows the querying state

    @Slot()
    def cancelQuery(self) -> None:
        """Stop waiting at once; the peer gets a C-CANCEL with its next answer."""
        if self._query_cancel is not None:
            self._query_cancel.set()
        if self._query_task is not None:
            self._query_task.cancel()

    # -- series -----------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @Slot(int)
    def selectStudy(self, row: int) -> None:
        """Tap on a study: select it (or add/remove it) and show its series."""
        current = self._studies.select(row, self._multi)
        study = self._studies.current_row()
        self._series.clearSelection()
        if current and study is not None:
            self._spawn(self._show_series(str(study["StudyInstanceUID"])))
        elif study is None:
            self._series_study = ""
            self._series.set_rows([])
        self.selectionChanged.emit()

    @Slot(int)
    def selectSeries(self, row: int) -> None:
        self._series.select(row, self._multi)

    @guarded("Could not list the series")
    async def _show_series(self, study_uid: str) -> None:
        """The series of a study: from the peer the first time (spinner), then from the cache."""
        from core.transfers.retrieve import remote_of

        try:
            node = self._queried_node
            if node is None:
                return
            self._series_study = study_uid
            key = (node.name, study_uid, self._fields["mod"])
            rows = self._series_cache.get(key)
            if rows is None:
                self._series.set_rows([])
                self._series.set_busy(True)
                found = await asyncio.to_thread(
                    self.client().find_series, remote_of(node), study_uid, self._fields["mod"]
                )
                rows = [series_row(study_uid, m) for m in found]
                if self._queried_node is not node:  # the results went meanwhile
                    return
                self._series_cache[key] = rows
            if self._series_study == study_uid:  # still the study on show
                self._series.set_rows(rows)
                self.seriesLoaded.emit()
        finally:  # the study on show now ends the spinner, whichever call started it
            if self._series_study == study_uid:
                self._series.set_busy(False)

    # -- retrieve ---------------------------------------------------------------------------------
    def targets(self) -> list[RetrieveTarget]:
        """Selected series (of the study on show), else the selected studies."""
        from core.transfers.retrieve import RetrieveTarget

        series = self._series.selected_rows()
        if series:
            return [RetrieveTarget(r["StudyInstanceUID"], r["SeriesInstanceUID"]) for r in series]
        return [RetrieveTarget(r["StudyInstanceUID"]) for r in self._studies.selected_rows()]

    def _set_retrieving(self, retrieving: bool) -> None:
        if retrieving != self._retrieving:
            self._retrieving = retrieving
            self.retrievingChanged.emit()

    def _set_progress(self, fraction: float, text: str) -> None:
        self._progress, self._progress_text = fraction, text
        self.progressChanged.emit()

    def _progress_from_thread(self, status: RetrieveStatus) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._show_progress, status)

    def _show_progress(self, status: RetrieveStatus) -> None:
        cancel = self._retrieve_cancel
        if not self._retrieving or cancel is None or cancel.is_set():
            return
        targets = self._retrieve_targets
        what = "Series" if targets and targets[0].series_uid else "Study"
        text = f"{what} {status.target + 1} of {status.targets}: "
        text += f"{status.done} of {status.total} images" if status.total else "starting"
        if status.failed:
            text += f", {status.failed} failed"
        self._set_progress(status.fraction, text)

    def _retrieve_failed(self, text: str) -> None:
        self._set_progress(self._progress, "The retrieve failed.")
        self.errorOccurred.emit(text)
        self.retrieveFinished.emit(text)

    @asyncSlot()
    @guarded("Retrieve failed", report=_retrieve_failed)
    async def retrieve(self) -> None:
        """Retrieve the selection by the server's method; progress; Cancel stops it."""
        from core.transfers.retrieve import retrieve as run_retrieve

        if self._retrieving:
            return
        node = self._queried_node  # the server of the results: never another one
        targets = self.targets()
        if node is None or not targets:
            self.errorOccurred.emit("Select the studies or series to retrieve first.")
            return
        if node.name != self._node_name:  # cannot happen: a server change clears the results
            log.error("results of %s on show while %s is chosen", node.name, self._node_name)
            self._clear_results()
            self.errorOccurred.emit(
                f"These results are from {node.name}, not {self._node_name}: query again."
            )
            return
        node = await asyncio.to_thread(self._registry.get, node.name)  # current settings
        destination = ""
        if node.retrieve_method == "move":
            state = self._node.state
            if not state.running:
                self.errorOccurred.emit(
                    "Retrieve by C-MOVE sends the images to this kiosk's DICOM node, which"
                    " is stopped. Start it under Settings, or set this server's retrieve"
                    " method to C-GET."
                )
                return
            destination = state.ae_title
        cancel = threading.Event()
        self._loop = asyncio.get_running_loop()
        self._retrieve_cancel = cancel
        self._retrieve_targets = targets
        self._set_retrieving(True)
        try:
            self._set_progress(0.0, f"Retrieving from {node.name}…")
            summary = await asyncio.to_thread(
                run_retrieve,
                self._core,
                self.client(),
                node,
                targets,
                node.retrieve_method,
                destination_ae=destination,
                progress=self._progress_from_thread,
                cancel=cancel,
                wait_indexed=self._node.wait_indexed if destination else None,
            )
            text = summary.text()
            self._set_progress(1.0 if not summary.cancelled else self._progress, text)
            self.message.emit(text)
            self.retrieveFinished.emit(text)
            if (
                self._core.settings.qr_auto_load
                and not summary.cancelled
                and summary.completed
                and self._opener is not None
            ):
                first = targets[0]
                await self._opener(first.study_uid, first.series_uid or "")
        finally:
            cancel.set()  # a retrieve still running (this task was cancelled) stops
            self._retrieve_cancel = None
            self._set_retrieving(False)

    @Slot()
    def cancelRetrieve(self) -> None:
        """C-CANCEL the running retrieve (the peer stops after the image in flight)."""
        if self._retrieve_cancel is not None and not self._retrieve_cancel.is_set():
            self._retrieve_cancel.set()
            self._set_progress(self._progress, "Cancelling…")

    # -- options -------------------------------------------------------------------------------
    @guarded("Could not save the option")
    async def _save_option(self, key: str, value: Any) -> None:
        """Save one Q/R option when it changed; a failure is shown, never raised."""
        if value != getattr(self._core.settings, key):
            await self._store.save(**{key: value})
            self.optionsChanged.emit()

    @asyncSlot(int)
    async def setMaxResults(self, value: int) -> None:
        await self._save_option("qr_max_results", value)

    @asyncSlot(bool)
    async def setAppendWildcard(self, enabled: bool) -> None:
        await self._save_option("qr_append_wildcard", enabled)

    @asyncSlot(bool)
    async def setAutoLoad(self, enabled: bool) -> None:
        await self._save_option("qr_auto_load", enabled)
