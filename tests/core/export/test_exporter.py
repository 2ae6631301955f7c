"""Export acceptance: de-identified exports of pydicom's test files and of the demo data.

One database per data set is exported once in every form (files, DICOMDIR media, zip); the
checks read the exported bytes back with pydicom and DCMTK's dcmdump, and compare them with the
store's originals, paired through the export's own UID mapping.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import UID
from sqlalchemy import select

from core.app import Core
from core.config import load_settings
from core.db.models import Instance, Series, Study
from core.db.queries import StudyFilter
from core.dicom import synth
from core.export.annex_e import iod_attribute_types
from core.export.deidentify import Deidentifier, DeidentifyOptions, profile_action
from core.export.exporter import ExportOptions, ExportSummary, Selection, export_selection
from core.index.importer import MemorySource
from tests.support.data import TEST_FILES

FORMATS = ("files", "dicomdir", "zip")
# pydicom's test files that are malformed in a way an export must not pass on (pydicom itself
# cannot write them again: SC_rgb_jpeg.dcm has an implicit VR element in an explicit VR data
# set): the export leaves each out with its reason.
MALFORMED = {"SC_rgb_jpeg.dcm"}
# UI attributes naming classes or syntaxes: never instance UIDs (kept by design).
CLASS_LIKE = {"TransferSyntaxUID", "ReferencedTransferSyntaxUIDInFile", "CodingSchemeUID"}
DCMDUMP_ENV = {**os.environ, "TCP_NODELAY": "1"}


def _read(data: bytes | Path) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(data, Path):
            return pydicom.dcmread(data)
        import io

        return pydicom.dcmread(io.BytesIO(data))


def _elements(ds: Dataset) -> Iterator[Any]:
    """Every element of ``ds`` and of its sequences' items, file meta included."""
    meta = getattr(ds, "file_meta", None)
    stack: list[Dataset] = [ds] + ([meta] if meta is not None else [])
    while stack:
        current = stack.pop()
        for key in list(current.keys()):
            try:
                elem = current[key]
            except Exception:
                continue
            yield elem
            if elem.VR == "SQ":
                stack.extend(item for item in elem.value or [] if isinstance(item, Dataset))


