"""The Database tab: four cascading levels, filters, delete, load, send and export."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from PySide6.QtCore import Property, QObject, Signal, Slot
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.db.browse import BrowseLevel, StudyFilter
from viewmodels.base import guarded
from viewmodels.exporting import ExportModel
from viewmodels.filters import FilterModel
from viewmodels.images import instance_path
from viewmodels.levels import LevelModel, row_key
from viewmodels.viewer import ViewerModel

# Types only: SQLAlchemy (core.app, the index writer) loads after the first frame, pydicom and
# numpy when Load first opens the viewer.
if TYPE_CHECKING:
    from core.app import Core
    from core.imaging.viewer import SeriesStack
    from core.index.writer import Level

    Target: TypeAlias = tuple[Level, str]

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

PRIORITIES = ("High", "Medium", "Low")
NO_DESTINATION = "Choose a destination. DICOM nodes to send to are added in Settings."
EXPORT_FORMATS = ("files", "dicomdir", "zip")
_PLURAL = {"patient": "patients", "study": "studies", "series": "series", "image": "images"}

_ORDER: tuple[BrowseLevel, ...] = ("patient", "study", "series", "image")


def _count(n: int, level: str) -> str:
    return f"{n} {level if n == 1 else _PLURAL[level]}"


@QmlElement
@QmlUncreatable("The database view model is made by the kiosk.")
class DatabaseModel(QObject):  # type: ignore[operator]
    """Binds the levels together: selecting a patient shows its studies, a study its series."""

    multiSelectChanged = Signal()
    maxExpandedChanged = Signal()
    previewChanged = Signal()
    selectionChanged = Signal()
    busyChanged = Signal()
    destinationsChanged = Signal()
    errorOccurred = Signal(str)
    message = Signal(str)
    viewerRequested = Signal()
    sendQueued = Signal(int, str)  # the new transfer's id, what was queued for where
    refreshed = Signal()  # Refresh re-read every level (another process may have changed them)

    def __init__(
        self, core: Core, viewer: ViewerModel | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._viewer = viewer
        self._levels: dict[BrowseLevel, LevelModel] = {
            level: LevelModel(core, level, self)
            for level in ("patient", "study", "series", "image")
        }
        self._filters = FilterModel(core, self)
        self._filters.applied.connect(self._on_filter_applied)
        self._filters.errorOccurred.connect(self.errorOccurred)
        self._multi = False
        self._max_expanded = 4
        self._busy = False
        self._cascaded: dict[BrowseLevel, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._destinations: list[str] = []
        self._exporter = ExportModel(core, self.selection, self._target, self)
        self._exporter.errorOccurred.connect(self.errorOccurred)
        self._exporter.message.connect(self.message)
        for level, model in self._levels.items():
            model.errorOccurred.connect(self.errorOccurred)
            model.selectionChanged.connect(lambda lv=level: self._on_selection(lv))

    # -- properties --------------------------------------------------------------------------
    @Property(LevelModel, constant=True, final=True)
    def patients(self) -> LevelModel:
        return self._levels["patient"]

    @Property(LevelModel, constant=True, final=True)
    def studies(self) -> LevelModel:
        return self._levels["study"]

    @Property(LevelModel, constant=True, final=True)
    def series(self) -> LevelModel:
        return self._levels["series"]

    @Property(LevelModel, constant=True, final=True)
    def images(self) -> LevelModel:
        return self._levels["image"]

    @Property(FilterModel, constant=True, final=True)
    def filters(self) -> FilterModel:
        return self._filters

    @Property(ExportModel, constant=True, final=True)
    def exporter(self) -> ExportModel:
        """The Export dialog's model (it exports the selection captured when it opens)."""
        return self._exporter

    @Property(list, constant=True, final=True)
    def priorities(self) -> list[str]:
        return list(PRIORITIES)

    @Property(list, constant=True, final=True)
    def exportFormats(self) -> list[str]:
        return list(EXPORT_FORMATS)

    @Property(list, notify=destinationsChanged, final=True)
    def destinations(self) -> list[str]:
        """The remote nodes images can be sent to (read by ``loadDestinations``)."""
        return list(self._destinations)

    def _get_multi(self) -> bool:
        return self._multi

    def _set_multi(self, multi: bool) -> None:
        if multi != self._multi:
            self._multi = multi
            self.multiSelectChanged.emit()

    multiSelect = Property(bool, _get_multi, _set_multi, notify=multiSelectChanged, final=True)

    def _get_max_expanded(self) -> int:
        return self._max_expanded

    def _set_max_expanded(self, value: int) -> None:
        value = max(1, min(4, int(value)))
        if value != self._max_expanded:
            self._max_expanded = value
            self.maxExpandedChanged.emit()

    # How many level tables fit on the screen at once (the view sets it from its height).
    maxExpanded = Property(
        int, _get_max_expanded, _set_max_expanded, notify=maxExpandedChanged, final=True
    )

    @Property(bool, notify=busyChanged, final=True)
    def busy(self) -> bool:
        return self._busy

    @Property(str, notify=previewChanged, final=True)
    def previewMode(self) -> str:
        if self._levels["series"].current_key():
            return "images"
        if self._levels["study"].current_key():
            return "series"
        return "none"

    @Property(str, notify=previewChanged, final=True)
    def previewTitle(self) -> str:
        series = self._levels["series"].current_row()
        if series is not None:
            desc = series.get("SeriesDescription") or series.get("Modality") or "Series"
            return f"{desc}: {series.get('NumberOfSeriesRelatedInstances', 0)} images"
        study = self._levels["study"].current_row()
        if study is not None:
            desc = study.get("StudyDescription") or "Study"
            return f"{desc}: {study.get('NumberOfStudyRelatedSeries', 0)} series"
        return "Select a study to see its series"

    @Property(str, notify=selectionChanged, final=True)
    def selectionText(self) -> str:
        level, rows = self.selection()
        if not rows:
            return "Nothing selected"
        return f"{_count(len(rows), level)} selected"

    @Property(bool, notify=selectionChanged, final=True)
    def hasSelection(self) -> bool:
        return bool(self.selection()[1])

    # -- selection and cascade ----------------------------------------------------------------
    def selection(self) -> tuple[BrowseLevel, list[dict[str, Any]]]:
        """The deepest level with selected entries, and those entries."""
        for level in ("image", "series", "study", "patient"):
            rows = self._levels[level].selected_rows()
            if rows:
                return level, rows
        return "study", []

    @property
    def filter_model(self) -> FilterModel:
        return self._filters

    def level_model(self, level: BrowseLevel) -> LevelModel:
        return self._levels[level]

    def base_filter(self) -> StudyFilter:
        return self._filters.applied_filter()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_selection(self, level: BrowseLevel) -> None:
        self.selectionChanged.emit()
        current = self._levels[level].current_key()
        if self._cascaded.get(level, "") == current:
            return
        self._cascaded[level] = current
        self._spawn(self._cascade(level))

    @guarded("Could not show the entries")
    async def _cascade(self, level: BrowseLevel) -> None:
        """Show the children of the current entry of ``level``; clear deeper levels."""
        base = self.base_filter()
        model = self._levels[level]
        row = model.current_row()
        order: list[BrowseLevel] = ["patient", "study", "series", "image"]
        child_level = order[order.index(level) + 1] if level != "image" else None
        if child_level is None:
            return
        for deeper in order[order.index(child_level) + 1 :]:
            self._levels[deeper].clear()
            self._cascaded[deeper] = ""
        child = self._levels[child_level]
        self._cascaded[child_level] = ""
        if row is None:
            if level == "patient":
                child.set_filter(base)
                child.clearSelection()
                await child.reload()
            else:
                child.clear()
            self.previewChanged.emit()
            return
        if level == "patient":
            child.set_filter(dataclasses.replace(base, patient_pk=int(row["_pk"])))
        elif level == "study":
            child.set_filter(dataclasses.replace(base, study_uid=row["StudyInstanceUID"]))
        else:
            child.study_uid = row["StudyInstanceUID"]
            child.set_filter(dataclasses.replace(base, series_uid=row["SeriesInstanceUID"]))
        child.clearSelection()
        if child_level != "image":
            self.show_level(child_level, fold=False)  # the next level, where there is room
        self.previewChanged.emit()
        await child.reload()
        self.previewChanged.emit()

    def _on_filter_applied(self) -> None:
        self._spawn(self.apply_filter())

    @guarded("Could not apply the filter")
    async def apply_filter(self) -> None:
        """Show the first page of patients and studies matching the applied filter."""
        self._start_filter()
        await asyncio.gather(self._levels["patient"].reload(), self._levels["study"].reload())

    def apply_filter_now(self) -> None:
        """``apply_filter`` on this thread, without a loop (the kiosk's first page)."""
        self._start_filter()
        self._levels["patient"].load_now()
        self._levels["study"].load_now()

    def _start_filter(self) -> None:
        base = self.base_filter()
        for level in ("patient", "study", "series", "image"):
            model = self._levels[level]
            model.clearSelection()
            self._cascaded[level] = ""
            if level in ("series", "image"):
                model.clear()
            else:
                model.set_filter(base)
        self.previewChanged.emit()

    async def refresh_all(self) -> None:
        """Re-read every level that shows something (Refresh, and after a delete)."""
        await self.refresh_changed(None)

    async def refresh_changed(self, studies: Collection[str] | None) -> None:
        """Re-read the levels that ``studies`` (StudyInstanceUIDs images arrived in) can
        change: the patient and study lists always, the series and images shown only when
        they belong to one of ``studies``; every level that shows something when None."""
        series, images = self._levels["series"], self._levels["image"]
        loads = [self._levels["patient"].reload(), self._levels["study"].reload()]
        if series.filter.study_uid and (studies is None or series.filter.study_uid in studies):
            loads.append(series.reload())
        if images.filter.series_uid and (
            studies is None or not images.study_uid or images.study_uid in studies
        ):
            loads.append(images.reload())
        await asyncio.gather(*loads)
        self.previewChanged.emit()

    # -- slots ----------------------------------------------------------------------------------
    @asyncSlot()
    @guarded("Could not refresh", busy=True)
    async def refresh(self) -> None:
        await self.refresh_all()
        await self._filters.load_choices()
        self.refreshed.emit()

    @Slot(str, int)
    def select(self, level: str, row: int) -> None:
        """Tap on a row: select it, or add/remove it in multiple selection.

        Tapping the entry that is already the only one selected at its level, while entries
        below it are selected, goes back to it whole: the deeper selections are cleared (a
        study again, not the series picked in it)."""
        if level not in self._levels:
            return
        model = self._levels[level]
        rows = model.rows()
        if not self._multi and 0 <= row < len(rows):
            key = row_key(level, rows[row])
            deeper = _ORDER[_ORDER.index(level) + 1 :]
            if model.selected_keys() == [key] and any(
                self._levels[lv].selected_rows() for lv in deeper
            ):
                for lv in deeper:
                    self._levels[lv].clearSelection()
                return
        model.select(row, self._multi)

    @Slot(str)
    def toggleLevel(self, level: str) -> None:
        """Tapping a level's name shows or hides it. Hiding the series or image level also
        drops what was selected there (and below): what is not shown is not what Send sends."""
        if level in self._levels:
            model = self._levels[level]
            if model.is_shown():
                model.set_shown(False)
                if level in ("series", "image"):
                    for lv in _ORDER[_ORDER.index(level) :]:
                        self._levels[lv].clearSelection()
            else:
                self.show_level(level)

    def show_level(self, level: BrowseLevel, *, fold: bool = True) -> None:
        """Show a level; when more tables are open than fit, fold the farthest one. With
        ``fold`` False a level is shown only where a place is free (nothing already on the
        screen moves or goes away: the next level opened by a selection)."""
        order: list[BrowseLevel] = list(_ORDER)
        if not fold:
            shown = [lv for lv in order if self._levels[lv].is_shown()]
            if level not in shown and len(shown) >= self._max_expanded:
                return
        self._levels[level].set_shown(True)
        shown = [lv for lv in order if self._levels[lv].is_shown()]
        while len(shown) > self._max_expanded:
            farthest = max(
                shown, key=lambda lv: (abs(order.index(lv) - order.index(level)), -order.index(lv))
            )
            self._levels[farthest].set_shown(False)
            shown.remove(farthest)

    @Slot(str, result=str)
    def deletePrompt(self, level: str) -> str:
        if level not in self._levels:
            return ""
        model = self._levels[level]
        rows = model.selected_rows()
        if not rows:
            return ""
        images = model.selected_images()
        return (
            f"Delete {_count(len(rows), level)}? "
            f"{_count(images, 'image')} will be removed from the database and the disk."
        )

    @asyncSlot(str)
    @guarded("Could not delete", busy=True)
    async def deleteSelected(self, level: str) -> None:
        if level not in self._levels:
            return
        model = self._levels[level]
        rows = model.selected_rows()
        removed = await asyncio.to_thread(self._delete, level, rows)
        model.clearSelection()
        await self.refresh_all()
        self.message.emit(f"Deleted {_count(removed, 'image')}.")

    def _target(self, level: BrowseLevel, row: dict[str, Any]) -> list[Target]:
        if level == "patient":
            if row.get("PatientID"):
                return [("patient", str(row["PatientID"]))]
            studies = self._core.list_rows(
                "study", StudyFilter(patient_pk=int(row["_pk"])), limit=10_000
            )
            return [("study", s["StudyInstanceUID"]) for s in studies]
        if level == "study":
            return [("study", row["StudyInstanceUID"])]
        if level == "series":
            return [("series", row["SeriesInstanceUID"])]
        return [("instance", row["SOPInstanceUID"])]

    def _delete(self, level: BrowseLevel, rows: list[dict[str, Any]]) -> int:
        removed = 0
        for row in rows:
            for target_level, key in self._target(level, row):
                removed += self._core.delete(target_level, key).instances
        return removed

    def targets(self) -> list[Target]:
        """The selection as (level, key) pairs for send and export."""
        level, rows = self.selection()
        found: list[Target] = []
        for row in rows:
            found.extend(self._target(level, row))
        return found

    @asyncSlot()
    @guarded("Could not list the destinations", busy=True)
    async def loadDestinations(self) -> None:
        """Read the send destinations (the Send dialog asks each time it opens)."""
        names = [str(d) for d in await asyncio.to_thread(self._core.destinations)]
        if names != self._destinations:
            self._destinations = names
            self.destinationsChanged.emit()

    @asyncSlot(str, str)
    @guarded("Could not send", busy=True)
    async def send(self, destination: str, priority: str) -> None:
        """Queue the selection for ``destination`` at ``priority`` (High, Medium or Low)."""
        if not destination:
            self.errorOccurred.emit(NO_DESTINATION)
            return
        if priority not in PRIORITIES:
            self.errorOccurred.emit(f"Unknown priority {priority!r}.")
            return
        level, rows = self.selection()
        targets = await asyncio.to_thread(self.targets)
        if not targets:
            self.errorOccurred.emit("Select what to send first.")
            return
        transfer_id = await asyncio.to_thread(
            self._core.send, list(targets), destination, priority.lower()
        )
        what = _count(len(rows), level)
        self.sendQueued.emit(
            int(transfer_id),
            f"{what[0].upper()}{what[1:]} queued for {destination} "
            f"with {priority.lower()} priority (transfer #{transfer_id}).",
        )

    @asyncSlot(str, bool, str, str, str)
    @guarded("Could not export", busy=True)
    async def exportTo(
        self, folder: str, anonymize: bool, new_name: str, new_id: str, fmt: str
    ) -> None:
        if fmt not in EXPORT_FORMATS:
            self.errorOccurred.emit(f"Unknown export format {fmt!r}.")
            return
        targets = await asyncio.to_thread(self.targets)
        if not targets:
            self.errorOccurred.emit("Select what to export first.")
            return
        pairs: list[tuple[str, str]] = list(targets)
        await asyncio.to_thread(
            self._core.export,
            pairs,
            Path(folder),
            fmt,
            anonymize=anonymize,
            new_name=new_name,
            new_id=new_id,
        )
        self.message.emit(f"Exported {len(targets)} to {folder}.")

    @asyncSlot()
    @guarded("Could not load", busy=True)
    async def load(self) -> None:
        """Open the selected images, series, study or patient in the viewer."""
        await self.load_selection()

    async def load_selection(self) -> None:
        if self._viewer is None:
            return
        level, rows = self.selection()
        if not rows:
            self.errorOccurred.emit("Select a study, series or images to load.")
            return
        study_uid = self._levels["image"].study_uid
        stack, title = await asyncio.to_thread(self._stack, level, rows, study_uid)
        if stack is None:
            self.errorOccurred.emit("The selection holds no images.")
            return
        await self._viewer.open_stack(stack, title)
        self.viewerRequested.emit()

    async def open_in_viewer(self, study_uid: str, series_uid: str = "") -> bool:
        """Open a series (or a study's first series) from the database in the viewer."""
        if self._viewer is None:
            return False
        level: BrowseLevel = "series" if series_uid else "study"
        flt = StudyFilter(series_uid=series_uid) if series_uid else StudyFilter(study_uid=study_uid)
        rows = await asyncio.to_thread(self._core.list_rows, level, flt, None, None, 1)
        if not rows:
            return False
        stack, title = await asyncio.to_thread(self._stack, level, rows, study_uid)
        if not stack:
            return False
        await self._viewer.open_stack(stack, title)
        self.viewerRequested.emit()
        return True

    def _stack(
        self, level: BrowseLevel, rows: list[dict[str, Any]], study_uid: str
    ) -> tuple[SeriesStack | None, str]:
        """What Load opens: the chosen images, or the first series of the chosen level."""
        from core.imaging.viewer import SeriesStack, StackEntry

        core = self._core
        if level == "image":
            ordered = sorted(rows, key=lambda r: r.get("InstanceNumber") or 0)
            entries = [
                StackEntry(
                    r["SOPInstanceUID"],
                    instance_path(core, study_uid, r["SeriesInstanceUID"], r["SOPInstanceUID"]),
                    f,
                    int(r.get("NumberOfFrames") or 1),
                    r.get("InstanceNumber"),
                )
                for r in ordered
                for f in range(int(r.get("NumberOfFrames") or 1))
            ]
            return (SeriesStack(entries) if entries else None), _count(len(rows), "image")
        if level == "patient":
            studies = core.list_rows("study", StudyFilter(patient_pk=int(rows[0]["_pk"])), limit=1)
            if not studies:
                return None, ""
            rows, level = studies, "study"
        if level == "study":
            series = core.list_rows(
                "series", StudyFilter(study_uid=rows[0]["StudyInstanceUID"]), limit=1
            )
            if not series:
                return None, ""
            rows = series
        series_row = rows[0]
        stack = SeriesStack.from_index(
            core.sessions, core.store, str(series_row["SeriesInstanceUID"])
        )
        title = series_row.get("SeriesDescription") or series_row.get("Modality") or "Series"
        return stack, str(title)

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit()
