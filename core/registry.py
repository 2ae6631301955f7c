"""The remote nodes registry: peers we send to, move to, and accept associations from.

A node's AE title can be bound to its TLS client certificate (``tls_peer_fingerprint``, the
SHA-256 fingerprint of that certificate): the node then accepts an association calling that
AE title only over TLS, from a client showing that certificate (core.net.tls.binding_refusal,
applied by core.node.reception before either receive path serves the association).
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from core.errors import ConfigError, NotFoundError
from core.net.remote import RemoteAE
from core.net.tls import TlsClientConfig, parse_fingerprint, show_fingerprint

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from core.db.models import RemoteNode

RetrieveMethod = Literal["move", "get"]
SERVICES: tuple[str, ...] = ("store", "find", "retrieve")
RETRIEVE_METHODS: tuple[str, ...] = ("move", "get")
TLS_FIELDS: tuple[str, ...] = ("tls", "tls_ca_file", "tls_cert_file", "tls_key_file")
_AE_RE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")
_NAME_RE = re.compile(r"^[\w .@+-]{1,64}$")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A registry entry as plain data (safe to hand to other threads)."""

    name: str
    ae_title: str
    host: str
    port: int
    retrieve_method: str
    allowed: frozenset[str]
    # DICOM TLS: our associations with it run over TLS, verified against ``tls_ca_file``;
    # our client certificate and key when it wants one.
    tls: bool = False
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # its AE title is bound to the client certificate with this SHA-256 fingerprint ("": not)
    tls_peer_fingerprint: str = ""

    def allows(self, service: str) -> bool:
        return service in self.allowed

    def remote(self) -> RemoteAE:
        """Where to reach it (over TLS when it is marked so)."""
        return RemoteAE(self.ae_title, self.host, self.port, self.name, self.tls_config())

    def tls_config(self) -> TlsClientConfig | None:
        """How to reach it over TLS; None when it is reached by plain TCP."""
        if not self.tls:
            return None
        return TlsClientConfig(self.tls_ca_file, self.tls_cert_file, self.tls_key_file)

    def as_json(self) -> dict[str, Any]:
        """Its fields; ``tls`` (CA file, client certificate and key) only for a TLS node."""
        data: dict[str, Any] = {
            "name": self.name,
            "ae_title": self.ae_title,
            "host": self.host,
            "port": self.port,
            "retrieve_method": self.retrieve_method,
            "allowed_services": sorted(self.allowed),
        }
        if self.tls:
            data["tls"] = {
                "ca_file": self.tls_ca_file,
                "cert_file": self.tls_cert_file,
                "key_file": self.tls_key_file,
            }
        if self.tls_peer_fingerprint:
            data["tls_peer_fingerprint"] = show_fingerprint(self.tls_peer_fingerprint)
        return data


# The ``remote_node`` columns a NodeInfo is read from, in its fields' order.
NODE_COLUMNS: tuple[str, ...] = (
    "name", "ae_title", "host", "port", "retrieve_method", "allowed_services", "tls",
    "tls_ca_file", "tls_cert_file", "tls_key_file", "tls_peer_fingerprint",
)  # fmt: skip


def node_info(values: Sequence[Any]) -> NodeInfo:
    """A NodeInfo from a ``remote_node`` row's ``NODE_COLUMNS`` values (the ORM's or the
    standard library's: ``core.db.light``)."""
    name, ae_title, host, port, retrieve, services, tls, ca, cert, key, fingerprint = values
    allowed = frozenset(s for s in (services or "").split(",") if s)
    return NodeInfo(
        name, ae_title, host, int(port), retrieve, allowed, bool(tls), ca or "", cert or "",
        key or "", fingerprint or "",
    )  # fmt: skip


def _info(row: RemoteNode) -> NodeInfo:
    return node_info([getattr(row, column) for column in NODE_COLUMNS])


def _orm() -> tuple[Any, type[RemoteNode]]:
    """SQLAlchemy's ``select`` and the table, imported when the registry is first read: the
    kiosk makes its first frame and ``dicom-kiosk query`` asks its PACS without them."""
    from sqlalchemy import select

    from core.db.models import RemoteNode

    return select, RemoteNode


