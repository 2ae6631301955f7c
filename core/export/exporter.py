"""Export a selection of the database to a folder, DICOMDIR media or a zip archive.

Three forms:

* ``files``: a readable tree ``Patient/Study/Series/IMG00001.dcm`` named from the exported
  values (so a de-identified export never names a folder after the patient);
* ``dicomdir``: PS3.10/PS3.11 media with a DICOMDIR, general-purpose profile (File IDs of at
  most eight upper-case characters per component), written by pydicom's ``FileSet``;
  Implicit VR files are written as Explicit VR Little Endian, which the profile requires;
* ``zip``: the readable tree inside a zip archive.

The store's files are only read. Nothing existing is overwritten: a folder destination must be
empty (or not exist) and a zip archive gets a name not yet taken. Output is assembled in a
hidden staging folder inside the destination and moved into place at the end, so a cancelled
or failed export leaves nothing behind.

Every file is checked before it is written, and a malformed one (truncated, not DICOM, not
readable by other toolkits) is left out with its reason. A file exported unchanged is not
decoded for that: its element headers are walked to the last byte (``_intact``) and its bytes
copied; only a file that walk cannot vouch for is read whole and encoded again to find out.

Use ``export_selection(core, selection, options, progress, cancel)`` from any thread but the
GUI's (it blocks); progress is reported per instance and ``cancel`` (a threading.Event) is
checked between instances.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
import re
import shutil
import struct
import threading
import unicodedata
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydicom import dcmread
from pydicom import fileset as pydicom_fileset
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.fileset import FileInstance, FileSet, RecordNode
from pydicom.uid import (
    UID,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RTIonPlanStorage,
    RTPlanStorage,
    generate_uid,
)
from pydicom.valuerep import EXPLICIT_VR_LENGTH_16, EXPLICIT_VR_LENGTH_32
from sqlalchemy import or_, select

from core.db.models import Instance, Patient, Series, Study
from core.errors import KioskError, NotFoundError
from core.export.deidentify import (
    DUMMY_DATE,
    DUMMY_TIME,
    Deidentifier,
    DeidentifyOptions,
    burned_in_warning,
)
from core.logsafe import printable

log = logging.getLogger(__name__)

ExportFormat = Literal["files", "dicomdir", "zip"]
FORMATS: tuple[str, ...] = ("files", "dicomdir", "zip")
FILESET_ID = "DICOMKIOSK"
ZIP_NAME = "dicom-export"
_STAGING_PREFIX = ".dicom-kiosk-export-"
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._,()+-]+")


class ExportError(KioskError):
    """The export cannot be done (destination not empty, nothing selected, ...)."""


@dataclass(frozen=True)
class Selection:
    """What to export: any mix of patients (PatientID), studies, series and instances (UIDs)."""

    patients: tuple[str, ...] = ()
    studies: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    instances: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (self.patients or self.studies or self.series or self.instances)


@dataclass(frozen=True)
class ExportOptions:
    """Where and how: a folder (``files``, ``dicomdir``) or a folder or .zip path (``zip``)."""

    destination: Path
    format: ExportFormat = "files"
    deidentify: DeidentifyOptions | None = None  # None: exported as stored

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class ExportProgress:
    done: int
    total: int
    current: str  # what is being exported (a relative path), never a patient name


ProgressCallback = Callable[[ExportProgress], None]


@dataclass
class ExportSummary:
    format: str
    destination: Path
    exported: int = 0
    total: int = 0
    patients: int = 0
    studies: int = 0
    series: int = 0
    files: list[str] = field(default_factory=list)  # relative to destination (zip: members)
    warnings: list[str] = field(default_factory=list)
    # (SOP Instance UID, reason) of each image left out because it cannot be written
    skipped: list[tuple[str, str]] = field(default_factory=list)
    removed_references: int = 0
    cancelled: bool = False
    deidentified: bool = False

    def as_json(self) -> dict[str, object]:
        result: dict[str, object] = {
            "format": self.format,
            "destination": str(self.destination),
            "exported": self.exported,
            "patients": self.patients,
            "studies": self.studies,
            "series": self.series,
            "deidentified": self.deidentified,
            "warnings": self.warnings,
        }
        if self.skipped:
            result["skipped"] = [{"sop_instance_uid": u, "reason": r} for u, r in self.skipped]
        if self.deidentified:
            result["removed_references"] = self.removed_references
        if self.cancelled:
            result["cancelled"] = True
        return result


@dataclass(frozen=True)
class _Item:
    """One instance to export, with the index values that name it."""

    sop_uid: str
    file_path: str
    patient_key: str
    patient_id: str
    patient_name: str
    study_uid: str
    study_date: str
    study_description: str
    series_uid: str
    series_number: int | None
    modality: str
    series_description: str
    instance_number: int | None


class ExportCancelled(Exception):
    pass


def _safe(text: str, limit: int = 48) -> str:
    """A file-name component: ASCII, no separators, never empty, never hidden."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("_", ascii_text.replace("^", " ")).strip(" ._")
    return cleaned[:limit].strip(" ._") or "unnamed"


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:
        return ""
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip()


def _int_or_none(text: str) -> int | None:
    try:
        return int(float(text.split("\\", maxsplit=1)[0])) if text else None
    except ValueError:
        return None


