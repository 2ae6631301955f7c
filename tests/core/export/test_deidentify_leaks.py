"""A leak scanner for de-identification: nothing of the original patient survives, anywhere.

For every input (pydicom's bundled test files and hostile data sets written for the purpose)
the data set is de-identified, encoded, and the whole exported file is searched, as bytes and
outside Pixel Data, for every original name (and its permutations, in upper and lower case),
the patient ID, the birth date and every original instance UID. The hostile cases go through
the exporter in all three formats (files, DICOMDIR, zip), so the DICOMDIR and the zip are
scanned too. When dicom3tools are installed, files exported de-identified (a representative
set: SR, ECG, Segmentation, overlays, RT, Secondary Capture, CT/MR, an Enhanced MR and the
demo data) are checked by ``dciodvfy`` to have no error their original did not have, and the
demo study by ``dcentvfy`` to stay as consistent as it was.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from itertools import permutations
from pathlib import Path

import pydicom
import pytest
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import ImplicitVRLittleEndian
from sqlalchemy import select

from core.app import Core
from core.config import load_settings
from core.db.models import Instance
from core.dicom import synth
from core.export.deidentify import Deidentifier, DeidentifyOptions, is_instance_uid
from core.export.exporter import ExportOptions, Selection, export_selection
from core.index.importer import MemorySource
from tests.core.export.test_deidentify_iod import enhanced_mr
from tests.support.data import make_dataset

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
CHARSET_FILES = TEST_FILES.parent / "charset_files"
# Varied on purpose: transfer syntaxes, big endian, implicit VR, no meta, private and UN
# sequences, SR, RT objects, waveforms, overlays, palettes, character sets.
BUNDLED = [
    "CT_small.dcm",
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_RLE.dcm",
    "ExplVR_BigEnd.dcm",
    "ExplVR_LitEndNoMeta.dcm",
    "JPEG2000.dcm",
    "JPEG-lossy.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "UN_sequence.dcm",
    "nested_priv_SQ.dcm",
    "priv_SQ.dcm",
    "test-SR.dcm",
    "reportsi.dcm",
    "rtplan.dcm",
    "rtstruct.dcm",
    "rtdose.dcm",
    "waveform_ecg.dcm",
    "examples_overlay.dcm",
    "examples_palette.dcm",
    "GDCMJ2K_TextGBR.dcm",
    "liver_1frame.dcm",
    "image_dfl.dcm",
]
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

NAME = "Leaky^Patient^Quentin"
PATIENT_ID = "LEAK-ID-4711"
BIRTH_DATE = "19710203"


# -- the scanner -------------------------------------------------------------------------
def name_forms(name: str) -> set[str]:
    """The name as stored and as people type it: every order of its components, with ``^``,
    spaces or commas between them; upper, lower and as written."""
    parts = [p.strip() for p in name.split("^") if p.strip()]
    forms = {name.strip()}
    for count in range(2, len(parts) + 1):
        for perm in permutations(parts, count):
            for sep in ("^", " ", ", ", ","):
                forms.add(sep.join(perm))
    forms = {f for f in forms if len(f) >= 4}
    return forms | {f.upper() for f in forms} | {f.lower() for f in forms}


def _walk(ds: Dataset) -> Iterator[DataElement]:
    yield from ds.iterall()


def needles_of(ds: Dataset) -> set[bytes]:
    """What must not appear in the export: name forms, ID, birth date, instance UIDs."""
    found: set[str] = set()
    name = str(ds.get("PatientName", "") or "")
    if name.strip():
        found |= name_forms(name)
    for keyword in ("PatientID", "PatientBirthDate"):
        value = str(ds.get(keyword, "") or "").strip()
        if len(value) >= 4:
            found.add(value)
    for elem in _walk(ds):
        if elem.VR != "UI" or elem.value is None:
            continue
        values = elem.value if isinstance(elem.value, list | tuple) else [elem.value]
        for value in values:
            text = str(value).strip()
            if len(text) >= 10 and is_instance_uid(elem.keyword or "", text):
                found.add(text)
    encoded: set[bytes] = set()
    for text in found:
        encoded.add(text.encode("utf-8"))
        encoded.add(text.encode("latin-1", "ignore"))
    return {n for n in encoded if n}


def scannable(data: bytes) -> bytes:
    """``data`` without its Pixel Data and without the values we generated (new UIDs, the new
    patient), which could contain a short original value by chance."""
    ds = pydicom.dcmread(io.BytesIO(data), force=True)
    for keyword in PIXEL_KEYWORDS:
        if keyword in ds:
            pixels = ds[keyword].value
            if isinstance(pixels, bytes) and pixels:
                data = data.replace(pixels, b"")
    generated: set[bytes] = set()
    for elem in _walk(ds):
        if elem.VR == "UI" and elem.value:
            values = elem.value if isinstance(elem.value, list | tuple) else [elem.value]
            generated |= {str(v).encode() for v in values if str(v).startswith("2.25.")}
    for record in ds.get("DirectoryRecordSequence", []) or []:
        for keyword in ("PatientName", "PatientID"):
            generated.add(str(record.get(keyword, "") or "").encode())
    for keyword in ("PatientName", "PatientID"):
        generated.add(str(ds.get(keyword, "") or "").encode())
    meta = getattr(ds, "file_meta", None) or Dataset()
    generated.add(str(meta.get("ImplementationClassUID", "") or "").encode())
    for value in sorted((g for g in generated if g), key=len, reverse=True):
        data = data.replace(value, b"")
    return data


def leaks(data: bytes, needles: set[bytes]) -> list[bytes]:
    rest = scannable(data)
    return sorted(n for n in needles if n in rest)


def _encode(ds: Dataset) -> bytes:
    """``ds`` as a Part 10 file, its raw UN elements written as UN (not given their VR)."""
    buffer = io.BytesIO()
    replace = pydicom.config.replace_un_with_known_vr
    pydicom.config.replace_un_with_known_vr = False
    try:
        ds.save_as(buffer, enforce_file_format=True)
    finally:
        pydicom.config.replace_un_with_known_vr = replace
    return buffer.getvalue()


# -- bundled files -----------------------------------------------------------------------
def _bundled() -> list[str]:
    present = {p.name for p in TEST_FILES.iterdir()} if TEST_FILES.is_dir() else set()
    return [name for name in BUNDLED if name in present]


class TestBundledFiles:
    @pytest.mark.parametrize("name", _bundled())
    def test_nothing_of_the_patient_survives(self, name: str) -> None:
        original = pydicom.dcmread(TEST_FILES / name, force=True)
        needles = needles_of(original)
        ds = pydicom.dcmread(TEST_FILES / name, force=True)
        if not getattr(ds, "file_meta", None) or "TransferSyntaxUID" not in ds.file_meta:
            ds.file_meta = pydicom.dataset.FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
        Deidentifier(DeidentifyOptions()).apply(ds)
        buffer = io.BytesIO()
        # A few bundled files are bare data sets (no SOP Class or Instance UID): written as such.
        complete = bool(ds.get("SOPClassUID")) and bool(ds.get("SOPInstanceUID"))
        ds.save_as(buffer, enforce_file_format=complete)
        assert leaks(buffer.getvalue(), needles) == []

    def test_enough_varied_files(self) -> None:
        assert len(_bundled()) >= 20
        assert "test-SR.dcm" in _bundled()


# -- hostile cases -----------------------------------------------------------------------
def _hostile_base() -> Dataset:
    ds = make_dataset(patient_name=NAME, patient_id=PATIENT_ID)
    ds.PatientBirthDate = BIRTH_DATE
    return ds


def _item(**elements: object) -> Dataset:
    item = Dataset()
    for keyword, value in elements.items():
        setattr(item, keyword, value)
    return item


def _un(ds: Dataset, tag: int, value: bytes) -> None:
    """Put ``value`` at ``tag`` as pydicom would read it from a file that says VR UN: raw, so
    that it is written as UN even when the dictionary knows the tag."""
    if len(value) % 2:
        value += b" "
    ds[tag] = RawDataElement(BaseTag(tag), "UN", len(value), value, 0, False, True)


def case_un_top_level() -> Dataset:
    """Implicit VR: public tags pydicom's dictionary lacks are read back as UN."""
    ds = _hostile_base()
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    ds.add_new(0x00109FF1, "LO", NAME)
    ds.add_new(0x00209FF2, "LO", PATIENT_ID)
    ds.add_new(0x00089FF3, "LT", f"born {BIRTH_DATE}")
    return ds


