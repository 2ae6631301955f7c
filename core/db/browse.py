"""What browsing the index means, with no database library: the levels, the filter, the columns
of each level (as table and column names) and each level's default order.

``core.db.queries`` builds its SQLAlchemy statements from these; ``core.db.light`` (the read
path of ``dicom-kiosk list``, which must start in a few tens of milliseconds) builds plain SQL
for SQLite from the same definitions, so the two cannot disagree on what a level shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.errors import QueryError

BrowseLevel = Literal["patient", "study", "series", "image"]
LEVELS: tuple[BrowseLevel, ...] = ("patient", "study", "series", "image")


@dataclass(frozen=True)
class StudyFilter:
    """What the filter panel (and the list command) can ask for. Empty means no constraint."""

    patient_name: str = ""
    patient_id: str = ""
    date_from: str = ""  # YYYYMMDD, inclusive
    date_to: str = ""  # YYYYMMDD, inclusive
    modality: str = ""
    patient_pk: int | None = None
    study_uid: str = ""
    series_uid: str = ""

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value and not (len(value) == 8 and value.isdigit()):
                raise QueryError(f"{name.replace('_', '-')} must be YYYYMMDD, not {value!r}")


# The table each level lists, and the columns it shows: DICOM keyword (or a plain name for
# non-DICOM data) -> (table, column). A level also shows columns of the levels above it.
TABLES: dict[BrowseLevel, str] = {
    "patient": "patient",
    "study": "study",
    "series": "series",
    "image": "instance",
}
COLUMN_NAMES: dict[BrowseLevel, dict[str, tuple[str, str]]] = {
    "patient": {
        "PatientName": ("patient", "patient_name"),
        "PatientID": ("patient", "patient_id"),
        "PatientBirthDate": ("patient", "birth_date"),
        "PatientSex": ("patient", "sex"),
        "NumberOfPatientRelatedStudies": ("patient", "num_studies"),
        "NumberOfPatientRelatedSeries": ("patient", "num_series"),
        "NumberOfPatientRelatedInstances": ("patient", "num_instances"),
    },
    "study": {
        "PatientName": ("patient", "patient_name"),
        "PatientID": ("patient", "patient_id"),
        "StudyDate": ("study", "study_date"),
        "StudyTime": ("study", "study_time"),
        "StudyDescription": ("study", "study_description"),
        "ModalitiesInStudy": ("study", "modalities"),
        "AccessionNumber": ("study", "accession_number"),
        "StudyID": ("study", "study_id"),
        "ReferringPhysicianName": ("study", "referring_physician"),
        "NumberOfStudyRelatedSeries": ("study", "num_series"),
        "NumberOfStudyRelatedInstances": ("study", "num_instances"),
        "StudyInstanceUID": ("study", "study_uid"),
    },
    "series": {
        "SeriesNumber": ("series", "series_number"),
        "Modality": ("series", "modality"),
        "SeriesDescription": ("series", "series_description"),
        "BodyPartExamined": ("series", "body_part"),
        "SeriesDate": ("series", "series_date"),
        "SeriesTime": ("series", "series_time"),
        "NumberOfSeriesRelatedInstances": ("series", "num_instances"),
        "SeriesInstanceUID": ("series", "series_uid"),
        "StudyInstanceUID": ("study", "study_uid"),
    },
    "image": {
        "InstanceNumber": ("instance", "instance_number"),
        "SOPClassUID": ("instance", "sop_class_uid"),
        "NumberOfFrames": ("instance", "num_frames"),
        "Rows": ("instance", "rows"),
        "Columns": ("instance", "columns"),
        "TransferSyntaxUID": ("instance", "transfer_syntax"),
        "FileSize": ("instance", "file_size"),
        "ReceivedAt": ("instance", "received_at"),
        "Source": ("instance", "source"),
        "SOPInstanceUID": ("instance", "sop_uid"),
        "SeriesInstanceUID": ("series", "series_uid"),
    },
}

DEFAULT_SORT: dict[BrowseLevel, tuple[str, bool]] = {
    "patient": ("PatientName", False),
    "study": ("StudyDate", True),
    "series": ("SeriesNumber", False),
    "image": ("InstanceNumber", False),
}


def resolve_order(
    level: str, sort: str | None, descending: bool | None, limit: int, offset: int
) -> tuple[BrowseLevel, str, bool]:
    """Check a page request; return (level, sort keyword, descending) with the defaults
    applied: the level's own order, else ascending (a column's first tap)."""
    if level not in COLUMN_NAMES:
        raise QueryError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    browse_level: BrowseLevel = level  # checked just above
    columns = COLUMN_NAMES[browse_level]
    default_sort, default_desc = DEFAULT_SORT[browse_level]
    if descending is None:
        descending = default_desc if sort is None else False
    sort = sort or default_sort
    if sort not in columns:
        raise QueryError(f"cannot sort {level} rows by {sort!r}; columns: {', '.join(columns)}")
    if limit < 0 or offset < 0:
        raise QueryError("limit and offset cannot be negative")
    return browse_level, sort, descending