def _check_tls(tls: bool, ca_file: str, cert_file: str, key_file: str) -> None:
    """A TLS node needs its CA file; the files named must exist (PEM, checked when used)."""
    if not tls:
        return
    if not ca_file:
        raise ConfigError("a TLS node needs the CA file that signs its certificate (--tls-ca)")
    if key_file and not cert_file:
        raise ConfigError("a TLS client key needs its certificate (--tls-cert)")
    for path, what in ((ca_file, "CA file"), (cert_file, "certificate"), (key_file, "key")):
        if path and not Path(path).is_file():
            raise ConfigError(f"the TLS {what} {path!r} does not exist or is not a file")


def parse_services(text: str | Iterable[str]) -> str:
    items = [s.strip().lower() for s in (text.split(",") if isinstance(text, str) else text)]
    items = [s for s in items if s]
    unknown = [s for s in items if s not in SERVICES]
    if unknown:
        raise ConfigError(
            f"unknown service {', '.join(unknown)}; choose from {', '.join(SERVICES)}"
        )
    return ",".join(s for s in SERVICES if s in items)


def _check(name: str, ae_title: str, host: str, port: int, retrieve: str) -> None:
    if not _NAME_RE.match(name):
        raise ConfigError(f"node name {name!r}: 1-64 letters, digits, space, . @ + - or _")
    if not _AE_RE.match(ae_title) or not ae_title.strip():
        raise ConfigError(f"AE title {ae_title!r} must be 1-16 printable characters")
    if not host or any(c.isspace() for c in host):
        raise ConfigError(f"host {host!r} is not a host name or address")
    if not 0 < port < 65536:
        raise ConfigError(f"port {port} is outside 1-65535")
    if retrieve not in RETRIEVE_METHODS:
        raise ConfigError("retrieve method must be move or get")


