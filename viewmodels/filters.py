"""The filter panel: patient name and ID (with suggestions), study date range, modality."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import Property, QObject, Signal, Slot
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.db.browse import StudyFilter
from viewmodels.base import guarded
from viewmodels.levels import format_cell

if TYPE_CHECKING:
    from core.app import Core

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1


def _display_date(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:]}" if len(value) == 8 else ""


@QmlElement
@QmlUncreatable("The filter model belongs to the database view model.")
class FilterModel(QObject):  # type: ignore[operator]
    """What the user is typing (``draft``) and what is applied (``applied``)."""

    changed = Signal()
    choicesChanged = Signal()
    shownChanged = Signal()
    applied = Signal()
    errorOccurred = Signal(str)

    def __init__(self, core: Core, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._core = core
        self._name = ""
        self._pid = ""
        self._from = ""
        self._to = ""
        self._modality = ""
        self._applied = StudyFilter()
        self._modalities: list[str] = []
        self._name_suggestions: list[str] = []
        self._id_suggestions: list[str] = []
        self._shown = False
        self._choices_generation = 0
        self.today: Callable[[], date] = date.today

    # -- properties ---------------------------------------------------------------------------
    @Property(str, notify=changed, final=True)
    def patientName(self) -> str:
        return self._name

    @Property(str, notify=changed, final=True)
    def patientId(self) -> str:
        return self._pid

    @Property(str, notify=changed, final=True)
    def dateFrom(self) -> str:
        return self._from

    @Property(str, notify=changed, final=True)
    def dateTo(self) -> str:
        return self._to

    @Property(str, notify=changed, final=True)
    def dateFromText(self) -> str:
        return _display_date(self._from) or "Any"

    @Property(str, notify=changed, final=True)
    def dateToText(self) -> str:
        return _display_date(self._to) or "Any"

    @Property(str, notify=changed, final=True)
    def modality(self) -> str:
        return self._modality

    @Property(bool, notify=changed, final=True)
    def active(self) -> bool:
        return self._applied != StudyFilter()

    @Property(str, notify=changed, final=True)
    def summary(self) -> str:
        f = self._applied
        parts = []
        if f.patient_name:
            parts.append(f"name {f.patient_name}")
        if f.patient_id:
            parts.append(f"ID {f.patient_id}")
        if f.date_from or f.date_to:
            parts.append(
                f"dates {_display_date(f.date_from) or '…'} to {_display_date(f.date_to) or '…'}"
            )
        if f.modality:
            parts.append(f.modality)
        return "Filtered: " + ", ".join(parts) if parts else ""

    @Property(list, notify=choicesChanged, final=True)
    def modalities(self) -> list[str]:
        return self._modalities

    @Property(list, notify=choicesChanged, final=True)
    def nameSuggestions(self) -> list[str]:
        return self._name_suggestions

    @Property(list, notify=choicesChanged, final=True)
    def idSuggestions(self) -> list[str]:
        return self._id_suggestions

    # What the suggestion lists show: each entry's value (what picking it puts in the field)
    # and its label (a name as the tables write it: "Johansson, François", not the raw "^").
    @Property(list, notify=choicesChanged, final=True)
    def nameChoices(self) -> list[dict[str, str]]:
        return [
            {"value": n, "label": format_cell("PatientName", n) or n}
            for n in self._name_suggestions
        ]

    @Property(list, notify=choicesChanged, final=True)
    def idChoices(self) -> list[dict[str, str]]:
        return [{"value": i, "label": i} for i in self._id_suggestions]

    def _get_shown(self) -> bool:
        return self._shown

    def set_shown(self, shown: bool) -> None:
        if shown != self._shown:
            self._shown = shown
            self.shownChanged.emit()

    shown = Property(bool, _get_shown, set_shown, notify=shownChanged, final=True)

    # -- Python API ---------------------------------------------------------------------------
    def applied_filter(self) -> StudyFilter:
        return self._applied

    def draft(self) -> StudyFilter:
        return StudyFilter(
            patient_name=self._name.strip(),
            patient_id=self._pid.strip(),
            date_from=self._from,
            date_to=self._to,
            modality=self._modality,
        )

    def _set(self, **values: str) -> None:
        changed = False
        for name, value in values.items():
            attr = f"_{name}"
            if getattr(self, attr) != value:
                setattr(self, attr, value)
                changed = True
        if changed:
            self.changed.emit()

    # -- slots -----------------------------------------------------------------------------------
    @Slot(str)
    def setPatientName(self, text: str) -> None:
        self._set(name=text)

    @Slot(str)
    def setPatientId(self, text: str) -> None:
        self._set(pid=text)

    @Slot(str)
    def setDateFrom(self, yyyymmdd: str) -> None:
        self._set(**{"from": _valid_date(yyyymmdd)})

    @Slot(str)
    def setDateTo(self, yyyymmdd: str) -> None:
        self._set(to=_valid_date(yyyymmdd))

    @Slot(int)
    def lastDays(self, days: int) -> None:
        """Today (0), the last 7 days (7), the last 30 days (30)... up to today."""
        today = self.today()
        start = today - timedelta(days=max(days - 1, 0))
        self._set(**{"from": start.strftime("%Y%m%d"), "to": today.strftime("%Y%m%d")})

    @Slot()
    def anyDate(self) -> None:
        self._set(**{"from": "", "to": ""})

    @Slot(str)
    def toggleModality(self, modality: str) -> None:
        self._set(modality="" if self._modality == modality else modality)

    @Slot()
    def apply(self) -> None:
        draft = self.draft()
        if draft.date_from and draft.date_to and draft.date_from > draft.date_to:
            self.errorOccurred.emit("The start date is after the end date.")
            return
        self._applied = draft
        self.changed.emit()
        self.applied.emit()

    @Slot()
    def clear(self) -> None:
        self._set(name="", pid="", **{"from": "", "to": ""}, modality="")
        self.apply()

    @Slot(str, str)
    def applyText(self, name: str, patient_id: str) -> None:
        """Apply the name and ID the fields show (with the dates and modality chosen)."""
        self._set(name=name, pid=patient_id)
        self.apply()

    @asyncSlot()
    @guarded("Could not load the filter choices")
    async def refreshChoices(self) -> None:
        """Reload the modality chips and the name/ID suggestions for what is typed; an answer
        that a later request overtook is dropped (keys typed fast overtake each other)."""
        self._choices_generation += 1
        generation = self._choices_generation
        mods, names, ids = await asyncio.to_thread(self._choices, self._name, self._pid)
        if generation != self._choices_generation:
            return
        if (mods, names, ids) != (
            self._modalities,
            self._name_suggestions,
            self._id_suggestions,
        ):
            self._modalities, self._name_suggestions, self._id_suggestions = mods, names, ids
            self.choicesChanged.emit()

    async def load_choices(self) -> None:
        self._choices_generation += 1
        mods, names, ids = await asyncio.to_thread(self._choices, self._name, self._pid)
        self._modalities, self._name_suggestions, self._id_suggestions = mods, names, ids
        self.choicesChanged.emit()

    def _choices(self, name: str, pid: str) -> tuple[list[str], list[str], list[str]]:
        from core.db import queries  # SQLAlchemy: after the first frame, which needs none

        prefix_name = name.rstrip("*")
        prefix_id = pid.rstrip("*")
        with self._core.sessions() as session:
            return (
                queries.modalities(session),
                queries.suggestions(session, "name", prefix_name),
                queries.suggestions(session, "id", prefix_id),
            )


def _valid_date(text: str) -> str:
    text = text.replace("-", "")
    if not text:
        return ""
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return ""
    return text if len(text) == 8 else ""
