"""Export behaviour: plain copies, no overwrite, cancel, progress, dates, patient identity,
nested sequences and references, burned-in text warnings, the CLI."""

from __future__ import annotations

import io
import json
import threading
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from core.app import Core
from core.cli.main import main
from core.config import load_settings
from core.db.queries import StudyFilter
from core.errors import NotFoundError
from core.export.deidentify import Deidentifier, DeidentifyOptions, profile_action
from core.export.exporter import (
    Exporter,
    ExportError,
    ExportOptions,
    ExportProgress,
    Selection,
    export_selection,
)
from core.index.importer import MemorySource
from tests.support.data import make_dataset

US = "1.2.840.10008.5.1.4.1.1.6.1"


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _load(core: Core, *datasets: Dataset) -> None:
    sources = [MemorySource(f"test {i}", _bytes(ds)) for i, ds in enumerate(datasets)]
    summary = core.importer.run_sources(sources)
    assert summary.imported == len(datasets), summary.rejected


def _study(core: Core, count: int = 3, **kwargs: object) -> tuple[str, list[Dataset]]:
    study = generate_uid()
    series = generate_uid()
    datasets = [
        make_dataset(study_uid=study, series_uid=series, instance_number=i + 1, **kwargs)  # type: ignore[arg-type]
        for i in range(count)
    ]
    for ds in datasets:
        ds.StudyTime = "101500"
        ds.PatientBirthDate = "19600101"
    _load(core, *datasets)
    return study, datasets


def _dicom_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "DICOMDIR")


def _read_all(root: Path) -> list[Dataset]:
    return [pydicom.dcmread(p) for p in _dicom_files(root)]


class TestPlainExport:
    def test_files_are_byte_identical_copies(self, core: Core, tmp_path: Path) -> None:
        study, datasets = _study(core)
        summary = export_selection(
            core, Selection(studies=(study,)), ExportOptions(tmp_path / "out")
        )
        assert summary.exported == 3 and not summary.deidentified
        exported = {p.read_bytes() for p in _dicom_files(tmp_path / "out")}
        assert exported == {_bytes(ds) for ds in datasets}
        assert all("Test Patient (P1)" in f for f in summary.files)

    def test_zip_holds_the_same_tree(self, core: Core, tmp_path: Path) -> None:
        study, datasets = _study(core)
        summary = export_selection(
            core, Selection(studies=(study,)), ExportOptions(tmp_path, format="zip")
        )
        assert summary.destination == tmp_path / "dicom-export.zip"
        with zipfile.ZipFile(summary.destination) as archive:
            assert sorted(archive.namelist()) == sorted(summary.files)
            contents = {archive.read(n) for n in archive.namelist()}
        assert contents == {_bytes(ds) for ds in datasets}

    def test_selection_levels_combine_without_duplicates(self, core: Core, tmp_path: Path) -> None:
        study, datasets = _study(core)
        other, _ = _study(core, patient_id="P2", patient_name="Other^One")
        selection = Selection(
            patients=("P2",),
            studies=(study,),
            series=(str(datasets[0].SeriesInstanceUID),),
            instances=(str(datasets[1].SOPInstanceUID),),
        )
        summary = export_selection(core, selection, ExportOptions(tmp_path / "out"))
        assert summary.exported == 6 and summary.patients == 2 and summary.studies == 2
        assert other

    def test_unknown_selection_is_an_error(self, core: Core, tmp_path: Path) -> None:
        _study(core)
        with pytest.raises(NotFoundError):
            export_selection(core, Selection(studies=("1.2.3.4",)), ExportOptions(tmp_path))
        with pytest.raises(ExportError):
            export_selection(core, Selection(), ExportOptions(tmp_path))