class Exporter:
    """Exports selections of one Core's database; one ``run`` at a time per instance."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self._current = ""  # SOP Instance UID being exported, for error messages

    # -- selection ----------------------------------------------------------------------------
    def resolve(self, selection: Selection) -> list[_Item]:
        """The instances of ``selection``, de-duplicated, in patient/study/series/number order."""
        conditions = []
        if selection.patients:
            conditions.append(
                or_(
                    Patient.patient_id.in_(selection.patients),
                    Patient.patient_key.in_(selection.patients),
                )
            )
        if selection.studies:
            conditions.append(Study.study_uid.in_(selection.studies))
        if selection.series:
            conditions.append(Series.series_uid.in_(selection.series))
        if selection.instances:
            conditions.append(Instance.sop_uid.in_(selection.instances))
        if not conditions:
            raise ExportError("nothing selected to export")
        query = (
            select(
                Instance.sop_uid,
                Instance.file_path,
                Patient.patient_key,
                Patient.patient_id,
                Patient.patient_name,
                Study.study_uid,
                Study.study_date,
                Study.study_description,
                Series.series_uid,
                Series.series_number,
                Series.modality,
                Series.series_description,
                Instance.instance_number,
            )  # the columns of ``_Item``, by name: no ORM objects to build
            .select_from(Instance)
            .join(Series, Instance.series_pk == Series.id)
            .join(Study, Series.study_pk == Study.id)
            .join(Patient, Study.patient_pk == Patient.id)
            .where(or_(*conditions))
            .order_by(
                Patient.patient_name,
                Patient.id,
                Study.study_date,
                Study.id,
                Series.series_number,
                Series.id,
                Instance.instance_number,
                Instance.id,
            )
        )
        with self.core.sessions() as session:
            rows = session.execute(query).all()
        items = [_Item(**row._mapping) for row in rows]
        self._check_found(selection, items)
        return items

    @staticmethod
    def _check_found(selection: Selection, items: list[_Item]) -> None:
        found = {
            "patient": {i.patient_id for i in items} | {i.patient_key for i in items},
            "study": {i.study_uid for i in items},
            "series": {i.series_uid for i in items},
            "instance": {i.sop_uid for i in items},
        }
        for level, keys in (
            ("patient", selection.patients),
            ("study", selection.studies),
            ("series", selection.series),
            ("instance", selection.instances),
        ):
            missing = [k for k in keys if k not in found[level]]
            if missing:
                raise NotFoundError(f"no {level} {missing[0]!r} in the database")

    def burned_in_warnings(self, selection: Selection) -> list[str]:
        """Warnings about identifying text in the pixels, per series, before exporting.

        Reads headers only (no pixel data), so a dialog can show them before the user starts.
        """
        messages: list[str] = []
        seen: set[tuple[str, str]] = set()
        for item in self.resolve(selection):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = dcmread(self.core.store.absolute(item.file_path), stop_before_pixels=True)
            ds.PixelData = b""  # the warning rules ask whether the instance is an image
            message = burned_in_warning(ds)
            if message and (item.series_uid, message) not in seen:
                seen.add((item.series_uid, message))
                messages.append(_series_message(item, message))
        return messages

    # -- export ----------------------------------------------------------------------------------
    def run(
        self,
        selection: Selection,
        options: ExportOptions,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        deidentifier: Deidentifier | None = None,
    ) -> ExportSummary:
        """Export ``selection``; ``deidentifier`` overrides the one ``options`` would make."""
        items = self.resolve(selection)
        destination = Path(options.destination).expanduser()
        target = self._target(destination, options.format)
        summary = ExportSummary(
            format=options.format,
            destination=target,
            total=len(items),
            deidentified=options.deidentify is not None,
            patients=len({i.patient_key for i in items}),
            studies=len({i.study_uid for i in items}),
            series=len({i.series_uid for i in items}),
        )
        deid = deidentifier
        if deid is None and options.deidentify is not None:
            deid = Deidentifier(options.deidentify)
        if deid is not None:
            deid.exported = {i.sop_uid for i in items}
        staging_parent = target.parent if options.format == "zip" else target
        staging_parent.mkdir(parents=True, exist_ok=True)
        staging = staging_parent / f"{_STAGING_PREFIX}{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        try:
            media = options.format == "dicomdir"
            produced = self._produce(items, deid, summary, progress, cancel, media)
            if options.format == "files":
                self._write_tree(produced, staging, summary)
                self._publish(staging, target)
            elif options.format == "zip":
                self._write_zip(produced, staging / "export.zip", summary)
                if target.exists():  # appeared meanwhile: never replace it
                    raise ExportError(f"{target} already exists")
                os.replace(staging / "export.zip", target)
            else:
                self._write_dicomdir(produced, staging, summary)
                self._publish(staging, target)
            if summary.exported == 0 and summary.skipped:
                raise ExportError("no image could be written; nothing was exported")
        except ExportCancelled:
            summary.cancelled = True
            summary.files.clear()
            summary.exported = 0
        except KioskError:
            raise
        except Exception as exc:  # a file pydicom cannot write, a full disk, ...: say which
            where = f" at image {self._current}" if self._current else ""
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ExportError(f"export stopped{where}: {reason}; nothing was left behind") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return summary

    @staticmethod
    def _target(destination: Path, fmt: str) -> Path:
        if fmt == "zip":
            if destination.suffix.lower() == ".zip":
                if destination.exists():
                    raise ExportError(f"{destination} already exists; it is not overwritten")
                return destination
            if destination.exists() and not destination.is_dir():
                raise ExportError(f"{destination} is not a folder")
            number = 1
            while True:
                name = f"{ZIP_NAME}.zip" if number == 1 else f"{ZIP_NAME}-{number}.zip"
                if not (destination / name).exists():
                    return destination / name
                number += 1
        if destination.exists():
            if not destination.is_dir():
                raise ExportError(f"{destination} is not a folder")
            if any(not p.name.startswith(_STAGING_PREFIX) for p in destination.iterdir()):
                raise ExportError(
                    f"{destination} is not empty; choose an empty folder (nothing is overwritten)"
                )
        return destination

    def _produce(
        self,
        items: list[_Item],
        deid: Deidentifier | None,
        summary: ExportSummary,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
        media: bool = False,
    ) -> Iterator[_Output]:
        """Yield each item that can be exported, read, checked and (maybe) de-identified.

        A malformed file (truncated, not DICOM, or one pydicom cannot encode again: other
        readers would fail on it) is left out with its reason in ``summary.skipped`` and a
        warning; the export goes on. An OSError reading the store stops it.
        """
        warned: set[str] = set()
        for index, item in enumerate(items):
            if cancel is not None and cancel.is_set():
                raise ExportCancelled
            self._current = item.sop_uid
            raw = self.core.store.absolute(item.file_path).read_bytes()
            try:
                out, report = _prepared(item, raw, deid, media)
            except Exception as exc:  # one malformed file: leave it out, say why
                _skip(summary, item, str(exc) or type(exc).__name__)
            else:
                if report is not None:
                    summary.removed_references += report.removed_references
                    for message in report.warnings:
                        key = f"{item.series_uid}:{message}"
                        if key not in warned:
                            warned.add(key)
                            summary.warnings.append(_series_message(item, message))
                yield out
            if progress is not None:
                progress(ExportProgress(index + 1, len(items), item.sop_uid))

    # -- the readable tree --------------------------------------------------------------------
    @staticmethod
    def _tree_path(item: _Item, ds: Dataset | None, taken: set[str]) -> str:
        if ds is not None:  # de-identified: only exported values name the folders
            patient = f"{_text(ds, 'PatientName')} ({_text(ds, 'PatientID')})"
            study = " ".join(
                x for x in (_text(ds, "StudyDate")[:8], _text(ds, "StudyDescription")) if x
            )
            study_key = _text(ds, "StudyInstanceUID")
            number = _int_or_none(_text(ds, "SeriesNumber"))
            modality = _text(ds, "Modality")
            series_desc = _text(ds, "SeriesDescription")
            instance = _int_or_none(_text(ds, "InstanceNumber"))
        else:
            patient = f"{item.patient_name} ({item.patient_id})"
            study = " ".join(x for x in (item.study_date, item.study_description) if x)
            study_key = item.study_uid
            number, modality = item.series_number, item.modality
            series_desc, instance = item.series_description, item.instance_number
        study_tag = hashlib.sha1(study_key.encode()).hexdigest()[:6]
        series_name = " ".join(
            x for x in ("" if number is None else f"{number:03d}", modality, series_desc) if x
        )
        stem = f"IMG{instance:05d}" if instance is not None else "IMG"
        folder = "/".join(
            (_safe(patient), f"{_safe(study or 'study')} {study_tag}", _safe(series_name))
        )
        name = f"{folder}/{stem}.dcm"
        counter = 1
        while name.lower() in taken:
            counter += 1
            name = f"{folder}/{stem}_{counter}.dcm"
        taken.add(name.lower())
        return name

    def _write_tree(
        self,
        produced: Iterator[_Output],
        root: Path,
        summary: ExportSummary,
    ) -> None:
        taken: set[str] = set()
        series_dirs: dict[str, str] = {}
        made: set[Path] = set()  # folders created so far
        for out in produced:
            relative = self._tree_path(out.item, out.ds if out.changed else None, taken)
            relative = self._same_series_folder(relative, out.item.series_uid, series_dirs, taken)
            path = root / relative
            if path.parent not in made:
                path.parent.mkdir(parents=True, exist_ok=True)
                made.add(path.parent)
            with open(path, "xb") as file:
                file.write(out.data or b"")
            summary.files.append(relative)
            summary.exported += 1

    @staticmethod
    def _same_series_folder(
        relative: str, series_uid: str, series_dirs: dict[str, str], taken: set[str]
    ) -> str:
        """Keep a series in one folder, and two series with the same name in two folders."""
        folder, name = relative.rsplit("/", 1)
        known = series_dirs.get(series_uid)
        if known is None:
            used = set(series_dirs.values())
            candidate, counter = folder, 1
            while candidate in used:
                counter += 1
                candidate = f"{folder}_{counter}"
            series_dirs[series_uid] = known = candidate
        if known == folder:
            return relative
        taken.discard(relative.lower())
        moved = f"{known}/{name}"
        taken.add(moved.lower())
        return moved

    def _write_zip(
        self,
        produced: Iterator[_Output],
        archive_path: Path,
        summary: ExportSummary,
    ) -> None:
        taken: set[str] = set()
        series_dirs: dict[str, str] = {}
        with zipfile.ZipFile(archive_path, "x", compression=zipfile.ZIP_DEFLATED) as archive:
            for out in produced:
                item = out.item
                relative = self._tree_path(item, out.ds if out.changed else None, taken)
                relative = self._same_series_folder(relative, item.series_uid, series_dirs, taken)
                archive.writestr(relative, out.data or b"")
                summary.files.append(relative)
                summary.exported += 1

    # -- DICOMDIR media ----------------------------------------------------------------------------
    def _write_dicomdir(
        self,
        produced: Iterator[_Output],
        root: Path,
        summary: ExportSummary,
    ) -> None:
        """The media: pydicom's ``FileSet`` makes the records, File IDs and the DICOMDIR.

        Each instance reaches the File-set as a stand-in (``_StagedInstance``) that stages the
        instance's own bytes: those of the stored file when it is copied unchanged, else the
        encoding ``_prepared`` made (and proved writable). So no file is encoded twice, and
        an unchanged one not at all.
        """
        fileset = _ExportFileSet()
        fileset.ID = FILESET_ID
        fileset.adding_unique = True
        numbers: dict[str, int] = {}  # images seen per series: a stand-in Instance Number
        listed: set[tuple[str, str, str]] = set()  # (patient, study, series) in the File-set
        added = 0
        for out in produced:
            item = out.item
            numbers[item.series_uid] = numbers.get(item.series_uid, 0) + 1
            try:
                if out.ds is None:
                    raise ValueError("no dataset to make the records from")
                leaf, branch = _record_tree(out.ds, item, numbers[item.series_uid], listed)
                staged = _StagedInstance(out.ds, out.data)
            except Exception as exc:  # one malformed file: leave it out, say why
                _skip(summary, item, str(exc) or type(exc).__name__)
                continue
            instance = fileset.add_custom(staged, leaf)
            if os.path.getsize(instance.path) != len(out.data):  # staged some other way
                Path(instance.path).write_bytes(out.data)
            listed.add(branch)
            added += 1
        fileset.adding_unique = False
        if added == 0:
            raise ExportError("no image could be written to the media; nothing was exported")
        fileset.write(root)
        for instance in fileset:
            summary.files.append(str(Path(*Path(instance.FileID).parts)))
        summary.files.sort()
        summary.exported = len(summary.files)

    @staticmethod
    def _publish(staging: Path, target: Path) -> None:
        """Move the staged entries into the (empty) destination without replacing anything."""
        for entry in sorted(staging.iterdir()):
            final = target / entry.name
            if final.exists():
                raise ExportError(f"{final} appeared during the export; it is not overwritten")
            os.rename(entry, final)


@dataclass(frozen=True)
class _Output:
    """One instance ready to be written: the bytes of its file and the dataset they hold."""

    item: _Item
    # As read, or de-identified; only the header (no pixel data) for a file copied unchanged
    # to media, and None for one copied unchanged to a folder or zip (the index names it).
    ds: Dataset | None
    data: bytes  # the stored file (copied unchanged) or the encoded dataset
    changed: bool  # de-identified: only the dataset's own values may name folders


class MalformedFileError(ValueError):
    """A stored file that cannot be exported as a valid DICOM file."""


def _prepared(
    item: _Item, raw: bytes, deid: Deidentifier | None, media: bool
) -> tuple[_Output, Any]:
    """``item``'s output from its stored bytes ``raw``, and the de-identification report.

    Every file's structure is walked first (``_intact``), which leaves out a truncated one.
    A file exported unchanged whose structure ``_intact`` vouches for is copied as it is,
    with no dataset decoded; on media only when pydicom would write the same bytes (explicit
    VR, a complete file meta header naming the instance), and with its header read for the
    records. Any other file (to be de-identified, to be made explicit VR for media, or one
    the walk cannot vouch for) is read whole, checked (``_checked_dataset``) and encoded
    again, which proves it writable and, for a malformed one, raises with the reason.
    """
    intact = _intact(raw)  # raises for a truncated file, whatever the format
    if deid is None:
        if intact is not None and not media:
            return _Output(item, None, raw, False), None
        if intact is not None and intact.as_written and intact.syntax != ImplicitVRLittleEndian:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                header = dcmread(io.BytesIO(raw), stop_before_pixels=True)
            if (_text(header, "SOPClassUID"), _text(header, "SOPInstanceUID")) == (
                intact.sop_class,
                intact.sop_instance,
            ):
                return _Output(item, header, raw, False), None
    ds = _checked_dataset(raw)
    report = None if deid is None else deid.apply(ds, patient_key=item.patient_key)
    if media:
        _explicit_little_endian(ds)
    encoded = _encoded(ds)  # raises for a dataset pydicom cannot write
    data = raw if deid is None and not media else encoded
    return _Output(item, ds, data, deid is not None), report


def _checked_dataset(raw: bytes) -> Dataset:
    """``raw`` read as a dataset; raises MalformedFileError for a file others cannot read.

    pydicom reads on where other readers (DCMTK, dicom3tools) stop: a file that ends inside a
    value (it keeps the bytes that are there) and a data set in implicit VR behind a meta
    header that announces explicit VR (it switches). So each top-level element pydicom left
    undecoded is checked to hold as many bytes as its header announces, and to have a VR
    where the transfer syntax is explicit.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(io.BytesIO(raw))
    except InvalidDicomError as exc:
        raise MalformedFileError(f"not a DICOM file ({exc})") from exc
    except (OSError, EOFError, struct.error) as exc:  # bytes in memory: the data set, not a disk
        raise MalformedFileError(f"truncated or damaged data set ({exc})") from exc
    syntax = ds.file_meta.get("TransferSyntaxUID")
    explicit = syntax is not None and syntax.is_transfer_syntax and not syntax.is_implicit_VR
    for tag in list(ds.keys()):
        elem = ds.get_item(tag)
        if explicit and isinstance(elem, RawDataElement) and elem.VR is None:
            raise MalformedFileError(
                f"element {tag} is in implicit VR, but the transfer syntax {syntax.name}"
                " is explicit VR"
            )
        declared = getattr(elem, "length", None)
        value = getattr(elem, "value", None)
        if (
            isinstance(declared, int)
            and declared != 0xFFFFFFFF
            and isinstance(value, bytes)
            and len(value) < declared
        ):
            raise MalformedFileError(
                f"truncated file: element {tag} announces {declared} bytes, the file holds"
                f" {len(value)}"
            )
    return ds


