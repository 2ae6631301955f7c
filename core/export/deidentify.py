"""De-identification: the PS3.15 Annex E Basic Application Level Confidentiality Profile.

The action of every attribute comes from PS3.15 Table E.1-1 (``core.export.annex_e``, where
its source is stated). This module applies that table to a dataset and to every item of every
sequence in it, recursively, and adds what the table leaves to the implementation:

* private attributes are removed (Table E.1-1, last rows: "Private attributes ... X");
* UIDs (action U, and any other instance UID not in the table) are replaced through one keyed
  hash per export, so the same original UID gets the same new UID in every file of the export
  and every reference (study, series, SOP instance, frame of reference, referenced SOP
  instances) stays valid; references to SOP instances outside the export are removed, since
  they could never resolve;
* dates are removed (the profile), kept (Retain Longitudinal Temporal Information with Full
  Dates Option, PS3.15 E.3.6) or shifted by one offset for the whole export (Modified Dates);
* PatientIdentityRemoved, DeidentificationMethod and DeidentificationMethodCodeSequence record
  what was done (PS3.15 E.1.1 items 6-7; codes from PS3.16 CID 7050);
* the patient gets a new name and ID, chosen by the user or generated;
* remove by default: an attribute the table does not list is kept only when it is a public
  attribute of the data dictionary (the table lists every standard attribute that can identify
  the patient, so the others are safe); an unknown tag, and any element still of VR UN (its
  content cannot be checked), is removed, at every depth. pydicom reads a UN element of a known
  tag with its dictionary VR, so such an element gets the action of its tag;
* Structured Reports: Content Sequence is removed (Table E.1-1: X; C, clean, only under the
  Clean Structured Content Option, which is not offered), so nothing typed into a report
  survives; the document keeps its root (ValueType, Concept Name, flags);
* as a last safety net beyond the table, any person name the table does not list is emptied,
  and any text value (every string VR) still containing the original patient ID, or the
  patient's name in any order of its components and any case ("Family, Given", "given
  family", "Family^Given"), is emptied.

Compound actions depend on the attribute's type in its IOD, which a generic tool does not know;
the choice made here stays conformant for every type: X/Z and X/Z/D empty the value (valid for
Type 2 and 3), Z/D and X/D write a dummy value when there was one (valid for Type 1: Content
Date of an SR document is Type 1), and X/Z/U* keeps the sequence with its UIDs replaced. A
sequence with action D is a dummy: its items are kept only as far as the table keeps their
attributes (each cleaned by the same rules, so none of their original values survives).

Choice of implementation: dicognito replaces every PN/UI/date heuristically but keeps private
tags and descriptions (StudyDescription, ImageComments) that the profile removes; deid's
default recipe is a site recipe, not Annex E (it removes every UID, SOPClassUID included);
dicom-anonymizer ships a faithful copy of Table E.1-1 but applies it to the top level only,
empties the UIDs inside Referenced Image Sequence (breaking references) and records nothing.
So the table is taken from the standard and the engine is ours.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from pydicom.datadict import get_entry, keyword_for_tag
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID

from core.export.annex_e import (
    BASIC_PROFILE,
    BASIC_PROFILE_MASKED,
    IOD_MODULES,
    SOP_CLASS_IODS,
    AttributeTypes,
    iod_attribute_types,
)

log = logging.getLogger(__name__)

DatesOption = Literal["keep", "remove", "shift"]
DATES_OPTIONS: tuple[str, ...] = ("keep", "remove", "shift")

# PS3.16 CID 7050 "De-identification Method": the profile and the options applied.
CODE_BASIC_PROFILE = ("113100", "Basic Application Confidentiality Profile")
CODE_FULL_DATES = ("113106", "Retain Longitudinal Temporal Information Full Dates Option")
CODE_MODIFIED_DATES = ("113107", "Retain Longitudinal Temporal Information Modified Dates Option")

IMPLEMENTATION_VERSION = "DICOM_KIOSK_01"

# Patient's birth date and time are removed under every dates option: none of the options
# that retain dates covers them (PS3.15 E.3.6 retains the dates of the acquisition history).
_ALWAYS_REMOVED_DATES = {0x00100030, 0x00100032}
_PATIENT_NAME, _PATIENT_ID = 0x00100010, 0x00100020
_REFERENCED_SOP_INSTANCE_UID = 0x00081155

# UI attributes that name classes, syntaxes or coding schemes, never instances: kept.
_KEPT_UID_KEYWORDS = {
    "TransferSyntaxUID",
    "ReferencedTransferSyntaxUIDInFile",
    "CodingSchemeUID",
    "MappingResourceUID",
    "ContextUID",
    "PrivateInformationCreatorUID",
    "SOPClassesInStudy",
}
_TEXT_VRS = {"AE", "CS", "LO", "LT", "PN", "SH", "ST", "UC", "UT"}
# Every VR whose value is text, searched by the last safety net (UN is removed before it).
_STRING_VRS = _TEXT_VRS | {"UR", "UN"}
# Numbers, dates and ages: searched only when they hold letters (then they are not what their
# VR says, e.g. an ID in an IS); a valid value never matches, so a numeric ID cannot empty one.
_NUMERIC_VRS = {"AS", "DA", "DS", "DT", "IS", "TM"}
_NOT_A_NUMBER = re.compile(r"[A-DF-Za-df-z]")
_PIXEL_DATA = 0x7FE00010
_BINARY_VRS = ("OB", "OW", "OD", "OF", "OL", "OV", "UN")
_DUMMY_TEXT = "ANONYMIZED"
DUMMY_DATE, DUMMY_DATETIME, DUMMY_TIME = "19000101", "19000101000000", "000000"
_DUMMY_BY_VR: dict[str, Any] = {
    "DA": DUMMY_DATE,
    "DT": DUMMY_DATETIME,
    "TM": DUMMY_TIME,
    "AS": "000Y",
    "DS": "0",
    "IS": "0",
    "UR": "http://anonymized.invalid",
    "FD": 0.0,
    "FL": 0.0,
    "SS": 0,
    "US": 0,
    "SL": 0,
    "UL": 0,
    "SV": 0,
    "UV": 0,
}
# Repeating groups of the Overlay Plane Module (PS3.3 C.9.2): 6000-601E, even groups only.
_OVERLAY_GROUPS = range(0x6000, 0x601F, 2)
# The Common Instance Reference Module (PS3.3 C.12.2): required only when the instance
# references other instances.
_INSTANCE_REFERENCE_SEQUENCES = (
    "ReferencedSeriesSequence",
    "StudiesContainingOtherReferencedInstancesSequence",
)
# Modalities whose images usually carry text burned into the pixels (PS3.15 E.3.1 notes).
BURN_IN_MODALITIES = {"US": "ultrasound", "ES": "endoscopy", "XC": "photography"}
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"


@dataclass(frozen=True)
class DeidentifyOptions:
    """What the user chose for one export."""

    dates: DatesOption = "remove"
    patient_name: str = ""  # empty: generated
    patient_id: str = ""  # empty: generated
    date_offset_days: int | None = None  # for dates="shift"; None: random, one per export

    def __post_init__(self) -> None:
        if self.dates not in DATES_OPTIONS:
            raise ValueError(f"dates must be one of {', '.join(DATES_OPTIONS)}")
        # PN: at most 64 characters per component group; LO: at most 64; one value each.
        for what, value in (("patient name", self.patient_name), ("patient ID", self.patient_id)):
            if len(value) > 60 or "\\" in value or any(ord(c) < 32 for c in value):
                raise ValueError(
                    f"the new {what} must be at most 60 characters, without backslashes"
                    " or control characters"
                )


@dataclass
class DeidentifyReport:
    """What happened to one dataset."""

    warnings: list[str] = field(default_factory=list)
    removed_references: int = 0


def profile_action(tag: int) -> str | None:
    """The Basic Profile action of ``tag`` in Table E.1-1, or None when it is not listed."""
    action = BASIC_PROFILE.get(tag)
    if action is not None:
        return action
    group, element = tag >> 16, tag & 0xFFFF
    for g, e, gmask, emask, masked_action in BASIC_PROFILE_MASKED:
        if group & gmask == g & gmask and element & emask == e & emask:
            return masked_action
    return None


def iod_action(action: str, attribute_type: str | None) -> str:
    """The single action (X, Z, D or U) a Table E.1-1 action means for one attribute.

    PS3.15 E.1.1: a compound action chooses by the attribute's type in the IOD, the least
    that keeps the instance conformant: Z/D is Z unless D is needed for a Type 1 attribute,
    X/Z is X unless Z is needed for a Type 2 (or 1), X/D is X unless D is needed (Type 1),
    X/Z/D is X (Type 3), Z (Type 2) or D (Type 1), and X/Z/U* is X, Z, or U (UIDs replaced)
    for a Type 1 sequence. A Type 2 attribute is emptied even when the action offers no Z
    (X/D): an empty value is what a Type 2 attribute may always have, so no dummy is made up.

    ``attribute_type``: "1", "2" or "3" (1C and 2C count as 1 and 2), or None when the IOD is
    unknown; then the choice is the one conformant for every type (D where the action allows
    it, else U, else Z).
    """
    if "/" not in action:
        return action
    options = action.rstrip("*").split("/")
    if attribute_type is None:
        return next((a for a in ("D", "U", "Z") if a in options), options[0])
    if attribute_type == "1":
        return next((a for a in ("D", "U", "Z") if a in options), options[0])
    if attribute_type == "2":
        return "Z"
    return "X" if "X" in options else "Z"


def is_known_attribute(tag: int) -> bool:
    """Whether ``tag`` is a public attribute of the data dictionary (repeating groups too)."""
    if BaseTag(tag).is_private:
        return False
    try:
        get_entry(tag)
    except KeyError:
        return False
    return True


class PatientMatcher:
    """Finds the patient's name or ID in free text, whatever the order, case and separators.

    A name ``Family^Given^Middle`` is found as any two of its components next to each other, in
    either order, separated by anything that is not a letter or digit (``Family, Given``,
    ``given family``, ``FAMILY^GIVEN``): every longer permutation contains such a pair. A name
    of one component, and the ID, are found as substrings; values shorter than three
    characters are not searched (they would match everywhere).
    """

    def __init__(self, name: str, patient_id: str) -> None:
        patterns: list[str] = []
        for group in name.split("="):  # alphabetic, ideographic, phonetic groups
            parts = [p.strip() for p in group.split("^") if p.strip()]
            if len(parts) == 1 and len(parts[0]) >= 3:
                patterns.append(re.escape(parts[0]))
            for i, first in enumerate(parts):
                for j, second in enumerate(parts):
                    if i != j and len(first) + len(second) >= 3:
                        patterns.append(rf"{re.escape(first)}[\W_]*{re.escape(second)}")
        whole = name.strip()
        if len(whole) >= 3:
            patterns.append(re.escape(whole))
            patterns.append(re.escape(whole.replace("^", " ").strip()))
        if len(patient_id.strip()) >= 3:
            patterns.append(re.escape(patient_id.strip()))
        self._regex = re.compile("|".join(patterns), re.IGNORECASE) if patterns else None

    def found_in(self, text: str) -> bool:
        return self._regex is not None and self._regex.search(text) is not None


def is_instance_uid(keyword: str, value: str) -> bool:
    """Whether a UI value identifies an instance (to be replaced) rather than a class."""
    if not value or keyword.endswith("ClassUID") or keyword in _KEPT_UID_KEYWORDS:
        return False
    return UID(value).name == value  # registered UIDs (classes, syntaxes, ...) have names


def burned_in_warning(ds: Dataset) -> str:
    """A warning when the pixels may show identifying text, else an empty string."""
    burned = str(ds.get("BurnedInAnnotation", "") or "").strip().upper()
    modality = str(ds.get("Modality", "") or "").strip().upper()
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if burned == "YES":
        return "BurnedInAnnotation is YES: the pixels show identifying text"
    if burned == "NO":
        return ""
    if modality in BURN_IN_MODALITIES:
        return f"{BURN_IN_MODALITIES[modality]} images often show identifying text in the pixels"
    if sop_class.startswith(SECONDARY_CAPTURE_PREFIX) or modality in ("SC", "OT"):
        return "secondary captures often show identifying text in the pixels"
    if modality in ("CR", "DX") and "PixelData" in ds:
        return "radiographs may show identifying text in the pixels (no BurnedInAnnotation)"
    return ""


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple | MultiValue):
        return "\\".join(_text_of(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("latin-1", "replace")
    return str(value)


class Deidentifier:
    """Applies the profile to the datasets of one export, with mappings shared by all of them.

    ``exported_sop_uids``: the original SOP Instance UIDs in the export; references to other
    instances are removed. None keeps every reference (remapped).
    """

    def __init__(
        self, options: DeidentifyOptions, exported_sop_uids: Iterable[str] | None = None
    ) -> None:
        self.options = options
        self._key = secrets.token_bytes(32)
        self.exported = set(exported_sop_uids) if exported_sop_uids is not None else None
        offset = options.date_offset_days
        if offset is None:
            offset = -(365 + secrets.randbelow(3650))
        self.date_offset = timedelta(days=offset)
        self._patients: dict[tuple[str, str], tuple[str, str]] = {}

    # -- consistent replacements ----------------------------------------------------------
    def new_uid(self, old: str) -> str:
        """The replacement of ``old``: the same in every file, not reversible without the key."""
        digest = hmac.new(self._key, old.strip().encode("ascii", "replace"), hashlib.sha256)
        return f"2.25.{uuid.UUID(bytes=digest.digest()[:16], version=4).int}"

    def new_patient(self, patient_id: str, patient_name: str) -> tuple[str, str]:
        """New (name, ID) for an original patient; the user's choice or generated."""
        key = (patient_id.strip(), patient_name.strip())
        if key not in self._patients:
            number = len(self._patients) + 1
            token = hmac.new(self._key, "\x00".join(key).encode(), hashlib.sha256).hexdigest()
            name = self.options.patient_name or f"ANONYMOUS^{token[:6].upper()}"
            pid = self.options.patient_id or f"ANON{token[6:14].upper()}"
            if number > 1:  # several patients: never merge them under one identity
                if self.options.patient_name:
                    name = f"{name} {number}"
                if self.options.patient_id:
                    pid = f"{pid}-{number}"
            self._patients[key] = (name, pid)
        return self._patients[key]

    def shift_date(self, value: str) -> str:
        text = value.strip()
        try:
            shifted = date(int(text[0:4]), int(text[4:6]), int(text[6:8])) + self.date_offset
        except (ValueError, IndexError):
            return ""  # not a full date: cannot be shifted, so it is removed
        return shifted.strftime("%Y%m%d") + text[8:]

    # -- the profile ----------------------------------------------------------------------
    def apply(self, ds: Dataset, patient_key: str | None = None) -> DeidentifyReport:
        """De-identify ``ds`` in place (file meta included) and return what to tell the user.

        ``patient_key``: the index's identity of the patient (so that every file of one
        patient gets the same new identity even when names are spelled differently).
        """
        report = DeidentifyReport()
        warning = burned_in_warning(ds)
        if warning:
            report.warnings.append(warning)
        original_id = _value_text(ds, "PatientID")
        original_name = _value_text(ds, "PatientName")
        needles = PatientMatcher(original_name, original_id)
        new_name, new_id = self.new_patient(
            original_id if patient_key is None else patient_key,
            original_name if patient_key is None else "",
        )

        types = iod_attribute_types(str(ds.get("SOPClassUID", "") or ""))
        self._clean(ds, _Work(report, needles, types))
        if self.exported is not None:
            _drop_unneeded_instance_references(ds)

        if _needs_utf8(ds, (new_name, new_id)):
            ds.SpecificCharacterSet = "ISO_IR 192"
        ds.PatientName = new_name
        ds.PatientID = new_id
        ds.PatientIdentityRemoved = "YES"
        methods = ["DICOM PS3.15 E Basic Profile", f"dates {self.options.dates}"]
        ds.DeidentificationMethod = methods
        codes = [CODE_BASIC_PROFILE]
        if self.options.dates == "keep":
            codes.append(CODE_FULL_DATES)
        elif self.options.dates == "shift":
            codes.append(CODE_MODIFIED_DATES)
        items = []
        for value, meaning in codes:
            item = Dataset()
            item.CodeValue = value
            item.CodingSchemeDesignator = "DCM"
            item.CodeMeaning = meaning
            items.append(item)
        ds.DeidentificationMethodCodeSequence = Sequence(items)
        ds.LongitudinalTemporalInformationModified = {
            "keep": "UNMODIFIED",
            "shift": "MODIFIED",
            "remove": "REMOVED",
        }[self.options.dates]
        self._new_file_meta(ds)
        return report

    def _new_file_meta(self, ds: Dataset) -> None:
        old = getattr(ds, "file_meta", None)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = UID(str(ds.get("SOPClassUID", "")))
        meta.MediaStorageSOPInstanceUID = UID(str(ds.get("SOPInstanceUID", "")))
        if old is not None and old.get("TransferSyntaxUID"):
            meta.TransferSyntaxUID = old.TransferSyntaxUID
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        meta.ImplementationVersionName = IMPLEMENTATION_VERSION
        ds.file_meta = meta

    def _clean(self, ds: Dataset, work: _Work, path: tuple[str, ...] = ()) -> None:
        """Apply the table to every element of ``ds`` and, recursively, of its sequences.

        ``path``: the keywords of the sequences ``ds`` is an item of, for the IOD's types.
        """
        dates = self.options.dates
        for key in list(ds.keys()):
            tag = BaseTag(key)
            elem = _kept_element(ds, tag)
            if elem is None:
                continue
            action = profile_action(int(tag))
            vr = elem.VR
            here = (*path, keyword_for_tag(tag) or f"{int(tag):08X}")
            if vr in ("DA", "DT", "TM") and int(tag) not in _ALWAYS_REMOVED_DATES:
                if dates == "keep":
                    continue
                if dates == "shift":
                    if vr != "TM":
                        self._shift(elem)
                    continue
            if action is None:
                self._unlisted(ds, elem, work, here)
                continue
            if action == "X/Z/U*" and vr == "SQ":
                # References among the exported instances stay (U keeps them resolvable);
                # the others go, and an emptied sequence then gets its type's X, Z or U.
                self._sequence(ds, elem, work, here)
                continue
            kind = work.type_of(here)
            chosen = iod_action(action, kind)
            if kind is None and chosen == "D" and action != "D" and elem.is_empty:
                chosen = "Z"  # unknown IOD: an empty value stays empty rather than made up
            if chosen == "X":
                del ds[tag]
            elif chosen == "U":
                if vr == "SQ":
                    self._sequence(ds, elem, work, here)
                else:
                    self._remap(elem)
            elif chosen == "D":
                self._dummy(ds, elem, work, here)
            else:
                _empty(elem)

    def _unlisted(self, ds: Dataset, elem: DataElement, work: _Work, here: tuple[str, ...]) -> None:
        """An attribute the table does not list: kept, with the safety nets described above."""
        vr = elem.VR
        if vr == "SQ":
            self._sequence(ds, elem, work, here)
        elif vr == "UI":
            keyword = keyword_for_tag(elem.tag) or ""
            values = elem.value if isinstance(elem.value, MultiValue) else [elem.value]
            if any(is_instance_uid(keyword, str(v or "").strip()) for v in values):
                self._remap(elem)
        elif vr == "PN":
            _empty(elem)
        elif vr in _STRING_VRS or vr in _NUMERIC_VRS:
            text = _text_of(elem.value)
            if vr in _NUMERIC_VRS and not _NOT_A_NUMBER.search(text):
                return
            if work.needles.found_in(text):
                _empty(elem)

    def _sequence(self, ds: Dataset, elem: DataElement, work: _Work, here: tuple[str, ...]) -> None:
        """Clean the items of a kept sequence; drop the items that reference other instances.

        An item whose Referenced SOP Instance UID is not in the export is removed, as long as
        the sequence may lose it: when no item would be left, a Type 1 sequence (or one of an
        unknown IOD) keeps its items, their UIDs replaced; a Type 2 sequence is left empty; a
        Type 3 sequence is removed.
        """
        items = list(elem.value or [])
        kept = [item for item in items if not self._points_outside(item)]
        kind = work.type_of(here)
        if items and not kept and kind in (None, "1"):
            kept = items  # the IOD needs an item here: references kept, never resolvable
        work.report.removed_references += len(items) - len(kept)
        for item in kept:
            self._clean(item, work, here)
        if items and not kept and kind == "3":
            del ds[elem.tag]
            return
        elem.value = Sequence(kept)

    def _points_outside(self, item: Dataset) -> bool:
        ref = item.get(_REFERENCED_SOP_INSTANCE_UID)
        if ref is None or self.exported is None:
            return False
        value = str(ref.value or "").strip()
        return bool(value) and value not in self.exported

    def _remap(self, elem: DataElement) -> None:
        if elem.VR != "UI":
            _empty(elem)
            return
        value = elem.value
        if isinstance(value, MultiValue | list):
            elem.value = [self.new_uid(str(v)) for v in value if str(v).strip()]
        elif value:
            elem.value = self.new_uid(str(value))

    def _shift(self, elem: DataElement) -> None:
        value = elem.value
        if isinstance(value, MultiValue | list):
            elem.value = [self.shift_date(str(v)) for v in value]
        elif value:
            elem.value = self.shift_date(str(value))

    def _dummy(self, ds: Dataset, elem: DataElement, work: _Work, here: tuple[str, ...]) -> None:
        vr = elem.VR
        if vr == "SQ":  # a dummy sequence: its items, cleaned by the same table
            self._sequence(ds, elem, work, here)
        elif vr == "UI":
            self._remap(elem)
        elif vr in _TEXT_VRS:
            elem.value = _DUMMY_TEXT
        elif vr in _DUMMY_BY_VR:
            elem.value = _DUMMY_BY_VR[vr]
        elif vr in _BINARY_VRS:
            elem.value = b"\x00\x00"
        else:
            del ds[elem.tag]


