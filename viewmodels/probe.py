"""A test-only window of introspection into a running kiosk (off unless asked for).

When ``DICOM_KIOSK_TEST_PROBE`` names a socket path, ``run`` starts a local socket server there
(``QLocalServer``, the user's own file permissions). Tests in the real window (``tests/e2e``)
send one JSON object per line and get one JSON object back per line:

- ``{"op": "ping"}``: ``{"ok": true, "pid": ...}``
- ``{"op": "window"}``: the window's and its screen's geometry, ``Theme.scale``
- ``{"op": "item", "name": N}``: where the first item named N is on the screen (``x y w h``
  in screen pixels), ``visible`` (itself and every ancestor), ``enabled``, ``text`` (or the
  combo box's ``editText``), ``checked``; ``{"found": false}`` when there is none
- ``{"op": "items", "prefix": P}``: the same for every item whose name starts with P
- ``{"op": "keys"}``: the on-screen keyboard's visible keys (``text``, ``displayText``, place)
- ``{"op": "prop", "path": "database.filters.summary"}``: a property of the application model
  (each step a Qt property), as JSON
- ``{"op": "rows", "level": "patient"}``: the cells of every row a level model holds
- ``{"op": "idle"}``: whether no task runs on the loop and no level is loading
- ``{"op": "input"}``: how many mouse button releases (``releases``) and releases of keys
  other than modifiers (``keys``) the window has received: a test waits for its tap's or its
  typing's last release to have arrived before it reads what they did

It only reads: nothing here changes the kiosk, so a test drives it through the X server as a
user would. Nothing in ``core`` knows of it; the kiosk never starts it without the variable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import shiboken6
from PySide6.QtCore import Q_ARG, Q_RETURN_ARG, QEvent, QMetaObject, QObject, QPointF, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtQuick import QQuickItem, QQuickWindow

log = logging.getLogger(__name__)

_MODIFIERS = {
    Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr,
    Qt.Key.Key_CapsLock,
}  # fmt: skip


def _items(root: QQuickItem) -> Iterator[QQuickItem]:
    yield root
    for child in root.childItems():
        yield from _items(child)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "toVariant"):
        return _jsonable(value.toVariant())
    return str(value)


def _visible(item: QQuickItem) -> bool:
    """Shown: the item and every ancestor visible, none fully transparent, and none a list's
    row that the list does not place."""
    node: QQuickItem | None = item
    while node is not None:
        if not node.isVisible() or node.opacity() <= 0.0 or not _placed(node):
            return False
        node = node.parentItem()
    return True


def _placed(item: QQuickItem) -> bool:
    """False for a delegate its ListView made ahead (its cache buffer) and has not placed:
    Qt culls such a row, which keeps it "visible" at the top of the list, where it is never
    drawn. A row is placed when the view gives it for its index."""
    content = item.parentItem()
    view = content.parentItem() if content is not None else None
    if view is None or not view.inherits("QQuickItemView"):
        return True
    index = item.property("index")
    if not isinstance(index, int):
        return True
    placed = QMetaObject.invokeMethod(
        view, "itemAtIndex", Q_RETURN_ARG("QQuickItem*"), Q_ARG("int", index)
    )
    return isinstance(placed, QQuickItem) and (
        shiboken6.getCppPointer(placed) == shiboken6.getCppPointer(item)
    )


def describe(item: QQuickItem, ratio: float = 1.0) -> dict[str, Any]:
    """Where ``item`` is on the screen (in pixels: ``ratio`` is the window's device pixel
    ratio) and what it shows. (``item.window()`` is not asked: PySide would take the window's
    ownership with the wrapper it returns, and delete the window with it.)"""
    top_left = item.mapToGlobal(QPointF(0, 0))
    text = item.property("editText") if item.property("editable") else item.property("text")
    return {
        "found": True,
        "name": item.objectName(),
        "x": top_left.x() * ratio,
        "y": top_left.y() * ratio,
        "w": item.width() * ratio,
        "h": item.height() * ratio,
        "visible": _visible(item),
        "enabled": bool(item.isEnabled()),
        "text": _jsonable(text),
        "checked": _jsonable(item.property("checked")),
    }


class Probe(QObject):
    """Answers the tests' questions about ``window`` and ``app_model`` (GUI thread only)."""

    def __init__(self, window: QQuickWindow, app_model: QObject, path: str) -> None:
        super().__init__(window)
        self._window = window
        self._app = app_model
        self._server = QLocalServer(self)
        QLocalServer.removeServer(path)
        if not self._server.listen(path):
            raise RuntimeError(f"probe: cannot listen on {path}: {self._server.errorString()}")
        self._server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}
        self._releases = 0
        self._key_releases = 0
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        """Count the window's mouse and key releases; every event goes on unchanged."""
        kind = event.type()
        if kind == QEvent.Type.MouseButtonRelease:
            self._releases += 1
        elif kind == QEvent.Type.KeyRelease and isinstance(event, QKeyEvent):
            if not event.isAutoRepeat() and event.key() not in _MODIFIERS:
                self._key_releases += 1
        return False

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._buffers.pop(s, None))

    def _read(self, socket: QLocalSocket) -> None:
        data = self._buffers.get(socket, b"") + bytes(socket.readAll().data())
        while b"\n" in data:
            line, data = data.split(b"\n", 1)
            try:
                answer = self.answer(json.loads(line))
            except Exception as exc:  # a test's bad question: say so, keep serving
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            socket.write(json.dumps(answer).encode() + b"\n")
            socket.flush()
        self._buffers[socket] = data

    # -- the questions ------------------------------------------------------------------------
    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "window":
            return self._window_info()
        if op == "item":
            item = self._find(str(request["name"]))
            return describe(item, self._ratio()) if item is not None else {"found": False}
        if op == "items":
            prefix = str(request["prefix"])
            root = self._window.contentItem()
            ratio = self._ratio()
            found = [describe(i, ratio) for i in _items(root) if i.objectName().startswith(prefix)]
            return {"items": found}
        if op == "keys":
            return {"keys": self._keys()}
        if op == "prop":
            return {"value": self._prop(str(request["path"]))}
        if op == "rows":
            return {"rows": self._rows(str(request["level"]))}
        if op == "idle":
            return {"idle": self._idle()}
        if op == "input":
            return {"releases": self._releases, "keys": self._key_releases}
        return {"error": f"unknown op {op!r}"}

    def _window_info(self) -> dict[str, Any]:
        w = self._window
        screen = w.screen()
        geometry = screen.geometry() if screen is not None else None
        theme = _jsonable(w.property("uiScale"))
        return {
            "x": w.x(),
            "y": w.y(),
            "w": w.width(),
            "h": w.height(),
            "screen": [geometry.width(), geometry.height()] if geometry is not None else None,
            "visibility": str(w.visibility().name),
            "scale": theme,
            "keyboardHeight": _jsonable(w.property("keyboardHeight")),
        }

    def _find(self, name: str) -> QQuickItem | None:
        for item in _items(self._window.contentItem()):
            if item.objectName() == name:
                return item
        return None

    def _ratio(self) -> float:
        return float(self._window.devicePixelRatio())

    def _keys(self) -> list[dict[str, Any]]:
        keys = []
        ratio = self._ratio()
        for item in _items(self._window.contentItem()):
            if item.property("displayText") is None or item.property("key") is None:
                continue
            if not _visible(item) or item.width() <= 0:
                continue
            info = describe(item, ratio)
            info["displayText"] = _jsonable(item.property("displayText"))
            keys.append(info)
        return keys

    def _prop(self, path: str) -> Any:
        obj: Any = self._app
        for step in path.split("."):
            if not isinstance(obj, QObject):
                raise LookupError(f"{step!r}: not an object")
            # Python view models answer as Python objects; QML-side ones through Qt.
            obj = getattr(obj, step) if hasattr(obj, step) else obj.property(step)
        return _jsonable(obj)

    def _rows(self, level: str) -> list[list[str]]:
        database = self._app.database  # type: ignore[attr-defined]
        model = database.level_model(level)
        from viewmodels.levels import Role

        return [list(model.data(model.index(row), Role.CELLS)) for row in range(model.rowCount())]

    def _idle(self) -> bool:
        """No view-model work under way (the kiosk's own main task and the core's services
        run for as long as the kiosk does, so they do not count)."""
        try:
            running = asyncio.all_tasks(asyncio.get_event_loop())
        except RuntimeError:
            running = set()
        for task in running:
            code = getattr(task.get_coro(), "cr_code", None)
            filename = code.co_filename if code is not None else ""
            if "viewmodels" in filename and not filename.endswith("kiosk.py"):
                return False
        database = self._app.database  # type: ignore[attr-defined]
        return not any(
            database.level_model(level).busy for level in ("patient", "study", "series", "image")
        )


def start_probe(window: QQuickWindow, app_model: Any, path: str) -> Probe:
    """The probe on the socket ``path`` (``DICOM_KIOSK_TEST_PROBE``: ``run`` asks for it)."""
    log.warning("test probe listening on %s (set only by the real-window tests)", path)
    return Probe(window, app_model, path)
