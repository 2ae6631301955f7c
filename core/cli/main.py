"""The ``dicom-kiosk`` command line. With no subcommand it opens the kiosk.

The database commands live here; every other subcommand, and the kiosk window itself, comes
from an entry point (see ``core.cli.commands``), so core never names the layers above it.

Building the parser imports nothing heavy (no pydicom, pynetdicom, SQLAlchemy, numpy or Qt):
each command imports what it needs when it runs, so ``--help`` and a mistyped option answer at
once (``core.cli.choices`` holds the choices the parser offers; tests/core/cli checks both).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from core import logsafe
from core.cli import choices, commands
from core.cli.output import print_json, print_rows
from core.config import Settings, load_settings
from core.errors import KioskError

if TYPE_CHECKING:
    from core.index.importer import ImportProgress, ImportSummary

log = logging.getLogger("dicom_kiosk")

EXIT_ERROR = 1
EXIT_USAGE = 2


# -- helpers -----------------------------------------------------------------------------------
def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    return load_settings(args.data_dir, {"db_url": args.db_url, **overrides})


class ProgressBar:
    """A one-line progress bar on a terminal; silent when stderr is not a TTY."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.enabled = stream.isatty()
        self._last = 0.0

    def __call__(self, p: ImportProgress) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and p.done < p.total):
            return
        self._last = now
        filled = int(self.width * p.done / p.total) if p.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(
            f"\r[{bar}] {p.done}/{p.total}  imported {p.imported}"
            f"  duplicates {p.duplicates}  rejected {p.rejected}"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def _print_summary(summary: ImportSummary, as_json: bool) -> None:
    if as_json:
        print_json(summary.as_json())
        return
    print(
        f"imported {summary.imported}, duplicates {summary.duplicates},"
        f" rejected {len(summary.rejected)}"
    )
    for path, reason in summary.rejected:
        print(f"  rejected {path}: {reason}")
    if summary.cancelled:
        print("import cancelled")
    if summary.stopped:
        print(f"import stopped: {summary.stopped}")


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> str:
    widths = {c: len(c) for c in columns}
    text_rows = []
    for row in rows:
        cells = {c: "" if row.get(c) is None else str(row.get(c)) for c in columns}
        for c in columns:
            widths[c] = min(max(widths[c], len(cells[c])), 48)
        text_rows.append(cells)
    lines = ["  ".join(c.ljust(widths[c]) for c in columns)]
    lines += ["  ".join(r[c][: widths[c]].ljust(widths[c]) for c in columns) for r in text_rows]
    return "\n".join(lines)


# -- commands ----------------------------------------------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    from core.app import Core

    with Core(_settings(args)) as core:
        bar = ProgressBar()
        try:
            summary = core.importer.run(
                [Path(p) for p in args.paths], progress=None if args.json else bar
            )
        except KeyboardInterrupt:
            bar.close()
            print("import interrupted; images indexed so far are kept", file=sys.stderr)
            return 130
        bar.close()
        core.record_import(summary, args.paths)
    _print_summary(summary, args.json)
    return EXIT_ERROR if summary.stopped else 0


def cmd_list(args: argparse.Namespace) -> int:
    from core.db import browse, light

    flt = browse.StudyFilter(
        patient_name=args.patient_name or "",
        patient_id=args.patient_id or "",
        date_from=args.date_from or "",
        date_to=args.date_to or "",
        modality=args.modality or "",
        study_uid=args.study or "",
        series_uid=args.series or "",
    )
    # --desc reverses; without --sort and --desc each level keeps its natural order.
    descending = True if args.desc else (False if args.sort else None)
    # One row more than asked tells whether more exist (a negative limit is refused).
    fetch = args.limit + 1 if args.limit >= 0 else args.limit
    settings = _settings(args)
    # The SQLite index at the newest schema, with nothing to recover, is read with the
    # standard library alone (core.db.light); anything else goes through Core.
    reader = light.open_reader(settings.db_url, settings.store_dir)
    if reader is not None:
        with reader:
            rows = reader.list_rows(args.level, flt, args.sort, descending, fetch, args.offset)
    else:
        from core.app import Core

        with Core(settings) as core:
            rows = core.list_rows(args.level, flt, args.sort, descending, fetch, args.offset)
    truncated = len(rows) > args.limit
    del rows[args.limit :]
    for row in rows:
        row.pop("_pk", None)
    if args.json:
        print_rows(rows, truncated)
        return 0
    columns = list(browse.COLUMN_NAMES[args.level])
    print(_table(rows, columns) if rows else "no matching rows")
    if truncated:
        print(f"(more rows: --offset {args.offset + len(rows)} lists the next)")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from core.app import Core
    from core.db.engine import current_revision, upgrade

    settings = _settings(args)
    core = Core(settings)
    try:
        upgrade(core.engine)
        print(f"database at revision {current_revision(core.engine)}: {core.engine.url!r}")
    finally:
        core.close()
    return 0


def cmd_db_stats(args: argparse.Namespace) -> int:
    from core.app import Core

    with Core(_settings(args)) as core:
        stats = core.stats()
    if args.json:
        print_json(stats)
    else:
        for key, value in stats.items():
            print(f"{key:10} {value}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    targets = [
        (level, key)
        for level, key in (
            ("patient", args.patient),
            ("study", args.study),
            ("series", args.series),
            ("instance", args.instance),
        )
        if key
    ]
    from core.app import Core

    with Core(_settings(args)) as core:
        for level, key in targets:
            result = core.delete(level, key)  # type: ignore[arg-type]
            print(f"deleted {level} {key}: {result.instances} images, {result.bytes} bytes")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from core.app import Core
    from core.dicom import synth
    from core.index.importer import MemorySource

    with Core(_settings(args)) as core:
        sources = [
            MemorySource(f"demo #{i + 1}", data)
            for i, data in enumerate(synth.demo_instances(args.patients, args.seed))
        ]
        bar = ProgressBar()
        summary = core.importer.run_sources(sources, progress=bar, source_name="demo")
        bar.close()
        stats = core.stats()
    print(
        f"demo data: {summary.imported} images added; the database now holds"
        f" {stats['patients']} patients, {stats['studies']} studies, {stats['instances']} images"
    )
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    """Open the kiosk window: whatever the ``dicom_kiosk.gui`` entry point names (core does not
    know the GUI; it is found only when no subcommand is given, so commands never load Qt)."""
    run = commands.load_gui()
    if run is None:
        print(
            "dicom-kiosk: the kiosk window is not installed (no entry point in the group"
            f" {commands.GUI_GROUP!r}); run one of the commands instead.\n",
            file=sys.stderr,
        )
        build_parser().print_help(sys.stderr)
        return EXIT_USAGE
    return run(args)


# -- parser ------------------------------------------------------------------------------------
def _global_options(parser: argparse.ArgumentParser) -> None:
    """The options before any command, which are all a kiosk launch has."""
    parser.add_argument("--data-dir", help="data directory (env DICOM_KIOSK_DATA)")
    parser.add_argument("--db-url", help="SQLAlchemy database URL (env DICOM_KIOSK_DB_URL)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument(
        "--fullscreen", action="store_true", help="kiosk mode: full screen, no window controls"
    )
    parser.add_argument("--theme", choices=("dark", "light"), help="kiosk colour theme")
    parser.set_defaults(func=cmd_gui)


def kiosk_launch(argv: Sequence[str] | None) -> argparse.Namespace | None:
    """The arguments of a launch of the kiosk (global options only, no command), read without
    building every command's parser and importing its module (the kiosk's start-up pays for
    nothing it does not use); None for anything else, which the whole parser reads (a command,
    ``--help``, an error to report)."""
    quick = argparse.ArgumentParser(prog="dicom-kiosk", add_help=False, exit_on_error=False)
    _global_options(quick)
    try:
        args, rest = quick.parse_known_args(argv)
    except argparse.ArgumentError:
        return None
    return None if rest else args


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dicom-kiosk", description="Touch-first DICOM database and DICOM node."
    )
    _global_options(parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("import", help="import files, folders, zip archives or DICOMDIR media")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("list", help="browse the database by level")
    p.add_argument("--level", choices=choices.LEVELS, default="study")
    p.add_argument("--patient-name", help="patient name; * and ? are wildcards")
    p.add_argument("--patient-id", help="patient ID; * and ? are wildcards")
    p.add_argument("--date-from", help="study date from, YYYYMMDD")
    p.add_argument("--date-to", help="study date to, YYYYMMDD")
    p.add_argument("--modality")
    p.add_argument("--study", help="StudyInstanceUID")
    p.add_argument("--series", help="SeriesInstanceUID")
    p.add_argument("--sort", help="column (DICOM keyword) to sort by")
    p.add_argument("--desc", action="store_true", help="sort descending")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(title="db commands", metavar="COMMAND", required=True)
    p = dbsub.add_parser("upgrade", help="apply schema migrations")
    p.set_defaults(func=cmd_db_upgrade)
    p = dbsub.add_parser("stats", help="counts and bytes stored")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_db_stats)

    p = sub.add_parser("delete", help="delete patients, studies, series or images and their files")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--patient", metavar="ID")
    group.add_argument("--study", metavar="UID")
    group.add_argument("--series", metavar="UID")
    group.add_argument("--instance", metavar="UID")
    p.set_defaults(func=cmd_delete)

    p = sub.add_parser("demo", help="add synthetic demo patients (CT, MR, CR, US)")
    p.add_argument("--patients", type=int, default=6)
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=cmd_demo)

    commands.register_commands(sub)  # the entry points of dicom_kiosk.commands
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = kiosk_launch(argv)
    if args is None:
        args = build_parser().parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(
        level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s"
    )
    logsafe.install()  # peer-supplied strings cannot start a log line of their own
    if args.verbose < 2:
        logging.getLogger("pydicom").setLevel(logging.ERROR)  # per-file oddities: see --json
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KioskError as exc:
        print(f"dicom-kiosk: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
