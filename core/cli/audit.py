"""``audit`` subcommands: ``audit list`` (the trail, newest first) and ``audit verify`` (the
hash chain: exit status 1 and the records that do not check out when one was edited, deleted
or moved).

``audit list`` shows the patients each record names (that is what an audit trail is for); like
every command it never logs them.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from core.cli.output import print_json, print_rows
from core.config import load_settings
from core.errors import KioskError

if TYPE_CHECKING:
    from core.app import Core
    from core.audit import AuditEntry

EXIT_TAMPERED = 1


def _core(args: argparse.Namespace) -> Core:
    from core.app import Core

    return Core(load_settings(args.data_dir, {"db_url": args.db_url}))


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``--since``: an ISO date or date-time (UTC unless it says otherwise) or an age such as
    ``30m``, ``12h``, ``7d``; returns naive UTC."""
    now = now or datetime.now(UTC)
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].isdigit():
        moment = now - timedelta(**{units[text[-1]]: int(text[:-1])})
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise KioskError(
                f"--since {text!r}: give a date (2026-12-01), a date-time or an age (12h, 7d)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(tzinfo=None)


def _patients(entry: AuditEntry) -> str:
    return ", ".join(f"{name} ({pid})" if pid else name for pid, name in entry.event.patients)


def cmd_audit_list(args: argparse.Namespace) -> int:
    since = parse_since(args.since) if args.since else None
    with _core(args) as core:
        entries = core.audit.trail.list(
            since=since, patient=args.patient or "", limit=args.limit + 1, offset=args.offset
        )
    truncated = len(entries) > args.limit
    entries = entries[: args.limit]
    if args.json:
        print_rows([e.as_json() for e in entries], truncated)
        return 0
    if not entries:
        print("no audit records")
        return 0
    for e in entries:
        outcome = "" if e.event.outcome == 0 else f" [outcome {e.event.outcome}]"
        requestor = e.event.requestor
        print(
            f"{e.id:>6}  {e.event.time}  {e.event.event.code} {e.event_name}"
            f"  {requestor.user_id if requestor else '-'}: {e.event.summary}{outcome}"
        )
        patients = _patients(e)
        if patients:
            print(f"        patients: {patients}")
    if truncated:
        print(f"(more records: --offset {args.offset + args.limit})")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    with _core(args) as core:
        result = core.audit.trail.verify()
    if args.json:
        print_json(
            {
                "ok": result.ok,
                "checked": result.checked,
                "problems": [{"id": i, "problem": p} for i, p in result.problems],
            }
        )
    elif result.ok:
        print(f"audit trail intact: {result.checked} records")
    else:
        for _record_id, problem in result.problems:
            print(f"audit trail broken: {problem}", file=sys.stderr)
    return 0 if result.ok else EXIT_TAMPERED


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = subparsers.add_parser("audit", help="the audit trail: list records, verify the chain")
    sub = audit.add_subparsers(title="audit commands", metavar="COMMAND", required=True)
    p = sub.add_parser("list", help="audit records, newest first")
    p.add_argument("--since", help="from this date/time (UTC) or age: 2026-12-01, 12h, 7d")
    p.add_argument("--patient", help="part of a patient's ID or name (any case)")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true", help="the records as JSON objects")
    p.set_defaults(func=cmd_audit_list)
    p = sub.add_parser("verify", help="check the hash chain; exit status 1 if broken")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_verify)
