"""A read path for the embedded SQLite index that needs only the standard library.

``dicom-kiosk list`` asks for one page of rows and exits. Through ``Core`` it would import
SQLAlchemy and build the ORM's tables first (about 0.3 s of CPU, ten times a bare Python
start) for a query that takes a millisecond. When the index is a SQLite file whose schema is
already at the newest revision and the store holds no image a crash left un-indexed, this
module answers the same page with the stdlib ``sqlite3``: the SQL is built from the same
definitions (``core.db.browse``) as ``core.db.queries``' statements, with the same filters,
order and paging, and tests/core/db/test_light.py checks both give the same rows for a
battery of filters, sorts and pages. Any other case (PostgreSQL, a schema to migrate, files
to recover) returns ``None`` from ``open_reader`` and the caller goes through ``Core``.

It never writes: the connection is opened read-only.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import migrations
from core.db.browse import COLUMN_NAMES, TABLES, BrowseLevel, StudyFilter, resolve_order
from core.db.patterns import LIKE_ESCAPE, fold, has_wildcard, wildcard_to_like
from core.errors import NotFoundError, StoreError

if TYPE_CHECKING:
    from core.registry import NodeInfo

MIGRATIONS_DIR = Path(migrations.__file__).resolve().parent
VERSION_TABLE = "alembic_version"  # alembic's default, where a database names its revision

# Columns that may hold NULL: their order puts NULLs last, as core.db.queries does
# (tests/core/db/test_light.py checks this against the tables' definitions).
NULLABLE: frozenset[tuple[str, str]] = frozenset(
    {
        ("series", "series_number"),
        ("instance", "instance_number"),
        ("instance", "rows"),
        ("instance", "columns"),
    }
)

# What ``stats`` counts: its keys and their tables (``bytes`` sums the instances' files).
STATS_TABLES: dict[str, str] = {
    "patients": "patient",
    "studies": "study",
    "series": "series",
    "instances": "instance",
}

_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@functools.cache
def head_revision() -> str | None:
    """The newest revision of ``migrations/versions``, read from its files (``revision`` and
    ``down_revision``) without loading alembic; None when there is not exactly one head."""
    revisions: set[str] = set()
    named_down: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN_REVISION.search(source)
        if down is not None:
            named_down.update(_QUOTED.findall(down.group(1)))
    heads = revisions - named_down
    return next(iter(heads)) if len(heads) == 1 else None


def sqlite_file(db_url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL; None for anything else (other databases,
    in-memory, URL options)."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix) or "?" in db_url:
        return None
    path = db_url[len(prefix) :]
    return Path(path) if path and path != ":memory:" else None


class LightReader:
    """One page of a browse level from a SQLite index, with ``core.db.queries``' semantics,
    and its counts (``stats``); a remote node of the registry, as ``core.registry`` reads it.

    The connection is the standard library's: for the thread that opened it only."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> LightReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def list_rows(
        self,
        level: str,
        flt: StudyFilter,
        sort: str | None = None,
        descending: bool | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """As ``core.db.queries.list_rows``: dicts keyed by DICOM keyword, plus ``_pk``."""
        browse_level, sort, desc = resolve_order(level, sort, descending, limit, offset)
        columns = COLUMN_NAMES[browse_level]
        table = TABLES[browse_level]
        where, params = _base(browse_level, flt)
        select = ", ".join(
            [f"{table}.id AS _pk", *(f"{t}.{c} AS {name}" for name, (t, c) in columns.items())]
        )
        sort_table, sort_column = columns[sort]
        way = "DESC" if desc else "ASC"
        order = [f"{sort_table}.{sort_column} {way}", f"{table}.id {way}"]
        if (sort_table, sort_column) in NULLABLE:  # NULLs last in both directions
            order.insert(0, f"{sort_table}.{sort_column} IS NULL")
        sql = f"SELECT {select} {where} ORDER BY {', '.join(order)} LIMIT ? OFFSET ?"
        cursor = self._execute(sql, [*params, limit, offset])
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor]
        for row in rows:
            received = row.get("ReceivedAt")
            if isinstance(received, str):  # as SQLAlchemy's DateTime gives it, to the second
                row["ReceivedAt"] = datetime.fromisoformat(received).isoformat(timespec="seconds")
        return rows

    def count(self, level: str, flt: StudyFilter) -> int:
        browse_level, _sort, _desc = resolve_order(level, None, None, 0, 0)
        where, params = _base(browse_level, flt)
        found = self._execute(f"SELECT count(*) {where}", params).fetchone()
        return int(found[0])

    def stats(self) -> dict[str, int]:
        """As ``core.db.queries.stats``: the patients, studies, series and instances, and the
        bytes of the instances' files."""
        counts = ", ".join(f"(SELECT count(*) FROM {table})" for table in STATS_TABLES.values())
        sql = f"SELECT {counts}, (SELECT coalesce(sum(file_size), 0) FROM instance)"
        found = self._execute(sql, []).fetchone()
        return dict(zip([*STATS_TABLES, "bytes"], map(int, found), strict=True))

    def remote_node(self, name: str) -> NodeInfo:
        """The registered remote node ``name``, as ``NodeRegistry.get`` gives it."""
        from core.registry import NODE_COLUMNS, node_info  # the registry is above the index

        columns = ", ".join(NODE_COLUMNS)
        found = self._execute(f"SELECT {columns} FROM remote_node WHERE name = ?", [name])
        row = found.fetchone()
        if row is None:
            raise NotFoundError(f"no remote node named {name!r}")
        return node_info(row)

    def _execute(self, sql: str, params: list[Any]) -> sqlite3.Cursor:
        try:
            return self.connection.execute(sql, params)
        except sqlite3.Error as exc:  # locked past the timeout, damaged, unreadable
            raise StoreError(f"cannot read the index: {exc}") from exc


