"""C-FIND comparison battery: the same data in our node, dcmqrscp and Orthanc, one table of
queries (every level, every kind of key), the answers compared attribute by attribute.

Every difference found must be listed, with its reason, in the Conformance Statement
(docs/conformance.md, the table between ``differences:begin`` and ``differences:end``), and
every difference listed there must still be found: the statement cannot drift from the node.
The other tests here check, against the same peers, what the node was fixed to answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pynetdicom import AE as SCU
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    PatientRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelFind,
)

from tests.integration.conformance_data import MULLER_SERIES, MULLER_STUDY, Peer, loaded_peers
from tests.support.dcmtk import dcmtk, run

pytestmark = pytest.mark.integration

STATEMENT = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"
PATIENT_ROOT = PatientRootQueryRetrieveInformationModelFind
STUDY_ROOT = StudyRootQueryRetrieveInformationModelFind

CT_STUDY = "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
CT_SERIES = "1.3.6.1.4.1.5962.1.3.1.1.20040119072730.12322"
OVERLAY_STUDY = "1.2.124.113532.10.122.1.203.20051130.122937.2950157"
OVERLAY_SERIES = "1.3.12.2.1107.5.2.30.25641.30010005113009191059300000190"
PALETTE_STUDY = "1.3.46.670589.14.1000.210.4.199999.20110525182825.1.0"
RTPLAN_STUDY = "1.22.333.4.555555.6.7777777777777777777777777777"
BIG_ENDIAN_STUDY = "1.2.840.113619.2.21.848.246800003.0.1952805748.3"

PATIENT_KEYS = {"PatientName": "", "PatientID": "", "PatientBirthDate": "", "PatientSex": ""}
STUDY_KEYS = {
    "StudyInstanceUID": "",
    "StudyDate": "",
    "StudyTime": "",
    "AccessionNumber": "",
    "StudyID": "",
    "StudyDescription": "",
    "ReferringPhysicianName": "",
    "PatientName": "",
    "PatientID": "",
    "ModalitiesInStudy": "",
    "NumberOfStudyRelatedSeries": "",
    "NumberOfStudyRelatedInstances": "",
}
SERIES_KEYS = {
    "SeriesInstanceUID": "",
    "Modality": "",
    "SeriesNumber": "",
    "SeriesDescription": "",
    "BodyPartExamined": "",
    "SeriesDate": "",
    "SeriesTime": "",
    "NumberOfSeriesRelatedInstances": "",
}
IMAGE_KEYS = {
    "SOPInstanceUID": "",
    "SOPClassUID": "",
    "InstanceNumber": "",
    "NumberOfFrames": "",
    "Rows": "",
    "Columns": "",
}
# Optional image keys outside our index, each of another VR (DS, IS, LT, DA, TM, DT, US, CS)
OPTIONAL_IMAGE_KEYS = {
    "ImagePositionPatient": "",
    "AcquisitionNumber": "",
    "ImageComments": "",
    "ContentDate": "",
    "ContentTime": "",
    "AcquisitionDateTime": "",
    "BitsAllocated": "",
    "ImageType": "",
}
UNIQUE = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}


@dataclass(frozen=True)
class Query:
    name: str
    level: str
    keys: dict[str, Any]
    model: str = STUDY_ROOT


def _study(name: str, **keys: Any) -> Query:
    return Query(name, "STUDY", {**STUDY_KEYS, **keys})


def _patient(name: str, **keys: Any) -> Query:
    counts = {"NumberOfPatientRelatedStudies": "", "NumberOfPatientRelatedInstances": ""}
    return Query(name, "PATIENT", {**PATIENT_KEYS, **counts, **keys}, PATIENT_ROOT)


def _series(name: str, study: str, **keys: Any) -> Query:
    return Query(name, "SERIES", {**SERIES_KEYS, "StudyInstanceUID": study, **keys})


def _image(name: str, study: str, series: str, **keys: Any) -> Query:
    uids = {"StudyInstanceUID": study, "SeriesInstanceUID": series}
    return Query(name, "IMAGE", {**IMAGE_KEYS, **uids, **keys})


QUERIES = [
    _patient("patients"),
    _patient("patient name wildcard *", PatientName="Compressed*"),
    _patient("patient name wildcard ?", PatientName="?estrade^G"),
    _patient("patient name other case", PatientName="lestrade^g"),
    _patient("patient name in UTF-8", PatientName="Müller*"),
    _patient("patient ID", PatientID="id00001"),
    _patient("patient birth date range", PatientBirthDate="19700101-19801231"),
    _patient("patients without ID", PatientID="", PatientName="Nobody*"),
    _study("studies"),
    _study("study date range", StudyDate="20040101-20041231"),
    _study("study date up to", StudyDate="-20031231"),
    _study("study date from", StudyDate="20110101-"),
    _study("study date single", StudyDate="20040119"),
    _study("study date ACR-NEMA form", StudyDate="1997.04.24"),
    _study("study time range", StudyTime="070000-120000"),
    _study("study UID list", StudyInstanceUID=f"{CT_STUDY}\\{MULLER_STUDY}"),
    _study("modalities in study", ModalitiesInStudy="MR"),
    _study("accession number", AccessionNumber="ACC-17"),
    _study("referring physician wildcard", ReferringPhysicianName="ärzte*"),
    _study("study description wildcard", StudyDescription="*nativ"),
    Query(
        "patient root study",
        "STUDY",
        {"PatientID": "PID-M", "StudyInstanceUID": "", "StudyDate": "", "StudyDescription": ""},
        PATIENT_ROOT,
    ),
    _series("series of a study", MULLER_STUDY),
    _series("series modality wildcard", MULLER_STUDY, Modality="M?"),
    _series("series number", MULLER_STUDY, SeriesNumber="2"),
    _series("series date range", MULLER_STUDY, SeriesDate="20240101-20240131"),
    _image("images of a series", MULLER_STUDY, MULLER_SERIES["CT"]),
    _image("image numeric keys", CT_STUDY, CT_SERIES, **OPTIONAL_IMAGE_KEYS),
    _image("image instance number", MULLER_STUDY, MULLER_SERIES["CT"], InstanceNumber="2"),
    _image(
        "image SOP class list",
        MULLER_STUDY,
        MULLER_SERIES["CT"],
        SOPClassUID="1.2.840.10008.5.1.4.1.1.2\\1.2.840.10008.5.1.4.1.1.4",
    ),
    _image(
        "image sequence key",
        OVERLAY_STUDY,
        OVERLAY_SERIES,
        ReferencedImageSequence=[{}],
    ),
    _image(
        "image sequence key with item keys",
        OVERLAY_STUDY,
        OVERLAY_SERIES,
        ReferencedImageSequence=[{"ReferencedSOPClassUID": ""}],
    ),
    Query(
        "patient root image",
        "IMAGE",
        {
            "PatientID": "1CT1",
            "StudyInstanceUID": CT_STUDY,
            "SeriesInstanceUID": CT_SERIES,
            "SOPInstanceUID": "",
            "Rows": "",
            "Columns": "",
        },
        PATIENT_ROOT,
    ),
]


# -- talking to the peers --------------------------------------------------------------------
def _identifier(level: str, keys: dict[str, Any]) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword, value in keys.items():
        if isinstance(value, list):
            setattr(ds, keyword, Sequence([_identifier_item(item) for item in value]))
        else:
            setattr(ds, keyword, value or None)  # None: an empty key of any VR
    return ds


def _identifier_item(keys: dict[str, str]) -> Dataset:
    item = Dataset()
    for keyword, value in keys.items():
        setattr(item, keyword, value or None)
    return item


def c_find(peer: Peer, query: Query) -> tuple[int, list[Dataset]]:
    """(final status, answers) of ``query`` sent to ``peer``."""
    scu = SCU(ae_title="BATTERY")
    scu.add_requested_context(query.model)
    assoc = scu.associate("127.0.0.1", peer.port, ae_title=peer.ae_title)
    if not assoc.is_established:
        raise AssertionError(f"{peer.name} did not accept the association")
    answers: list[Dataset] = []
    final = -1
    try:
        for status, answer in assoc.send_c_find(_identifier(query.level, query.keys), query.model):
            if status is None:
                raise AssertionError(f"{peer.name} did not answer {query.name!r}")
            if status.Status in (0xFF00, 0xFF01):
                answers.append(answer)
            else:
                final = int(status.Status)
    finally:
        assoc.release()
    return final, answers


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Peer]]:
    with loaded_peers(tmp_path_factory.mktemp("battery")) as (_files, loaded):
        yield loaded


@pytest.fixture(scope="module")
def answers(peers: dict[str, Peer]) -> dict[str, dict[str, tuple[int, list[Dataset]]]]:
    """Every query's answers from every peer: query name -> peer name -> (status, answers)."""
    return {q.name: {name: c_find(peer, q) for name, peer in peers.items()} for q in QUERIES}


