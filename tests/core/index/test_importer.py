"""Import of real files: pydicom's bundled test files, zips, DICOMDIR media, hostile input."""

from __future__ import annotations

import re
import shutil
import struct
import warnings
import zipfile
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.fileset import FileSet

from core.app import Core
from core.config import load_settings
from tests.support.data import CHARSET_FILES, TEST_FILES, make_dataset, write

UID = re.compile(r"^[0-9.]{1,64}$")
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"


def _expected_sop(path: Path) -> str | None:
    """Independent verdict: the SOP Instance UID if ``path`` should be indexed, else None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
    except Exception:
        return None
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPClassUID") == DICOMDIR_CLASS:
        return None
    for elem in ds._dict.values():  # a truncated element: fewer bytes than declared
        if isinstance(elem, RawDataElement) and elem.length != 0xFFFFFFFF:
            if elem.value is not None and len(elem.value) < elem.length:
                return None
    uids = []
    for keyword in ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID"):
        value = str(ds.get(keyword, "") or "").strip()
        if not UID.match(value) or ".." in value or value.endswith("."):
            return None
        uids.append(value)
    return uids[0]


def _all_files(*folders: Path) -> list[Path]:
    files = []
    for folder in folders:
        files += sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "DICOMDIR")
    return files


def _import(core: Core, *paths: Path):  # type: ignore[no-untyped-def]
    return core.importer.run(list(paths))


class TestPydicomTestFiles:
    def test_every_file_is_indexed_or_rejected_with_a_reason(self, any_core: Core) -> None:
        core = any_core
        files = _all_files(TEST_FILES, CHARSET_FILES)
        verdicts = {str(p): _expected_sop(p) for p in files}
        unique = {sop for sop in verdicts.values() if sop}
        valid = [p for p, sop in verdicts.items() if sop]
        summary = _import(core, TEST_FILES, CHARSET_FILES)

        assert summary.imported == len(unique)
        assert summary.duplicates == len(valid) - len(unique)
        assert {p for p, _ in summary.rejected} == {p for p, sop in verdicts.items() if not sop}
        assert all(reason for _, reason in summary.rejected)
        assert core.stats()["instances"] == len(unique)
        assert summary.imported > 80  # the bundled set is large; guard against an empty glob

    def test_reimport_counts_duplicates_only(self, core: Core) -> None:
        first = _import(core, TEST_FILES)
        second = _import(core, TEST_FILES)
        assert second.imported == 0
        assert second.duplicates == first.imported + first.duplicates
        assert len(second.rejected) == len(first.rejected)
        assert core.stats()["instances"] == first.imported

    def test_reimport_restores_a_stored_file_that_is_gone(self, core: Core) -> None:
        """The re-import of an image whose stored file went missing puts the file back (it is
        no duplicate: the index's row named a file that no longer was there)."""
        assert _import(core, TEST_FILES / "CT_small.dcm").imported == 1
        stored = next(core.store.root.rglob("*.dcm"))
        stored.unlink()
        again = _import(core, TEST_FILES / "CT_small.dcm")
        assert (again.imported, again.duplicates) == (1, 0)
        assert (
            pydicom.dcmread(stored).SOPInstanceUID
            == pydicom.dcmread(TEST_FILES / "CT_small.dcm").SOPInstanceUID
        )
        assert _import(core, TEST_FILES / "CT_small.dcm").duplicates == 1

    def test_stored_files_are_complete_part10_copies(self, core: Core) -> None:
        _import(core, TEST_FILES / "CT_small.dcm", TEST_FILES / "ExplVR_LitEndNoMeta.dcm")
        rows = core.list_rows("image", _filter())
        assert len(rows) == 2
        for row in rows:
            path = next(core.store.root.rglob(f"{row['SOPInstanceUID']}.dcm"))
            ds = pydicom.dcmread(path)  # no force: a valid Part 10 file with meta
            assert ds.SOPInstanceUID == row["SOPInstanceUID"]
            assert ds.file_meta.TransferSyntaxUID == row["TransferSyntaxUID"]
        original = (TEST_FILES / "CT_small.dcm").read_bytes()
        stored = next(core.store.root.rglob("*.dcm"), None)
        assert stored is not None
        assert any(p.read_bytes() == original for p in core.store.root.rglob("*.dcm"))

    def test_truncated_file_is_rejected_with_reason(self, core: Core) -> None:
        summary = _import(core, TEST_FILES / "MR_truncated.dcm")
        assert summary.imported == 0
        assert "truncated" in summary.rejected[0][1]


class TestSources:
    def test_zip_archive(self, core: Core, tmp_path: Path) -> None:
        archive = tmp_path / "images.zip"
        names = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "README.txt"]
        with zipfile.ZipFile(archive, "w") as zf:
            for name in names:
                zf.write(TEST_FILES / name, f"dir/{name}")
        summary = _import(core, archive)
        assert summary.imported == 3
        assert [p for p, _ in summary.rejected] == [f"{archive}!dir/README.txt"]

    def test_dicomdir_is_followed_and_source_can_go_away(self, core: Core, tmp_path: Path) -> None:
        media = tmp_path / "media"
        shutil.copytree(TEST_FILES / "dicomdirtests", media)
        fileset = FileSet(pydicom.dcmread(media / "DICOMDIR"))
        expected = {inst.SOPInstanceUID for inst in fileset}
        summary = _import(core, media / "DICOMDIR")
        assert summary.imported == len(expected) > 0
        assert not summary.rejected
        shutil.rmtree(media)
        rows = core.list_rows("image", _filter(), limit=1000)
        assert {r["SOPInstanceUID"] for r in rows} == expected
        for sop in expected:
            assert next(core.store.root.rglob(f"{sop}.dcm")).stat().st_size > 0

    def test_missing_path_is_reported(self, core: Core, tmp_path: Path) -> None:
        summary = _import(core, tmp_path / "nope")
        assert summary.rejected == [(str(tmp_path / "nope"), "no such file or folder")]