def case_un_explicit_known_tag() -> Dataset:
    """A known tag written as UN (an implicit->explicit conversion) holding a permuted name."""
    ds = _hostile_base()
    _un(ds, 0x0040A160, b"Leaky, Patient")  # Text Value, UT
    _un(ds, 0x00081160, PATIENT_ID.encode() + b"\\1")  # Referenced Frame Number, IS
    _un(ds, 0x00209FF8, f"Patient^Leaky {BIRTH_DATE}".encode())  # unknown
    return ds


def case_un_three_levels_deep() -> Dataset:
    """UN elements (an unknown tag and a known one) three sequence levels deep."""
    ds = _hostile_base()
    deepest = Dataset()
    _un(deepest, 0x00209FF4, NAME.encode())
    _un(deepest, 0x00209FF6, PATIENT_ID.encode())
    _un(deepest, 0x0040A160, b"patient leaky")
    _un(deepest, 0x00189FF5, BIRTH_DATE.encode())
    level3 = Dataset()
    level3.FrameContentSequence = Sequence([deepest])
    level2 = Dataset()
    level2.PlanePositionSequence = Sequence([level3])
    ds.SharedFunctionalGroupsSequence = Sequence([level2])
    return ds


def case_private_tags() -> Dataset:
    """Private tags holding the name and ID, at the top and inside sequences."""
    ds = _hostile_base()
    block = ds.private_block(0x0029, "LEAKY CREATOR", create=True)
    block.add_new(0x10, "LO", NAME)
    block.add_new(0x11, "SH", PATIENT_ID)
    inner = Dataset()
    inner_block = inner.private_block(0x0031, "LEAKY CREATOR", create=True)
    inner_block.add_new(0x01, "UT", f"{NAME} {PATIENT_ID} {BIRTH_DATE}")
    ds.SharedFunctionalGroupsSequence = Sequence([_item(PlanePositionSequence=Sequence([inner]))])
    return ds


