"""core.db.light: the stdlib read path of ``dicom-kiosk list`` (and of the kiosk's first frame)
gives the rows and the counts Core gives.

The same index is read both ways for every level, every sort column in both directions and
the level's default order, under a set of filters, at several pages; and the reader refuses
(``open_reader`` returns None, the caller goes through Core) wherever Core would do more than
read: another database, a schema to migrate, images a crash left in ``incoming/``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

from core.app import Core
from core.config import load_settings
from core.db import browse, light, models, queries
from core.db.queries import StudyFilter
from core.errors import StoreError
from core.index.importer import MemorySource
from tests.support.data import encode, make_dataset, seed

PEOPLE = [
    ("Smith^John", "P1", "20240105", ("CT", "MR")),
    ("smith^jane", "P2", "20240105", ("US",)),  # the same date: ties broken by the key
    ("Øvergaard^Mehmet", "P3", "", ("CR",)),  # no date: in no range
    ("Yılmaz^Olga", "P4", "20191231", ("MR",)),
    ("Fernández^Jürgen", "100%_x", "20260101", ("CT",)),  # LIKE's own characters, literal
    ("Doe^J?n", "P6", "20240105", ("DX", "CT")),
]
FILTERS = [
    StudyFilter(),
    StudyFilter(patient_name="smith*"),
    StudyFilter(patient_name="SMITH^JOHN"),
    StudyFilter(patient_name="*r*"),
    StudyFilter(patient_name="doe^j?n"),
    StudyFilter(patient_id="100%_x"),
    StudyFilter(patient_id="P?"),
    StudyFilter(date_from="20240101", date_to="20241231"),
    StudyFilter(date_to="20241231"),
    StudyFilter(date_from="20200101"),
    StudyFilter(modality="ct"),
    StudyFilter(patient_name="s*", modality="MR", date_from="20240101"),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose index holds PEOPLE plus a series of images without numbers."""
    data_dir = tmp_path_factory.mktemp("light") / "data"
    with Core(load_settings(data_dir, {"fsync": False})) as core:
        seed(core, PEOPLE)
        series_uid, study_uid = generate_uid(), generate_uid()
        sources = []
        for number in (2, None, 1, None):
            ds = make_dataset(patient_id="P7", series_uid=series_uid, study_uid=study_uid)
            if number is None:
                del ds.InstanceNumber
            else:
                ds.InstanceNumber = number
            sources.append(MemorySource(f"image {number}", encode(ds)))
        assert core.importer.run_sources(sources).imported == 4
        core.engine.dispose()
    return data_dir


def _reader(data_dir: Path) -> light.LightReader:
    settings = load_settings(data_dir, {"fsync": False})
    reader = light.open_reader(settings.db_url, settings.store_dir)
    assert reader is not None
    return reader


def _orders(level: browse.BrowseLevel) -> list[tuple[str | None, bool | None]]:
    return [(None, None)] + [
        (column, desc) for column in browse.COLUMN_NAMES[level] for desc in (False, True)
    ]


@pytest.mark.parametrize("level", browse.LEVELS)
def test_every_order_filter_and_page_gives_cores_rows(index: Path, level: str) -> None:
    with Core(load_settings(index, {"fsync": False})) as core, _reader(index) as reader:
        compared = 0
        for flt in FILTERS:
            assert reader.count(level, flt) == core.count(level, flt)  # type: ignore[arg-type]
            for sort, desc in _orders(level):  # type: ignore[arg-type]
                for limit, offset in ((100, 0), (3, 0), (3, 2), (2, 7), (5, 100)):
                    ours = reader.list_rows(level, flt, sort, desc, limit, offset)
                    theirs = core.list_rows(level, flt, sort, desc, limit, offset)  # type: ignore[arg-type]
                    assert ours == theirs, (flt, sort, desc, limit, offset)
                    compared += len(theirs)
        core.engine.dispose()
    assert compared > 100  # the battery compared rows, not only empty pages


