"""Browse semantics: wildcards, case, literal LIKE metacharacters, dates, modality, sorting."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.app import Core
from core.db.queries import StudyFilter
from core.errors import QueryError
from core.index.importer import MemorySource
from tests.support.data import make_dataset

PATIENTS = [
    # name, id, study date, modality
    ("Müller^Jürgen", "MJ-1", "20240105", "CT"),
    ("MÜLLER^Anna", "MA_2", "20240210", "MR"),
    ("Mueller^Hans", "MH%3", "20231231", "CR"),
    ("Smith^John", "SJ4", "20240301", "CT"),
    ("Smith^Jane", "S_J5", "20240301", "US"),
    ("O'Brien^Seán", "OB6", "", "MR"),
]


@pytest.fixture
def populated(any_core: Core) -> Core:
    core = any_core
    sources = []
    for name, pid, date, modality in PATIENTS:
        ds = make_dataset(patient_name=name, patient_id=pid, study_date=date, modality=modality)
        buffer = __import__("io").BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        sources.append(MemorySource(pid, buffer.getvalue()))
    summary = core.importer.run_sources(sources)
    assert summary.imported == len(PATIENTS)
    return core


def names(core: Core, **kwargs: str) -> list[str]:
    rows = core.list_rows("patient", StudyFilter(**kwargs), sort="PatientName", limit=50)
    return [r["PatientName"] for r in rows]


class TestNameAndIdMatching:
    def test_no_wildcard_is_exact_and_case_insensitive(self, populated: Core) -> None:
        assert names(populated, patient_name="müller^jürgen") == ["Müller^Jürgen"]
        assert names(populated, patient_name="MÜLLER^JÜRGEN") == ["Müller^Jürgen"]
        assert names(populated, patient_name="Müller") == []

    def test_accents_are_preserved(self, populated: Core) -> None:
        assert names(populated, patient_name="muller*") == []
        assert names(populated, patient_name="mue*") == ["Mueller^Hans"]

    def test_star_and_question_mark(self, populated: Core) -> None:
        assert names(populated, patient_name="müller*") == ["MÜLLER^Anna", "Müller^Jürgen"]
        assert names(populated, patient_name="*^j*") == [
            "Müller^Jürgen",
            "Smith^Jane",
            "Smith^John",
        ]
        assert names(populated, patient_name="smith^j?n?") == ["Smith^Jane"]
        assert names(populated, patient_name="*") == sorted(n for n, *_ in PATIENTS)

    def test_percent_and_underscore_are_literal(self, populated: Core) -> None:
        assert names(populated, patient_id="MH%3") == ["Mueller^Hans"]
        assert names(populated, patient_id="M%") == []
        assert names(populated, patient_id="S_J5") == ["Smith^Jane"]
        assert names(populated, patient_id="S_J*") == ["Smith^Jane"]
        assert names(populated, patient_id="SJ_") == []  # _ is not a one-character wildcard
        assert names(populated, patient_id="ma_*") == ["MÜLLER^Anna"]

    def test_apostrophe_is_just_a_character(self, populated: Core) -> None:
        assert names(populated, patient_name="o'brien*") == ["O'Brien^Seán"]


class TestStudyFilters:
    def test_date_range_is_inclusive(self, populated: Core) -> None:
        rows = populated.list_rows(
            "study", StudyFilter(date_from="20240105", date_to="20240301"), sort="StudyDate"
        )
        assert [r["StudyDate"] for r in rows] == ["20240105", "20240210", "20240301", "20240301"]

    def test_open_ended_ranges(self, populated: Core) -> None:
        assert names(populated, date_to="20231231") == ["Mueller^Hans"]
        assert len(names(populated, date_from="20240301")) == 2

    def test_modality_narrows_every_level(self, populated: Core) -> None:
        assert names(populated, modality="ct") == ["Müller^Jürgen", "Smith^John"]
        series = populated.list_rows("series", StudyFilter(modality="MR"))
        assert {r["Modality"] for r in series} == {"MR"}
        assert populated.count("image", StudyFilter(modality="US")) == 1

    def test_filters_combine(self, populated: Core) -> None:
        assert names(populated, patient_name="smith*", modality="US") == ["Smith^Jane"]

    def test_bad_date_is_a_clear_error(self) -> None:
        with pytest.raises(QueryError, match="YYYYMMDD"):
            StudyFilter(date_from="2024-01-01")


class TestSortingAndPaging:
    def test_sort_toggles(self, populated: Core) -> None:
        up = populated.list_rows("patient", StudyFilter(), sort="PatientID", descending=False)
        down = populated.list_rows("patient", StudyFilter(), sort="PatientID", descending=True)
        assert [r["PatientID"] for r in up] == sorted(p[1] for p in PATIENTS)
        assert [r["PatientID"] for r in down] == sorted((p[1] for p in PATIENTS), reverse=True)

    def test_unknown_column_is_a_clear_error(self, populated: Core) -> None:
        with pytest.raises(QueryError, match="cannot sort"):
            populated.list_rows("study", StudyFilter(), sort="Nope")

    def test_pages_cover_all_rows_once(self, populated: Core) -> None:
        seen = []
        for offset in range(0, 6, 2):
            rows = populated.list_rows(
                "study", StudyFilter(), sort="StudyDate", limit=2, offset=offset
            )
            seen += [r["StudyInstanceUID"] for r in rows]
        assert len(seen) == len(set(seen)) == 6

    def test_empty_values_sort_consistently(self, populated: Core) -> None:
        rows = populated.list_rows("study", StudyFilter(), sort="StudyDate", descending=False)
        assert rows[0]["StudyDate"] == ""


class TestCountsAndDelete:
    def test_counts_follow_inserts_and_deletes(self, any_core: Core, tmp_path: Path) -> None:
        core = any_core
        study = "1.2.826.0.1.3680043.2.1143.10"
        sources = []
        for i, modality in enumerate(["CT", "CT", "SR"]):
            series = f"1.2.826.0.1.3680043.2.1143.{20 + (i // 2)}"
            ds = make_dataset(study_uid=study, series_uid=series, modality=modality)
            buffer = __import__("io").BytesIO()
            ds.save_as(buffer, enforce_file_format=True)
            sources.append(MemorySource(str(i), buffer.getvalue()))
        core.importer.run_sources(sources)
        (row,) = core.list_rows("study", StudyFilter())
        assert row["NumberOfStudyRelatedSeries"] == 2
        assert row["NumberOfStudyRelatedInstances"] == 3
        assert row["ModalitiesInStudy"] == "CT\\SR"
        files_before = len([p for p in core.store.root.rglob("*.dcm")])

        result = core.delete("series", "1.2.826.0.1.3680043.2.1143.21")
        assert result.instances == 1
        (row,) = core.list_rows("study", StudyFilter())
        assert (row["NumberOfStudyRelatedSeries"], row["ModalitiesInStudy"]) == (1, "CT")
        assert len([p for p in core.store.root.rglob("*.dcm")]) == files_before - 1

        core.delete("study", study)
        assert core.stats() == {
            "patients": 0,
            "studies": 0,
            "series": 0,
            "instances": 0,
            "bytes": 0,
        }
        assert [p for p in core.store.root.rglob("*.dcm")] == []
