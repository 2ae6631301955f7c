"""Subcommands and the kiosk window come from entry points; ``--help`` keeps a stable order."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from core.cli import commands
from core.cli.main import build_parser, main

REPO = Path(__file__).resolve().parents[3]

HELP_ORDER = [
    "import",
    "list",
    "db",
    "delete",
    "demo",
    "render",
    "thumbnails",
    "export",
    "serve",
    "nodes",
    "send",
    "transfers",
    "query",
    "retrieve",
    "audit",
    "screenshot",
]


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


def _install(
    monkeypatch: pytest.MonkeyPatch, group: str, entries: Iterable[metadata.EntryPoint]
) -> None:
    """Make ``group`` hold exactly ``entries``, as both readers of the installed metadata see
    it (``importlib.metadata`` and ``commands.declared``); every other group stays as installed."""
    installed, read = metadata.entry_points, commands.declared
    chosen = metadata.EntryPoints(entries)

    def entry_points(**params: Any) -> metadata.EntryPoints:
        return chosen if params.get("group") == group else installed(**params)

    def declared(name: str) -> list[tuple[str, str]]:
        return sorted({(e.name, e.value) for e in chosen}) if name == group else read(name)

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    monkeypatch.setattr(commands, "declared", declared)


def _entry(name: str, function: str, group: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=name, value=f"{__name__}:{function}", group=group)


# Targets of the test entry points below.
def register_hello(subparsers: Any) -> None:
    p = subparsers.add_parser("hello", help="a command from another package")
    p.add_argument("--to", default="world")
    p.set_defaults(func=lambda args: print(f"hello {args.to}") or 0)


SEEN: list[argparse.Namespace] = []


def run_fake_kiosk(args: argparse.Namespace) -> int:
    SEEN.append(args)
    return 7


class TestCommands:
    def test_help_lists_every_command_in_the_old_order(self) -> None:
        assert _subcommands(build_parser()) == HELP_ORDER

    def test_the_installed_entry_points_are_those_of_pyproject(self) -> None:
        """A stale install (entry points changed, package not reinstalled) fails here, not in
        front of a user: ``pip install --no-deps -e .`` after editing the tables."""
        project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
        for group in (commands.COMMANDS_GROUP, commands.GUI_GROUP):
            declared = project["entry-points"][group]
            installed = {e.name: e.value for e in metadata.entry_points(group=group)}
            assert installed == declared, f"reinstall: {group} differs from pyproject.toml"

    def test_every_core_command_module_is_registered_in_order(self) -> None:
        """Each ``core/cli`` module with a ``register`` is an entry point, listed in
        ``CORE_ORDER``; the rest of the entry points come after, by name."""
        modules = {
            path.stem
            for path in (REPO / "core" / "cli").glob("*.py")
            if any(
                isinstance(node, ast.FunctionDef) and node.name == "register"
                for node in ast.parse(path.read_text()).body
            )
        }
        entries = commands.command_entry_points()
        core_entries = [e for e in entries if e.module.startswith("core.")]
        assert {e.module for e in core_entries} == {f"core.cli.{m}" for m in modules}
        assert all(e.attr == "register" for e in entries)
        assert [e.name for e in core_entries] == list(commands.CORE_ORDER)
        others = [e.name for e in entries[len(core_entries) :]]
        assert entries[: len(core_entries)] == core_entries and others == sorted(others)

    def test_another_package_adds_a_command(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        installed = list(metadata.entry_points(group=commands.COMMANDS_GROUP))
        hello = _entry("hello", "register_hello", commands.COMMANDS_GROUP)
        _install(monkeypatch, commands.COMMANDS_GROUP, [hello, *installed])
        # Core's own modules first, then the others by name: hello before screenshot.
        assert _subcommands(build_parser()) == [*HELP_ORDER[:-1], "hello", "screenshot"]
        assert main(["hello", "--to", "kiosk"]) == 0
        assert capsys.readouterr().out == "hello kiosk\n"

    def test_the_same_entry_point_twice_registers_once(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two copies of one distribution on the path must not make argparse refuse the
        second ``add_parser`` of a name."""
        installed = list(metadata.entry_points(group=commands.COMMANDS_GROUP))
        _install(monkeypatch, commands.COMMANDS_GROUP, installed + installed)
        assert _subcommands(build_parser()) == HELP_ORDER


class TestDeclared:
    def test_the_metadata_files_declare_what_importlib_metadata_finds(self) -> None:
        for group in (commands.COMMANDS_GROUP, commands.GUI_GROUP):
            found = {(e.name, e.value) for e in metadata.entry_points(group=group)}
            assert commands.declared(group) == sorted(found), group
        assert commands.declared("no.such.group") == []

    def test_the_kiosk_window_is_found_without_importlib_metadata(self) -> None:
        probe = (
            "import sys\n"
            "from core.cli import commands\n"
            "run = commands.load_gui()\n"
            "print(run.__module__, run.__name__, 'importlib.metadata' in sys.modules)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60,
            check=True,
        )  # fmt: skip
        (gui,) = metadata.entry_points(group=commands.GUI_GROUP)
        assert out.stdout.split() == [gui.module, gui.attr, "False"]


class TestKioskWindow:
    def test_without_a_gui_it_says_so_and_lists_the_commands(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        _install(monkeypatch, commands.GUI_GROUP, [])
        data = tmp_path / "data"
        assert main(["--data-dir", str(data), "--fullscreen"]) == 2
        out, err = capsys.readouterr()
        assert out == ""
        assert "the kiosk window is not installed" in err
        assert "'dicom_kiosk.gui'" in err
        for name in HELP_ORDER:
            assert f"\n    {name} " in err, name
        assert not data.exists()  # nothing was opened

    def test_the_gui_entry_point_runs_with_the_kiosk_flags(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        _install(
            monkeypatch, commands.GUI_GROUP, [_entry("kiosk", "run_fake_kiosk", commands.GUI_GROUP)]
        )
        SEEN.clear()
        assert main(["--fullscreen", "--theme", "light"]) == 7
        (args,) = SEEN
        assert args.fullscreen and args.theme == "light"

    def test_the_first_gui_by_name_wins(self, monkeypatch: pytest.MonkeyPatch) -> None:
        missing = metadata.EntryPoint(
            name="zz-later", value="no_such_module:run", group=commands.GUI_GROUP
        )
        fake = _entry("kiosk", "run_fake_kiosk", commands.GUI_GROUP)
        _install(monkeypatch, commands.GUI_GROUP, [missing, fake])
        assert commands.load_gui() is run_fake_kiosk

    def test_a_subcommand_never_loads_the_gui(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        broken = metadata.EntryPoint(
            name="kiosk", value="no_such_module:run", group=commands.GUI_GROUP
        )
        _install(monkeypatch, commands.GUI_GROUP, [broken])
        assert main(["--data-dir", str(tmp_path / "data"), "db", "stats", "--json"]) == 0
