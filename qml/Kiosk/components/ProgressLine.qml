import QtQuick
import Kiosk

// A thin progress bar that scales with the theme: the done share, then the failed share in the
// error colour; `indeterminate` runs a block back and forth.
Rectangle {
    id: line
    property real value: 0
    property real failed: 0
    property bool indeterminate: false

    implicitHeight: Theme.progressHeight
    radius: height / 2
    color: Theme.borderColor

    Rectangle {
        id: done
        visible: !line.indeterminate
        width: parent.width * Math.max(0, Math.min(1, line.value))
        height: parent.height
        radius: parent.radius
        color: Theme.accent
    }
    Rectangle {
        visible: !line.indeterminate && line.failed > 0
        x: done.width
        width: Math.max(parent.height, parent.width * Math.min(1 - line.value, line.failed))
        height: parent.height
        radius: parent.radius
        color: Theme.statusError
    }
    Rectangle {
        id: runner
        visible: line.indeterminate
        width: parent.width / 4
        height: parent.height
        radius: parent.radius
        color: Theme.accent
        SequentialAnimation on x {
            running: line.indeterminate && line.visible
            loops: Animation.Infinite
            NumberAnimation { from: 0; to: line.width - runner.width; duration: 900 }
            NumberAnimation { from: line.width - runner.width; to: 0; duration: 900 }
        }
    }
}
