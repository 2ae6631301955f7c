"""The real-window tests' probe: what it calls shown is what a finger could tap."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtQml import QQmlComponent, QQmlEngine
from PySide6.QtQuick import QQuickWindow

from tests.support.qt import run_until
from viewmodels.probe import _items, describe

LIST = b"""
import QtQuick
Window {
    width: 300; height: 200; visible: true
    property alias list: rows
    ListView {
        id: rows
        anchors.fill: parent
        cacheBuffer: 320
        model: 50
        delegate: Rectangle {
            required property int index
            objectName: "row_" + index
            width: ListView.view.width; height: 40
        }
    }
    // A row of the list's own delegate the list has not placed (Qt makes such rows ahead,
    // for its cache, and culls them at the top of the list): still "visible" to Qt.
    Component {
        id: stray
        Rectangle { property int index: 30; objectName: "stray"; width: 300; height: 40 }
    }
    Component.onCompleted: stray.createObject(rows.contentItem)
}
"""


def test_only_rows_the_list_places_are_shown(loop: asyncio.AbstractEventLoop) -> None:
    engine = QQmlEngine()
    component = QQmlComponent(engine)
    component.setData(LIST, QUrl("list.qml"))
    window = component.create()
    assert isinstance(window, QQuickWindow), component.errorString()

    def rows() -> dict[str, dict[str, Any]]:
        return {
            item.objectName(): describe(item)
            for item in _items(window.contentItem())
            if item.objectName().startswith(("row_", "stray"))
        }

    run_until(loop, lambda: "row_0" in rows())
    found = rows()
    stray = found.pop("stray")
    assert stray["y"] == found["row_0"]["y"]
    assert not stray["visible"]
    shown = sorted(int(name[4:]) for name, row in found.items() if row["visible"])
    assert shown[0] == 0 and shown == list(range(len(shown)))  # the first rows, in order
    window.close()