def case_structured_report() -> Dataset:
    """A Basic Text SR with the patient typed into TEXT, PNAME and DATE content items."""
    ds = _hostile_base()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    ds.Modality = "SR"
    for keyword in ("Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelData"):
        if keyword in ds:
            delattr(ds, keyword)
    for keyword in ("SamplesPerPixel", "PhotometricInterpretation", "PixelRepresentation"):
        if keyword in ds:
            delattr(ds, keyword)
    concept = _item(CodeValue="121071", CodingSchemeDesignator="DCM", CodeMeaning="Finding")
    text = _item(
        RelationshipType="CONTAINS",
        ValueType="TEXT",
        ConceptNameCodeSequence=Sequence([concept]),
        TextValue=f"LEAKY, PATIENT (born {BIRTH_DATE}) seen by Dr Secretname: no fracture",
    )
    person = _item(
        RelationshipType="CONTAINS",
        ValueType="PNAME",
        ConceptNameCodeSequence=Sequence([concept]),
        PersonName="Leaky^Patient",
    )
    when = _item(
        RelationshipType="CONTAINS",
        ValueType="DATE",
        ConceptNameCodeSequence=Sequence([concept]),
        Date=BIRTH_DATE,
    )
    title = _item(CodeValue="18748-4", CodingSchemeDesignator="LN", CodeMeaning="Report")
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([title])
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ContentSequence = Sequence([text, person, when])
    return ds