def _norm(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.rstrip(b"\x00 ") or None
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        values = tuple(str(v).strip() for v in value)
        return values if any(values) else None
    text = str(value).strip()
    return text or None


def _is_instance_uid(elem: Any, value: str) -> bool:
    keyword = elem.keyword or ""
    if not value or keyword.endswith("ClassUID") or keyword in CLASS_LIKE:
        return False
    return UID(value).name == value


def _uid_values(elem: Any) -> list[str]:
    value = elem.value
    values = value if isinstance(value, list) or type(value).__name__ == "MultiValue" else [value]
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def _searchable(data: bytes) -> bytes:
    """The file's bytes less its pixel data and its (new, random) UIDs.

    Raw pixels contain any 5-digit byte run by chance ("99000" occurs in an ultrasound frame),
    and so do the 39 random digits of each new UID; neither is where a name or ID is kept.
    """
    ds = _read(data)
    pixels = ds.get("PixelData")
    if isinstance(pixels, bytes) and len(pixels) > 64:
        data = data.replace(pixels, b"")
    uids = {v for e in _elements(ds) if e.VR == "UI" for v in _uid_values(e)}
    for uid in sorted(uids, key=len, reverse=True):
        data = data.replace(uid.encode("ascii"), b"")
    return data


@dataclass
class Exported:
    """One export of a whole database in one form, with what is needed to check it."""

    root: Path
    summary: ExportSummary
    files: dict[str, bytes]  # relative path (or zip member) -> bytes
    dicomdir: Path | None


@dataclass
class Scenario:
    core: Core
    originals: dict[str, bytes]  # original SOP Instance UID -> stored bytes
    deid: Deidentifier
    exports: dict[str, Exported]
    stats: dict[str, int]
    tmp: Path
    store_unchanged: bool
    malformed: set[str]  # original SOP Instance UIDs of MALFORMED files
    expected_stats: dict[str, int]  # the index's counts without them

    @property
    def expected(self) -> dict[str, bytes]:
        """The originals an export writes: all but the malformed ones."""
        return {uid: b for uid, b in self.originals.items() if uid not in self.malformed}


def _build(tmp: Path, load: str) -> Iterator[Scenario]:
    settings = load_settings(tmp / "data", {"fsync": False})
    with Core(settings) as core:
        importer = core.importer
        if load == "pydicom":
            importer.run([TEST_FILES])
        else:
            sources = [
                MemorySource(f"demo {i}", data)
                for i, data in enumerate(synth.demo_instances(3, 11))
            ]
            importer.run_sources(sources)
        stats = core.stats()
        studies = tuple(
            r["StudyInstanceUID"] for r in core.list_rows("study", StudyFilter(), limit=10**6)
        )
        with core.sessions() as session:
            rows = session.execute(select(Instance.sop_uid, Instance.file_path)).all()
        paths = {str(uid): str(path) for uid, path in rows}
        malformed, expected_stats = _without_malformed(core)
        originals = {uid: core.store.absolute(p).read_bytes() for uid, p in paths.items()}
        before = {uid: hashlib.sha256(b).hexdigest() for uid, b in originals.items()}
        deid = Deidentifier(DeidentifyOptions())
        exports = {}
        for fmt in FORMATS:
            out = tmp / f"out-{fmt}"
            summary = export_selection(
                core,
                Selection(studies=studies),
                ExportOptions(out, format=fmt, deidentify=DeidentifyOptions()),
                deidentifier=deid,
            )
            exports[fmt] = _collect(out, summary, fmt)
        after = {
            uid: hashlib.sha256(core.store.absolute(p).read_bytes()).hexdigest()
            for uid, p in paths.items()
        }
        yield Scenario(
            core, originals, deid, exports, stats, tmp, before == after, malformed, expected_stats
        )


def _without_malformed(core: Core) -> tuple[set[str], dict[str, int]]:
    """The SOP Instance UIDs of the MALFORMED files and the counts of the rest."""
    with core.sessions() as session:
        rows = session.execute(
            select(
                Instance.sop_uid,
                Instance.source_detail,
                Series.series_uid,
                Study.study_uid,
                Study.patient_pk,
            )
            .join(Series, Instance.series_pk == Series.id)
            .join(Study, Series.study_pk == Study.id)
        ).all()
    malformed = {str(r[0]) for r in rows if Path(str(r[1] or "")).name in MALFORMED}
    kept = [r for r in rows if str(r[0]) not in malformed]
    counts = {
        "patients": len({r[4] for r in kept}),
        "studies": len({r[3] for r in kept}),
        "series": len({r[2] for r in kept}),
        "instances": len(kept),
    }
    return malformed, counts


def _collect(out: Path, summary: ExportSummary, fmt: str) -> Exported:
    files: dict[str, bytes] = {}
    if fmt == "zip":
        with zipfile.ZipFile(summary.destination) as archive:
            for name in archive.namelist():
                files[name] = archive.read(name)
        return Exported(out, summary, files, None)
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name != "DICOMDIR":
            files[str(path.relative_to(out))] = path.read_bytes()
    dicomdir = out / "DICOMDIR" if fmt == "dicomdir" else None
    return Exported(out, summary, files, dicomdir)


@pytest.fixture(scope="module", params=["pydicom", "demo"])
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    yield from _build(tmp_path_factory.mktemp(f"export-{request.param}"), request.param)


def _outside_refs_not_required(ds: Dataset, exported: set[str]) -> list[tuple[str, ...]]:
    """Paths of references to instances not in ``exported`` in sequences not of Type 1."""
    types = iod_attribute_types(str(ds.get("SOPClassUID", ""))) or {}
    found: list[tuple[str, ...]] = []

    def walk(current: Dataset, path: tuple[str, ...]) -> None:
        for elem in current:
            if elem.VR != "SQ":
                continue
            here = (*path, elem.keyword)
            for item in elem.value:
                ref = str(item.get("ReferencedSOPInstanceUID", "") or "")
                if ref and ref not in exported and types.get(here) != "1":
                    found.append(here)
                walk(item, here)

    walk(ds, ())
    return found


def _pairs(sc: Scenario, fmt: str) -> list[tuple[Dataset, Dataset, bytes]]:
    """(original, exported, exported bytes) for every exported file."""
    by_new = {sc.deid.new_uid(uid): uid for uid in sc.originals}
    result = []
    for data in sc.exports[fmt].files.values():
        ds = _read(data)
        original_uid = by_new[str(ds.SOPInstanceUID)]
        result.append((_read(sc.originals[original_uid]), ds, data))
    return result


class TestDeidentifiedExport:
    def test_the_store_files_are_not_modified(self, scenario: Scenario) -> None:
        assert scenario.store_unchanged

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_every_image_is_exported_once(self, scenario: Scenario, fmt: str) -> None:
        exported = scenario.exports[fmt]
        assert exported.summary.exported == len(scenario.expected) == len(exported.files)
        assert {uid for uid, _reason in exported.summary.skipped} == scenario.malformed
        sops = {str(_read(b).SOPInstanceUID) for b in exported.files.values()}
        assert sops == {scenario.deid.new_uid(uid) for uid in scenario.expected}

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_profile_attributes_keep_no_original_value(self, scenario: Scenario, fmt: str) -> None:
        for original, exported, _ in _pairs(scenario, fmt):
            protected = set()
            for elem in _elements(original):
                action = profile_action(int(elem.tag))
                if elem.VR == "SQ" or action in (None, "U", "X/Z/U*") or elem.tag.group == 2:
                    continue
                value = _norm(elem.value)
                if value is not None:
                    protected.add((int(elem.tag), value))
            found = {(int(e.tag), _norm(e.value)) for e in _elements(exported) if e.VR != "SQ"}
            assert not protected & found, f"kept by {original.SOPInstanceUID}"
            assert not any(e.tag.is_private for e in _elements(exported))

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_patient_name_and_id_bytes_appear_nowhere(self, scenario: Scenario, fmt: str) -> None:
        needles: set[bytes] = set()
        for data in scenario.originals.values():
            ds = _read(data)
            for keyword in ("PatientName", "PatientID"):
                raw = ds.get_item(keyword)
                if raw is None or not raw.value:
                    continue
                encoded = bytes(raw.value).strip(b" \x00")
                decoded = str(ds[keyword].value).strip()
                for needle in (
                    encoded,
                    decoded.encode("utf-8"),
                    decoded.encode("latin-1", "ignore"),
                ):
                    # Three letters or fewer also match ordinary words ("PLA" in "RTPLAN");
                    # an empty name ("^^^^") names no one.
                    if len(needle) >= 4 and any(chr(c).isalnum() for c in needle):
                        needles.add(needle)
        assert needles
        blobs = [_searchable(b) for b in scenario.exports[fmt].files.values()]
        dicomdir = scenario.exports[fmt].dicomdir
        if dicomdir is not None:
            blobs.append(_searchable(dicomdir.read_bytes()))
        for blob in blobs:
            leaked = [n for n in needles if n in blob]
            assert not leaked, leaked[:3]

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_every_instance_uid_is_replaced(self, scenario: Scenario, fmt: str) -> None:
        original_uids = set()
        for data in scenario.originals.values():
            for elem in _elements(_read(data)):
                if elem.VR == "UI":
                    original_uids |= {v for v in _uid_values(elem) if _is_instance_uid(elem, v)}
        assert original_uids
        for _, exported, _ in _pairs(scenario, fmt):
            for elem in _elements(exported):
                if elem.VR == "UI":
                    assert not set(_uid_values(elem)) & original_uids, elem

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_references_resolve_inside_the_export(self, scenario: Scenario, fmt: str) -> None:
        pairs = _pairs(scenario, fmt)
        exported_sops = {str(ds.SOPInstanceUID) for _, ds, _ in pairs}
        originals = {str(o.SOPInstanceUID) for o, _, _ in pairs}
        new = scenario.deid.new_uid
        for original, exported, _ in pairs:
            refs = {
                str(e.value)
                for e in _elements(exported)
                if e.keyword == "ReferencedSOPInstanceUID" and e.value
            }
            # Only a sequence the IOD requires to have an item keeps a reference to the outside.
            assert _outside_refs_not_required(exported, exported_sops) == [], (
                "a reference points outside the export"
            )
            internal = {
                str(e.value).strip()
                for e in _elements(original)
                if e.keyword == "ReferencedSOPInstanceUID" and str(e.value).strip() in originals
            }
            assert {new(r) for r in internal} <= refs, "an internal reference was lost"
            for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
                if original.get(keyword):
                    assert str(exported.get(keyword)) == new(str(original.get(keyword)))

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_deidentification_is_recorded(self, scenario: Scenario, fmt: str) -> None:
        for _, exported, _ in _pairs(scenario, fmt):
            assert exported.PatientIdentityRemoved == "YES"
            assert exported.DeidentificationMethod
            codes = {
                (c.CodeValue, c.CodingSchemeDesignator)
                for c in exported.DeidentificationMethodCodeSequence
            }
            assert ("113100", "DCM") in codes
            assert str(exported.PatientID).startswith("ANON")
            assert str(exported.PatientName).startswith("ANONYMOUS^")

    @pytest.mark.parametrize("fmt", ("files", "dicomdir"))
    def test_dcmdump_and_pydicom_read_every_file(self, scenario: Scenario, fmt: str) -> None:
        exported = scenario.exports[fmt]
        paths = [exported.root / rel for rel in exported.files]
        if exported.dicomdir is not None:
            paths.append(exported.dicomdir)
        for path in paths:
            ds = _read(path)
            for _ in _elements(ds):
                pass
            if "PixelData" in ds:
                assert len(ds.PixelData) > 0
            done = subprocess.run(
                ["dcmdump", "-q", str(path)], capture_output=True, env=DCMDUMP_ENV, check=False
            )
            assert done.returncode == 0, (path, done.stderr[-500:])

    def test_dicomdir_lists_every_image(self, scenario: Scenario) -> None:
        exported = scenario.exports["dicomdir"]
        assert exported.dicomdir is not None
        fileset = pydicom.fileset.FileSet(_read(exported.dicomdir))
        listed = {str(instance.SOPInstanceUID) for instance in fileset}
        on_media = {str(_read(b).SOPInstanceUID) for b in exported.files.values()}
        assert listed == on_media
        assert len(listed) == len(scenario.expected)
        for instance in fileset:
            for part in Path(instance.FileID).parts:
                assert len(part) <= 8 and part == part.upper() and part.isalnum()
        for rel in exported.files:
            assert all(len(p) <= 8 and p.isupper() for p in Path(rel).parts)

    @pytest.mark.parametrize("fmt", FORMATS)
    def test_round_trip_import_counts(self, scenario: Scenario, fmt: str) -> None:
        exported = scenario.exports[fmt]
        source = exported.summary.destination if fmt == "zip" else exported.root
        if fmt == "dicomdir":
            source = exported.root / "DICOMDIR"
        settings = load_settings(scenario.tmp / f"reimport-{fmt}", {"fsync": False})
        with Core(settings) as again:
            summary = again.importer.run([source])
            assert not summary.rejected
            stats = again.stats()
        for key in ("patients", "studies", "series", "instances"):
            assert stats[key] == scenario.expected_stats[key], key