# -- comparing answers ------------------------------------------------------------------------
def _number(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else repr(number)


def normalised(element: DataElement) -> Any:
    """A comparable form of an answer's value: text stripped, numbers as numbers,
    multiple values joined, sequences as tuples of items."""
    if element.VR == "SQ":
        return tuple(tuple(sorted(_values(item).items())) for item in element.value)
    value = element.value
    if value is None or value in ("", b""):
        return ""
    values = list(value) if type(value).__name__ == "MultiValue" else [value]
    numeric = element.VR in {"IS", "DS", "US", "SS", "UL", "SL", "FL", "FD"}
    texts = [str(v).strip() for v in values]
    return "\\".join(_number(t) if numeric else t for t in texts)


def _values(ds: Dataset) -> dict[str, Any]:
    skip = {"SpecificCharacterSet", "QueryRetrieveLevel"}
    return {e.keyword or str(e.tag): normalised(e) for e in ds if e.keyword not in skip}


@dataclass(frozen=True, order=True)
class Difference:
    peer: str
    attribute: str
    kind: str


KINDS = {
    "omitted": "the peer leaves the key out",
    "added": "the peer answers a key we leave out",
    "empty here": "we answer it empty, the peer with a value",
    "empty there": "the peer answers it empty, we with a value",
    "value": "both answer it, with other values",
    "answers": "the peers answer with other matches",
    "status": "the peers end the query with other statuses",
}


@dataclass
class Comparison:
    found: dict[Difference, list[str]] = field(default_factory=dict)

    def add(self, difference: Difference, example: str) -> None:
        self.found.setdefault(difference, []).append(example)


def compare(
    queries: list[Query],
    answered: dict[str, dict[str, tuple[int, list[Dataset]]]],
    titles: dict[str, str],
) -> Comparison:
    """Each peer's answers against ours, attribute by attribute."""
    result = Comparison()
    for query in queries:
        status, ours = answered[query.name]["kiosk"]
        unique = UNIQUE[query.level]
        mine = {str(a.get(unique, "")): _values(a) for a in ours}
        for peer, (peer_status, theirs) in answered[query.name].items():
            if peer == "kiosk":
                continue
            if peer_status != status:
                example = f"{query.name}: 0x{status:04X} here, 0x{peer_status:04X} there"
                result.add(Difference(peer, f"({query.name})", "status"), example)
                continue
            other = {str(a.get(unique, "")): _values(a) for a in theirs}
            if sorted(mine) != sorted(other) or len(theirs) != len(ours):
                example = f"{len(ours)} here {sorted(mine)}, {len(theirs)} there {sorted(other)}"
                result.add(Difference(peer, f"({query.name})", "answers"), example)
            for match in sorted(set(mine) & set(other)):
                _compare_answer(result, peer, query.name, mine[match], other[match], titles)
    return result


def _compare_answer(
    result: Comparison,
    peer: str,
    query: str,
    mine: dict[str, Any],
    other: dict[str, Any],
    titles: dict[str, str],
) -> None:
    for attribute in sorted(set(mine) | set(other)):
        here, there = mine.get(attribute), other.get(attribute)
        if attribute == "RetrieveAETitle":  # each answers its own AE title
            here = "own" if here == titles["kiosk"] else here
            there = "own" if there == titles[peer] else there
        if here == there:
            continue
        if there is None:
            kind = "omitted"
        elif here is None:
            kind = "added"
        elif here == "":
            kind = "empty here"
        elif there == "":
            kind = "empty there"
        else:
            kind = "value"
        result.add(Difference(peer, attribute, kind), f"{query}: {here!r} here, {there!r} there")


# -- the statement's table of differences ------------------------------------------------------
def documented() -> dict[Difference, str]:
    """The statement's rows between ``differences:begin`` and ``differences:end``; a row's
    Peer and Attribute cells may each list several, separated by ", "."""
    text = STATEMENT.read_text(encoding="utf-8")
    table = text.split("<!-- differences:begin -->", 1)[1].split("<!-- differences:end -->")[0]
    rows: dict[Difference, str] = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("Peer", "") or set(cells[0]) <= {"-", ":"}:
            continue
        peers, attributes, kind, reason = cells
        for peer in peers.split(", "):
            for attribute in attributes.split(", "):
                rows[Difference(peer, attribute.strip("`"), kind)] = reason
    return rows


def test_every_difference_from_the_peers_is_in_the_statement(
    peers: dict[str, Peer], answers: dict[str, dict[str, tuple[int, list[Dataset]]]]
) -> None:
    titles = {name: peer.ae_title for name, peer in peers.items()}
    found = compare(QUERIES, answers, titles).found
    listed = documented()
    unlisted = sorted(set(found) - set(listed))
    stale = sorted(set(listed) - set(found))
    lines = []
    for diff in unlisted:
        lines.append(f"| {diff.peer} | `{diff.attribute}` | {diff.kind} | ? |")
        lines.extend(f"      e.g. {example}" for example in found[diff][:3])
    message = ""
    if unlisted:
        message += "differences not in docs/conformance.md (fix them or list them):\n"
        message += "\n".join(lines) + "\n"
    if stale:
        message += "rows of docs/conformance.md no peer shows any more (remove them):\n"
        message += "\n".join(f"| {d.peer} | `{d.attribute}` | {d.kind} |" for d in stale)
    assert not message, message
    assert all(reason and reason != "?" for reason in listed.values())
    assert {d.kind for d in listed} <= set(KINDS)


def test_the_battery_covers_every_level_and_kind_of_key() -> None:
    levels = {q.level for q in QUERIES}
    assert levels == set(UNIQUE)
    values = [v for q in QUERIES for v in q.keys.values()]
    assert any(isinstance(v, str) and "*" in v for v in values)  # wildcards
    assert any(isinstance(v, str) and "?" in v for v in values)
    assert any(isinstance(v, str) and re.fullmatch(r"\d*-\d*", v) and v != "-" for v in values)
    assert any(isinstance(v, str) and "\\" in v for v in values)  # lists of UIDs
    assert any(isinstance(v, list) for v in values)  # sequence keys
    assert 20 <= len(QUERIES) <= 40


# -- what the node was fixed to answer, checked against the same peers ------------------------
def _all(answers: dict[str, dict[str, tuple[int, list[Dataset]]]], query: str) -> dict[str, Any]:
    return {peer: got for peer, got in answers[query].items()}


def test_image_level_numeric_return_keys_encode(peers: dict[str, Peer], tmp_path: Path) -> None:
    """Rows and Columns (US) as return keys: every image answered, as the peers do, with
    the numbers they answer; DCMTK's findscu reads the answers."""
    counts = {}
    rows = {}
    for name, peer in peers.items():
        out = tmp_path / name
        out.mkdir()
        args = [dcmtk("findscu"), "-S", "-X", "-od", str(out), "-aec", peer.ae_title]
        args += ["127.0.0.1", str(peer.port), "-k", "QueryRetrieveLevel=IMAGE"]
        args += ["-k", f"StudyInstanceUID={MULLER_STUDY}"]
        args += ["-k", f"SeriesInstanceUID={MULLER_SERIES['CT']}"]
        args += ["-k", "SOPInstanceUID", "-k", "Rows", "-k", "Columns"]
        result = run(args, check=False)
        assert "UnableToProcess" not in result.stderr + result.stdout, (name, result.stderr)
        from pydicom import dcmread

        found = [dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]
        counts[name] = len(found)
        rows[name] = sorted((str(a.SOPInstanceUID), a.get("Rows"), a.get("Columns")) for a in found)
    assert counts["kiosk"] == counts["dcmqrscp"] == counts["orthanc"] == 2, counts
    assert rows["kiosk"] == rows["orthanc"], rows
    assert all(r == 2 and c == 2 for _sop, r, c in rows["kiosk"])


def test_numeric_keys_of_every_vr_encode_for_every_image(
    peers: dict[str, Peer], answers: dict[str, dict[str, tuple[int, list[Dataset]]]]
) -> None:
    status, ours = answers["image numeric keys"]["kiosk"]
    assert status == 0 and len(ours) == 1
    assert ours[0].Rows == 128 and ours[0].Columns == 128
    _status, theirs = answers["image numeric keys"]["orthanc"]
    for keyword in ("ImagePositionPatient", "AcquisitionNumber", "ImageComments", "Rows"):
        assert normalised(ours[0][keyword]) == normalised(theirs[0][keyword]) != "", keyword


def test_acr_nema_dates_are_answered_whole(
    answers: dict[str, dict[str, tuple[int, list[Dataset]]]],
) -> None:
    """A study dated 1997.04.24 (the ACR-NEMA form) is answered 19970424, found by either
    form, as dcmqrscp and Orthanc find it (they answer the stored form)."""
    for query in ("studies", "study date ACR-NEMA form"):
        by_uid = {
            peer: {str(a.StudyInstanceUID): str(a.StudyDate) for a in got}
            for peer, (_status, got) in answers[query].items()
        }
        assert by_uid["kiosk"][BIG_ENDIAN_STUDY] == "19970424", query
        assert by_uid["orthanc"][BIG_ENDIAN_STUDY].replace(".", "") == "19970424", query


def test_retrieve_ae_title_is_in_every_answer(
    peers: dict[str, Peer], answers: dict[str, dict[str, tuple[int, list[Dataset]]]]
) -> None:
    for query in QUERIES:
        for peer in ("kiosk", "orthanc"):
            _status, got = answers[query.name][peer]
            titles = {str(a.get("RetrieveAETitle", "")) for a in got}
            assert titles <= {peers[peer].ae_title}, (query.name, peer, titles)
            assert got == [] or titles, (query.name, peer)


def test_patients_without_an_id_are_one_patient(
    answers: dict[str, dict[str, tuple[int, list[Dataset]]]],
) -> None:
    """As in dcmqrscp and Orthanc, Patient ID is the patient level's unique key: the four
    patients stored without one are one answer (counts summed), not one per name."""
    for peer, (_status, got) in answers["patients"].items():
        without = [a for a in got if not str(a.get("PatientID", ""))]
        assert len(without) == 1, (peer, [str(a.PatientName) for a in without])
    ours = next(a for a in answers["patients"]["kiosk"][1] if not str(a.PatientID))
    orthanc = next(a for a in answers["patients"]["orthanc"][1] if not str(a.PatientID))
    assert int(ours.NumberOfPatientRelatedStudies) == int(orthanc.NumberOfPatientRelatedStudies)


def test_optional_image_keys_are_filled_from_the_stored_image(
    answers: dict[str, dict[str, tuple[int, list[Dataset]]]],
) -> None:
    """Image-level keys the index does not hold are read from the image, as Orthanc fills
    them; a sequence key returns its items (with only the keys asked for, if any)."""
    _status, ours = answers["image numeric keys"]["kiosk"]
    _status, orthanc = answers["image numeric keys"]["orthanc"]
    for keyword in OPTIONAL_IMAGE_KEYS:
        if keyword in orthanc[0] and normalised(orthanc[0][keyword]) != "":
            assert normalised(ours[0][keyword]) == normalised(orthanc[0][keyword]), keyword
    _status, whole = answers["image sequence key"]["kiosk"]
    assert len(whole[0].ReferencedImageSequence) > 0
    assert "ReferencedSOPInstanceUID" in whole[0].ReferencedImageSequence[0]
    _status, only = answers["image sequence key with item keys"]["kiosk"]
    items = only[0].ReferencedImageSequence
    assert len(items) == len(whole[0].ReferencedImageSequence)
    assert [e.keyword for e in items[0]] == ["ReferencedSOPClassUID"]
