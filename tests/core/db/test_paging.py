"""Deep pages: ``list_rows`` (the page's keys walked on an index, then its rows read; deep
pages walked from the far end) gives exactly the rows of the plain ORDER BY/LIMIT/OFFSET
query, for every level, every sort column, both directions, under filters, at many pages,
on SQLite and PostgreSQL; with ties (few distinct values), empty strings and NULLs."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from core.app import Core
from core.db import queries
from core.db.engine import upgrade
from core.db.models import Instance, Patient, Series, Study
from core.db.patterns import fold
from core.db.queries import COLUMNS, LEVELS, BrowseLevel, StudyFilter
from tests.core.db.offset_reference import offset_rows

PATIENTS = 700
STUDIES = 2_300  # past FROM_END_AFTER: the default threshold is crossed too
NAMES = ("Smith^John", "smith^jane", "Ng^Li", "Øvergaard^Mehmet", "", "Doe^J?n")
DATES = ("20240105", "20240106", "", "20191231", "20240105", "20260101")
MODALITIES = ("CT", "MR", "US", "CR")


def _fill(core: Core, seed: int = 7) -> None:
    """Rows only, in bulk: few distinct values per column (many ties), empty strings, and
    NULLs in every nullable column the series and image levels sort by."""
    rng = random.Random(seed)
    patients = []
    for pk in range(1, PATIENTS + 1):
        name, pid = rng.choice(NAMES), f"P{rng.randrange(0, 300):03d}"
        patients.append(
            {
                "id": pk,
                "patient_key": f"id:{pk}",
                "patient_id": pid,
                "patient_id_fold": fold(pid),
                "patient_name": name,
                "patient_name_fold": fold(name),
                "birth_date": rng.choice(("19700101", "", "19851231")),
                "sex": rng.choice(("M", "F", "")),
                "num_studies": rng.randrange(0, 4),
                "num_series": rng.randrange(0, 4),
                "num_instances": rng.randrange(0, 3),
            }
        )
    now = datetime(2026, 1, 1)
    studies, series, instances = [], [], []
    for pk in range(1, STUDIES + 1):
        modality = rng.choice(MODALITIES)
        studies.append(
            {
                "id": pk,
                # Patients of the first hundred have more studies: uneven name groups.
                "patient_pk": rng.choice((rng.randrange(1, 101), rng.randrange(1, PATIENTS + 1))),
                "study_uid": f"1.2.{pk}",
                "study_date": rng.choice(DATES),
                "study_time": rng.choice(("080000", "", "173000")),
                "study_description": rng.choice(("CT HEAD", "", "MR KNEE")),
                "study_id": str(rng.randrange(0, 5)),
                "accession_number": rng.choice(("A1", "A2", "")),
                "referring_physician": rng.choice(("", "Who^Doctor")),
                "referring_physician_fold": "",
                "modalities": modality,
                "num_series": rng.randrange(1, 3),
                "num_instances": rng.randrange(0, 4),
                "updated_at": now,
            }
        )
    for pk in range(1, 3_000 + 1):
        study = rng.randrange(1, 301) if pk <= 1_500 else rng.randrange(1, STUDIES + 1)
        series.append(
            {
                "id": pk,
                "study_pk": study,
                "series_uid": f"1.3.{pk}",
                "modality": rng.choice(MODALITIES),
                "series_number": rng.choice((None, 1, 2, 2)),
                "series_description": rng.choice(("", "AX", "SAG")),
                "body_part": rng.choice(("", "HEAD")),
                "series_date": rng.choice(DATES),
                "series_time": rng.choice(("", "1200")),
                "num_instances": rng.randrange(0, 3),
            }
        )
    for pk in range(1, 3_000 + 1):
        instances.append(
            {
                "id": pk,
                "series_pk": rng.randrange(1, 40) if pk <= 2_000 else rng.randrange(1, 3_001),
                "sop_uid": f"1.4.{pk}",
                "sop_class_uid": rng.choice(
                    ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4")
                ),
                "instance_number": rng.choice((None, 1, 2, 3)),
                "transfer_syntax": "1.2.840.10008.1.2.1",
                "num_frames": rng.choice((1, 1, 4)),
                "rows": rng.choice((None, 512, 256)),
                "columns": rng.choice((None, 512)),
                "file_path": f"f/{pk}",
                "file_size": rng.choice((0, 1000, 2000)),
                "received_at": now + timedelta(seconds=rng.randrange(0, 3)),
                "source": rng.choice(("import", "CT1", "")),
            }
        )
    with core.sessions.begin() as session:
        for table, rows in (
            (Patient, patients),
            (Study, studies),
            (Series, series),
            (Instance, instances),
        ):
            session.execute(insert(table), rows)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Core]:
    from core.config import load_settings
    from tests.support.postgres import fresh_pg_database

    url = None
    if request.param == "postgresql":
        url = fresh_pg_database(request.getfixturevalue("pg_server"))
    data_dir = tmp_path_factory.mktemp(f"paging-{request.param}")
    with Core(load_settings(data_dir, {"fsync": False, "db_url": url})) as core:
        _fill(core)
        yield core
        core.engine.dispose()


FILTERS: list[StudyFilter] = [
    StudyFilter(),
    StudyFilter(patient_name="smith*"),
    StudyFilter(modality="MR"),
    StudyFilter(date_from="20240101", date_to="20241231"),
    StudyFilter(patient_name="*", patient_id="P1*", modality="CT", date_from="20200101"),
]
# The series and image levels are shown for one study or series.
NARROW: dict[BrowseLevel, list[StudyFilter]] = {
    "patient": [StudyFilter(study_uid="1.2.5")],
    "study": [StudyFilter(patient_pk=3)],
    "series": [StudyFilter(study_uid="1.2.5"), StudyFilter(patient_pk=3)],
    "image": [StudyFilter(series_uid="1.3.7"), StudyFilter(study_uid="1.2.5")],
}


def _offsets(total: int, limit: int) -> list[int]:
    """The first pages, both sides of the middle, the last pages, past the end, and two
    pages anywhere."""
    picks = {0, limit, total // 2 - limit // 2 - 1, total // 2, total - limit - 1, total - limit}
    picks |= {total - 1, total + 5, *random.Random(total).sample(range(total + 1), 2)}
    return sorted(o for o in picks if o >= 0)


def _compare(session: Session, level: BrowseLevel, flt: StudyFilter, limit: int) -> int:
    total = queries.count(session, level, flt)
    checked = 0
    for sort in COLUMNS[level]:
        for desc in (False, True):
            for offset in _offsets(total, limit):
                got = queries.list_rows(session, level, flt, sort, desc, limit, offset)
                want = offset_rows(session, level, flt, sort, desc, limit, offset)
                assert got == want, (level, flt, sort, desc, limit, offset, total)
                checked += 1
    return checked


class TestSameRowsAsOffset:
    @pytest.mark.parametrize("level", LEVELS)
    def test_every_column_direction_filter_and_page(
        self, filled: Core, level: BrowseLevel, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(queries, "FROM_END_AFTER", 0)  # any page past the middle
        with filled.sessions() as session:
            for flt in [*FILTERS, *NARROW[level]]:
                _compare(session, level, flt, 50)

    @pytest.mark.parametrize("level", ["patient", "study"])
    def test_the_default_threshold(self, filled: Core, level: BrowseLevel) -> None:
        with filled.sessions() as session:
            _compare(session, level, StudyFilter(), 50)

    def test_other_page_sizes(self, filled: Core, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(queries, "FROM_END_AFTER", 0)
        with filled.sessions() as session:
            for limit in (1, 7, 999):
                _compare(session, "study", StudyFilter(), limit)

    def test_the_default_order(self, filled: Core) -> None:
        with filled.sessions() as session:
            for level in LEVELS:
                total = queries.count(session, level, StudyFilter())
                for offset in _offsets(total, 50):
                    got = queries.list_rows(session, level, StudyFilter(), offset=offset, limit=50)
                    want = offset_rows(session, level, StudyFilter(), offset=offset, limit=50)
                    assert got == want

    def test_a_changed_total_reads_the_page_forwards(
        self, filled: Core, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The total is counted apart from the page: when the page's own count differs (rows
        came or went in between), the page is read forwards, by OFFSET's order."""
        real = Session.scalar
        calls: list[int] = []

        def miscounted(self: Session, statement: Any, *args: Any, **kwargs: Any) -> Any:
            value = real(self, statement, *args, **kwargs)
            calls.append(value)
            return value + 3

        monkeypatch.setattr(queries, "FROM_END_AFTER", 0)
        with filled.sessions() as session:
            total = queries.count(session, "study", StudyFilter())
            want = offset_rows(session, "study", StudyFilter(), "StudyDate", True, 50, total - 60)
            monkeypatch.setattr(Session, "scalar", miscounted)
            got = queries.list_rows(
                session, "study", StudyFilter(), "StudyDate", True, 50, total - 60
            )
        assert calls == [total]
        assert got == want
        assert all("_total" not in row for row in got)


