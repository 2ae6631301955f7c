"""What ``--json`` prints, the same for every command: one JSON object on one line of stdout.

A command that lists things (``list``, ``query``, ``nodes list``, ``transfers list``) prints::

    {"rows": [...], "truncated": false, "warnings": []}

``rows`` is a list of objects whose DICOM attributes are keyed by DICOM keyword
(``PatientName``, ``StudyInstanceUID``); fields that are no DICOM attribute (a transfer's
``status``, a node's ``ae_title``) keep their snake_case names. ``truncated`` is true when more
rows exist than were listed (``--limit``, ``--max``): ask again with ``--offset`` or a higher
limit. ``warnings`` are reasons to doubt the rows (a peer whose answers contradict the query);
they are printed on stderr too. Every other command prints its summary as one object
(``import``, ``export``, ``db stats``, ``transfers show``). The exit status says whether the
command worked, never whether rows were cut.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def print_json(value: Mapping[str, Any]) -> None:
    """One object, one line, UTF-8 as is (names stay readable)."""
    json.dump(value, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def print_warnings(warnings: Iterable[str]) -> None:
    for warning in warnings:
        print(f"dicom-kiosk: warning: {warning}", file=sys.stderr)


def print_rows(
    rows: Sequence[Mapping[str, Any]], truncated: bool = False, warnings: Sequence[str] = ()
) -> None:
    """A listing command's ``--json``: its rows, whether more exist, its warnings."""
    print_json({"rows": list(rows), "truncated": truncated, "warnings": list(warnings)})
    print_warnings(warnings)
