"""``dicom-kiosk render``: one stored instance (or a file) to a PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from core.cli import choices
from core.config import load_settings

EXIT_ERROR = 1
_PAGE = 1000
EXIT_USAGE = 2


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "render",
        help="render an image to a PNG (window from the header unless given)",
        description="Render one frame of a stored instance, or of a DICOM file, to a PNG.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--instance", metavar="UID", help="SOPInstanceUID of a stored image")
    source.add_argument("--file", metavar="PATH", help="a DICOM file outside the store")
    p.add_argument("--out", metavar="FILE.png", required=True, help="where to write the PNG")
    p.add_argument("--frame", type=int, default=0, help="frame number, from 0 (default 0)")
    p.add_argument("--center", type=float, help="window center (modality units, HU for CT)")
    p.add_argument("--width", type=float, help="window width (modality units)")
    p.add_argument("--size", type=int, metavar="PX", help="scale so the longer side is PX")
    p.set_defaults(func=cmd_render)

    p = subparsers.add_parser(
        "thumbnails",
        help="make the missing thumbnails of stored images; optionally a contact sheet",
        description="Make (in worker processes) every missing or stale thumbnail, drop those of"
        " deleted images, and optionally write a contact sheet of them all.",
    )
    p.add_argument("--size", type=int, default=choices.THUMBNAIL_SIZE, metavar="PX")
    p.add_argument("--series", metavar="UID", help="only this series")
    p.add_argument("--contact-sheet", metavar="FILE.png", help="write all thumbnails as one PNG")
    p.add_argument("--columns", type=int, default=10, help="contact sheet columns (default 10)")
    p.set_defaults(func=cmd_thumbnails)


def cmd_render(args: argparse.Namespace) -> int:
    from core.app import Core
    from core.imaging.render import Window, fit, render_frame
    from core.imaging.thumbnails import stored_path

    if (args.center is None) != (args.width is None):
        print("dicom-kiosk render: give --center and --width together", file=sys.stderr)
        return EXIT_USAGE
    if args.width is not None and args.width < 1:
        print("dicom-kiosk render: --width must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if args.size is not None and not 1 <= args.size <= 8192:
        print("dicom-kiosk render: --size must be 1-8192", file=sys.stderr)
        return EXIT_USAGE
    window = Window(args.center, args.width) if args.center is not None else None
    if args.instance:
        settings = load_settings(args.data_dir, {"db_url": args.db_url})
        with Core(settings) as core:
            path = stored_path(core.sessions, core.store, args.instance)
    else:
        path = Path(args.file)
        if not path.is_file():
            print(f"dicom-kiosk render: no such file {path}", file=sys.stderr)
            return EXIT_ERROR
    rendered = render_frame(path, args.frame, window)
    image = rendered.to_pil()
    if args.size:
        image = fit(image, args.size)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(out, format="PNG")
    if rendered.placeholder:
        note = f": {rendered.reason}" if rendered.reason else ""
        print(f"{out}: placeholder for {rendered.modality} {rendered.kind}{note}")
        return EXIT_ERROR if rendered.reason else 0
    shown = (
        f"window {rendered.window.center:g}/{rendered.window.width:g} ({rendered.voi})"
        if rendered.window
        else ("VOI LUT" if rendered.voi == "lut" else "colour")
    )
    print(
        f"{out}: {image.width}x{image.height}, frame {rendered.frame + 1} of {rendered.frames},"
        f" {rendered.modality}, {shown}"
    )
    return 0


def cmd_thumbnails(args: argparse.Namespace) -> int:
    from core.app import Core
    from core.db.queries import StudyFilter
    from core.imaging.thumbnails import ThumbnailCache, contact_sheet

    if not 16 <= args.size <= 1024:
        print("dicom-kiosk thumbnails: --size must be 16-1024", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings(args.data_dir, {"db_url": args.db_url})
    flt = StudyFilter(series_uid=args.series or "")
    with (
        Core(settings) as core,
        ThumbnailCache(settings.data_dir, core.sessions, core.store) as cache,
    ):
        uids: list[str] = []
        while True:
            rows = core.list_rows("image", flt, limit=_PAGE, offset=len(uids))
            uids += [str(row["SOPInstanceUID"]) for row in rows]
            if len(rows) < _PAGE:
                break
        pruned = 0 if args.series else cache.prune()
        paths = cache.generate(uids, args.size)
    print(f"{len(paths)} thumbnails of {args.size} px in {cache.root}; {pruned} orphaned removed")
    if args.contact_sheet:
        from PIL import Image

        items = []
        for uid, path in zip(uids, paths, strict=True):
            with Image.open(path) as image:
                items.append((uid[-14:], image.copy()))
        contact_sheet(items, args.size, max(1, args.columns)).save(args.contact_sheet)
        print(f"contact sheet: {args.contact_sheet}")
    return 0