@dataclass
class _Work:
    """What the cleaning of one dataset carries down into its sequences."""

    report: DeidentifyReport
    needles: PatientMatcher
    types: AttributeTypes | None  # the IOD's attribute types; None: IOD unknown

    def type_of(self, path: tuple[str, ...]) -> str | None:
        """ "1", "2" or "3" for the attribute at ``path`` in the IOD; None: IOD unknown."""
        if self.types is None:
            return None
        return self.types.get(path, "3")


def _drop_unneeded_instance_references(ds: Dataset) -> None:
    """Remove the Common Instance Reference Module when nothing in ``ds`` references anymore.

    Its sequences are Type 1C, required only if the instance references other instances
    (PS3.3 C.12.2); once the references outside the export are gone, they must go too.
    """
    sop_class = str(ds.get("SOPClassUID", "") or "").strip()
    if "common-instance-reference" not in IOD_MODULES.get(SOP_CLASS_IODS.get(sop_class, ""), ()):
        return
    if not any(keyword in ds for keyword in _INSTANCE_REFERENCE_SEQUENCES):
        return
    for elem in ds:
        if elem.VR != "SQ" or elem.keyword in _INSTANCE_REFERENCE_SEQUENCES:
            continue
        for item in elem.value or []:
            if any(sub.tag == _REFERENCED_SOP_INSTANCE_UID for sub in item.iterall()):
                return
    for keyword in _INSTANCE_REFERENCE_SEQUENCES:
        if keyword in ds:
            delattr(ds, keyword)


