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
from collections.abc import Callable
from importlib import metadata
from typing import Any

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
    unique = {(e.name, e.value): e for e in metadata.entry_points(group=COMMANDS_GROUP)}
    return sorted(unique.values(), key=_sort_key)


def register_commands(subparsers: Any) -> None:
    """Add the subcommands of every ``dicom_kiosk.commands`` entry point to ``subparsers``."""
    for entry in command_entry_points():
        entry.load()(subparsers)


def load_gui() -> GuiRun | None:
    """The ``run(args)`` of the ``dicom_kiosk.gui`` entry point (the first by name when several
    are installed), or ``None`` when no package provides a kiosk window."""
    entries = sorted(metadata.entry_points(group=GUI_GROUP), key=lambda e: e.name)
    if not entries:
        return None
    run: GuiRun = entries[0].load()
    return run