class NodeRegistry:
    """CRUD over ``remote_node``; every method opens its own short session (thread-safe)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def list(self) -> list[NodeInfo]:
        select, RemoteNode = _orm()
        with self._sessions() as session:
            rows = session.scalars(select(RemoteNode).order_by(RemoteNode.name))
            return [_info(r) for r in rows]

    def get(self, name: str) -> NodeInfo:
        select, RemoteNode = _orm()
        with self._sessions() as session:
            row = session.scalar(select(RemoteNode).where(RemoteNode.name == name))
            if row is None:
                raise NotFoundError(f"no remote node named {name!r}")
            return _info(row)

    def by_ae_title(self, ae_title: str) -> builtins.list[NodeInfo]:
        select, RemoteNode = _orm()
        with self._sessions() as session:
            rows = session.scalars(
                select(RemoteNode).where(RemoteNode.ae_title == ae_title.strip())
            )
            return [_info(r) for r in rows]

    def known_ae_titles(self) -> builtins.list[str]:
        select, RemoteNode = _orm()
        with self._sessions() as session:
            return sorted(set(session.scalars(select(RemoteNode.ae_title))))

    def add(
        self,
        name: str,
        ae_title: str,
        host: str,
        port: int,
        retrieve_method: str = "move",
        allowed: str | Iterable[str] = SERVICES,
        *,
        tls: TlsClientConfig | None = None,
        tls_peer_cert: str = "",
    ) -> NodeInfo:
        """Register a node; with ``tls``, our associations with it run over TLS; with
        ``tls_peer_cert`` (a PEM certificate file or its SHA-256 fingerprint), associations
        calling its AE title must come over TLS with that client certificate."""
        ae_title = ae_title.strip()
        _check(name, ae_title, host, port, retrieve_method)
        if tls is not None:
            _check_tls(True, tls.ca_file, tls.cert_file, tls.key_file)
        services = parse_services(allowed)
        fingerprint = parse_fingerprint(tls_peer_cert)
        select, RemoteNode = _orm()
        with self._sessions.begin() as session:
            if session.scalar(select(RemoteNode.id).where(RemoteNode.name == name)):
                raise ConfigError(f"a remote node named {name!r} exists already")
            now = _now()
            row = RemoteNode(
                name=name,
                ae_title=ae_title,
                host=host,
                port=port,
                retrieve_method=retrieve_method,
                allowed_services=services,
                tls=tls is not None,
                tls_ca_file=tls.ca_file if tls else "",
                tls_cert_file=tls.cert_file if tls else "",
                tls_key_file=tls.key_file if tls else "",
                tls_peer_fingerprint=fingerprint,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return _info(row)

    def edit(self, name: str, **changes: Any) -> NodeInfo:
        """Change the fields given (None: unchanged); ``tls_peer_cert`` rebinds its AE title
        to a certificate (a PEM file or a fingerprint; ``""`` removes the binding)."""
        peer_cert = changes.get("tls_peer_cert")
        fingerprint = parse_fingerprint(peer_cert) if peer_cert is not None else None
        select, RemoteNode = _orm()
        with self._sessions.begin() as session:
            row = session.scalar(select(RemoteNode).where(RemoteNode.name == name))
            if row is None:
                raise NotFoundError(f"no remote node named {name!r}")
            new_name = changes.get("new_name") or row.name
            if new_name != row.name and session.scalar(
                select(RemoteNode.id).where(RemoteNode.name == new_name)
            ):
                raise ConfigError(f"a remote node named {new_name!r} exists already")
            ae_title = (changes.get("ae_title") or row.ae_title).strip()
            host = changes.get("host") or row.host
            port = int(changes.get("port") or row.port)
            retrieve = changes.get("retrieve_method") or row.retrieve_method
            _check(new_name, ae_title, host, port, retrieve)
            tls_now = {key: getattr(row, key) for key in TLS_FIELDS}
            tls_now.update({k: v for k, v in changes.items() if k in TLS_FIELDS and v is not None})
            _check_tls(
                bool(tls_now["tls"]),
                tls_now["tls_ca_file"] or "",
                tls_now["tls_cert_file"] or "",
                tls_now["tls_key_file"] or "",
            )
            for key, value in tls_now.items():
                setattr(row, key, value)
            if changes.get("allowed") is not None:
                row.allowed_services = parse_services(changes["allowed"])
            if fingerprint is not None:
                row.tls_peer_fingerprint = fingerprint
            row.name, row.ae_title, row.host, row.port = new_name, ae_title, host, port
            row.retrieve_method = retrieve
            row.updated_at = _now()
            session.flush()
            return _info(row)

    def remove(self, name: str) -> None:
        select, RemoteNode = _orm()
        with self._sessions.begin() as session:
            row = session.scalar(select(RemoteNode).where(RemoteNode.name == name))
            if row is None:
                raise NotFoundError(f"no remote node named {name!r}")
            session.delete(row)


def echo(node: NodeInfo, calling_ae: str, timeout: float = 10.0) -> tuple[bool, str]:
    """C-ECHO ``node`` (over TLS when it is marked so); return (success, message)."""
    result = echo_timed(node, calling_ae, timeout)
    if result.ok:
        return True, f"{node.name}: C-ECHO succeeded ({result.round_trip_ms:.0f} ms)"
    return False, f"{node.name}: {result.message}"


@dataclass(frozen=True, slots=True)
class EchoResult:
    """The outcome of a C-ECHO: success, a sentence for the user, the round-trip time."""

    ok: bool
    message: str
    round_trip_ms: float | None = None  # the C-ECHO request and its response


def echo_timed(node: NodeInfo, calling_ae: str, timeout: float = 10.0) -> EchoResult:
    """C-ECHO ``node`` and time it; a failure says why (nothing listening, rejected, ...)."""
    import time

    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    from core.errors import NetworkError
    from core.net.association import associate, make_ae

    remote = node.remote()
    ae = make_ae(calling_ae, timeout)
    ae.add_requested_context(Verification)
    try:
        assoc = associate(ae, remote, timeout=timeout)
    except (NetworkError, ConfigError) as exc:
        return EchoResult(False, str(exc))
    try:
        start = time.perf_counter()
        status = assoc.send_c_echo()
        elapsed = (time.perf_counter() - start) * 1000
    finally:
        if assoc.is_established:
            assoc.release()
    code = getattr(status, "Status", None)
    if code is None:
        return EchoResult(False, f"{remote} did not answer the C-ECHO within {timeout:g} s")
    if code != 0:
        return EchoResult(False, f"{remote} answered the C-ECHO with status 0x{code:04X}")
    return EchoResult(True, f"{node.name} answered the C-ECHO in {elapsed:.0f} ms", elapsed)
