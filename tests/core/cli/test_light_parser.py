"""Building the command line's parser imports nothing heavy, so that ``--help`` and a
mistyped option answer at once; the choices it offers are the ones the commands accept."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import choices, main
from core.db.queries import LEVELS
from core.export.deidentify import DATES_OPTIONS
from core.export.exporter import FORMATS
from core.imaging.thumbnails import DEFAULT_SIZE
from core.registry import RETRIEVE_METHODS
from core.transfers.log import PRIORITIES

REPO = Path(__file__).resolve().parents[3]
HEAVY = {"pydicom", "pynetdicom", "sqlalchemy", "numpy", "PIL", "PySide6", "alembic", "highdicom"}
PROBE = """
import json, sys
from core.cli.main import build_parser
build_parser().format_help()
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_building_the_parser_imports_none_of_the_heavy_packages() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    loaded = set(json.loads(out.stdout))
    assert "core" in loaded  # the probe did build the parser
    assert loaded & HEAVY == set()


def test_the_choices_are_the_commands_own() -> None:
    assert choices.LEVELS == LEVELS
    assert set(choices.EXPORT_FORMATS) == set(FORMATS)
    assert set(choices.EXPORT_DATES) == set(DATES_OPTIONS)
    assert set(choices.PRIORITIES) == set(PRIORITIES)
    assert set(choices.RETRIEVE_METHODS) == set(RETRIEVE_METHODS)
    assert choices.THUMBNAIL_SIZE == DEFAULT_SIZE


KIOSK_LAUNCHES = [
    [],
    ["--fullscreen"],
    ["--data-dir", "/srv/kiosk", "--theme", "light", "-vv"],
    ["--db-url=sqlite:////tmp/x.sqlite", "--fullscreen", "--data-dir=/d"],
    ["--full", "--the", "dark"],  # abbreviations, as the whole parser allows them
]
OTHERS = [
    ["list"],
    ["--data-dir", "/d", "query", "pacs"],
    ["--help"],
    ["-h"],
    ["--theme", "blue"],  # an error: the whole parser reports it
    ["--data-dir"],
    ["--fullscreen", "serve"],
]


def test_a_kiosk_launch_is_read_as_the_whole_parser_reads_it() -> None:
    for argv in KIOSK_LAUNCHES:
        quick = main.kiosk_launch(argv)
        assert quick is not None, argv
        assert quick == main.build_parser().parse_args(argv), argv
        assert quick.func is main.cmd_gui


def test_anything_else_goes_to_the_whole_parser() -> None:
    for argv in OTHERS:
        assert main.kiosk_launch(argv) is None, argv


def test_a_kiosk_launch_builds_no_command_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_subparsers: object) -> None:
        raise AssertionError("the command parsers were built")

    opened: list[argparse.Namespace] = []
    monkeypatch.setattr(main.commands, "register_commands", refuse)
    monkeypatch.setattr(main, "cmd_gui", lambda args: opened.append(args) or 0)
    assert main.main(["--fullscreen", "--theme", "dark"]) == 0
    assert opened and opened[0].fullscreen and opened[0].theme == "dark"
