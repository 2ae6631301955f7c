"""The Settings tab: the DICOM node (state, Start/Stop/Reset, AE title, port, bind address,
accept policy), the remote nodes (add, edit, delete, C-ECHO test), the storage and the audit
trail (the latest records, a chain check). Every saved setting is recorded in the trail.

A remote node's TLS (the CA file, our client certificate and key, the certificate its AE title
is bound to) is saved through the same registry calls as ``dicom-kiosk nodes add/edit --tls``:
the same checks, the same messages, shown in the editor, and nothing saved when one fails."""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    Property,
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Signal,
    Slot,
)
from PySide6.QtQml import QmlElement, QmlUncreatable
from qasync import asyncSlot

from core.config import Settings, save_settings
from core.errors import ConfigError
from core.net.tls import TlsClientConfig, show_fingerprint
from core.registry import SERVICES, EchoResult, NodeInfo, NodeRegistry, echo_timed
from viewmodels.base import guarded

if TYPE_CHECKING:  # types only: the node (pynetdicom) and the audit trail load on first use
    from core.app import Core
    from core.audit import AuditEntry
    from core.node.server import DicomNode, NodeState

log = logging.getLogger(__name__)

QML_IMPORT_NAME = "Kiosk.Backend"
QML_IMPORT_MAJOR_VERSION = 1

SERVICE_TITLES = {"store": "Store", "find": "Query", "retrieve": "Retrieve"}
ACCEPT_POLICIES = ("any", "known")


# Choices the kiosk remembers for the user (the Query tab's server), not configuration: saved,
# but not a Security Alert of the audit trail.
REMEMBERED = frozenset({"qr_server"})


class SettingsStore:
    """Saves settings one change at a time and keeps ``core.settings`` current."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._lock = asyncio.Lock()

    async def save(self, **changes: Any) -> Settings:
        """Validate and persist ``changes`` (raises ConfigError with the reason)."""
        async with self._lock:
            old = self._core.settings
            new = await asyncio.to_thread(save_settings, old, **changes)
            self._core.settings = new
            changed = [
                k for k in changes if getattr(old, k) != getattr(new, k) and k not in REMEMBERED
            ]
            if changed:
                await asyncio.to_thread(self._core.audit.settings_changed, changed)
            return new


def _tls_path(text: str) -> str:
    """A PEM file's path as the registry keeps it (absolute, as ``nodes add`` does); "": none."""
    text = text.strip()
    return str(Path(text).expanduser().resolve()) if text else ""


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


class NodeRole(IntEnum):
    NAME = 0x0301
    AE_TITLE = 0x0302
    ADDRESS = 0x0303
    METHOD = 0x0304
    SERVICES = 0x0305
    TEST_STATE = 0x0306  # "", "testing", "ok", "failed"
    TEST_TEXT = 0x0307
    DETAIL = 0x0308
    TLS = 0x0309  # our associations with it run over TLS
    CERT_BOUND = 0x030A  # its AE title is bound to its client certificate