def case_permuted_free_text() -> Dataset:
    """The name in other orders and cases in free text the profile keeps (Code Meaning)."""
    ds = _hostile_base()
    code = _item(
        CodeValue="X1",
        CodingSchemeDesignator="99LEAK",
        CodeMeaning="Leaky, Patient",
    )
    other = _item(CodeValue="X2", CodingSchemeDesignator="99LEAK", CodeMeaning="patient leaky")
    third = _item(CodeValue="X3", CodingSchemeDesignator="99LEAK", CodeMeaning="Quentin LEAKY")
    ds.AnatomicRegionSequence = Sequence([code, other, third])
    return ds


HOSTILE = {
    "un_top_level": case_un_top_level,
    "un_explicit_known_tag": case_un_explicit_known_tag,
    "un_three_levels_deep": case_un_three_levels_deep,
    "private_tags": case_private_tags,
    "structured_report": case_structured_report,
    "permuted_free_text": case_permuted_free_text,
}
FORMATS = ("files", "dicomdir", "zip")


def _exported_blobs(out: Path) -> list[tuple[str, bytes]]:
    blobs: list[tuple[str, bytes]] = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if not member.endswith("/"):
                        blobs.append((f"{path.name}:{member}", archive.read(member)))
        else:
            blobs.append((str(path.relative_to(out)), path.read_bytes()))
    return blobs


def _needles_hostile(ds: Dataset) -> set[bytes]:
    needles = needles_of(ds)
    for text in name_forms(NAME) | {PATIENT_ID, BIRTH_DATE, "Secretname"}:
        needles.add(text.encode())
    return needles


class TestHostileCases:
    @pytest.mark.parametrize("fmt", FORMATS)
    @pytest.mark.parametrize("case", sorted(HOSTILE))
    def test_nothing_of_the_patient_survives(
        self, core: Core, tmp_path: Path, case: str, fmt: str
    ) -> None:
        ds = HOSTILE[case]()
        needles = _needles_hostile(ds)
        summary = core.importer.run_sources([MemorySource(case, _encode(ds))])
        assert summary.imported == 1, summary.rejected
        out = tmp_path / "out"
        export_selection(
            core,
            Selection(studies=(str(ds.StudyInstanceUID),)),
            ExportOptions(out, format=fmt, deidentify=DeidentifyOptions()),  # type: ignore[arg-type]
        )
        blobs = _exported_blobs(out)
        assert blobs
        found = {where: leaks(data, needles) for where, data in blobs}
        assert {where: hits for where, hits in found.items() if hits} == {}

    def test_sr_content_is_removed_per_the_profile(self) -> None:
        ds = case_structured_report()
        Deidentifier(DeidentifyOptions()).apply(ds)
        assert "ContentSequence" not in ds  # Table E.1-1: Content Sequence, X
        assert ds.ValueType == "CONTAINER"  # the document's root stays

    def test_permutations_are_found_case_insensitively(self) -> None:
        ds = _hostile_base()
        ds.AnatomicRegionSequence = Sequence(
            [
                _item(CodeValue="1", CodingSchemeDesignator="99", CodeMeaning=text)
                for text in ("Leaky,Patient", "PATIENT  LEAKY", "leaky patient q.", "Lung")
            ]
        )
        Deidentifier(DeidentifyOptions()).apply(ds)
        meanings = [item.get("CodeMeaning") for item in ds.AnatomicRegionSequence]
        assert meanings == [None, None, None, "Lung"]

    def test_unknown_and_un_elements_are_removed_at_any_depth(self) -> None:
        ds = case_un_three_levels_deep()
        ds.add(DataElement(0x00209FF7, "UN", b"harmless"))
        Deidentifier(DeidentifyOptions()).apply(ds)
        assert 0x00209FF7 not in ds
        deepest = ds.SharedFunctionalGroupsSequence[0].PlanePositionSequence[0]
        deepest = deepest.FrameContentSequence[0]
        # The unknown tags are gone; Text Value (known, decoded as UT) was emptied by the net.
        assert [(elem.tag, elem.value) for elem in deepest] == [(0x0040A160, None)]

    def test_known_safe_attributes_are_kept(self) -> None:
        ds = _hostile_base()
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SliceThickness = "1.5"
        Deidentifier(DeidentifyOptions()).apply(ds)
        assert ds.Modality == "CT" and ds.Rows == 2 and ds.SliceThickness == 1.5
        assert list(ds.ImageType) == ["ORIGINAL", "PRIMARY", "AXIAL"]
        assert "PixelData" in ds

    def test_a_numeric_id_never_empties_a_number(self) -> None:
        ds = make_dataset(patient_name="Doe^Jane", patient_id="123")
        ds.SliceLocation = "-123.5"
        ds.ImagePositionPatient = ["0", "123", "-5"]
        ds.AnatomicRegionSequence = Sequence([_item(CodeMeaning="id 123", CodeValue="1")])
        Deidentifier(DeidentifyOptions()).apply(ds)
        assert ds.SliceLocation == -123.5 and list(ds.ImagePositionPatient) == [0, 123, -5]
        assert ds.AnatomicRegionSequence[0].get("CodeMeaning") is None