def _encoded(ds: Dataset) -> bytes:
    """``ds`` as a Part 10 file; raises for a dataset pydicom cannot write (malformed)."""
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


class _StagedInstance(Dataset):
    """An instance as ``FileSet.add_custom`` sees it: its UIDs and transfer syntax only.

    The File-set stages the instance by saving it; saving this one writes the instance's
    own bytes (``data``: the stored file, or the dataset ``_prepared`` encoded), so nothing
    is encoded again. The records are made from the full dataset (``_record_tree``).
    """

    def __init__(self, ds: Dataset, data: bytes) -> None:
        super().__init__()
        self.SOPClassUID = ds.SOPClassUID
        self.SOPInstanceUID = ds.SOPInstanceUID
        self.file_meta = FileMetaDataset()
        self.file_meta.TransferSyntaxUID = ds.file_meta.TransferSyntaxUID
        self._staged_bytes = data

    def save_as(self, filename: Any, /, *args: Any, **kwargs: Any) -> None:
        with open(filename, "wb") as file:
            file.write(self._staged_bytes)


# -- the structure check of a file copied unchanged ----------------------------------------------
_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQUENCE_END = 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
_MAX_DEPTH = 32
_SHORT_VRS = frozenset(vr.encode() for vr in EXPLICIT_VR_LENGTH_16)
_LONG_VRS = frozenset(vr.encode() for vr in EXPLICIT_VR_LENGTH_32)
_UNPACK_TAG = struct.Struct("<HH").unpack_from
_UNPACK_U16 = struct.Struct("<H").unpack_from
_UNPACK_U32 = struct.Struct("<I").unpack_from
# The meta elements a Part 10 file must have (PS3.10 7.1; pydicom will not write one without).
_REQUIRED_META = (0x0002, 0x0003, 0x0010)  # Media Storage SOP Class/Instance, Transfer Syntax
# What pydicom adds to a file meta header that lacks them when it writes the file: Group
# Length, Version and Implementation Class UID (non-empty), Implementation Version Name.
_COMPLETE_META = frozenset({0x0000, 0x0001, 0x0002, 0x0003, 0x0010, 0x0012, 0x0013})
_NON_EMPTY_META = frozenset({0x0001, 0x0002, 0x0003, 0x0010, 0x0012})


