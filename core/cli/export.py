"""``dicom-kiosk export``: copy a selection to a folder, DICOMDIR media or a zip archive."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.cli import choices
from core.cli.output import print_json

if TYPE_CHECKING:
    from core.export.exporter import ExportProgress


class _Bar:
    """A one-line progress bar on a terminal; silent when stderr is not a TTY."""

    def __init__(self, width: int = 30) -> None:
        self.enabled = sys.stderr.isatty()
        self.width = width
        self._last = 0.0

    def __call__(self, p: ExportProgress) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and p.done < p.total):
            return
        self._last = now
        filled = int(self.width * p.done / p.total) if p.total else self.width
        sys.stderr.write(f"\r[{'#' * filled}{'-' * (self.width - filled)}] {p.done}/{p.total}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun[:-1] + 'ies' if noun.endswith('y') else noun + 's'}"


def cmd_export(args: argparse.Namespace) -> int:
    from core.app import Core
    from core.config import load_settings
    from core.export.deidentify import DeidentifyOptions
    from core.export.exporter import ExportOptions, Selection

    selection = Selection(
        patients=tuple(args.patient or ()),
        studies=tuple(args.study or ()),
        series=tuple(args.series or ()),
        instances=tuple(args.instance or ()),
    )
    if selection.is_empty():
        print(
            "dicom-kiosk export: select something with --patient, --study, --series or --instance",
            file=sys.stderr,
        )
        return 2
    if not args.anonymize and (args.new_patient_name or args.new_patient_id or args.dates):
        print(
            "dicom-kiosk export: --new-patient-name, --new-patient-id and --dates need --anonymize",
            file=sys.stderr,
        )
        return 2
    try:
        deid = (
            DeidentifyOptions(
                dates=args.dates or "remove",
                patient_name=args.new_patient_name or "",
                patient_id=args.new_patient_id or "",
            )
            if args.anonymize
            else None
        )
    except ValueError as exc:
        print(f"dicom-kiosk export: {exc}", file=sys.stderr)
        return 2
    options = ExportOptions(Path(args.to), format=args.format, deidentify=deid)
    settings = load_settings(args.data_dir, {"db_url": args.db_url})
    cancel = threading.Event()
    bar = _Bar()
    with Core(settings) as core:
        try:
            summary = core.export_selection(selection, options, None if args.json else bar, cancel)
        except KeyboardInterrupt:
            bar.close()
            print("export interrupted; nothing was left behind", file=sys.stderr)
            return 130
    bar.close()
    if args.json:
        print_json(summary.as_json())
    else:
        what = "de-identified " if summary.deidentified else ""
        print(
            f"exported {_count(summary.exported, what + 'image')}"
            f" ({_count(summary.patients, 'patient')}, {_count(summary.studies, 'study')},"
            f" {summary.series} series) to {summary.destination} as {summary.format}"
        )
        if summary.skipped:
            print(
                f"  skipped {_count(len(summary.skipped), 'image')} that could not be exported:",
                file=sys.stderr,
            )
            for sop_uid, reason in summary.skipped:
                print(f"    {sop_uid}: {reason}", file=sys.stderr)
        if summary.deidentified and summary.removed_references:
            print(f"  removed {summary.removed_references} references to images not exported")
        for warning in summary.warnings:
            print(f"  warning: {warning}")
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export", help="export patients, studies, series or images to a folder, media or zip"
    )
    p.add_argument("--patient", action="append", metavar="ID", help="PatientID (repeatable)")
    p.add_argument("--study", action="append", metavar="UID", help="StudyInstanceUID")
    p.add_argument("--series", action="append", metavar="UID", help="SeriesInstanceUID")
    p.add_argument("--instance", action="append", metavar="UID", help="SOPInstanceUID")
    p.add_argument("--to", required=True, metavar="DIR", help="destination folder (or .zip)")
    p.add_argument("--format", choices=choices.EXPORT_FORMATS, default="files")
    p.add_argument(
        "--anonymize",
        action="store_true",
        help="de-identify (PS3.15 Annex E Basic Application Level Confidentiality Profile)",
    )
    p.add_argument("--new-patient-name", metavar="NAME", help="default: generated")
    p.add_argument("--new-patient-id", metavar="ID", help="default: generated")
    p.add_argument(
        "--dates", choices=choices.EXPORT_DATES, help="dates: keep, remove (default), shift"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_export)
