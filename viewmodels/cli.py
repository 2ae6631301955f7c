"""GUI-backed commands: ``screenshot`` renders a kiosk view offscreen (Qt imported lazily).

``register`` is the ``screenshot`` entry point of the ``dicom_kiosk.commands`` group
(``pyproject.toml``): core's CLI finds it there and never names this package.
"""

from __future__ import annotations

import argparse
from typing import Any

SCREENSHOT_VIEWS = (
    "database",
    "database-images",
    "database-filters",
    "send-dialog",
    "export-dialog",
    "viewer",
    "first-run",
    "transfers",
    "transfers-incoming",
    "transfer-details",
    "query",
    "query-series",
    "query-options",
    "settings",
    "node-editor",
)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"size must be WIDTHxHEIGHT, not {text!r}") from exc
    if not (320 <= width <= 7680 and 240 <= height <= 4320):
        raise argparse.ArgumentTypeError(f"size {text} is outside 320x240 to 7680x4320")
    return width, height


def cmd_screenshot(args: argparse.Namespace) -> int:
    from viewmodels.screenshot import run_screenshot

    return run_screenshot(args)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "screenshot", help="render a kiosk view offscreen to a PNG (no display needed)"
    )
    p.add_argument(
        "view",
        choices=SCREENSHOT_VIEWS,
        metavar="VIEW",
        help=f"one of: {', '.join(SCREENSHOT_VIEWS)}",
    )
    p.add_argument("out", metavar="OUT.png")
    p.add_argument("--size", type=_size, default=(1280, 800), metavar="WxH")
    p.add_argument("--theme", dest="shot_theme", choices=("dark", "light"), default=None)
    p.add_argument("--demo", action="store_true", help="use demo data in a temporary data dir")
    p.set_defaults(func=cmd_screenshot)
