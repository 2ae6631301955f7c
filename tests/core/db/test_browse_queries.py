"""Browse queries the Database tab relies on: every level under every filter."""

from __future__ import annotations

from pathlib import Path

from pydicom.uid import generate_uid

from core.app import Core
from core.db.queries import LEVELS, StudyFilter
from tests.support.data import make_dataset, seed, write


class TestLevelsUnderFilters:
    def test_series_and_modality_filters_work_at_every_level(self, core: Core) -> None:
        seed(core)
        series = core.list_rows("series", StudyFilter(modality="MR"), limit=10)
        assert len(series) == 2
        flt = StudyFilter(series_uid=series[0]["SeriesInstanceUID"])
        counts = {level: core.count(level, flt) for level in LEVELS}
        assert counts == {"patient": 1, "study": 1, "series": 1, "image": 2}
        images = core.list_rows("image", flt)
        assert {r["SeriesInstanceUID"] for r in images} == {series[0]["SeriesInstanceUID"]}
        mr = StudyFilter(modality="mr")
        assert [core.count(level, mr) for level in LEVELS] == [1, 1, 2, 4]

    def test_patient_conditions_narrow_deeper_levels(self, core: Core) -> None:
        seed(core)
        flt = StudyFilter(patient_name="smith*", modality="US")
        assert [core.count(level, flt) for level in LEVELS] == [1, 1, 1, 2]

    def test_nulls_last_in_both_directions(self, core: Core, tmp_path: Path) -> None:
        series_uid = generate_uid()
        for number in (2, None, 1, 3):
            ds = make_dataset(series_uid=series_uid, study_uid="1.2.3", instance_number=1)
            if number is None:
                del ds.InstanceNumber
            else:
                ds.InstanceNumber = number
            write(ds, tmp_path / f"{ds.SOPInstanceUID}.dcm")
        core.importer.run([tmp_path])
        flt = StudyFilter(series_uid=series_uid)
        ascending = [r["InstanceNumber"] for r in core.list_rows("image", flt, "InstanceNumber")]
        descending = [
            r["InstanceNumber"] for r in core.list_rows("image", flt, "InstanceNumber", True)
        ]
        assert ascending == [1, 2, 3, None]
        assert descending == [3, 2, 1, None]
