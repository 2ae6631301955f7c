"""The browse page as it was read before the key walk: one statement, ``ORDER BY <sort>,
<pk> LIMIT/OFFSET`` over the whole rows. ``core.db.queries.list_rows`` must give exactly its
rows (tests/core/db/test_paging.py), and the kiosk benchmark measures it as the reference."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from core.db import queries
from core.db.browse import BrowseLevel, StudyFilter, resolve_order


def offset_rows(
    session: Session,
    level: BrowseLevel,
    f: StudyFilter,
    sort: str | None = None,
    descending: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    level, sort, desc = resolve_order(level, sort, descending, limit, offset)
    columns = queries.COLUMNS[level]
    pk = queries._PK[level]
    query = queries._base(level, f).with_only_columns(
        pk.label("_pk"), *(col.label(name) for name, col in columns.items())
    )
    order = columns[sort]
    direction: list[ColumnElement[Any]] = [
        order.desc() if desc else order.asc(),
        pk.desc() if desc else pk.asc(),
    ]
    if any(c.nullable for c in order.property.columns):
        direction.insert(0, order.is_(None))
    query = query.order_by(*direction).limit(limit).offset(offset)
    rows = []
    for row in session.execute(query):
        mapping = dict(row._mapping)
        if "ReceivedAt" in mapping and mapping["ReceivedAt"] is not None:
            mapping["ReceivedAt"] = mapping["ReceivedAt"].isoformat(timespec="seconds")
        rows.append(mapping)
    return rows