class _Unvouched(Exception):
    """The structure walk cannot vouch for the file: the full reader and encoder decide."""


class _Truncated(Exception):
    """The file ends before what its elements announce (a value, an item, a delimiter)."""


@dataclass(frozen=True)
class _Intact:
    """What the structure walk found in a whole file."""

    syntax: str  # the Transfer Syntax UID of its file meta
    sop_class: str  # its Media Storage SOP Class and Instance UIDs
    sop_instance: str
    # pydicom writes the file back byte for byte: a complete file meta header, no group
    # length element in the data sets it re-encodes, pixel data of even length.
    as_written: bool


@functools.cache
def _syntax_encoding(uid: str) -> tuple[bool, bool] | None:
    """(implicit VR, encapsulated pixel data) of a transfer syntax the walk knows, else None.

    Only little endian, non-deflated, public transfer syntaxes are walked.
    """
    syntax = UID(uid)
    if (
        syntax.is_private
        or not syntax.is_transfer_syntax
        or not syntax.is_little_endian
        or syntax.is_deflated
    ):
        return None
    return bool(syntax.is_implicit_VR), bool(syntax.is_compressed)


def _intact(data: bytes) -> _Intact | None:
    """What ``data`` is when its structure is whole, else None; raises for a truncated file.

    Whole: a Part 10 preamble and ``DICM``; a file meta group with a known little endian
    transfer syntax and the SOP Class and Instance UIDs; then every element of the data set,
    to the last byte of the file, with a valid VR (explicit VR syntaxes), a value that ends
    inside the file, sequences and items of undefined length closed by their delimiters
    (walked item by item) and, for an encapsulated syntax, pixel data made of fragments up
    to its sequence delimiter. Element headers are read, no value is decoded: about a
    microsecond per element.

    MalformedFileError: the file ends before an element, item or delimiter it announces
    (pydicom reads such a file on, and drops encapsulated pixel data cut short). None: the
    walk cannot vouch for the file (not DICOM, or merely unusual: big endian, deflated, a
    private syntax, VR UN of undefined length); ``_checked_dataset`` then reads it whole and
    says what is wrong, if anything. Every file this accepts, that reader accepts too and
    pydicom writes again (its data set unchanged).
    """
    walk = _Walk(data)
    try:
        return walk.file()
    except _Truncated as exc:
        raise MalformedFileError(f"truncated file: {exc}") from None
    except (_Unvouched, struct.error, UnicodeDecodeError):
        return None