def _text_match(column: str, pattern: str, params: list[Any]) -> str:
    folded = fold(pattern)
    if has_wildcard(folded):
        params.append(wildcard_to_like(folded))
        return f"{column} LIKE ? ESCAPE '{LIKE_ESCAPE}'"
    params.append(folded)
    return f"{column} = ?"


def _patient_conditions(f: StudyFilter, params: list[Any]) -> list[str]:
    conds = []
    if f.patient_name:
        conds.append(_text_match("patient.patient_name_fold", f.patient_name, params))
    if f.patient_id:
        conds.append(_text_match("patient.patient_id_fold", f.patient_id, params))
    if f.patient_pk is not None:
        conds.append("patient.id = ?")
        params.append(f.patient_pk)
    return conds


def _study_conditions(f: StudyFilter, params: list[Any]) -> list[str]:
    conds = []
    if f.date_from:
        conds.append("study.study_date >= ?")
        params.append(f.date_from)
    if f.date_to:
        conds.append("study.study_date <= ?")
        conds.append("study.study_date != ''")  # a study without a date is in no range
        params.append(f.date_to)
    if f.modality:
        conds.append("study.id IN (SELECT series.study_pk FROM series WHERE series.modality = ?)")
        params.append(f.modality.upper())
    if f.study_uid:
        conds.append("study.study_uid = ?")
        params.append(f.study_uid)
    if f.series_uid:
        conds.append("study.id IN (SELECT series.study_pk FROM series WHERE series.series_uid = ?)")
        params.append(f.series_uid)
    return conds


def _where(conds: list[str]) -> str:
    return f" WHERE {' AND '.join(conds)}" if conds else ""


def _base(level: BrowseLevel, f: StudyFilter) -> tuple[str, list[Any]]:
    """FROM ... WHERE ... of a level (as core.db.queries' ``_base``) and its parameters."""
    params: list[Any] = []
    if level == "patient":
        conds = _patient_conditions(f, params)
        study_params: list[Any] = []
        study_conds = _study_conditions(f, study_params)
        if study_conds:
            conds.append(f"patient.id IN (SELECT study.patient_pk FROM study{_where(study_conds)})")
            params += study_params
        return f"FROM patient{_where(conds)}", params
    sql = "FROM study JOIN patient ON study.patient_pk = patient.id"
    if level != "study":
        sql += " JOIN series ON series.study_pk = study.id"
    if level == "image":
        sql += " JOIN instance ON instance.series_pk = series.id"
    conds = []
    patient_conds = _patient_conditions(f, params)
    if patient_conds:
        conds.append(f"study.patient_pk IN (SELECT patient.id FROM patient{_where(patient_conds)})")
    conds += _study_conditions(f, params)
    if level in ("series", "image"):
        if f.modality:
            conds.append("series.modality = ?")
            params.append(f.modality.upper())
        if f.series_uid:
            conds.append("series.series_uid = ?")
            params.append(f.series_uid)
    return sql + _where(conds), params


def open_reader(db_url: str, store_dir: Path) -> LightReader | None:
    """A reader for the index at ``db_url`` when this module can answer for it; None when the
    caller must go through ``Core`` (not a SQLite file, no such file, a schema to migrate,
    or images in the store's ``incoming/`` that ``Core.open`` would index first)."""
    path = sqlite_file(db_url)
    head = head_revision()
    if path is None or head is None or not path.is_file() or _has_incoming(store_dir):
        return None
    try:
        connection = sqlite3.connect(
            f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=30
        )
    except sqlite3.Error:
        return None
    try:
        stored = {row[0] for row in connection.execute(f"SELECT version_num FROM {VERSION_TABLE}")}
    except sqlite3.Error:
        stored = set()
    if stored != {head}:
        connection.close()
        return None
    connection.execute("PRAGMA busy_timeout=30000")
    return LightReader(connection)


def _has_incoming(store_dir: Path) -> bool:
    """Whether the store's ``incoming/`` holds image files (a live process's, or ones a crash
    left, which ``Core.open`` indexes before it answers; the node's journal folder beside
    them is the node's to replay, not ``Core.open``'s)."""
    try:
        with os.scandir(store_dir / "incoming") as entries:
            return any(e.name.endswith((".dcm", ".part")) for e in entries)
    except FileNotFoundError:
        return False
