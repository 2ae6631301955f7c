"""Subcommands contributed by feature modules.

Each module listed in ``MODULES`` exposes ``register(subparsers)`` that adds its
subcommands (with ``set_defaults(func=...)``) to the ``dicom-kiosk`` parser. Modules here may
not import Qt; GUI-backed commands import ``viewmodels`` lazily inside their function.
"""

from __future__ import annotations

MODULES: tuple[str, ...] = (
    "core.cli.render",
    "core.cli.export",
    "core.cli.node",
    "core.cli.transfers",
    "core.cli.qr",
    "viewmodels.cli",
)
