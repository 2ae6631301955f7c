"""Browse queries with the GUI's semantics, shared by the CLI and the viewmodels.

Patient name and ID: ``*`` and ``?`` are wildcards, no wildcard means an exact match, both
case-insensitive (Unicode case folding) and accent-preserving; ``%`` and ``_`` are literal.
Study date range and modality narrow every level. Results are paged (limit/offset).
The levels, the filter and each level's columns are defined in ``core.db.browse``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.db.browse import (
    COLUMN_NAMES,
    DEFAULT_SORT,
    LEVELS,
    BrowseLevel,
    StudyFilter,
    resolve_order,
)
from core.db.models import Instance, Patient, Series, Study
from core.db.patterns import LIKE_ESCAPE, fold, has_wildcard, wildcard_to_like

__all__ = [  # with core.db.browse's names, the browse API the layers above import from here
    "COLUMNS",
    "DEFAULT_SORT",
    "LEVELS",
    "BrowseLevel",
    "StudyFilter",
    "count",
    "list_rows",
    "modalities",
    "stats",
    "suggestions",
]

# Columns per level: DICOM keyword (or a plain name for non-DICOM data) -> model column.
_MODELS = {"patient": Patient, "study": Study, "series": Series, "instance": Instance}
COLUMNS: dict[BrowseLevel, dict[str, InstrumentedAttribute[Any]]] = {
    level: {name: getattr(_MODELS[table], column) for name, (table, column) in names.items()}
    for level, names in COLUMN_NAMES.items()
}

_PK = {"patient": Patient.id, "study": Study.id, "series": Series.id, "image": Instance.id}


def _text_match(column: InstrumentedAttribute[str], pattern: str) -> ColumnElement[bool]:
    folded = fold(pattern)
    if has_wildcard(folded):
        return column.like(wildcard_to_like(folded), escape=LIKE_ESCAPE)
    return column == folded


def _study_conditions(f: StudyFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.date_from:
        conds.append(Study.study_date >= f.date_from)
    if f.date_to:
        conds.append(Study.study_date <= f.date_to)
        conds.append(Study.study_date != "")  # a study without a date is in no range
    if f.modality:
        # IN (a list the modality index yields once) rather than a correlated EXISTS per study.
        conds.append(
            Study.id.in_(select(Series.study_pk).where(Series.modality == f.modality.upper()))
        )
    if f.study_uid:
        conds.append(Study.study_uid == f.study_uid)
    if f.series_uid:
        conds.append(Study.id.in_(select(Series.study_pk).where(Series.series_uid == f.series_uid)))
    return conds


def _patient_conditions(f: StudyFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.patient_name:
        conds.append(_text_match(Patient.patient_name_fold, f.patient_name))
    if f.patient_id:
        conds.append(_text_match(Patient.patient_id_fold, f.patient_id))
    if f.patient_pk is not None:
        conds.append(Patient.id == f.patient_pk)
    return conds


def _base(level: BrowseLevel, f: StudyFilter, *, join_patient: bool = True) -> Select[Any]:
    """The filtered FROM/WHERE of a level, selecting its primary key.

    Below the patient level the patient table is joined for the columns it gives a row; no
    condition needs it (patient conditions are an IN list on ``study.patient_pk``), so a page
    of keys that does not sort by a patient column leaves it out (``join_patient=False``):
    every study has its patient (a foreign key), so the keys are the same.
    """
    patient_conds = _patient_conditions(f)
    study_conds = _study_conditions(f)
    if level == "patient":
        query = select(Patient.id).where(*patient_conds)
        if study_conds:
            query = query.where(Patient.id.in_(select(Study.patient_pk).where(*study_conds)))
        return query
    query = select(Study.id).select_from(Study)
    if join_patient:
        query = query.join(Patient, Study.patient_pk == Patient.id)
    if patient_conds:  # an IN list the name/ID indexes yield once, not a probe per study
        query = query.where(Study.patient_pk.in_(select(Patient.id).where(*patient_conds)))
    query = query.where(*study_conds)
    if level == "study":
        return query
    query = query.with_only_columns(Series.id).join(Series, Series.study_pk == Study.id)
    if f.modality:
        query = query.where(Series.modality == f.modality.upper())
    if f.series_uid:
        query = query.where(Series.series_uid == f.series_uid)
    if level == "series":
        return query
    return query.with_only_columns(Instance.id).join(Instance, Instance.series_pk == Series.id)


def count(session: Session, level: BrowseLevel, f: StudyFilter) -> int:
    return int(session.scalar(select(func.count()).select_from(_base(level, f).subquery())) or 0)


# An unfiltered page this deep (in rows) may be read from the far end: the total is counted
# first.
FROM_END_AFTER = 2_000


@dataclass(frozen=True)
class _Order:
    """A level's order: the sort keys and their directions, the primary key last (so the
    order is total and a page is the same whichever way it is read)."""

    keys: tuple[tuple[ColumnElement[Any], bool], ...]  # (expression, descending)

    def clauses(self, reverse: bool = False) -> list[ColumnElement[Any]]:
        return [expr.desc() if desc != reverse else expr.asc() for expr, desc in self.keys]


def _order(level: BrowseLevel, sort: str, desc: bool) -> _Order:
    column = COLUMNS[level][sort]
    pk = _PK[level]
    keys: list[tuple[ColumnElement[Any], bool]] = [
        (column.expression, desc),
        (pk.expression, desc),
    ]
    # NULLs last in both directions, the same on SQLite and PostgreSQL; only nullable
    # columns need the extra key (it would keep the database from ordering by an index).
    if any(c.nullable for c in column.property.columns):
        keys.insert(0, (column.is_(None), False))
    return _Order(tuple(keys))


@dataclass(frozen=True)
class _Keys:
    """The filtered keys of a level, from no more tables than its filter and sort need: what
    a page walks (on an index of the sort column) before it reads whole rows. ``by_patient``:
    studies walked patient by patient in a patient column's order (see ``_page_of``)."""

    query: Select[Any]
    by_patient: InstrumentedAttribute[Any] | None = None