# -- dciodvfy ----------------------------------------------------------------------------
DCIODVFY = shutil.which("dciodvfy") or (
    "/usr/bin/dciodvfy" if Path("/usr/bin/dciodvfy").exists() else None
)
_UID_IN_LINE = re.compile(r"\b[0-9]+(?:\.[0-9]+)+\b")


def _errors(path: Path) -> set[str]:
    run = subprocess.run(
        [str(DCIODVFY), str(path)],
        check=False,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
    )
    lines = (run.stdout + run.stderr).splitlines()
    # UIDs are replaced, so they are masked: the same error about another UID is the same error.
    return {_UID_IN_LINE.sub("<uid>", line.strip()) for line in lines if line.startswith("Error")}


# The originals the validator sees: one of each kind the profile treats differently (SR, ECG,
# Segmentation, an overlay, ultrasound with a palette, RT plan/dose/structure set, Secondary
# Capture with a source reference, CT/MR), an Enhanced MR built for the purpose, and the demo
# data (CT, MR, CR, US; two images of each, from one series, for dcentvfy).
VALIDATED = [
    "CT_small.dcm",
    "MR_small.dcm",
    "test-SR.dcm",
    "reportsi.dcm",
    "waveform_ecg.dcm",
    "liver_1frame.dcm",
    "examples_overlay.dcm",
    "examples_palette.dcm",
    "rtplan.dcm",
    "rtdose.dcm",
    "rtstruct.dcm",
    "JPEG-lossy.dcm",
]
DEMO_PER_MODALITY = 2


def _demo_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for data in synth.demo_instances(3, seed=11):
        modality = str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).Modality)
        if counts.get(modality, 0) < DEMO_PER_MODALITY:
            counts[modality] = counts.get(modality, 0) + 1
            files[f"demo-{modality}-{counts[modality]}"] = data
    return files


def _validated_sources() -> dict[str, bytes]:
    sources = {name: (TEST_FILES / name).read_bytes() for name in VALIDATED}
    sources["enhanced-mr"] = _encode(enhanced_mr())
    sources.update(_demo_files())
    return sources


VALIDATED_LABELS = [*VALIDATED, "enhanced-mr", *(f"demo-{m}-1" for m in ("CT", "MR", "CR", "US"))]


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """label -> (original file, its de-identified export), exported together as files."""
    tmp = tmp_path_factory.mktemp("dciodvfy")
    sources = _validated_sources()
    originals: dict[str, Path] = {}
    uids: dict[str, str] = {}
    for label, data in sources.items():
        originals[label] = tmp / f"{label}.original"
        originals[label].write_bytes(data)
        uids[label] = str(pydicom.dcmread(io.BytesIO(data), force=True).SOPInstanceUID)
    deid = Deidentifier(DeidentifyOptions())
    with Core(load_settings(tmp / "data", {"fsync": False})) as core:
        imported = core.importer.run_sources([MemorySource(k, v) for k, v in sources.items()])
        assert imported.imported == len(sources), imported.as_json()
        out = tmp / "out"
        summary = export_selection(
            core,
            Selection(instances=tuple(uids.values())),
            ExportOptions(out, deidentify=DeidentifyOptions()),
            deidentifier=deid,
        )
    assert summary.exported == len(sources) and not summary.skipped
    by_uid = {
        str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID): path
        for path in out.rglob("*.dcm")
    }
    return {label: (originals[label], by_uid[deid.new_uid(uids[label])]) for label in sources}


