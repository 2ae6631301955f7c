"""Subcommands and the kiosk window, found through entry points (the way pydicom's CLI does).

Two entry-point groups, declared in ``pyproject.toml``:

``dicom_kiosk.commands``
    Each entry point names a ``register(subparsers)`` function that adds its subcommands (with
    ``set_defaults(func=...)``) to the ``dicom-kiosk`` parser. Core's own feature modules are
    registered there like any other package's, so core never lists the modules of the layers
    above it. A command module may not import Qt at import time; a GUI-backed command imports
    its GUI inside its function.
``dicom_kiosk.gui``
    The window that opens when ``dicom-kiosk`` is run with no subcommand: an entry point naming
    a ``run(args) -> int`` function. Loaded only then, so no other command pays for Qt. When no
    package provides one, ``dicom-kiosk`` alone says so and lists the commands.

The order of the commands in ``--help`` is stable: core's own modules first in
``CORE_ORDER``, then every other entry point sorted by name.
"""

from __future__ import annotations

import argparse
import configparser
import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib import metadata

COMMANDS_GROUP = "dicom_kiosk.commands"
GUI_GROUP = "dicom_kiosk.gui"

CORE_ORDER: tuple[str, ...] = ("render", "export", "node", "transfers", "qr", "audit")
"""Entry-point names of core's own command modules, in the order ``--help`` lists them."""

GuiRun = Callable[[argparse.Namespace], int]


def _sort_key(entry: metadata.EntryPoint) -> tuple[int, str]:
    if entry.name in CORE_ORDER:
        return CORE_ORDER.index(entry.name), entry.name
    return len(CORE_ORDER), entry.name


def command_entry_points() -> list[metadata.EntryPoint]:
    """The ``dicom_kiosk.commands`` entry points, in ``--help`` order, each listed once."""
    from importlib import metadata

    unique = {(e.name, e.value): e for e in metadata.entry_points(group=COMMANDS_GROUP)}
    return sorted(unique.values(), key=_sort_key)


def register_commands(subparsers: Any) -> None:
    """Add the subcommands of every ``dicom_kiosk.commands`` entry point to ``subparsers``."""
    for entry in command_entry_points():
        entry.load()(subparsers)


def declared(group: str) -> list[tuple[str, str]]:
    """(name, object reference) of the ``group`` entry points that the distributions on
    ``sys.path`` declare in their ``*.dist-info/entry_points.txt``, sorted, each once.

    What ``importlib.metadata.entry_points(group=...)`` finds for an installed or editable
    package, read without importing ``importlib.metadata`` (with the ``email`` package it loads:
    about 20 ms, a tenth of what a bare Qt window takes to show, at every kiosk start).
    tests/core/cli/test_entry_points.py checks both find the same."""
    found: set[tuple[str, str]] = set()
    header = f"[{group}]"
    for folder in sys.path:
        try:
            entries = [e for e in os.scandir(folder or ".") if e.name.endswith(".dist-info")]
        except OSError:  # a zip, a missing folder
            continue
        for entry in entries:
            try:
                with open(os.path.join(entry.path, "entry_points.txt"), encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                continue
            if header not in text:
                continue
            parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]  # names keep case
            try:
                parser.read_string(text)
            except configparser.Error:
                continue
            found.update((name, value.strip()) for name, value in parser.items(group))
    return sorted(found)


def _load(reference: str) -> Any:
    """The object an entry point's ``module:attr.attr`` reference names."""
    module, _, attrs = reference.partition("[")[0].partition(":")
    value: Any = importlib.import_module(module.strip())
    for part in filter(None, attrs.strip().split(".")):
        value = getattr(value, part)
    return value


def load_gui() -> GuiRun | None:
    """The ``run(args)`` of the ``dicom_kiosk.gui`` entry point (the first by name when several
    are installed), or ``None`` when no package provides a kiosk window. Found in the
    distributions' metadata files (``declared``) first; through ``importlib.metadata`` (eggs,
    zips, other finders) when they declare none."""
    gui = declared(GUI_GROUP)
    if gui:
        run: GuiRun = _load(gui[0][1])
        return run
    from importlib import metadata

    entries = sorted(metadata.entry_points(group=GUI_GROUP), key=lambda e: e.name)
    if not entries:
        return None
    found: GuiRun = entries[0].load()
    return found
