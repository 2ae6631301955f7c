"""``serve`` and ``nodes`` subcommands: the headless DICOM node, its sender and its registry."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.cli import choices
from core.cli.output import print_rows
from core.config import load_settings

if TYPE_CHECKING:
    from core.app import Core
    from core.registry import NodeInfo

log = logging.getLogger("dicom_kiosk.serve")


def _core(args: argparse.Namespace, **overrides: Any) -> Core:
    from core.app import Core

    return Core(load_settings(args.data_dir, {"db_url": args.db_url, **overrides}))


# -- serve ---------------------------------------------------------------------------------------
async def _serve(core: Core) -> None:
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await core.start()
        state = core.node.state
        tls_port = f", TLS on {state.tls_port}" if state.tls_port else ""
        print(
            f"listening {state.ae_title} {state.bind}:{state.port}{tls_port}",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
        log.warning("stopping: finishing in-flight associations and flushing the index")
    finally:
        await core.stop()


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    if args.verbose == 0:
        logging.getLogger().setLevel(logging.INFO)
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    overrides = {
        "accept_policy": args.accept,
        "ae_title": args.ae_title,
        "port": args.port,
        "bind": args.bind,
        "tls_port": args.tls_port,
    }
    with _core(args, **overrides) as core:
        asyncio.run(_serve(core))
    return 0


# -- nodes ---------------------------------------------------------------------------------------
def _path(value: str | None) -> str | None:
    """A TLS file as an absolute path (the node may run from another directory)."""
    if value is None or value == "":
        return value
    return str(Path(value).expanduser().resolve())


def _where(node: NodeInfo) -> str:
    return f"{node.ae_title}@{node.host}:{node.port}" + (" over TLS" if node.tls else "")


def _tls_options(p: argparse.ArgumentParser, edit: bool) -> None:
    if edit:
        p.add_argument(
            "--tls",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="reach it over DICOM TLS (--no-tls: plain TCP)",
        )
    else:
        p.add_argument("--tls", action="store_true", help="reach it over DICOM TLS")
    p.add_argument("--tls-ca", help="PEM file of the CA that signs its certificate")
    p.add_argument("--tls-cert", help="PEM file of our client certificate, when it wants one")
    p.add_argument("--tls-key", help="PEM file of our client certificate's key")
    p.add_argument(
        "--tls-peer-cert",
        metavar="PEM|SHA256",
        help="bind its AE title to its TLS client certificate (a PEM file or the certificate's"
        " SHA-256 fingerprint): associations calling that AE title must come over TLS with"
        " that certificate" + ('; "" removes the binding' if edit else ""),
    )


def _registry_cmd(args: argparse.Namespace) -> int:
    from core.net.tls import TlsClientConfig
    from core.registry import echo

    with _core(args) as core:
        registry = core.registry
        action = args.nodes_action
        if action == "add":
            node = registry.add(
                args.name,
                args.ae,
                args.host,
                args.port,
                args.retrieve,
                args.allow,
                tls=(
                    TlsClientConfig(
                        _path(args.tls_ca) or "",
                        _path(args.tls_cert) or "",
                        _path(args.tls_key) or "",
                    )
                    if args.tls
                    else None
                ),
                tls_peer_cert=args.tls_peer_cert or "",
            )
            print(f"added {node.name}: {_where(node)}")
        elif action == "list":
            nodes = registry.list()
            if args.json:
                print_rows([n.as_json() for n in nodes])
            elif not nodes:
                print("no remote nodes")
            else:
                for n in nodes:
                    print(
                        f"{n.name:20} {n.ae_title:16} {n.host}:{n.port:<6}"
                        f" {n.retrieve_method:5} {','.join(sorted(n.allowed))}"
                        + (" tls" if n.tls else "")
                        + (" cert-bound" if n.tls_peer_fingerprint else "")
                    )
        elif action == "edit":
            node = registry.edit(
                args.name,
                new_name=args.new_name,
                ae_title=args.ae,
                host=args.host,
                port=args.port,
                retrieve_method=args.retrieve,
                allowed=args.allow,
                tls=args.tls,
                tls_ca_file=_path(args.tls_ca),
                tls_cert_file=_path(args.tls_cert),
                tls_key_file=_path(args.tls_key),
                tls_peer_cert=args.tls_peer_cert,
            )
            print(f"updated {node.name}: {_where(node)}")
        elif action == "remove":
            registry.remove(args.name)
            print(f"removed {args.name}")
        elif action == "echo":
            ok, message = echo(registry.get(args.name), core.settings.ae_title, args.timeout)
            print(message)
            return 0 if ok else 1
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the DICOM node headless (stop with SIGTERM or Ctrl-C)")
    p.add_argument("--ae-title", help="our AE title (default from settings, KIOSK)")
    p.add_argument("--port", type=int, help="TCP port (default 11112)")
    p.add_argument("--bind", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--accept", choices=("any", "known"), help="accept any calling AE or known")
    p.add_argument(
        "--tls-port",
        type=int,
        help="also accept DICOM TLS on this port (2762 by convention; needs tls_cert_file)",
    )
    p.set_defaults(func=cmd_serve)

    nodes = sub.add_parser("nodes", help="the remote DICOM nodes registry")
    nsub = nodes.add_subparsers(title="nodes commands", metavar="COMMAND", required=True)
    p = nsub.add_parser("add", help="register a remote node")
    p.add_argument("name")
    p.add_argument("--ae", required=True, help="its AE title")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--retrieve", choices=choices.RETRIEVE_METHODS, default="move")
    p.add_argument("--allow", default="store,find,retrieve", help="services it may use on us")
    _tls_options(p, edit=False)
    p.set_defaults(func=_registry_cmd, nodes_action="add")
    p = nsub.add_parser("list", help="list remote nodes")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_registry_cmd, nodes_action="list")
    p = nsub.add_parser("edit", help="change a remote node")
    p.add_argument("name")
    p.add_argument("--name", dest="new_name")
    p.add_argument("--ae")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--retrieve", choices=choices.RETRIEVE_METHODS)
    p.add_argument("--allow")
    _tls_options(p, edit=True)
    p.set_defaults(func=_registry_cmd, nodes_action="edit")
    p = nsub.add_parser("remove", help="delete a remote node")
    p.add_argument("name")
    p.set_defaults(func=_registry_cmd, nodes_action="remove")
    p = nsub.add_parser("echo", help="C-ECHO a remote node")
    p.add_argument("name")
    p.add_argument("--timeout", type=float, default=10.0)
    p.set_defaults(func=_registry_cmd, nodes_action="echo")
