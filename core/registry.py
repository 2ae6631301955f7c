"""The remote nodes registry: peers we send to, move to, and accept associations from."""

from __future__ import annotations

import builtins
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.db.models import RemoteNode
from core.errors import ConfigError, NotFoundError

RetrieveMethod = Literal["move", "get"]
SERVICES: tuple[str, ...] = ("store", "find", "retrieve")
RETRIEVE_METHODS: tuple[str, ...] = ("move", "get")
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

    def allows(self, service: str) -> bool:
        return service in self.allowed

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ae_title": self.ae_title,
            "host": self.host,
            "port": self.port,
            "retrieve_method": self.retrieve_method,
            "allowed_services": sorted(self.allowed),
        }


def _info(row: RemoteNode) -> NodeInfo:
    allowed = frozenset(s for s in row.allowed_services.split(",") if s)
    return NodeInfo(row.name, row.ae_title, row.host, row.port, row.retrieve_method, allowed)


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
        with self._sessions() as session:
            rows = session.scalars(select(RemoteNode).order_by(RemoteNode.name))
            return [_info(r) for r in rows]

    def get(self, name: str) -> NodeInfo:
        with self._sessions() as session:
            row = session.scalar(select(RemoteNode).where(RemoteNode.name == name))
            if row is None:
                raise NotFoundError(f"no remote node named {name!r}")
            return _info(row)

    def by_ae_title(self, ae_title: str) -> builtins.list[NodeInfo]:
        with self._sessions() as session:
            rows = session.scalars(
                select(RemoteNode).where(RemoteNode.ae_title == ae_title.strip())
            )
            return [_info(r) for r in rows]

    def known_ae_titles(self) -> builtins.list[str]:
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
    ) -> NodeInfo:
        ae_title = ae_title.strip()
        _check(name, ae_title, host, port, retrieve_method)
        services = parse_services(allowed)
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
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return _info(row)

    def edit(self, name: str, **changes: Any) -> NodeInfo:
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
            if changes.get("allowed") is not None:
                row.allowed_services = parse_services(changes["allowed"])
            row.name, row.ae_title, row.host, row.port = new_name, ae_title, host, port
            row.retrieve_method = retrieve
            row.updated_at = _now()
            session.flush()
            return _info(row)

    def remove(self, name: str) -> None:
        with self._sessions.begin() as session:
            row = session.scalar(select(RemoteNode).where(RemoteNode.name == name))
            if row is None:
                raise NotFoundError(f"no remote node named {name!r}")
            session.delete(row)


def echo(node: NodeInfo, calling_ae: str, timeout: float = 10.0) -> tuple[bool, str]:
    """C-ECHO ``node``; return (success, message)."""
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    ae = AE(ae_title=calling_ae)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = timeout
    ae.add_requested_context(Verification)
    assoc = ae.associate(node.host, node.port, ae_title=node.ae_title)
    if not assoc.is_established:
        if assoc.is_rejected:
            return False, f"association rejected by {node.ae_title}@{node.host}:{node.port}"
        return False, f"no association with {node.ae_title}@{node.host}:{node.port}"
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    code = getattr(status, "Status", None)
    if code == 0:
        return True, f"{node.name}: C-ECHO succeeded"
    if code is None:
        return False, f"{node.name}: no C-ECHO response"
    return False, f"{node.name}: C-ECHO status 0x{code:04X}"


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
    from core.net.association import RemoteAE, associate, make_ae

    remote = RemoteAE(node.ae_title, node.host, node.port, node.name)
    ae = make_ae(calling_ae, timeout)
    ae.add_requested_context(Verification)
    try:
        assoc = associate(ae, remote, timeout=timeout)
    except NetworkError as exc:
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
