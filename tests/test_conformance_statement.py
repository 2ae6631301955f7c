"""The Conformance Statement (docs/conformance.md) against the code's own tables.

Each table of the statement between ``<!-- table:NAME:begin -->`` and ``<!-- table:NAME:end -->``
is rendered here from the constants the node runs with (its SOP classes and transfer
syntaxes, its return keys per level, its limits and their defaults); a table that differs
fails with a diff. ``python -m tests.test_conformance_statement --update`` rewrites them.
The differences from dcmqrscp and Orthanc are checked by
tests/integration/test_conformance_battery.py.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.tag import Tag
from pydicom.uid import UID
from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

from core import config
from core.net import association, qr
from core.node import limits, matching, server

STATEMENT = Path(__file__).resolve().parents[1] / "docs" / "conformance.md"
MARK = re.compile(r"<!-- table:([a-z-]+):begin -->\n(.*?)<!-- table:\1:end -->", re.S)

MATCHING = {
    "pn": "single value (case-insensitive), wildcard, universal",
    "text": "single value, wildcard, universal",
    "uid": "single value, list of UIDs, universal",
    "date": "single value, range, universal",
    "time": "single value, range, universal",
    "int": "single value, universal",
    "count": "return key only",
    "modalities": "single value, wildcard, list (any of), universal",
}
UNIQUE_KEYS = {"PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"}


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _uids(uids: list[str] | tuple[str, ...]) -> str:
    return _table(["Name", "UID"], [[UID(u).name, f"`{u}`"] for u in uids])


def implementation() -> str:
    defaults = config.Settings(Path("."))  # the dataclass defaults, no file read
    return _table(
        ["Item", "Value"],
        [
            ["Implementation Class UID", f"`{PYNETDICOM_IMPLEMENTATION_UID}`"],
            ["Implementation Version Name", f"`{PYNETDICOM_IMPLEMENTATION_VERSION}`"],
            ["AE title (default, setting `ae_title`)", f"`{defaults.ae_title}`"],
            ["Port (default, setting `port`)", f"`{defaults.port}`"],
            ["Maximum PDU length received, storage-only associations", f"{limits.MAX_RECEIVE_PDU}"],
            ["Maximum PDU length received, other associations",
             f"{limits.MAX_RECEIVE_PDU_PYNETDICOM}"],
        ],
    )  # fmt: skip


def scp_services() -> str:
    return _uids([server.VERIFICATION_SCP, *server.QUERY_RETRIEVE_SCP])


def scp_storage() -> str:
    return _uids(server.STORAGE_SCP)


def scp_storage_syntaxes() -> str:
    return _uids(server.STORAGE_TRANSFER_SYNTAXES)


def scp_service_syntaxes() -> str:
    return _uids(server.SERVICE_TRANSFER_SYNTAXES)


def scu_services() -> str:
    models = sorted(
        {str(v) for k, v in vars(qr).items() if k.endswith(("ModelFind", "ModelMove", "ModelGet"))}
    )
    return _uids([server.VERIFICATION_SCP, *models])


def scu_storage_syntaxes() -> str:
    return _uids([str(ts) for ts in association.STORAGE_SYNTAXES])


def return_keys() -> str:
    rows = []
    for level in matching.LEVELS:
        for keyword, key in matching.KEYS.items():
            if key.level != level:
                continue
            tag = Tag(tag_for_keyword(keyword) or 0)
            unique = " (unique key)" if keyword in UNIQUE_KEYS else ""
            rows.append(
                [
                    level,
                    f"`{keyword}`{unique}",
                    f"({tag.group:04X},{tag.element:04X})",
                    str(dictionary_VR(tag)),
                    MATCHING[key.kind],
                ]
            )
    return _table(["Level", "Attribute", "Tag", "VR", "Matching"], rows)


def node_limits() -> str:
    defaults = config.Settings(Path("."))  # the dataclass defaults, no file read
    names = [f.name for f in fields(limits.Limits)] + ["network_timeout"]
    rows = [[f"`{name}`", str(getattr(defaults, name))] for name in names]
    rows += [
        [f"`{name}` (fixed)", str(getattr(limits, name))]
        for name in ("MAX_REQUEST_PDU", "MAX_COMMAND_BYTES", "MAX_IDENTIFIER_BYTES")
    ]
    return _table(["Limit", "Default"], rows)


TABLES: dict[str, Callable[[], str]] = {
    "implementation": implementation,
    "scp-services": scp_services,
    "scp-storage": scp_storage,
    "scp-storage-syntaxes": scp_storage_syntaxes,
    "scp-service-syntaxes": scp_service_syntaxes,
    "scu-services": scu_services,
    "scu-storage-syntaxes": scu_storage_syntaxes,
    "return-keys": return_keys,
    "limits": node_limits,
}


def marked(text: str) -> dict[str, str]:
    return {match.group(1): match.group(2) for match in MARK.finditer(text)}


def updated(text: str) -> str:
    return MARK.sub(
        lambda m: (
            f"<!-- table:{m.group(1)}:begin -->\n{TABLES[m.group(1)]()}"
            f"<!-- table:{m.group(1)}:end -->"
        ),
        text,
    )


def test_every_code_table_is_in_the_statement() -> None:
    assert sorted(marked(STATEMENT.read_text(encoding="utf-8"))) == sorted(TABLES)


def test_the_statement_tables_match_the_code() -> None:
    found = marked(STATEMENT.read_text(encoding="utf-8"))
    stale = []
    for name, render in TABLES.items():
        expected = render()
        if found.get(name) != expected:
            diff = difflib.unified_diff(
                (found.get(name) or "").splitlines(),
                expected.splitlines(),
                f"docs/conformance.md ({name})",
                f"the code ({name})",
                lineterm="",
            )
            stale.append("\n".join(diff))
    assert not stale, (
        "docs/conformance.md disagrees with the code; after checking the prose, run "
        "`.venv/bin/python -m tests.test_conformance_statement --update`\n" + "\n".join(stale)
    )


def test_the_statement_names_every_limit_setting() -> None:
    text = STATEMENT.read_text(encoding="utf-8")
    for item in fields(limits.Limits):
        assert f"`{item.name}`" in text


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    STATEMENT.write_text(updated(STATEMENT.read_text(encoding="utf-8")), encoding="utf-8")