def _page_keys(session: Session, level: BrowseLevel, f: StudyFilter, sort: str) -> _Keys:
    column = COLUMNS[level][sort]
    if level == "patient" or column.class_ is not Patient:
        return _Keys(_base(level, f, join_patient=False))
    # Studies by a patient column: walk the patients in that column's order and each one's
    # studies (study.patient_pk's index) rather than sort every study. SQLite's planner picks
    # the other way round (every study, a patient looked up for each, then a sort) unless the
    # patient key is no index lookup (``+ 0``). Only without study conditions: with them, the
    # studies they select are few, and filtering first is the better plan.
    if level != "study" or _study_conditions(f) or session.get_bind().dialect.name != "sqlite":
        return _Keys(_base(level, f))
    query = (
        select(Study.id)
        .select_from(Study)
        .join(Patient, Study.patient_pk == Patient.id + 0)
        .where(*_patient_conditions(f))
    )
    nullable = any(c.nullable for c in column.property.columns)
    return _Keys(query, None if nullable else column)


def _page_of(keys: _Keys, order: _Order, offset: int, limit: int, reverse: bool) -> Any:
    """The page's keys, as a subquery with a ``pk`` column.

    Studies by a patient column are walked patient by patient (the column, then the patient's
    key, then the study's: no sort), which puts the studies of patients with equal values in
    another order than the page's (the column, then the study's key), but each such group at
    the same place. So the walk only finds the group of the page's first row (``anchor``) and
    that row's place in it; the page is then read from the group's start, in the page's order.
    """
    if keys.by_patient is None:
        return (
            keys.query.with_only_columns(order.keys[-1][0].label("pk"))
            .order_by(*order.clauses(reverse))
            .limit(limit)
            .offset(offset)
            .subquery("page")
        )
    column = keys.by_patient
    desc = order.keys[0][1] != reverse
    walk = [c.desc() if desc else c.asc() for c in (column, Patient.id, Study.id)]
    anchor = (
        keys.query.with_only_columns(
            column.label("v"), Patient.id.label("pid"), Study.id.label("sid")
        )
        .order_by(*walk)
        .limit(1)
        .offset(offset)
        .cte("anchor")
    )
    value = select(anchor.c.v).scalar_subquery()
    patient = select(anchor.c.pid).scalar_subquery()
    study = select(anchor.c.sid).scalar_subquery()
    if desc:
        earlier = or_(Patient.id > patient, and_(Patient.id == patient, Study.id > study))
    else:
        earlier = or_(Patient.id < patient, and_(Patient.id == patient, Study.id < study))
    skip = keys.query.with_only_columns(func.count()).where(column == value, earlier)
    return (
        keys.query.with_only_columns(Study.id.label("pk"))
        .where(column <= value if desc else column >= value)
        .order_by(*order.clauses(reverse))
        .limit(limit)
        .offset(skip.scalar_subquery())
        .subquery("page")
    )


