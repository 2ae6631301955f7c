"""Subcommands contributed by feature modules.

Each module listed in ``MODULES`` exposes ``register(subparsers)`` that adds its
subcommands (with ``set_defaults(func=...)``) to the ``dicom-kiosk`` parser. Modules here may
not import Qt; GUI-backed commands import ``viewmodels`` lazily inside their function.
"""

from __future__ import annotations

MODULES: tuple[str, ...] = (
    "core.commands.render",
    "core.commands.export",
    "core.commands.node",
    "core.commands.transfers",
    "core.commands.qr",
    "core.commands.gui",
)
