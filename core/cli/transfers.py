"""``send`` and ``transfers`` subcommands: queue images for a remote node; read and operate the
transfer log (list, show, resend, abort, delete, clear)."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.cli import choices
from core.cli.output import print_json, print_rows
from core.config import load_settings
from core.errors import NotFoundError

if TYPE_CHECKING:
    from core.app import Core
    from core.transfers.log import TransferRow

WAIT_POLL_SECONDS = 0.2


def _core(args: argparse.Namespace) -> Core:
    from core.app import Core

    return Core(load_settings(args.data_dir, {"db_url": args.db_url}))


# -- send -----------------------------------------------------------------------------------------
async def _send_and_wait(core: Core, transfer_id: int) -> TransferRow | None:
    """Send one transfer from this process until it ends; None when it was deleted."""
    import asyncio

    from core.transfers.log import FINAL_OUT

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await core.start(node=False, send_only=[transfer_id])
    try:
        while not stop.is_set():
            try:
                row = await asyncio.to_thread(core.transfers.get, transfer_id)
            except NotFoundError:
                return None
            if row["status"] in FINAL_OUT:
                return row
            # A transfer waiting to retry keeps us here until its last try ended.
            try:
                await asyncio.wait_for(stop.wait(), WAIT_POLL_SECONDS)
            except TimeoutError:
                pass
        print(
            "interrupted: the transfer waits for the kiosk or `dicom-kiosk serve`", file=sys.stderr
        )
        return await asyncio.to_thread(core.transfers.get, transfer_id)
    finally:
        await core.stop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def cmd_send(args: argparse.Namespace) -> int:
    import asyncio

    targets = [
        *(("patient", key) for key in args.patient or ()),
        *(("study", key) for key in args.study or ()),
        *(("series", key) for key in args.series or ()),
        *(("instance", key) for key in args.instance or ()),
    ]
    if not targets:
        print(
            "dicom-kiosk send: select --patient, --study, --series or --instance", file=sys.stderr
        )
        return 2
    with _core(args) as core:
        transfer_id = core.send(targets, args.to, args.priority)
        row = core.transfers.get(transfer_id)
        print(
            f"transfer {transfer_id} queued: {row['images']} images to {row['node']}"
            f" ({row['ae_title']}@{row['peer']}), priority {row['priority']}"
        )
        if not args.wait:
            print("the kiosk or `dicom-kiosk serve` sends it; follow it with `transfers list`")
            return 0
        final = asyncio.run(_send_and_wait(core, transfer_id))
    if final is None:
        print(f"transfer {transfer_id} was deleted")
        return 1
    print(
        f"transfer {transfer_id} {final['status']}: {final['done']} of {final['images']} images"
        f" sent, {final['failed']} failed" + (f"; {final['error']}" if final["error"] else "")
    )
    return 0 if final["status"] == "sent" else 1


# -- transfers ------------------------------------------------------------------------------------
def _line(r: Mapping[str, Any]) -> str:
    peer = r["node"] or r["ae_title"]
    counts = f"{r['done']}/{r['images']}" + (f" ({r['failed']} failed)" if r["failed"] else "")
    return (
        f"#{r['id']:<5} {r['direction']:3} {r['status']:9} {r['priority']:6} {peer:16.16}"
        f" {r['peer']:21} {counts:>18} images {r['bytes']:>12} bytes  {r['created'] or ''}"
        f"  {r['description']}" + (f"  [{r['error']}]" if r["error"] else "")
    )


def cmd_list(args: argparse.Namespace) -> int:
    with _core(args) as core:
        limit = max(args.limit, 0)  # one row more than asked tells whether more exist
        rows: list[dict[str, Any]] = [
            dict(r) for r in core.transfers.list(args.direction, limit + 1)
        ]
        truncated = len(rows) > limit
        del rows[limit:]
        if args.items:
            for row in rows:
                row["studies"] = core.transfers.drill_down(row["id"])
    if args.json:
        print_rows(rows, truncated)
        return 0
    if not rows:
        print("no transfers")
    for r in rows:
        print(_line(r))
    if truncated:
        print(f"(more transfers: --limit {limit} cut the list)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _core(args) as core:
        log = core.transfers
        detail: dict[str, Any] = dict(log.get(args.id))
        studies: list[dict[str, Any]] = [dict(s) for s in log.levels(args.id)]
        for study in studies:
            study["series"] = [dict(s) for s in log.levels(args.id, study["uid"])]
            if args.images:
                for series in study["series"]:
                    series["images"] = log.levels(args.id, study["uid"], series["uid"])
    detail["studies"] = studies
    if args.json:
        print_json(detail)
        return 0
    print(_line(detail))
    for key in ("created", "started", "finished", "attempts"):
        print(f"  {key:9} {detail[key] if detail[key] is not None else '-'}")
    for study in studies:
        print(_level_line(study, 2))
        for series in study["series"]:
            print(_level_line(series, 4))
            for image in series.get("images", ()):
                code = f" 0x{image['status_code']:04X}" if image["status_code"] else ""
                print(_level_line(image, 6) + code)
    return 0


def _level_line(row: Mapping[str, Any], indent: int) -> str:
    counts = f"{row['done']}/{row['total']}" + (
        f" ({row['failed']} failed)" if row["failed"] else ""
    )
    error = f"  [{row['error']}]" if row["error"] else ""
    return f"{' ' * indent}{row['level']:6} {row['status']:9} {counts:>16}  {row['label']}{error}"


def cmd_operation(args: argparse.Namespace) -> int:
    with _core(args) as core:
        getattr(core.transfers, args.operation)(args.id)
    past = {"resend": "queued again", "abort": "aborted", "delete": "deleted"}[args.operation]
    print(f"transfer {args.id} {past}")
    return 0


def cmd_clear(args: argparse.Namespace) -> int:
    with _core(args) as core:
        removed = core.transfers.clear(args.direction)
    what = "sent" if args.direction == "out" else "received"
    print(f"removed {removed} {what} transfers")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "send",
        help="send images to a remote node (queued; --wait sends it from this process)",
        description="Queue patients, studies, series or images for a registered remote node.",
    )
    p.add_argument("--to", required=True, metavar="NODE", help="remote node name (`nodes list`)")
    p.add_argument("--patient", action="append", metavar="ID", help="a PatientID (repeatable)")
    p.add_argument("--study", action="append", metavar="UID", help="a StudyInstanceUID")
    p.add_argument("--series", action="append", metavar="UID", help="a SeriesInstanceUID")
    p.add_argument("--instance", action="append", metavar="UID", help="a SOPInstanceUID")
    p.add_argument("--priority", choices=choices.PRIORITIES, default="medium")
    p.add_argument(
        "--wait",
        action="store_true",
        help="send it now from this process and wait; exit 1 unless every image was sent",
    )
    p.set_defaults(func=cmd_send)

    p = sub.add_parser("transfers", help="the transfer log (incoming and outgoing)")
    tsub = p.add_subparsers(title="transfers commands", metavar="COMMAND", required=True)
    p = tsub.add_parser("list", help="list transfers, newest first")
    p.add_argument("--direction", choices=("in", "out"))
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--items", action="store_true", help="include studies and series")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    p = tsub.add_parser("show", help="one transfer with its studies and series")
    p.add_argument("id", type=int)
    p.add_argument("--images", action="store_true", help="also list every image")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)
    for operation, text in (
        ("resend", "queue a sent, aborted or failed outgoing transfer again"),
        ("abort", "abort a waiting or sending outgoing transfer"),
        ("delete", "remove a transfer (a running one is stopped first)"),
    ):
        p = tsub.add_parser(operation, help=text)
        p.add_argument("id", type=int)
        p.set_defaults(func=cmd_operation, operation=operation)
    p = tsub.add_parser("clear", help="remove all sent (out) or received (in) transfers")
    p.add_argument("--direction", choices=("in", "out"), required=True)
    p.set_defaults(func=cmd_clear)