class TestNoOverwriteAndCancel:
    def test_a_folder_that_is_not_empty_is_refused(self, core: Core, tmp_path: Path) -> None:
        study, _ = _study(core)
        out = tmp_path / "out"
        out.mkdir()
        (out / "keep.txt").write_text("mine")
        for fmt in ("files", "dicomdir"):
            with pytest.raises(ExportError, match="not empty"):
                export_selection(core, Selection(studies=(study,)), ExportOptions(out, format=fmt))
        assert [p.name for p in out.iterdir()] == ["keep.txt"]
        assert (out / "keep.txt").read_text() == "mine"

    def test_a_zip_is_never_replaced(self, core: Core, tmp_path: Path) -> None:
        study, _ = _study(core)
        first = export_selection(core, Selection(studies=(study,)), ExportOptions(tmp_path, "zip"))
        content = first.destination.read_bytes()
        second = export_selection(core, Selection(studies=(study,)), ExportOptions(tmp_path, "zip"))
        assert second.destination.name == "dicom-export-2.zip"
        assert first.destination.read_bytes() == content
        with pytest.raises(ExportError, match="already exists"):
            export_selection(
                core, Selection(studies=(study,)), ExportOptions(first.destination, "zip")
            )

    @pytest.mark.parametrize("fmt", ["files", "dicomdir", "zip"])
    def test_cancel_leaves_nothing_behind(self, core: Core, tmp_path: Path, fmt: str) -> None:
        study, _ = _study(core, count=5)
        cancel = threading.Event()
        seen: list[ExportProgress] = []

        def progress(p: ExportProgress) -> None:
            seen.append(p)
            if p.done == 2:
                cancel.set()

        out = tmp_path / "out"
        summary = export_selection(
            core, Selection(studies=(study,)), ExportOptions(out, fmt), progress, cancel
        )  # type: ignore[arg-type]
        assert summary.cancelled and summary.exported == 0
        assert [p.done for p in seen] == [1, 2]
        assert not [p for p in out.rglob("*") if p.is_file()]

    def test_progress_reaches_the_total(self, core: Core, tmp_path: Path) -> None:
        study, _ = _study(core, count=4)
        seen: list[ExportProgress] = []
        export_selection(
            core, Selection(studies=(study,)), ExportOptions(tmp_path / "o"), progress=seen.append
        )
        assert [(p.done, p.total) for p in seen] == [(i, 4) for i in range(1, 5)]