class TestHostileInput:
    @pytest.mark.parametrize(
        "uid", ["../../etc/x", "1.2.3/../../x", "1." + "2" * 80, "1.2.abc", "", "1..2"]
    )
    def test_hostile_sop_uid_never_leaves_the_store(
        self, core: Core, tmp_path: Path, uid: str
    ) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = write(make_dataset(sop_uid=uid or None), tmp_path / "in" / "bad.dcm")
            if not uid:
                ds = pydicom.dcmread(path)
                del ds.SOPInstanceUID
                ds.save_as(path)
        summary = _import(core, path)
        assert summary.imported == 0
        assert len(summary.rejected) == 1
        assert "SOPInstanceUID" in summary.rejected[0][1]
        data_dir = core.settings.data_dir
        outside = [p for p in tmp_path.rglob("*") if p.is_file() and data_dir not in p.parents]
        assert outside == [path]
        stored = [p for p in core.store.root.rglob("*") if p.is_file()]
        assert [p for p in stored if core.store.owners_dir not in p.parents] == []

    def test_store_limit_stops_cleanly(self, data_dir: Path, tmp_path: Path) -> None:
        settings = load_settings(data_dir, {"fsync": False, "max_store_bytes": 2_000})
        for i in range(10):
            write(make_dataset(patient_id=f"P{i}"), tmp_path / "in" / f"{i}.dcm")
        with Core(settings) as core:
            summary = _import(core, tmp_path / "in")
            assert summary.stopped and "limit" in summary.stopped
            stats = core.stats()
            assert stats["instances"] == summary.imported > 0
            assert stats["bytes"] <= 2_000
            assert list(core.store.incoming_dir.iterdir()) == []
            on_disk = [p for p in core.store.root.rglob("*.dcm") if "incoming" not in p.parts]
            assert len(on_disk) == summary.imported