class _Walk:
    """Element headers of one Part 10 file, from the preamble to the last byte."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.end = len(data)
        self.implicit = False
        self.encapsulated = False
        self.as_written = True

    def file(self) -> _Intact:
        data, end = self.data, self.end
        if end < 132 or data[128:132] != b"DICM":
            raise _Unvouched
        pos, meta = self._meta(132)
        sop_class, sop_instance, syntax = (
            meta.get(e, b"").rstrip(b"\x00 ").decode("ascii") for e in _REQUIRED_META
        )
        encoding = _syntax_encoding(syntax)
        if not (sop_class and sop_instance and encoding):
            raise _Unvouched
        self.implicit, self.encapsulated = encoding
        self.as_written = meta.keys() >= _COMPLETE_META and all(
            meta[e].rstrip(b"\x00 ") for e in _NON_EMPTY_META
        )
        # pydicom takes a first element that looks explicit in an implicit VR data set (or
        # the reverse) as the sign of a mislabelled file, and switches: not ours to vouch for.
        if pos + 6 <= end:
            vr = data[pos + 4 : pos + 6]
            looks_explicit = 0x40 < vr[0] < 0x5B and 0x40 < vr[1] < 0x5B
            if looks_explicit == self.implicit:
                raise _Unvouched
        if self._elements(pos, end, 0, top=True) != (end, False):
            raise _Unvouched
        return _Intact(syntax, sop_class, sop_instance, self.as_written)

    def _meta(self, pos: int) -> tuple[int, dict[int, bytes]]:
        """Past the file meta group (explicit VR little endian), and its values by element."""
        data, end = self.data, self.end
        values: dict[int, bytes] = {}
        group_end = -1
        while pos + 8 <= end:
            group, element = _UNPACK_TAG(data, pos)
            if group != 0x0002:
                break
            vr = data[pos + 4 : pos + 6]
            if vr in _SHORT_VRS:
                (length,) = _UNPACK_U16(data, pos + 6)
                value = pos + 8
            elif vr in _LONG_VRS:
                (length,) = _UNPACK_U32(data, pos + 8)
                value = pos + 12
            else:
                raise _Unvouched
            if length == _UNDEFINED:
                raise _Unvouched
            self._within(value, length, end, (group, element))
            pos = value + length
            if element == 0x0000:
                if vr != b"UL" or length != 4:
                    raise _Unvouched
                group_end = pos + _UNPACK_U32(data, value)[0]
            values[element] = data[value:pos]
        if group_end not in (-1, pos):
            raise _Unvouched  # the group length and the elements disagree
        return pos, values

    def _within(self, value: int, length: int, stop: int, tag: tuple[int, int] | int) -> None:
        """A value of ``length`` bytes at ``value`` must end by ``stop``."""
        if value + length <= stop:
            return
        if stop != self.end:
            raise _Unvouched  # past the end of its item: lengths that do not add up
        if isinstance(tag, int):
            tag = (tag >> 16, tag & 0xFFFF)
        raise _Truncated(
            f"element ({tag[0]:04X},{tag[1]:04X}) announces {length} bytes,"
            f" the file holds {max(self.end - value, 0)}"
        )

    def _cut(self, stop: int, what: str) -> NoReturn:
        """``stop`` reached before ``what``: the file is truncated when it is its end."""
        if stop == self.end:
            raise _Truncated(f"the file ends {what}")
        raise _Unvouched

    def _header(self, pos: int, stop: int) -> tuple[int, bytes, int, int]:
        """(tag, VR (b"" in implicit VR), value length, value offset) of an element."""
        data = self.data
        if pos + 8 > stop:
            self._cut(stop, "inside an element header")
        group, element = _UNPACK_TAG(data, pos)
        if self.implicit or group == 0xFFFE:
            return group << 16 | element, b"", _UNPACK_U32(data, pos + 4)[0], pos + 8
        vr = data[pos + 4 : pos + 6]
        if vr in _SHORT_VRS:
            return group << 16 | element, vr, _UNPACK_U16(data, pos + 6)[0], pos + 8
        if vr not in _LONG_VRS:
            raise _Unvouched
        if pos + 12 > stop:
            self._cut(stop, "inside an element header")
        return group << 16 | element, vr, _UNPACK_U32(data, pos + 8)[0], pos + 12

    def _elements(self, pos: int, stop: int, depth: int, top: bool = False) -> tuple[int, bool]:
        """Past the elements from ``pos`` to ``stop``, or past an Item Delimitation Item (an
        item of undefined length; ``stop`` is then the end of the file): (position, whether
        it was the delimiter that ended them)."""
        header = self._header
        while pos < stop:
            tag, vr, length, value = header(pos, stop)
            if tag >> 16 == 0xFFFE:
                if tag == _ITEM_END and not top and length == 0:
                    return value, True
                raise _Unvouched
            if tag >> 16 in (0x0000, 0x0002):
                raise _Unvouched  # command or file meta elements inside the data set
            if not tag & 0xFFFF and tag >> 16 > 6:
                self.as_written = False  # pydicom leaves group lengths out when it writes
            pixels = top and tag == _PIXEL_DATA
            if length == _UNDEFINED:
                if pixels and self.encapsulated:
                    pos = self._fragments(value, stop)
                elif not pixels and (vr == b"SQ" or (self.implicit and _is_sequence(tag))):
                    pos = self._sequence(value, stop, depth + 1)
                else:
                    raise _Unvouched  # UN or pixel data of undefined length: rare, unwalked
            elif pixels and self.encapsulated:
                raise _Unvouched  # encapsulated syntax, native pixel data: pydicom refuses
            else:
                self._within(value, length, stop, tag)
                pos = value + length
                if pixels and length & 1:
                    self.as_written = False  # pydicom pads pixel data to an even length
        return pos, False

    def _sequence(self, pos: int, stop: int, depth: int) -> int:
        """Past a sequence of undefined length whose first item starts at ``pos``."""
        if depth > _MAX_DEPTH:
            raise _Unvouched
        data = self.data
        while pos + 8 <= stop:
            group, element = _UNPACK_TAG(data, pos)
            tag = group << 16 | element
            (length,) = _UNPACK_U32(data, pos + 4)
            if tag == _SEQUENCE_END:
                if length:
                    raise _Unvouched
                return pos + 8
            if tag != _ITEM:
                raise _Unvouched
            if length == _UNDEFINED:
                pos, delimited = self._elements(pos + 8, stop, depth)
                if not delimited:
                    self._cut(stop, "inside a sequence item")
            else:
                self._within(pos + 8, length, stop, tag)
                item_end = pos + 8 + length
                if self._elements(pos + 8, item_end, depth) != (item_end, False):
                    raise _Unvouched
                pos = item_end
        self._cut(stop, "inside a sequence (no Sequence Delimitation Item)")

    def _fragments(self, pos: int, stop: int) -> int:
        """Past encapsulated pixel data: items of defined length, then the delimiter."""
        data = self.data
        first = True
        while pos + 8 <= stop:
            group, element = _UNPACK_TAG(data, pos)
            tag = group << 16 | element
            (length,) = _UNPACK_U32(data, pos + 4)
            if tag == _SEQUENCE_END and not first:
                if length:
                    raise _Unvouched
                return pos + 8
            if tag != _ITEM or length == _UNDEFINED:
                raise _Unvouched
            self._within(pos + 8, length, stop, tag)
            first = False
            pos += 8 + length
        self._cut(stop, "inside the encapsulated pixel data (no Sequence Delimitation Item)")


@functools.cache
def _is_sequence(tag: int) -> bool:
    """Whether the data dictionary makes ``tag`` a sequence (implicit VR: no VR in the file)."""
    try:
        return bool(dictionary_VR(tag) == "SQ")
    except KeyError:
        return False


def _skip(summary: ExportSummary, item: _Item, reason: str) -> None:
    """Leave ``item`` out of the export, with its reason in the summary and a warning."""
    log.warning("export: image %s left out: %s", item.sop_uid, printable(reason))
    summary.skipped.append((item.sop_uid, reason))
    summary.warnings.append(
        _series_message(item, f"an image could not be written and was left out: {reason}")
    )


def _series_message(item: _Item, message: str) -> str:
    number = "" if item.series_number is None else f" {item.series_number}"
    return f"series{number} ({item.modality}): {message}"


class _ExportFileSet(FileSet):
    """A FileSet filled with instances known to be distinct, in linear rather than square time.

    ``FileSet.add_custom`` looks for the new instance among all those already added (a scan
    of every instance per addition: 40 s for 1200 images). The index guarantees unique SOP
    Instance UIDs and their de-identified replacements are distinct too, so while
    ``adding_unique`` is set, that scan sees an empty File-set. Everything else (the tree,
    ``write``) is pydicom's own.
    """

    adding_unique = False

    def __iter__(self) -> Iterator[FileInstance]:
        if self.adding_unique:
            return iter(())
        return super().__iter__()


class _LeafNode(RecordNode):
    """A leaf record node whose key (its SOP Instance UID) is computed once, not per lookup."""

    def __init__(self, record: Dataset, key: str) -> None:
        self._fixed_key = key
        super().__init__(record)

    @property
    def key(self) -> str:
        return self._fixed_key


def _explicit_little_endian(ds: Dataset) -> None:
    """General-purpose media (PS3.11 STD-GEN) use Explicit VR Little Endian, not Implicit."""
    meta = ds.file_meta
    if meta.get("TransferSyntaxUID") == ImplicitVRLittleEndian:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian


def _record(kind: str, **values: Any) -> Dataset:
    record = Dataset()
    record.DirectoryRecordType = kind
    for keyword, value in values.items():
        setattr(record, keyword, value)
    return record


def _record_tree(
    ds: Dataset, item: _Item, number: int = 1, listed: set[tuple[str, str, str]] | None = None
) -> tuple[RecordNode, tuple[str, str, str]]:
    """PATIENT/STUDY/SERIES/leaf records for ``ds`` (PS3.3 F.5), and their three keys.

    Values come from the instance. A Type 1 key that is empty there (a de-identified date, a
    missing Study ID) gets a value in the record only, so that every file is listed; dates
    and times are taken from the instance's other dates first (``_alternative``). The
    instance itself is written as it is. ``number`` (the image's place in its series) stands
    in for a missing Instance Number.

    The File-set keeps the first PATIENT, STUDY and SERIES record of each key and merges
    the later ones into it: for keys already ``listed`` the records hold only their keys.
    """
    patient_id = _text(ds, "PatientID") or (
        "NOID" + hashlib.sha1(item.patient_key.encode()).hexdigest()[:8].upper()
    )
    study_uid = _text(ds, "StudyInstanceUID")
    series_uid = _text(ds, "SeriesInstanceUID")
    branch = (patient_id, study_uid, series_uid)
    if listed is not None and branch in listed:
        patient = _record("PATIENT", PatientID=patient_id)
        study = _record("STUDY", StudyInstanceUID=study_uid)
        series = _record("SERIES", SeriesInstanceUID=series_uid)
    else:
        patient = _record("PATIENT", PatientID=patient_id, PatientName=ds.get("PatientName", ""))
        study = _record(
            "STUDY",
            StudyDate=_alternative(ds, "Date", "Study"),
            StudyTime=_alternative(ds, "Time", "Study"),
            StudyDescription=_text(ds, "StudyDescription"),
            StudyInstanceUID=study_uid,
            StudyID=_text(ds, "StudyID")[:16] or "1",
            AccessionNumber=_text(ds, "AccessionNumber")[:16],
        )
        series = _record(
            "SERIES",
            Modality=_text(ds, "Modality")[:16] or "OT",
            SeriesInstanceUID=series_uid,
            SeriesNumber=_text(ds, "SeriesNumber").split("\\")[0] or "1",
        )
    leaf = _leaf_record(ds, number)
    leaf.ReferencedFileID = None  # set by FileSet when it writes
    leaf.ReferencedSOPClassUIDInFile = ds.SOPClassUID
    leaf.ReferencedSOPInstanceUIDInFile = ds.SOPInstanceUID
    leaf.ReferencedTransferSyntaxUIDInFile = ds.file_meta.TransferSyntaxUID
    patient_node, study_node, series_node = (
        RecordNode(patient),
        RecordNode(study),
        RecordNode(series),
    )
    leaf_key = leaf.PrivateRecordUID if leaf.DirectoryRecordType == "PRIVATE" else ds.SOPInstanceUID
    leaf_node = _LeafNode(leaf, str(leaf_key))
    study_node.parent = patient_node
    series_node.parent = study_node
    leaf_node.parent = series_node
    return leaf_node, branch


# Where a Type 1 date or time of a record looks when the instance has none of its own: the
# instance's other dates, most general first (DCMTK's dcmmkdir does the same).
_DATE_SOURCES = ("Study", "Series", "Acquisition", "Content")


def _alternative(ds: Dataset, what: Literal["Date", "Time"], first: str) -> str:
    """``<first><what>`` of ``ds``, else the instance's other dates, else the export's own.

    PS3.3 F.5 makes StudyDate/StudyTime (and an SR's ContentDate/ContentTime) Type 1 in the
    record although they may be empty in the instance; a date of the instance is used when
    it has one, and only an instance with no date at all (de-identified) gets the date the
    media were made, as dcmmkdir does. Never a made-up 1900-01-01: the dummy that
    de-identification gives a Type 1 date (an SR's Content Date) is not a date of the file.
    """
    dummies = (DUMMY_DATE, DUMMY_TIME) if _text(ds, "PatientIdentityRemoved") == "YES" else ()
    for source in (first, *(s for s in _DATE_SOURCES if s != first)):
        value = _text(ds, f"{source}{what}")
        dated = _text(ds, f"{source}Date")
        if value and value not in dummies and dated not in dummies:
            return value[:8] if what == "Date" else value[:16]
    now = datetime.now()
    return now.strftime("%Y%m%d") if what == "Date" else now.strftime("%H%M%S")


# PS3.3 F.5.20: the RT PLAN record references RT Plans and RT Ion Plans. pydicom's table
# (``_FOUR_LEVEL_SOP_CLASSES``) leaves them out and looks for an RT Plan Label instead.
_RT_PLAN_CLASSES = frozenset({RTPlanStorage, RTIonPlanStorage})


def _leaf_record_type(ds: Dataset) -> str:
    """The fourth-level record type PS3.3 Annex F gives the instance's SOP Class.

    pydicom's own SOP Class table decides (IMAGE for every image storage class); the RT
    plans, which that table omits, are named here.
    """
    sop_class = _text(ds, "SOPClassUID")
    if sop_class in _RT_PLAN_CLASSES:
        return "RT PLAN"
    table: dict[str, str] = getattr(pydicom_fileset, "_FOUR_LEVEL_SOP_CLASSES", {})
    if sop_class in table:
        return table[sop_class]
    kind_of = getattr(pydicom_fileset, "_four_level_record_type", None)
    return str(kind_of(ds)) if callable(kind_of) else "IMAGE"


def _record_keys(ds: Dataset, number: int) -> Dataset:
    """A shallow copy of ``ds`` whose empty Type 1 record keys have a value.

    Only the record is built from it; the instance on the media keeps its own values.
    """
    keys = Dataset()
    keys.update(ds)  # the same elements: any key given a value is replaced, never changed

    def stand_in(keyword: str, value: str) -> None:
        if keyword in keys:
            del keys[keyword]
        setattr(keys, keyword, value)

    if not _text(ds, "InstanceNumber"):
        stand_in("InstanceNumber", str(number))
    for what in ("Date", "Time"):
        if not _text(ds, f"Content{what}"):
            stand_in(f"Content{what}", _alternative(ds, what, "Content"))
    if not _text(ds, "RTPlanLabel"):
        stand_in("RTPlanLabel", (_text(ds, "RTPlanName") or "UNLABELED")[:16])
    return keys


def _leaf_record(ds: Dataset, number: int = 1) -> Dataset:
    """The fourth-level record of ``ds`` (IMAGE, SR DOCUMENT, RT DOSE, ...; PS3.3 F.5).

    pydicom's recorder for the type makes it, from the instance's values and the stand-ins
    of ``_record_keys`` for empty Type 1 keys. Only when the instance still lacks a key the
    record requires (an SR without a Concept Name) does a PRIVATE record stand in, so the
    file is still listed.
    """
    kind = _leaf_record_type(ds)
    maker = pydicom_fileset.DIRECTORY_RECORDERS.get(kind)
    if maker is not None:
        # An IMAGE record holds only the Instance Number: when the instance has one, no
        # stand-in can change the record, and the copy of ``_record_keys`` is not needed.
        keys = ds if kind == "IMAGE" and _text(ds, "InstanceNumber") else None
        try:
            record: Dataset = maker(keys if keys is not None else _record_keys(ds, number))
        except (ValueError, KeyError, AttributeError) as exc:
            log.warning("export: a PRIVATE record stands in for a %s record: %s", kind, exc)
        else:
            record.DirectoryRecordType = kind
            _concept_modifiers_only(record)
            return record
    return _record("PRIVATE", PrivateRecordUID=generate_uid())


def _concept_modifiers_only(record: Dataset) -> None:
    """Keep in a record's Content Sequence only what PS3.3 F.5.25/F.5.27 allow there.

    An SR DOCUMENT or KEY OBJECT DOC record carries "all, and only" the root's HAS CONCEPT
    MOD items; pydicom's recorder copies the whole document tree.
    """
    if "ContentSequence" not in record:
        return
    items = [
        item
        for item in record.ContentSequence
        if _text(item, "RelationshipType") == "HAS CONCEPT MOD"
    ]
    if items:
        record.ContentSequence = items
    else:
        del record.ContentSequence


def export_selection(
    core: Any,
    selection: Selection,
    options: ExportOptions,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    deidentifier: Deidentifier | None = None,
) -> ExportSummary:
    """Export ``selection`` of ``core``'s database as ``options`` say (blocking).

    ``progress`` is called after each instance; setting ``cancel`` stops the export and removes
    what it wrote. ``deidentifier`` (optional) supplies the UID key and mappings, for callers
    that need to relate exported UIDs to the originals.
    """
    return Exporter(core).run(selection, options, progress, cancel, deidentifier)