@QmlElement
@QmlUncreatable("The remote nodes list belongs to the settings view model.")
class NodeListModel(QAbstractListModel):  # type: ignore[operator]
    """The registered remote nodes, with the last C-ECHO test of each."""

    countChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._nodes: list[NodeInfo] = []
        self._tests: dict[str, tuple[str, str]] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._nodes)

    def roleNames(self) -> dict[int, QByteArray]:
        return {
            NodeRole.NAME: QByteArray(b"name"),
            NodeRole.AE_TITLE: QByteArray(b"aeTitle"),
            NodeRole.ADDRESS: QByteArray(b"address"),
            NodeRole.METHOD: QByteArray(b"method"),
            NodeRole.SERVICES: QByteArray(b"services"),
            NodeRole.TEST_STATE: QByteArray(b"testState"),
            NodeRole.TEST_TEXT: QByteArray(b"testText"),
            NodeRole.DETAIL: QByteArray(b"detail"),
            NodeRole.TLS: QByteArray(b"tls"),
            NodeRole.CERT_BOUND: QByteArray(b"certBound"),
        }

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._nodes):
            return None
        node = self._nodes[index.row()]
        if role == NodeRole.NAME:
            return node.name
        if role == NodeRole.AE_TITLE:
            return node.ae_title
        if role == NodeRole.ADDRESS:
            return f"{node.host}:{node.port}"
        if role == NodeRole.METHOD:
            return f"C-{node.retrieve_method.upper()}"
        if role == NodeRole.SERVICES:
            allowed = [SERVICE_TITLES[s] for s in SERVICES if s in node.allowed]
            return ", ".join(allowed) if allowed else "nothing"
        if role == NodeRole.DETAIL:
            services = ", ".join(SERVICE_TITLES[s] for s in SERVICES if s in node.allowed)
            tls = " · TLS" if node.tls else ""
            bound = " · certificate-bound" if node.tls_peer_fingerprint else ""
            return (
                f"{node.ae_title} @ {node.host}:{node.port}{tls}"
                f" · C-{node.retrieve_method.upper()} · may use: {services or 'nothing'}{bound}"
            )
        if role == NodeRole.TLS:
            return node.tls
        if role == NodeRole.CERT_BOUND:
            return bool(node.tls_peer_fingerprint)
        if role == NodeRole.TEST_STATE:
            return self._tests.get(node.name, ("", ""))[0]
        if role == NodeRole.TEST_TEXT:
            return self._tests.get(node.name, ("", ""))[1]
        return None

    @Property(int, notify=countChanged, final=True)
    def count(self) -> int:
        return len(self._nodes)

    def nodes(self) -> list[NodeInfo]:
        return list(self._nodes)

    def get(self, name: str) -> NodeInfo | None:
        return next((n for n in self._nodes if n.name == name), None)

    def set_nodes(self, nodes: list[NodeInfo]) -> None:
        if nodes == self._nodes:
            return
        self.beginResetModel()
        self._nodes = list(nodes)
        names = {n.name for n in nodes}
        self._tests = {k: v for k, v in self._tests.items() if k in names}
        self.endResetModel()
        self.countChanged.emit()

    def set_test(self, name: str, state: str, text: str) -> None:
        self._tests[name] = (state, text)
        for row, node in enumerate(self._nodes):
            if node.name == name:
                index = self.index(row)
                self.dataChanged.emit(index, index, [NodeRole.TEST_STATE, NodeRole.TEST_TEXT])


class AuditRole(IntEnum):
    TIME = 0x0401
    EVENT = 0x0402
    SUMMARY = 0x0403
    USER = 0x0404
    PATIENTS = 0x0405
    FAILED = 0x0406


AUDIT_PAGE = 50  # the Audit view lists the latest records; `dicom-kiosk audit list` has all