class TestDeidentificationOptions:
    def _export(self, core: Core, tmp_path: Path, study: str, **options: object) -> list[Dataset]:
        out = tmp_path / "out"
        export_selection(
            core,
            Selection(studies=(study,)),
            ExportOptions(out, deidentify=DeidentifyOptions(**options)),  # type: ignore[arg-type]
        )
        return _read_all(out)

    def test_dates_removed_by_default(self, core: Core, tmp_path: Path) -> None:
        study, _ = _study(core)
        for ds in self._export(core, tmp_path, study):
            assert not ds.get("StudyDate") and not ds.get("PatientBirthDate")
            assert ds.LongitudinalTemporalInformationModified == "REMOVED"
            codes = [c.CodeValue for c in ds.DeidentificationMethodCodeSequence]
            assert codes == ["113100"]

    def test_dates_shifted_by_one_offset(self, core: Core, tmp_path: Path) -> None:
        study, _ = _study(core, study_date="20240301")
        exported = self._export(core, tmp_path, study, dates="shift", date_offset_days=-10)
        assert {ds.StudyDate for ds in exported} == {"20240220"}
        assert {ds.StudyTime for ds in exported} == {"101500"}
        assert all(not ds.get("PatientBirthDate") for ds in exported)
        assert exported[0].LongitudinalTemporalInformationModified == "MODIFIED"
        codes = [c.CodeValue for c in exported[0].DeidentificationMethodCodeSequence]
        assert codes == ["113100", "113107"]

    def test_random_shift_is_consistent_across_studies(self, core: Core, tmp_path: Path) -> None:
        first, _ = _study(core, study_date="20240301")
        second, _ = _study(core, study_date="20240311")
        out = tmp_path / "out"
        export_selection(
            core,
            Selection(studies=(first, second)),
            ExportOptions(out, deidentify=DeidentifyOptions(dates="shift")),
        )
        dates = sorted({ds.StudyDate for ds in _read_all(out)})
        assert len(dates) == 2 and "20240301" not in dates
        from datetime import datetime

        gap = datetime.strptime(dates[1], "%Y%m%d") - datetime.strptime(dates[0], "%Y%m%d")
        assert gap.days == 10

    def test_dates_kept(self, core: Core, tmp_path: Path) -> None:
        study, _ = _study(core, study_date="20240301")
        exported = self._export(core, tmp_path, study, dates="keep")
        assert {ds.StudyDate for ds in exported} == {"20240301"}
        assert all(not ds.get("PatientBirthDate") for ds in exported)
        codes = [c.CodeValue for c in exported[0].DeidentificationMethodCodeSequence]
        assert codes == ["113100", "113106"]

    def test_user_patient_identity_non_ascii(self, core: Core, tmp_path: Path) -> None:
        study, _ = _study(core, charset="ISO_IR 100", patient_name="Müller^Hans")
        exported = self._export(
            core, tmp_path, study, patient_name="Prüfung^Eins", patient_id="STUDY-7"
        )
        for ds in exported:
            assert str(ds.PatientName) == "Prüfung^Eins" and ds.PatientID == "STUDY-7"
            assert ds.SpecificCharacterSet == "ISO_IR 192"

    def test_several_patients_are_never_merged(self, core: Core, tmp_path: Path) -> None:
        one, _ = _study(core, patient_id="A1", patient_name="One^A")
        two, _ = _study(core, patient_id="B2", patient_name="Two^B")
        out = tmp_path / "out"
        export_selection(
            core,
            Selection(studies=(one, two)),
            ExportOptions(out, deidentify=DeidentifyOptions(patient_id="RESEARCH")),
        )
        ids = {str(ds.PatientID) for ds in _read_all(out)}
        assert len(ids) == 2 and all(i.startswith("RESEARCH") for i in ids)

    def test_nested_sequences_private_tags_and_references(self, core: Core, tmp_path: Path) -> None:
        study, series = generate_uid(), generate_uid()
        target = make_dataset(study_uid=study, series_uid=series, instance_number=1)
        outside = generate_uid()
        source = make_dataset(study_uid=study, series_uid=series, instance_number=2)
        refs = []
        for uid in (str(target.SOPInstanceUID), outside):
            ref = Dataset()
            ref.ReferencedSOPClassUID = target.SOPClassUID
            ref.ReferencedSOPInstanceUID = uid
            refs.append(ref)
        source.SourceImageSequence = Sequence(refs)
        # A sequence the profile does not list keeps its items, cleaned by the same table.
        unlisted = "SharedFunctionalGroupsSequence"
        assert profile_action(pydicom.datadict.tag_for_keyword(unlisted)) is None  # type: ignore[arg-type]
        item = Dataset()
        item.PatientName = "Test^Patient"
        item.InstitutionName = "Secret Hospital"
        item.StudyDescription = "Secret description"
        item.add_new(0x00291010, "LO", "private secret")
        inner = Dataset()
        inner.ReferencedSOPInstanceUID = str(target.SOPInstanceUID)
        inner.OperatorsName = "Secret^Operator"
        item.ReferencedImageSequence = Sequence([inner])
        setattr(source, unlisted, Sequence([item]))
        source.add_new(0x00090010, "LO", "ACME")
        source.add_new(0x00091001, "LO", "Test^Patient private copy")
        _load(core, target, source)

        deid = Deidentifier(DeidentifyOptions())
        out = tmp_path / "out"
        summary = export_selection(
            core,
            Selection(studies=(study,)),
            ExportOptions(out, deidentify=DeidentifyOptions()),
            deidentifier=deid,
        )
        assert summary.removed_references == 1
        new_target = deid.new_uid(str(target.SOPInstanceUID))
        exported = {str(ds.SOPInstanceUID): ds for ds in _read_all(out)}
        assert set(exported) == {new_target, deid.new_uid(str(source.SOPInstanceUID))}
        cleaned = exported[deid.new_uid(str(source.SOPInstanceUID))]
        assert [r.ReferencedSOPInstanceUID for r in cleaned.SourceImageSequence] == [new_target]
        nested = getattr(cleaned, unlisted)[0]
        assert not nested.get("PatientName")
        assert not nested.get("InstitutionName") and "StudyDescription" not in nested
        assert nested.ReferencedImageSequence[0].ReferencedSOPInstanceUID == new_target
        assert not nested.ReferencedImageSequence[0].get("OperatorsName")
        raw = next(p for p in _dicom_files(out) if pydicom.dcmread(p).SOPInstanceUID != new_target)
        data = raw.read_bytes()
        assert b"Secret" not in data and b"Test^Patient" not in data and b"ACME" not in data

    def test_burned_in_text_warnings(self, core: Core, tmp_path: Path) -> None:
        us = make_dataset(patient_id="U", modality="US")
        us.SOPClassUID = us.file_meta.MediaStorageSOPClassUID = US
        clean = make_dataset(patient_id="C")
        clean.BurnedInAnnotation = "NO"
        yes = make_dataset(patient_id="Y")
        yes.BurnedInAnnotation = "YES"
        _load(core, us, clean, yes)

        def warnings_for(uid: str) -> list[str]:
            out = tmp_path / uid[-8:]
            options = ExportOptions(out, deidentify=DeidentifyOptions())
            return export_selection(core, Selection(studies=(uid,)), options).warnings

        exporter = Exporter(core)
        before = exporter.burned_in_warnings(Selection(studies=(str(us.StudyInstanceUID),)))
        assert len(before) == 1 and "ultrasound" in before[0]
        assert exporter.burned_in_warnings(Selection(studies=(str(clean.StudyInstanceUID),))) == []
        assert any("BurnedInAnnotation" in w for w in warnings_for(str(yes.StudyInstanceUID)))
        assert any("ultrasound" in w for w in warnings_for(str(us.StudyInstanceUID)))
        assert warnings_for(str(clean.StudyInstanceUID)) == []


