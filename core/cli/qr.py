"""``query`` and ``retrieve``: Query/Retrieve against a registered remote node."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from core.cli import choices
from core.cli.output import print_rows, print_warnings
from core.config import load_settings

if TYPE_CHECKING:
    from core.app import Core
    from core.config import Settings
    from core.net.qr import QueryRetrieveClient
    from core.net.query import FindClient
    from core.net.remote import RemoteAE
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


def cmd_query(args: argparse.Namespace) -> int:
    if args.level == "series" and not args.study:
        print("dicom-kiosk: --level series needs --study UID", file=sys.stderr)
        return 2
    settings = load_settings(args.data_dir, {"db_url": args.db_url})
    light = _light_client(settings, args.node)
    if light is not None:
        rows, truncated, warnings = _ask(*light, args, settings)
    else:
        with _core(args) as core:
            remote = core.registry.get(args.node).remote()
            rows, truncated, warnings = _ask(core.qr_client(), remote, args, settings)
    if args.json:
        print_rows(rows, truncated, warnings)
        return 0
    for row in rows:
        print("  ".join("" if v is None else str(v) for v in row.values()))
    print(f"{len(rows)} matches" + (" (cut at --max; more exist)" if truncated else ""))
    print_warnings(warnings)
    return 0


def _light_client(settings: Settings, name: str) -> tuple[FindClient, RemoteAE] | None:
    """The query without ``Core``: the node read and the Query event recorded with the
    standard library (``core.db.light``, ``core.audit.light``), so that a query loads neither
    SQLAlchemy nor pydicom nor pynetdicom. None when ``Core`` must run first: the index is
    not a SQLite file at the newest schema, a crash left images to index, or the audit
    trail is forwarded to a syslog collector (the recorder's thread does that)."""
    from core.db import light

    path = light.sqlite_file(settings.db_url)
    if settings.audit_syslog_host or path is None:
        return None
    reader = light.open_reader(settings.db_url, settings.store_dir)
    if reader is None:
        return None
    with reader:
        remote = reader.remote_node(name).remote()
    from core.audit.light import record_queried
    from core.net.query import FindClient, StudyRootQueryRetrieveInformationModelFind

    def record(remote: RemoteAE, identifier: bytes, matches: int, error: str) -> None:
        record_queried(
            path, settings.ae_title, remote, sop_class=StudyRootQueryRetrieveInformationModelFind,
            identifier=identifier, matches=matches, error=error,
        )  # fmt: skip

    return FindClient(settings.ae_title, on_query=record), remote


def _ask(
    client: FindClient, remote: RemoteAE, args: argparse.Namespace, settings: Settings
) -> tuple[list[dict[str, Any]], bool, list[str]]:
    """The query's rows (keyed by DICOM keyword), whether --max cut them, and warnings."""
    from core.net.query import StudyQuery

    if args.level == "series":
        series = client.find_series(remote, args.study, args.modality or "")
        return [s.keywords(args.study) for s in series], False, []
    query = StudyQuery(
        patient_name=args.patient_name or "",
        patient_id=args.patient_id or "",
        date_from=args.date_from or "",
        date_to=args.date_to or "",
        accession_number=args.accession or "",
        max_results=settings.qr_max_results if args.max is None else args.max,
        append_wildcard=settings.qr_append_wildcard and not args.exact,
    )
    result = client.find_studies(remote, query)
    return [m.keywords() for m in result.matches], result.truncated, result.warnings


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
