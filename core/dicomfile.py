"""Reading what the index needs from a DICOM file, without decoding pixel data.

``parse_instance`` validates structure (Part 10 header or a bare dataset, complete element
lengths, required UIDs) and extracts the header with the Specific Character Set honoured.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from typing import Any

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from core.errors import InvalidUIDError, RejectedFile
from core.store import validate_uid

log = logging.getLogger(__name__)

UNDEFINED_LENGTH = 0xFFFFFFFF
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"


@dataclass(frozen=True, slots=True)
class InstanceHeader:
    """The attributes the index stores for one instance (decoded strings)."""

    sop_uid: str
    sop_class_uid: str
    study_uid: str
    series_uid: str
    transfer_syntax: str
    patient_id: str = ""
    patient_name: str = ""
    birth_date: str = ""
    sex: str = ""
    study_date: str = ""
    study_time: str = ""
    accession_number: str = ""
    study_description: str = ""
    study_id: str = ""
    referring_physician: str = ""
    modality: str = ""
    series_number: int | None = None
    series_description: str = ""
    body_part: str = ""
    series_date: str = ""
    series_time: str = ""
    instance_number: int | None = None
    num_frames: int = 1
    rows: int | None = None
    columns: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedInstance:
    header: InstanceHeader
    # Bytes to store when the source is not a valid Part 10 file (no preamble/meta): the
    # dataset re-encoded with a proper file meta header. None: store the source as it is.
    rewritten: bytes | None = None


def _text(ds: Dataset, keyword: str) -> str:
    try:
        value = ds.get(keyword)
    except Exception:  # undecodable value: index it as empty rather than reject the image
        log.debug("cannot decode %s", keyword, exc_info=True)
        return ""
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip()


def _int(ds: Dataset, keyword: str) -> int | None:
    text = _text(ds, keyword).split("\\")[0]
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def _check_complete(ds: Dataset) -> None:
    """Reject files whose elements are shorter than their declared length (truncated)."""
    for tag, elem in ds._dict.items():
        if isinstance(elem, RawDataElement) and elem.length != UNDEFINED_LENGTH:
            value = elem.value
            if value is not None and len(value) < elem.length:
                raise RejectedFile(
                    f"truncated file: element {tag} declares {elem.length} bytes,"
                    f" only {len(value)} present"
                )


def _read(data: bytes) -> tuple[Dataset, bool]:
    """Read ``data``; return the dataset and whether it had a valid Part 10 header."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return dcmread(io.BytesIO(data)), True
        except InvalidDicomError:
            pass
        except Exception as exc:
            raise RejectedFile(f"unreadable DICOM file: {exc}") from exc
        try:
            ds = dcmread(io.BytesIO(data), force=True)
        except Exception as exc:
            raise RejectedFile(f"not a DICOM file ({exc})") from exc
        if len(ds) == 0 or "SOPInstanceUID" not in ds:
            raise RejectedFile("not a DICOM file (no DICOM header and no SOP Instance UID)")
        return ds, False


def _transfer_syntax_of(ds: Dataset) -> str:
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if ts:
        return ts
    implicit, little = ds.original_encoding
    if implicit:
        return ImplicitVRLittleEndian
    return ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def header_of(ds: Dataset, transfer_syntax: str) -> InstanceHeader:
    """Extract and validate the indexed attributes of ``ds``."""
    uids: dict[str, str] = {}
    for keyword in ("SOPInstanceUID", "SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID"):
        value = _text(ds, keyword)
        if not value:
            raise RejectedFile(f"missing {keyword}")
        try:
            uids[keyword] = validate_uid(value, keyword)
        except InvalidUIDError as exc:
            raise RejectedFile(str(exc)) from exc
    if uids["SOPClassUID"] == DICOMDIR_SOP_CLASS:
        raise RejectedFile("a DICOMDIR is an index of media, not an image")
    frames = _int(ds, "NumberOfFrames")
    return InstanceHeader(
        sop_uid=uids["SOPInstanceUID"],
        sop_class_uid=uids["SOPClassUID"],
        study_uid=uids["StudyInstanceUID"],
        series_uid=uids["SeriesInstanceUID"],
        transfer_syntax=transfer_syntax,
        patient_id=_text(ds, "PatientID"),
        patient_name=_text(ds, "PatientName"),
        birth_date=_text(ds, "PatientBirthDate")[:8],
        sex=_text(ds, "PatientSex"),
        study_date=_text(ds, "StudyDate")[:8],
        study_time=_text(ds, "StudyTime"),
        accession_number=_text(ds, "AccessionNumber"),
        study_description=_text(ds, "StudyDescription"),
        study_id=_text(ds, "StudyID"),
        referring_physician=_text(ds, "ReferringPhysicianName"),
        modality=_text(ds, "Modality"),
        series_number=_int(ds, "SeriesNumber"),
        series_description=_text(ds, "SeriesDescription"),
        body_part=_text(ds, "BodyPartExamined"),
        series_date=_text(ds, "SeriesDate")[:8],
        series_time=_text(ds, "SeriesTime"),
        instance_number=_int(ds, "InstanceNumber"),
        num_frames=frames if frames and frames > 0 else 1,
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
    )


def parse_instance(data: bytes) -> ParsedInstance:
    """Validate and index-parse one file's bytes. Raises RejectedFile with a reason."""
    ds, part10 = _read(data)
    meta = getattr(ds, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPClassUID") == DICOMDIR_SOP_CLASS:
        raise RejectedFile("a DICOMDIR is an index of media, not an image")
    _check_complete(ds)
    ts = _transfer_syntax_of(ds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid values are indexed as found, not fatal
        header = header_of(ds, ts)
    if (
        part10
        and getattr(ds, "file_meta", None) is not None
        and ds.file_meta.get("TransferSyntaxUID")
    ):
        return ParsedInstance(header)
    return ParsedInstance(header, rewritten=encode_part10(ds, header))


def encode_part10(ds: Dataset, header: InstanceHeader) -> bytes:
    """Encode ``ds`` as a Part 10 file with a complete file meta header."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(header.sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(header.sop_uid)
    meta.TransferSyntaxUID = UID(header.transfer_syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    buffer = io.BytesIO()
    try:
        ds.save_as(buffer, enforce_file_format=True)
    except Exception as exc:
        raise RejectedFile(f"cannot re-encode dataset as a DICOM file: {exc}") from exc
    return buffer.getvalue()


def values_of(header: InstanceHeader) -> dict[str, Any]:
    """The header as a plain dict (for logging at DEBUG and for tests)."""
    return {name: getattr(header, name) for name in header.__slots__}