class TestStandardTable:
    @pytest.mark.parametrize(
        ("keyword", "action"),
        [
            ("PatientName", "Z"),
            ("PatientBirthDate", "Z"),
            ("StudyDescription", "X"),
            ("SeriesDescription", "X"),
            ("ImageComments", "X"),
            ("InstitutionName", "X/Z/D"),
            ("AccessionNumber", "Z"),
            ("StudyInstanceUID", "U"),
            ("SOPInstanceUID", "U"),
            ("ReferencedSOPInstanceUID", "U"),
            ("FrameOfReferenceUID", "U"),
            ("ReferencedImageSequence", "X/Z/U*"),
            ("RequestAttributesSequence", "X"),
            ("ContentSequence", "X"),
            ("Modality", None),
            ("SOPClassUID", None),
        ],
    )
    def test_entries_match_ps3_15_table_e1_1(self, keyword: str, action: str | None) -> None:
        tag = pydicom.datadict.tag_for_keyword(keyword)
        assert tag is not None
        assert profile_action(tag) == action

    def test_overlay_and_curve_groups(self) -> None:
        assert profile_action(0x60023000) == "X"  # Overlay Data, any 60xx group
        assert profile_action(0x50040010) == "X"  # Curve Data, any 50xx element
        assert profile_action(0x60020010) is None  # Overlay Rows are kept


class TestCommandLine:
    def test_export_json(
        self, core: Core, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        study, _ = _study(core)
        core.close()
        out = tmp_path / "media"
        code = main(
            ["--data-dir", str(data_dir), "export", "--study", study, "--to", str(out)]
            + ["--format", "dicomdir", "--anonymize", "--dates", "shift", "--json"]
        )
        assert code == 0
        result = json.loads(capsys.readouterr().out)
        assert result["exported"] == 3 and result["deidentified"] is True
        assert (out / "DICOMDIR").is_file()
        assert "Test" not in json.dumps(result)

    def test_usage_errors(
        self, core: Core, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        study, _ = _study(core)
        core.close()
        base = ["--data-dir", str(data_dir), "export", "--to", str(tmp_path / "o")]
        assert main(base) == 2
        assert main([*base, "--study", study, "--dates", "keep"]) == 2
        assert main([*base, "--study", study, "--anonymize", "--new-patient-id", "A\\B"]) == 2
        assert main([*base, "--study", "1.2.3"]) == 1
        assert "no study" in capsys.readouterr().err


class TestFailures:
    def test_a_missing_store_file_stops_the_export_cleanly(
        self, core: Core, tmp_path: Path
    ) -> None:
        study, datasets = _study(core, count=3)
        from sqlalchemy import select

        from core.db.models import Instance

        with core.sessions() as session:
            path = session.scalar(
                select(Instance.file_path).where(
                    Instance.sop_uid == str(datasets[1].SOPInstanceUID)
                )
            )
        assert path is not None
        core.store.absolute(path).unlink()
        out = tmp_path / "out"
        for fmt in ("files", "dicomdir", "zip"):
            with pytest.raises(ExportError, match="export stopped at image"):
                export_selection(
                    core,
                    Selection(studies=(study,)),
                    ExportOptions(out, fmt, DeidentifyOptions() if fmt == "zip" else None),  # type: ignore[arg-type]
                )
            assert not [p for p in out.rglob("*") if p.is_file()]


class TestPlainRoundTrip:
    @pytest.mark.parametrize("fmt", ["files", "dicomdir", "zip"])
    def test_import_reads_back_the_same_instances(
        self, core: Core, tmp_path: Path, fmt: str
    ) -> None:
        from core.dicom import synth

        sources = [MemorySource(f"demo {i}", b) for i, b in enumerate(synth.demo_instances(2, 5))]
        core.importer.run_sources(sources)
        patients = tuple(r["PatientID"] for r in core.list_rows("patient", StudyFilter()))
        summary = export_selection(
            core, Selection(patients=patients), ExportOptions(tmp_path / "out", fmt)
        )  # type: ignore[arg-type]
        source = summary.destination
        if fmt == "dicomdir":
            source = source / "DICOMDIR"
        with Core(load_settings(tmp_path / "again", {"fsync": False})) as again:
            result = again.importer.run([source])
            assert not result.rejected and result.imported == len(sources)
            assert again.stats() | {"bytes": 0} == core.stats() | {"bytes": 0}
            rows = again.list_rows("image", StudyFilter(), limit=1000)
        originals = core.list_rows("image", StudyFilter(), limit=1000)
        assert {r["SOPInstanceUID"] for r in rows} == {r["SOPInstanceUID"] for r in originals}
