"""Open the real kiosk window offscreen and capture every warning Qt prints meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QMessageLogContext, QObject, QtMsgType, qInstallMessageHandler
from PySide6.QtQuick import QQuickItem

from core.app import Core
from tests.support.qt import settle
from viewmodels.kiosk import QML_DIR, Kiosk, build_kiosk

# Qt-internal noise that is not about our QML: Qt Multimedia probing for PipeWire, and a
# property override inside the Material style's own ComboBox popup.
FOREIGN = ("pipewire", "PopupList_QMLTYPE")


class Warnings:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def __call__(self, kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if kind in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg):
            return
        if any(noise in message for noise in FOREIGN):
            return
        where = f"{context.file}:{context.line}" if context.file else context.category or ""
        self.messages.append(f"{where}: {message}")


@contextmanager
def captured_warnings() -> Iterator[Warnings]:
    warnings = Warnings()
    previous = qInstallMessageHandler(warnings)
    try:
        yield warnings
    finally:
        qInstallMessageHandler(previous)


@contextmanager
def open_kiosk(
    core: Core, loop: asyncio.AbstractEventLoop, size: tuple[int, int] = (1024, 600)
) -> Iterator[Kiosk]:
    kiosk = build_kiosk(core)
    window = kiosk.window()
    window.resize(*size)
    try:
        loop.run_until_complete(kiosk.app_model.start())  # type: ignore[attr-defined]
        settle(loop)
        yield kiosk
    finally:
        settle(loop)
        kiosk.close()
        settle(loop)


def qml_files() -> list[Path]:
    return sorted((QML_DIR / "Kiosk").rglob("*.qml"))


def items(root: QQuickItem) -> Iterator[QQuickItem]:
    """The visual item tree under ``root``, depth first."""
    yield root
    for child in root.childItems():
        yield from items(child)


def find(kiosk: Kiosk, name: str):  # type: ignore[no-untyped-def]
    """An item (visual tree) or popup (object tree) by objectName."""
    window = kiosk.window()
    for item in items(window.contentItem()):
        if item.objectName() == name:
            return item
    for obj in window.findChildren(QObject):
        if obj.objectName() == name:
            return obj
    raise LookupError(f"no item named {name!r}")


def serve_self_as_pacs(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    """Start the kiosk's own node on a free loopback port and register it as the remote node
    "PACS", so the Query tab has a real peer (the caller stops the node: ``stop_node``)."""
    from tests.support.ports import free_port

    model = kiosk.app_model
    node = model.node  # type: ignore[attr-defined]
    node.port, node.bind = free_port(), "127.0.0.1"
    loop.run_until_complete(node.start())
    kiosk.core.registry.add("PACS", "PACS", "127.0.0.1", node.port, "get")
    loop.run_until_complete(model.settings.load())  # type: ignore[attr-defined]
    loop.run_until_complete(model.queryRetrieve.load_nodes())  # type: ignore[attr-defined]


def stop_node(kiosk: Kiosk, loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(kiosk.app_model.node.stop(grace=1.0))  # type: ignore[attr-defined]