def list_rows(
    session: Session,
    level: BrowseLevel,
    f: StudyFilter,
    sort: str | None = None,
    descending: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """One page of ``level`` rows as dicts keyed by DICOM keyword (plus ``_pk``).

    The rows are those of ``ORDER BY <sort>, <pk> LIMIT <limit> OFFSET <offset>`` over the
    filtered level. The offset is walked over the keys alone (an index of the sort column,
    without reading a row), and only the page's rows are read whole; without a filter, a page
    past the middle is walked from the far end, in the reverse order (see ``FROM_END_AFTER``).
    """
    level, sort, desc = resolve_order(level, sort, descending, limit, offset)
    if limit == 0:
        return []
    order = _order(level, sort, desc)
    keys = _page_keys(session, level, f, sort)
    counted = select(func.count()).select_from(_base(level, f, join_patient=False).subquery())
    total = None
    # Counting costs little only without conditions; with them it costs what the filter does,
    # and a filtered level is mostly filtered first and sorted, however deep the page.
    if offset >= FROM_END_AFTER and not (_patient_conditions(f) or _study_conditions(f)):
        total = int(session.scalar(counted) or 0)
        if offset >= total:
            return []
    if total is not None and 2 * offset + limit > total:
        end = min(offset + limit, total)
        rows = _read_page(session, level, order, keys, total - end, end - offset, counted)
        # The total was counted in a statement of its own: the page is right only if the
        # page's statement (which counts again) saw as many rows. Else read it forwards.
        if rows and rows[0].pop("_total") == total:
            for row in rows[1:]:
                del row["_total"]
            return rows
    return _read_page(session, level, order, keys, offset, limit)


def _read_page(
    session: Session,
    level: BrowseLevel,
    order: _Order,
    keys: _Keys,
    offset: int,
    limit: int,
    counted: Select[Any] | None = None,
) -> list[dict[str, Any]]:
    """The rows of the ``limit`` keys after ``offset`` in ``order`` (reversed: walked from
    the end, with the total counted in the same statement as ``_total``), in ``order``."""
    pk = _PK[level]
    page = _page_of(keys, order, offset, limit, reverse=counted is not None)
    columns = COLUMNS[level]
    selected: list[ColumnElement[Any]] = [
        pk.label("_pk"),
        *(col.label(name) for name, col in columns.items()),
    ]
    if counted is not None:
        selected.append(counted.scalar_subquery().label("_total"))
    # _base already joins every table a level's columns come from: select them from it.
    query = (
        _base(level, StudyFilter())
        .with_only_columns(*selected)
        .join(page, page.c.pk == pk)
        .order_by(*order.clauses())
    )
    rows = []
    for row in session.execute(query):
        mapping = dict(row._mapping)
        if "ReceivedAt" in mapping and mapping["ReceivedAt"] is not None:
            mapping["ReceivedAt"] = mapping["ReceivedAt"].isoformat(timespec="seconds")
        rows.append(mapping)
    return rows


def suggestions(
    session: Session, field: Literal["name", "id"], prefix: str, limit: int = 20
) -> list[str]:
    """Distinct patient names or IDs starting with ``prefix`` (case-insensitive), for combos."""
    column = Patient.patient_name if field == "name" else Patient.patient_id
    folded = Patient.patient_name_fold if field == "name" else Patient.patient_id_fold
    query = select(column).distinct().where(column != "")
    if prefix:
        query = query.where(folded.like(wildcard_to_like(fold(prefix)) + "%", escape=LIKE_ESCAPE))
    return list(session.scalars(query.order_by(column).limit(limit)))


def modalities(session: Session) -> list[str]:
    """The modalities present in the database (for the filter chips)."""
    query = select(Series.modality).distinct().where(Series.modality != "")
    return list(session.scalars(query.order_by(Series.modality)))


def stats(session: Session) -> dict[str, int]:
    return {
        "patients": int(session.scalar(select(func.count(Patient.id))) or 0),
        "studies": int(session.scalar(select(func.count(Study.id))) or 0),
        "series": int(session.scalar(select(func.count(Series.id))) or 0),
        "instances": int(session.scalar(select(func.count(Instance.id))) or 0),
        "bytes": int(session.scalar(select(func.coalesce(func.sum(Instance.file_size), 0))) or 0),
    }