def _audit_time(iso: str) -> str:
    """An EventDateTime (UTC) in local time, to the second."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


@QmlElement
@QmlUncreatable("The audit list is made by the settings model.")
class AuditListModel(QAbstractListModel):  # type: ignore[operator]
    """The latest audit records, newest first (read-only)."""

    countChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[AuditEntry] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def roleNames(self) -> dict[int, QByteArray]:
        return {
            AuditRole.TIME: QByteArray(b"time"),
            AuditRole.EVENT: QByteArray(b"event"),
            AuditRole.SUMMARY: QByteArray(b"summary"),
            AuditRole.USER: QByteArray(b"user"),
            AuditRole.PATIENTS: QByteArray(b"patients"),
            AuditRole.FAILED: QByteArray(b"failed"),
        }

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        entry = self._entries[index.row()]
        event = entry.event
        if role == AuditRole.TIME:
            return _audit_time(event.time)
        if role == AuditRole.EVENT:
            kinds = ", ".join(t.text for t in event.types)
            return f"{entry.event_name} ({kinds})" if kinds else entry.event_name
        if role == AuditRole.SUMMARY:
            return event.summary
        if role == AuditRole.USER:
            requestor = event.requestor
            return requestor.user_id if requestor else ""
        if role == AuditRole.PATIENTS:
            return ", ".join(f"{name} ({pid})" if pid else name for pid, name in event.patients)
        if role == AuditRole.FAILED:
            return event.outcome != 0
        return None

    @Property(int, notify=countChanged, final=True)
    def count(self) -> int:
        return len(self._entries)

    def set_entries(self, entries: list[AuditEntry]) -> None:
        self.beginResetModel()
        self._entries = list(entries)
        self.endResetModel()
        self.countChanged.emit()


@dataclass(frozen=True)
class NodeNotBuilt:
    """What the Settings tab shows of the node before the core has built it (the kiosk does
    after its first frame, and the lock screen shows the node's state from the start): the
    ``NodeState`` of a node that has not started, without loading the node (pynetdicom)."""

    ae_title: str
    bind: str
    port: int
    running: bool = False
    tls_port: int = 0
    active_associations: int = 0
    images_today: int = 0
    last_error: str = ""


@QmlElement
@QmlUncreatable("The kiosk makes the settings view model.")
class SettingsModel(QObject):  # type: ignore[operator]
    nodeStateChanged = Signal()
    nodeBusyChanged = Signal()
    configChanged = Signal()
    configErrorChanged = Signal()
    editorErrorChanged = Signal()
    storageChanged = Signal()
    nodesChanged = Signal()
    nodeSaved = Signal()
    auditChanged = Signal()
    errorOccurred = Signal(str)
    message = Signal(str)

    def __init__(
        self,
        core: Core,
        node: DicomNode | None,
        store: SettingsStore,
        parent: QObject | None = None,
    ) -> None:
        """``node``: None for the core's own, read when first needed (the kiosk's first frame
        shows nothing of it)."""
        super().__init__(parent)
        self._core = core
        self._given_node = node
        self._store = store
        self._nodes = NodeListModel(self)
        self._known: NodeState | None = node.state if node is not None else None
        self._node_busy = False
        self._config_error = ""
        self._editor_error = ""
        self._storage: dict[str, Any] = {}
        self._audit = AuditListModel(self)
        self._audit_text = ""
        self._audit_broken = False
        self._audit_busy = False

    @property
    def _registry(self) -> NodeRegistry:
        """The core's remote nodes, read when used: the first frame needs no database engine."""
        return self._core.registry

    # -- node state (from the change bus, delivered on the GUI thread by the app model) ------
    @property
    def _node(self) -> DicomNode:
        return self._given_node if self._given_node is not None else self._core.node

    @property
    def _state(self) -> NodeState | NodeNotBuilt:
        """The node's state as last heard; until a state is heard, the node's own, and before
        the core has built its node, what a node not started yet reports."""
        if self._known is not None:
            return self._known
        if self._given_node is None and not self._core.built("node"):
            s = self._core.settings
            return NodeNotBuilt(ae_title=s.ae_title, bind=s.bind, port=s.port)
        return self._node.state

    def node_state_changed(self, state: NodeState) -> None:
        """A state heard (the bus, or a read after Start/Stop); the first one is always news:
        what was shown before it may have been the stand-in."""
        if state != self._known:
            self._known = state
            self.nodeStateChanged.emit()

    def _sync_state(self) -> None:
        self.node_state_changed(self._node.state)

    @Property(bool, notify=nodeStateChanged, final=True)
    def nodeRunning(self) -> bool:
        return self._state.running

    @Property(str, notify=nodeStateChanged, final=True)
    def nodeState(self) -> str:
        """``listening``, ``stopped``, or ``failed`` (it did not start, or stopped on an error)."""
        if self._state.running:
            return "listening"
        return "failed" if self._state.last_error else "stopped"

    @Property(str, notify=nodeStateChanged, final=True)
    def nodeStatus(self) -> str:
        if self._state.running:
            return "Running"
        if self._state.last_error:
            return f"Failed: {self._state.last_error}"
        return "Stopped"

    @Property(str, notify=nodeStateChanged, final=True)
    def nodeAeTitle(self) -> str:
        return self._state.ae_title

    @Property(str, notify=nodeStateChanged, final=True)
    def nodeAddressTitle(self) -> str:
        return "Listening on" if self._state.running else "Address"

    @Property(str, notify=nodeStateChanged, final=True)
    def nodeAddress(self) -> str:
        """Where the running node listens; a stopped one, where it would (not listening)."""
        if self._state.running:
            return f"{self._state.bind}:{self._state.port}"
        s = self._core.settings
        return f"{s.bind}:{s.port} (not listening)"

    @Property(int, notify=nodeStateChanged, final=True)
    def activeAssociations(self) -> int:
        return self._state.active_associations

    @Property(int, notify=nodeStateChanged, final=True)
    def imagesToday(self) -> int:
        return self._state.images_today

    @Property(bool, notify=nodeBusyChanged, final=True)
    def nodeBusy(self) -> bool:
        return self._node_busy

    def _set_busy(self, busy: bool) -> None:
        """The node's busy flag (``nodeBusy``), the one busy flag of this tab."""
        if busy != self._node_busy:
            self._node_busy = busy
            self.nodeBusyChanged.emit()

    # -- local configuration ---------------------------------------------------------------
    @Property(str, notify=configChanged, final=True)
    def aeTitle(self) -> str:
        return self._core.settings.ae_title

    @Property(str, notify=configChanged, final=True)
    def port(self) -> str:
        return str(self._core.settings.port)

    @Property(str, notify=configChanged, final=True)
    def bind(self) -> str:
        return self._core.settings.bind

    @Property(str, notify=configChanged, final=True)
    def acceptPolicy(self) -> str:
        return self._core.settings.accept_policy

    @Property(str, notify=configErrorChanged, final=True)
    def configError(self) -> str:
        return self._config_error

    def _set_config_error(self, text: str) -> None:
        if text != self._config_error:
            self._config_error = text
            self.configErrorChanged.emit()

    def restart_needed(self) -> bool:
        s, st = self._core.settings, self._state
        return st.running and (s.ae_title, s.port, s.bind) != (st.ae_title, st.port, st.bind)

    @Property(bool, notify=nodeStateChanged, final=True)
    def restartNeeded(self) -> bool:
        return self.restart_needed()

    @Property(str, notify=nodeStateChanged, final=True)
    def restartText(self) -> str:
        s = self._core.settings
        return (
            f"Saved: {s.ae_title} on {s.bind}:{s.port}. The node still runs as"
            f" {self._state.ae_title} on {self._state.bind}:{self._state.port} until it restarts."
        )

    # -- storage ---------------------------------------------------------------------------
    @Property(str, notify=storageChanged, final=True)
    def storageLocation(self) -> str:
        return str(self._core.settings.data_dir)

    @Property(str, notify=storageChanged, final=True)
    def storageText(self) -> str:
        s = self._storage
        if not s:
            return ""
        text = (
            f"{s['instances']:,} images in {s['studies']:,} studies use {_size(s['bytes'])}."
            f" {_size(s['free'])} free of {_size(s['total'])} on this disk."
        )
        if self._core.settings.max_store_bytes:
            text += f" Limit: {_size(self._core.settings.max_store_bytes)}."
        return text

    @Property(float, notify=storageChanged, final=True)
    def diskUsed(self) -> float:
        s = self._storage
        return 1.0 - s["free"] / s["total"] if s.get("total") else 0.0

    def _read_storage(self, stats: dict[str, int] | None = None) -> dict[str, Any]:
        """The index's counts (``stats`` when just counted) and the disk's space; blocking."""
        if stats is None:
            stats = self._core.stats()
        folder = self._core.settings.data_dir
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        disk = shutil.disk_usage(folder)
        return {**stats, "free": disk.free, "total": disk.total}

    async def storage_changed(self, stats: dict[str, int]) -> None:
        """Images were stored or deleted (the app model's coalesced refresh, which counted them
        off the GUI thread): show the new counts with the disk's space now."""
        storage = await asyncio.to_thread(self._read_storage, dict(stats))
        if storage != self._storage:
            self._storage = storage
            self.storageChanged.emit()

    # -- remote nodes ------------------------------------------------------------------------
    @Property(NodeListModel, constant=True, final=True)
    def nodes(self) -> NodeListModel:
        return self._nodes

    @Property(list, constant=True, final=True)
    def services(self) -> list[dict[str, str]]:
        return [{"key": s, "title": SERVICE_TITLES[s]} for s in SERVICES]

    @Property(str, notify=editorErrorChanged, final=True)
    def editorError(self) -> str:
        return self._editor_error

    def _set_editor_error(self, text: str) -> None:
        if text != self._editor_error:
            self._editor_error = text
            self.editorErrorChanged.emit()

    @Slot(str, result="QVariantMap")
    def nodeFields(self, name: str) -> dict[str, Any]:
        """The editor's fields for ``name`` (empty name: a new node's defaults). The TLS files
        are kept while TLS is off (turned on again, they are there); a certificate binding is
        shown as its fingerprint (the registry keeps no file), which saves unchanged."""
        self._set_editor_error("")
        node = self._nodes.get(name)
        if node is None:
            node = NodeInfo("", "", "", 104, "move", frozenset(SERVICES))
        return {
            "name": node.name,
            "aeTitle": node.ae_title,
            "host": node.host,
            "port": str(node.port),
            "method": node.retrieve_method,
            "services": [s for s in SERVICES if s in node.allowed],
            "tls": node.tls,
            "tlsCa": node.tls_ca_file,
            "tlsCert": node.tls_cert_file,
            "tlsKey": node.tls_key_file,
            "tlsPeerCert": show_fingerprint(node.tls_peer_fingerprint),
        }

    @Slot(str, result=str)
    def deletePrompt(self, name: str) -> str:
        node = self._nodes.get(name)
        if node is None:
            return ""
        return (
            f"Delete the remote node {node.name} ({node.ae_title} at {node.host}:{node.port})?"
            " It can no longer be queried or used as a move destination, and with"
            " 'known nodes only' it can no longer send here."
        )

    async def load(self) -> None:
        """Read the nodes, the storage and the latest audit records (at start and on Refresh)."""
        self._sync_state()
        nodes = await asyncio.to_thread(self._registry.list)
        self._nodes.set_nodes(nodes)
        self._storage = await asyncio.to_thread(self._read_storage)
        self.storageChanged.emit()
        await self._load_audit()

    # -- the audit trail ---------------------------------------------------------------------
    @Property(AuditListModel, constant=True, final=True)
    def audit(self) -> AuditListModel:
        return self._audit

    @Property(str, notify=auditChanged, final=True)
    def auditText(self) -> str:
        """What the last check of the chain found (empty before the first check)."""
        return self._audit_text

    @Property(bool, notify=auditChanged, final=True)
    def auditBroken(self) -> bool:
        return self._audit_broken

    @Property(bool, notify=auditChanged, final=True)
    def auditBusy(self) -> bool:
        return self._audit_busy

    async def _load_audit(self) -> None:
        entries = await asyncio.to_thread(self._core.audit.trail.list, limit=AUDIT_PAGE)
        self._audit.set_entries(entries)

    @asyncSlot()
    @guarded("Could not read the audit trail")
    async def refreshAudit(self) -> None:
        await self._load_audit()

    @asyncSlot()
    @guarded("Could not check the audit trail")
    async def verifyAudit(self) -> None:
        """Walk the hash chain; name the first records that were edited, deleted or moved."""
        self._audit_busy = True
        self.auditChanged.emit()
        try:
            result = await asyncio.to_thread(self._core.audit.trail.verify)
            await self._load_audit()
        finally:
            self._audit_busy = False
            self.auditChanged.emit()
        self._audit_broken = not result.ok
        if result.ok:
            self._audit_text = f"Audit trail intact: {result.checked} records checked."
        else:
            shown = "; ".join(problem for _id, problem in result.problems[:3])
            more = len(result.problems) - 3
            self._audit_text = f"Audit trail broken: {shown}" + (
                f" (and {more} more)" if more > 0 else ""
            )
        self.auditChanged.emit()

    # -- slots: node lifecycle ---------------------------------------------------------------
    def _apply_config(self) -> None:
        s = self._core.settings
        self._node.ae_title, self._node.port, self._node.bind = s.ae_title, s.port, s.bind
        self._node.accept_policy = s.accept_policy

    @guarded("The DICOM node did not {action}", busy=True)
    async def _lifecycle(self, action: str) -> None:
        try:
            if action == "stop":
                await self._node.stop()
            else:
                if not self._node.state.running or action == "reset":
                    self._apply_config()
                if action == "start":
                    await self._node.start()
                else:
                    await self._node.reset()
        finally:
            self._sync_state()  # shown at once, whether it worked or not
        st = self._state
        done = {"start": "started", "stop": "stopped", "reset": "restarted"}[action]
        where = f" as {st.ae_title} on {st.bind}:{st.port}" if st.running else ""
        self.message.emit(f"The DICOM node {done}{where}.")

    @asyncSlot()
    async def startNode(self) -> None:
        await self._lifecycle("start")  # reports its own errors and resets busy

    @asyncSlot()
    async def stopNode(self) -> None:
        await self._lifecycle("stop")  # reports its own errors and resets busy

    @asyncSlot()
    async def resetNode(self) -> None:
        """Stop and start again, with the saved AE title, port and bind address."""
        await self._lifecycle("reset")  # reports its own errors and resets busy

    # -- slots: configuration ----------------------------------------------------------------
    @asyncSlot(str, str, str)
    @guarded("Could not save")
    async def saveLocal(self, ae_title: str, port: str, bind: str) -> None:
        """Validate and save the local AE title, port and bind address."""
        ae_title, port, bind = ae_title.strip(), port.strip(), bind.strip()
        try:
            if not port.isdigit():
                raise ConfigError(f"port {port!r} must be a number from 1 to 65535")
            await self._store.save(ae_title=ae_title, port=int(port), bind=bind)
        except ConfigError as exc:  # what is wrong with the fields, shown beside them
            self._set_config_error(f"Not saved: {exc}")
            return
        self._set_config_error("")
        self.configChanged.emit()
        self.nodeStateChanged.emit()  # restartNeeded may have changed
        if self.restart_needed():
            self.message.emit("Saved. Restart the node for the change to take effect.")
        else:
            self.message.emit("Saved.")

    @asyncSlot(str)
    @guarded("Could not save the accept policy")
    async def setAcceptPolicy(self, policy: str) -> None:
        """Accept any calling AE, or known nodes only (applies at once)."""
        if policy not in ACCEPT_POLICIES or policy == self._core.settings.accept_policy:
            return
        await self._store.save(accept_policy=policy)
        self._node.accept_policy = policy
        self.configChanged.emit()
        if policy == "known" and self._nodes.count == 0:
            self.message.emit(
                "Only known nodes may connect now, and none is registered yet: add the"
                " scanners and archives under Remote nodes."
            )

    @asyncSlot()
    @guarded("Could not refresh")
    async def refresh(self) -> None:
        await self.load()

    # -- slots: remote nodes -------------------------------------------------------------------
    @asyncSlot(str, str, str, str, str, str, list, "QVariantMap")
    @guarded("Could not save", report=_set_editor_error)
    async def saveNode(
        self,
        original: str,
        name: str,
        ae_title: str,
        host: str,
        port: str,
        method: str,
        services: list[str],
        tls: dict[str, Any] | None = None,
    ) -> None:
        """Add (``original`` empty) or change a remote node; the editor shows what is wrong.

        ``tls``, the TLS fields as ``nodeFields`` gives them: ``tls`` (reach it over TLS),
        ``tlsCa`` (the CA file), ``tlsCert`` and ``tlsKey`` (our client certificate and key,
        when it wants one; with TLS off the files are left as they were), ``tlsPeerCert`` (the
        certificate, a PEM file or a SHA-256 fingerprint, its AE title is bound to; "": none).
        """
        name, ae_title, host, port = name.strip(), ae_title.strip(), host.strip(), port.strip()
        fields = tls or {}
        use_tls = bool(fields.get("tls"))
        peer_cert = str(fields.get("tlsPeerCert") or "").strip()

        def save() -> None:  # on a worker thread: the paths are resolved as the CLI does
            ca, cert, key = (
                _tls_path(str(fields.get(k) or "")) for k in ("tlsCa", "tlsCert", "tlsKey")
            )
            if original:
                self._registry.edit(
                    original,
                    new_name=name,
                    ae_title=ae_title,
                    host=host,
                    port=int(port),
                    retrieve_method=method,
                    allowed=list(services),
                    tls=use_tls,
                    tls_ca_file=ca if use_tls else None,
                    tls_cert_file=cert if use_tls else None,
                    tls_key_file=key if use_tls else None,
                    tls_peer_cert=peer_cert,
                )
            else:
                self._registry.add(
                    name,
                    ae_title,
                    host,
                    int(port),
                    method,
                    list(services),
                    tls=TlsClientConfig(ca, cert, key) if use_tls else None,
                    tls_peer_cert=peer_cert,
                )

        try:
            if not port.isdigit():
                raise ConfigError(f"port {port!r} must be a number from 1 to 65535")
            await asyncio.to_thread(save)
        except ConfigError as exc:  # what is wrong with the fields
            self._set_editor_error(str(exc)[:1].upper() + str(exc)[1:] + ".")
            return
        self._set_editor_error("")
        change = f"edited ({original})" if original else "added"
        await asyncio.to_thread(self._core.audit.remote_node_changed, name, change)
        await self._reload_nodes()
        self.nodeSaved.emit()
        self.message.emit(f"Saved the remote node {name}.")

    async def _reload_nodes(self) -> None:
        nodes = await asyncio.to_thread(self._registry.list)
        self._nodes.set_nodes(nodes)
        self.nodesChanged.emit()

    @asyncSlot(str)
    @guarded("Could not delete {name}")
    async def deleteNode(self, name: str) -> None:
        await asyncio.to_thread(self._registry.remove, name)
        await asyncio.to_thread(self._core.audit.remote_node_changed, name, "deleted")
        await self._reload_nodes()
        self.message.emit(f"Deleted the remote node {name}.")

    @asyncSlot(str)
    @guarded("Could not test {name}")
    async def testNode(self, name: str) -> None:
        """C-ECHO the node off the GUI thread; the row shows the result and round-trip time."""
        node = self._nodes.get(name)
        if node is None:
            return
        self._nodes.set_test(name, "testing", "Testing…")
        result = await asyncio.to_thread(_echo, node, self._core.settings.ae_title)
        self._nodes.set_test(name, "ok" if result.ok else "failed", result.message)


def _echo(node: NodeInfo, calling_ae: str) -> EchoResult:
    """The C-ECHO of the Test button (on a worker thread): whatever goes wrong is its result."""
    try:
        return echo_timed(node, calling_ae, 10.0)
    except Exception as exc:
        log.exception("testing a remote node failed")
        return EchoResult(False, f"Test failed: {exc}")