class TestIndexes:
    def test_every_sort_column_of_patients_and_studies_has_an_index(self, filled: Core) -> None:
        """The Database tab's columns at the two levels that hold the whole index."""
        from viewmodels.levels import LEVEL_COLUMNS

        indexed = {
            (table, index["column_names"][0])
            for table in ("patient", "study")
            for index in inspect(filled.engine).get_indexes(table)
        }
        for level in ("patient", "study"):
            for key, _title, _weight in LEVEL_COLUMNS[level]:
                column = COLUMNS[level][key]
                assert (column.class_.__tablename__, column.key) in indexed, (level, key)

    def test_the_migration_goes_down_and_up_again(self, tmp_path: Any) -> None:
        from alembic import command

        from core.db.engine import alembic_config, current_revision, make_engine

        url = f"sqlite:///{tmp_path / 'index.sqlite'}"
        engine = make_engine(url)
        upgrade(engine)
        assert current_revision(engine) == "0009"
        command.downgrade(alembic_config(url), "0008")
        names = {i["name"] for i in inspect(engine).get_indexes("patient")}
        assert "ix_patient_patient_name" not in names
        upgrade(engine)
        names = {i["name"] for i in inspect(engine).get_indexes("patient")}
        assert "ix_patient_patient_name" in names
        engine.dispose()