def _kept_element(ds: Dataset, tag: BaseTag) -> DataElement | None:
    """The element at ``tag`` to apply the table to, or None when it is removed outright."""
    if tag.is_private or tag.element == 0x0000:
        del ds[tag]  # private attributes: X; group lengths would be stale
        return None
    if tag.group in _OVERLAY_GROUPS:
        del ds[tag]  # Overlay Data is X: the rest of its overlay would describe nothing
        return None
    try:
        elem = ds[tag]
    except Exception:  # an element pydicom cannot decode: nothing of it may leak
        log.debug("removing undecodable element %s", tag, exc_info=True)
        del ds[tag]
        return None
    if elem.VR == "UN" and int(tag) != _PIXEL_DATA:
        del ds[tag]  # its content cannot be checked (a known tag was decoded already)
        return None
    if profile_action(int(tag)) is None and not is_known_attribute(int(tag)):
        del ds[tag]  # not in the data dictionary: nothing says what it holds
        return None
    return elem


def _value_text(ds: Dataset, keyword: str) -> str:
    try:
        return _text_of(ds.get(keyword, "")).strip()
    except Exception:  # undecodable: the element is removed by the table anyway
        return ""


def _empty(elem: DataElement) -> None:
    if elem.VR == "SQ":
        elem.value = Sequence()
    elif elem.VR in _BINARY_VRS:
        elem.value = b""
    else:
        elem.value = None


def _needs_utf8(ds: Dataset, values: Iterable[str]) -> bool:
    """Whether ``values`` cannot be written in the dataset's character set (ASCII assumed)."""
    if str(ds.get("SpecificCharacterSet", "") or "").upper().endswith("192"):
        return False
    return any(not v.isascii() for v in values)