def test_stats_are_cores(index: Path, tmp_path: Path) -> None:
    """The counts and bytes Core gives through the ORM (``open()`` built its engine), for the
    index and for an empty one."""
    empty = tmp_path / "empty"
    for data_dir in (index, empty):
        with Core(load_settings(data_dir, {"fsync": False})) as core:
            assert core.built("engine")
            theirs = core.stats()
            core.engine.dispose()
        with _reader(data_dir) as reader:
            assert reader.stats() == theirs
    assert list(theirs) == ["patients", "studies", "series", "instances", "bytes"]
    assert set(theirs.values()) == {0}
    with _reader(index) as reader:
        assert all(value > 0 for value in reader.stats().values())


def test_the_filters_select_something(index: Path) -> None:
    """The battery means something only if its filters narrow: most match some studies,
    none matches all of them but the empty one."""
    with _reader(index) as reader:
        counts = [reader.count("study", flt) for flt in FILTERS]
    total = counts[0]
    assert all(0 < n < total for n in counts[1:]), counts


def test_errors_are_cores_errors(index: Path) -> None:
    with _reader(index) as reader:
        for args in (("ward", StudyFilter()), ("study", StudyFilter(), "Nonsense")):
            with pytest.raises(Exception) as light_error:
                reader.list_rows(*args)  # type: ignore[arg-type]
            assert type(light_error.value).__name__ == "QueryError"
        with pytest.raises(Exception) as negative:
            reader.list_rows("study", StudyFilter(), limit=-1)
        assert "negative" in str(negative.value)


def test_nullable_columns_are_the_tables_nullable_ones() -> None:
    tables = {t.name: t for t in models.Base.metadata.sorted_tables}
    shown = {pair for names in browse.COLUMN_NAMES.values() for pair in names.values()}
    nullable = {(t, c) for t, c in shown if tables[t].columns[c].nullable}
    assert nullable == light.NULLABLE


def test_queries_columns_are_the_browse_definitions() -> None:
    for level, names in browse.COLUMN_NAMES.items():
        columns = queries.COLUMNS[level]
        assert list(columns) == list(names)
        for name, (table, column) in names.items():
            attribute = columns[name]
            assert (attribute.class_.__tablename__, attribute.key) == (table, column)


def test_refused_where_core_would_do_more(index: Path, tmp_path: Path) -> None:
    settings = load_settings(index, {"fsync": False})
    assert light.open_reader("postgresql+psycopg://u@h/db", settings.store_dir) is None
    assert light.open_reader("sqlite://", settings.store_dir) is None
    assert light.open_reader(f"sqlite:///{tmp_path / 'none.sqlite'}", tmp_path) is None
    # A schema at another revision: Core would migrate it first.
    copy = tmp_path / "old.sqlite"
    copy.write_bytes(Path(settings.db_url.split("///", 1)[1]).read_bytes())
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0001'")
    assert light.open_reader(f"sqlite:///{copy}", settings.store_dir) is None
    # A file a crash left in incoming/: Core indexes it before it answers.
    (settings.store_dir / "incoming" / "journal").mkdir(parents=True, exist_ok=True)
    assert light.open_reader(settings.db_url, settings.store_dir) is not None
    left = settings.store_dir / "incoming" / "p1-left.dcm"
    left.write_bytes(b"")
    try:
        assert light.open_reader(settings.db_url, settings.store_dir) is None
    finally:
        left.unlink()


def test_head_revision_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from core.db.engine import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert light.head_revision() == script.get_current_head()


def test_an_unreadable_index_is_a_clear_error(index: Path, tmp_path: Path) -> None:
    """A file that is not our index (here: a SQLite file without its tables) gives the
    command's clear error (dicom-kiosk: cannot read the index: ...), not a traceback."""
    with _reader(index) as reader:
        reader.connection.close()
        reader.connection = sqlite3.connect(tmp_path / "other.sqlite")
        with pytest.raises(StoreError, match="cannot read the index"):
            reader.list_rows("study", StudyFilter())
