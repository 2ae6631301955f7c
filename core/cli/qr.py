"""``query`` and ``retrieve``: Query/Retrieve against a registered remote node."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from core.cli import choices
from core.cli.output import print_rows, print_warnings
from core.config import load_settings

if TYPE_CHECKING:
    from core.app import Core
    from core.net.association import RemoteAE
    from core.net.qr import QueryRetrieveClient
    from core.registry import NodeInfo
    from core.transfers.retrieve import (
        RetrieveStatus,
        RetrieveSummary,
        RetrieveTarget,
        StatusCallback,
    )


def _core(args: argparse.Namespace) -> Core:
    from core.app import Core

    return Core(load_settings(args.data_dir, {"db_url": args.db_url}))


def _remote(core: Core, name: str) -> tuple[RemoteAE, str]:
    from core.transfers.retrieve import remote_of

    node = core.registry.get(name)
    return remote_of(node), node.retrieve_method


def cmd_query(args: argparse.Namespace) -> int:
    from core.net.qr import StudyQuery

    warnings: list[str] = []
    truncated = False
    with _core(args) as core:
        remote, _ = _remote(core, args.node)
        client = core.qr_client()
        if args.level == "series":
            if not args.study:
                print("dicom-kiosk: --level series needs --study UID", file=sys.stderr)
                return 2
            series = client.find_series(remote, args.study, args.modality or "")
            rows = [s.keywords(args.study) for s in series]
        else:
            query = StudyQuery(
                patient_name=args.patient_name or "",
                patient_id=args.patient_id or "",
                date_from=args.date_from or "",
                date_to=args.date_to or "",
                accession_number=args.accession or "",
                max_results=core.settings.qr_max_results if args.max is None else args.max,
                append_wildcard=core.settings.qr_append_wildcard and not args.exact,
            )
            result = client.find_studies(remote, query)
            rows = [m.keywords() for m in result.matches]
            truncated, warnings = result.truncated, result.warnings
    if args.json:
        print_rows(rows, truncated, warnings)
        return 0
    for row in rows:
        print("  ".join("" if v is None else str(v) for v in row.values()))
    print(f"{len(rows)} matches" + (" (cut at --max; more exist)" if truncated else ""))
    print_warnings(warnings)
    return 0


def cmd_retrieve(args: argparse.Namespace) -> int:
    import asyncio

    from core.transfers.retrieve import RetrieveTarget, retrieve

    with _core(args) as core:
        node = core.registry.get(args.node)
        method = args.method or node.retrieve_method
        client = core.qr_client()

        def progress(p: RetrieveStatus) -> None:
            if sys.stderr.isatty():
                print(f"\r{p.completed} done, {p.total - p.done} left, {p.failed} failed", end="",
                      file=sys.stderr)  # fmt: skip

        target = [RetrieveTarget(args.study, args.series)]
        if method == "get":
            summary = retrieve(core, client, node, target, "get", progress=progress)
            received = summary.stored
        else:
            summary, received = asyncio.run(_move(core, client, node, target, progress))
    print(
        f"\nretrieved by C-{method.upper()}: {summary.completed} completed,"
        f" {summary.failed} failed, {received} new images in the database"
    )
    return 1 if summary.failed else 0


async def _move(
    core: Core, client: QueryRetrieveClient, node: NodeInfo, target: list[RetrieveTarget],
    progress: StatusCallback,
) -> tuple[RetrieveSummary, int]:  # fmt: skip
    """C-MOVE to our own AE: run our node for the duration unless a service already runs it."""
    import asyncio

    from core.transfers.retrieve import retrieve

    before = core.stats()["instances"]
    try:
        await core.start(sender=False)
    except OSError as exc:  # port taken: `dicom-kiosk serve` is receiving for us
        print(f"using the running node ({exc})", file=sys.stderr)
    try:
        summary = await asyncio.to_thread(
            retrieve, core, client, node, target, "move",
            destination_ae=core.settings.ae_title, progress=progress,
            wait_indexed=core.node.wait_indexed,
        )  # fmt: skip
    finally:
        await core.stop()
    return summary, core.stats()["instances"] - before


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("query", help="C-FIND studies (or a study's series) on a remote node")
    p.add_argument("node", help="a node name from `dicom-kiosk nodes list`")
    p.add_argument("--level", choices=("study", "series"), default="study")
    p.add_argument("--patient-name")
    p.add_argument("--patient-id")
    p.add_argument("--date-from", help="YYYYMMDD")
    p.add_argument("--date-to", help="YYYYMMDD")
    p.add_argument("--accession")
    p.add_argument("--study", help="StudyInstanceUID (with --level series)")
    p.add_argument("--modality", help="series modality (with --level series)")
    p.add_argument(
        "--max", type=int, help="stop after N matches with C-CANCEL (default: qr_max_results)"
    )
    p.add_argument(
        "--exact", action="store_true", help="do not append * to name and ID (qr_append_wildcard)"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("retrieve", help="C-MOVE or C-GET a study or series into the database")
    p.add_argument("node")
    p.add_argument("--study", required=True)
    p.add_argument("--series")
    p.add_argument("--method", choices=choices.RETRIEVE_METHODS, help="default: the node's setting")
    p.add_argument("--wait", action="store_true", help="wait until done (always the case)")
    p.set_defaults(func=cmd_retrieve)