def _dcentvfy_errors(paths: list[Path]) -> set[str]:
    run = subprocess.run(
        [str(DCENTVFY), *map(str, paths)],
        check=False,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
    )
    lines = (run.stdout + run.stderr).splitlines()
    return {_UID_IN_LINE.sub("<uid>", line.strip()) for line in lines if line.startswith("Error")}


DCENTVFY = shutil.which("dcentvfy")


@pytest.mark.skipif(DCIODVFY is None, reason="dicom3tools' dciodvfy is not installed")
class TestDciodvfy:
    """Exported through the exporter, so references outside the export are removed too."""

    @pytest.mark.parametrize("label", VALIDATED_LABELS)
    def test_no_new_errors(self, validated: dict[str, tuple[Path, Path]], label: str) -> None:
        original, exported = validated[label]
        assert sorted(_errors(exported) - _errors(original)) == []

    def test_the_demo_study_stays_consistent(self, validated: dict[str, tuple[Path, Path]]) -> None:
        if DCENTVFY is None:
            pytest.skip("dicom3tools' dcentvfy is not installed")
        demo = [pair for label, pair in validated.items() if label.startswith("demo-")]
        assert len(demo) == 4 * DEMO_PER_MODALITY
        before = _dcentvfy_errors([original for original, _ in demo])
        assert sorted(_dcentvfy_errors([exported for _, exported in demo]) - before) == []

    def test_no_new_errors_hostile(self, tmp_path: Path) -> None:
        for case in ("structured_report", "un_three_levels_deep"):
            original = tmp_path / f"{case}-original.dcm"
            HOSTILE[case]().save_as(original, enforce_file_format=True)
            ds = pydicom.dcmread(original)
            Deidentifier(DeidentifyOptions()).apply(ds)
            out = tmp_path / f"{case}.dcm"
            ds.save_as(out, enforce_file_format=True)
            assert sorted(_errors(out) - _errors(original)) == [], case


@pytest.mark.skipif(DCIODVFY is None, reason="dicom3tools' dciodvfy is not installed")
def test_every_exported_file_of_the_corpus_has_no_new_error(tmp_path: Path) -> None:
    """pydicom's test and character set files and the whole demo data, imported and exported
    de-identified together (files): dciodvfy finds no error in an exported file that its
    original did not have. Only what the export left out as malformed is not checked."""
    deid = Deidentifier(DeidentifyOptions())
    demo = {f"demo #{n}": data for n, data in enumerate(synth.demo_instances(3, seed=11))}
    with Core(load_settings(tmp_path / "data", {"fsync": False})) as core:
        core.importer.run([TEST_FILES, CHARSET_FILES])
        core.importer.run_sources([MemorySource(k, v) for k, v in demo.items()])
        with core.sessions() as session:
            rows = session.execute(select(Instance.sop_uid, Instance.file_path)).all()
        stored = {str(uid): core.store.absolute(str(path)) for uid, path in rows}
        summary = export_selection(
            core,
            Selection(instances=tuple(stored)),
            ExportOptions(tmp_path / "out", deidentify=DeidentifyOptions()),
            deidentifier=deid,
        )
        skipped = {uid for uid, _reason in summary.skipped}
        assert len(skipped) <= 1, summary.skipped  # SC_rgb_jpeg.dcm, which pydicom cannot write
        exported = {
            str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID): path
            for path in (tmp_path / "out").rglob("*.dcm")
        }
        assert len(exported) == len(stored) - len(skipped) > 250
        new_errors = {}
        for uid, original in stored.items():
            if uid in skipped:
                continue
            extra = sorted(_errors(exported[deid.new_uid(uid)]) - _errors(original))
            if extra:
                new_errors[original.name] = extra
    assert new_errors == {}