def _member_zip(path: Path, name: str, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """The bytes of a zip archive holding MR_small.dcm as ``name``."""
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr(zipfile.ZipInfo(name), (TEST_FILES / "MR_small.dcm").read_bytes())
    return path.read_bytes()


def _damage(raw: bytes, kind: str) -> bytes:
    """One of the damaged archives fuzzing found (tests/fuzz), made from a good one."""
    data = bytearray(raw)
    central = raw.find(b"PK\x01\x02")
    if kind == "invalid deflate block":  # zlib.error when the member is read
        name_length, extra_length = struct.unpack_from("<HH", raw, 26)
        data[30 + name_length + extra_length] = 0xFF  # block type 3 does not exist
    elif kind == "member longer than the archive":  # EOFError when the member is read
        struct.pack_into("<II", data, central + 20, 1 << 20, 1 << 20)
    elif kind == "unsupported zip version":  # NotImplementedError on opening
        struct.pack_into("<H", data, central + 6, 82)
    elif kind == "name not UTF-8":  # UnicodeDecodeError on opening (the UTF-8 flag is set)
        data = bytearray(raw.replace("é".encode(), b"\xff\xff"))
    return bytes(data)


class TestDamagedArchivesAndMedia:
    """Inputs found by fuzzing (tests/fuzz): each is rejected with a reason, never raised."""

    @pytest.mark.parametrize(
        ("kind", "compression", "name"),
        [
            ("invalid deflate block", zipfile.ZIP_DEFLATED, "dir/MR_small.dcm"),
            ("member longer than the archive", zipfile.ZIP_STORED, "dir/MR_small.dcm"),
            ("unsupported zip version", zipfile.ZIP_DEFLATED, "dir/MR_small.dcm"),
            ("name not UTF-8", zipfile.ZIP_DEFLATED, "dir/é.dcm"),
        ],
    )
    def test_damaged_zip_is_rejected(
        self, core: Core, tmp_path: Path, kind: str, compression: int, name: str
    ) -> None:
        archive = tmp_path / "images.zip"
        archive.write_bytes(_damage(_member_zip(archive, name, compression), kind))
        summary = _import(core, archive)
        assert summary.imported == 0
        assert len(summary.rejected) == summary.total == 1
        assert summary.rejected[0][0].startswith(str(archive))
        assert "cannot read" in summary.rejected[0][1] or "unreadable zip" in summary.rejected[0][1]

    def test_member_with_an_empty_name_is_imported(self, core: Core, tmp_path: Path) -> None:
        archive = tmp_path / "images.zip"
        _member_zip(archive, "")
        assert _import(core, archive).imported == 1

    def test_undecodable_record_skips_only_its_file(self, core: Core, tmp_path: Path) -> None:
        media = tmp_path / "media"
        shutil.copytree(TEST_FILES / "dicomdirtests", media)
        expected = len(FileSet(pydicom.dcmread(media / "DICOMDIR")))
        raw = (media / "DICOMDIR").read_bytes()
        file_id = b"\x04\x00\x00\x15CS"  # (0004,1500) Referenced File ID, explicit VR
        (media / "DICOMDIR").write_bytes(raw.replace(file_id, b"\x04\x00\x00\x15C\xad", 1))
        summary = _import(core, media / "DICOMDIR")
        assert summary.imported == expected - 1
        assert [r for _, r in summary.rejected if "unreadable DICOMDIR record" in r] != []

    def test_records_not_a_sequence(self, core: Core, tmp_path: Path) -> None:
        media = tmp_path / "media"
        shutil.copytree(TEST_FILES / "dicomdirtests", media)
        raw = (media / "DICOMDIR").read_bytes()
        records = b"\x04\x00\x20\x12SQ"  # (0004,1220) Directory Record Sequence
        (media / "DICOMDIR").write_bytes(raw.replace(records, b"\x04\x00\x20\x12OB", 1))
        summary = _import(core, media / "DICOMDIR")
        assert summary.imported == 0
        assert summary.rejected == [
            (
                str(media / "DICOMDIR"),
                "unreadable DICOMDIR: its Directory Record Sequence is not a sequence",
            )
        ]


class TestDuplicatePolicy:
    def test_keep_first_by_default(self, core: Core, tmp_path: Path) -> None:
        sop = "1.2.826.0.1.3680043.2.1143.1"
        write(make_dataset(sop_uid=sop, patient_name="First^One"), tmp_path / "a" / "1.dcm")
        write(make_dataset(sop_uid=sop, patient_name="Second^Two"), tmp_path / "b" / "1.dcm")
        assert _import(core, tmp_path / "a").imported == 1
        second = _import(core, tmp_path / "b")
        assert (second.imported, second.duplicates) == (0, 1)
        assert core.list_rows("patient", _filter())[0]["PatientName"] == "First^One"

    def test_replace_setting(self, data_dir: Path, tmp_path: Path) -> None:
        sop = "1.2.826.0.1.3680043.2.1143.2"
        study = "1.2.826.0.1.3680043.2.1143.3"
        series = "1.2.826.0.1.3680043.2.1143.4"
        common = {"sop_uid": sop, "study_uid": study, "series_uid": series}
        write(make_dataset(instance_number=1, **common), tmp_path / "a" / "1.dcm")
        write(make_dataset(instance_number=7, **common), tmp_path / "b" / "1.dcm")
        settings = load_settings(data_dir, {"fsync": False, "duplicate_policy": "replace"})
        with Core(settings) as core:
            _import(core, tmp_path / "a")
            second = _import(core, tmp_path / "b")
            assert second.imported == 1
            rows = core.list_rows("image", _filter())
            assert [r["InstanceNumber"] for r in rows] == [7]
            assert core.stats()["instances"] == 1


def _filter():  # type: ignore[no-untyped-def]
    from core.db.queries import StudyFilter

    return StudyFilter()


class TestHeaderDecoding:
    """The indexer's fast raw decoding agrees with pydicom's full element conversion."""

    FIELDS = {
        "patient_name": "PatientName",
        "patient_id": "PatientID",
        "study_description": "StudyDescription",
        "series_description": "SeriesDescription",
        "referring_physician": "ReferringPhysicianName",
        "accession_number": "AccessionNumber",
        "modality": "Modality",
        "study_date": "StudyDate",
        "rows": "Rows",
        "columns": "Columns",
    }

    def test_all_bundled_files(self) -> None:
        from core.dicom.header import dicom_date, parse_instance
        from core.errors import RejectedFile

        checked = 0
        for path in _all_files(TEST_FILES, CHARSET_FILES):
            try:
                header = parse_instance(path.read_bytes()).header
            except RejectedFile:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, force=True)
            for field, keyword in self.FIELDS.items():
                expected = ds.get(keyword)
                got = getattr(header, field)
                if expected is None or expected == "":
                    assert got in ("", None), (path.name, keyword, got)
                elif isinstance(expected, int):
                    assert got == expected, (path.name, keyword)
                else:
                    multi = isinstance(expected, pydicom.multival.MultiValue)
                    text = "\\".join(map(str, expected)) if multi else str(expected)
                    if field == "study_date":  # YYYYMMDD, a legacy YYYY.MM.DD rewritten
                        text = dicom_date(text)
                    assert got == text.strip(), (path.name, keyword, got, text)
            checked += 1
        assert checked > 80

    def test_german_name_is_decoded(self) -> None:
        from core.dicom.header import parse_instance

        header = parse_instance((CHARSET_FILES / "chrGerm.dcm").read_bytes()).header
        assert header.patient_name == "Äneas^Rüdiger"
        header = parse_instance((CHARSET_FILES / "chrH31.dcm").read_bytes()).header
        assert header.patient_name == "Yamada^Tarou=山田^太郎=やまだ^たろう"
