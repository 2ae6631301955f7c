import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Load: the stack fills the screen. Swipe or drag (or the wheel with Shift) to move through
// it, pinch or wheel to zoom, two fingers or right-drag to pan, W/L mode to window, Probe
// mode (or press and hold) for the value under the finger.
Rectangle {
    id: view
    required property ViewerModel viewer
    signal backRequested()
    property string mode: "stack"   // stack | window | probe
    color: Theme.viewerBackground

    function resetView() {
        canvas.scale = 1
        canvas.x = 0
        canvas.y = 0
    }
    Connections {
        target: view.viewer
        function onResetRequested() { view.resetView() }
    }

    Item {
        id: stage
        anchors.top: bar.bottom
        anchors.bottom: footer.top
        anchors.left: parent.left
        anchors.right: parent.right
        clip: true

        Item {
            id: canvas
            width: stage.width
            height: stage.height
            Image {
                id: picture
                objectName: "viewerImage"
                anchors.fill: parent
                source: view.viewer.source
                cache: false
                smooth: true
                fillMode: Image.PreserveAspectFit
            }
        }
        function probeAt(x, y) {
            var p = picture.mapFromItem(stage, x, y)
            var left = (picture.width - picture.paintedWidth) / 2
            var top = (picture.height - picture.paintedHeight) / 2
            view.viewer.probe((p.x - left) / picture.paintedWidth, (p.y - top) / picture.paintedHeight)
        }

        PinchHandler {
            target: canvas
            minimumScale: 0.5
            maximumScale: 12
        }
        WheelHandler {
            acceptedModifiers: Qt.NoModifier
            onWheel: (event) => {
                var factor = event.angleDelta.y > 0 ? 1.15 : 1 / 1.15
                canvas.scale = Math.min(12, Math.max(0.5, canvas.scale * factor))
            }
        }
        WheelHandler {
            acceptedModifiers: Qt.ShiftModifier
            onWheel: (event) => view.viewer.step(event.angleDelta.y > 0 ? -1 : 1)
        }
        DragHandler {
            target: canvas
            acceptedButtons: Qt.RightButton
        }
        DragHandler {
            id: drag
            target: null
            maximumPointCount: 1
            acceptedButtons: Qt.LeftButton
            property real lastX: 0
            property real lastY: 0
            onActiveChanged: {
                lastX = 0
                lastY = 0
                if (!active) view.viewer.clearProbe()
            }
            onTranslationChanged: {
                var dx = translation.x - lastX
                var dy = translation.y - lastY
                lastX = translation.x
                lastY = translation.y
                if (view.mode === "stack") view.viewer.scrub(dy)
                else if (view.mode === "window") view.viewer.adjustWindow(dx, dy)
                else stage.probeAt(centroid.position.x, centroid.position.y)
            }
        }
        TapHandler {
            onLongPressed: stage.probeAt(point.position.x, point.position.y)
            onTapped: view.viewer.clearProbe()
        }

        Text {
            anchors.centerIn: parent
            visible: view.viewer.count === 0
            text: "Nothing loaded"
            color: Theme.viewerText
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontLarge
        }
        Text {
            anchors.left: parent.left
            anchors.top: parent.top
            anchors.margins: Theme.spacing
            text: view.viewer.positionText + "\n" + view.viewer.windowText
            color: Theme.viewerText
            style: Text.Outline
            styleColor: "black"
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
        Text {
            anchors.right: parent.right
            anchors.top: parent.top
            anchors.margins: Theme.spacing
            text: view.viewer.probeText
            color: Theme.viewerText
            style: Text.Outline
            styleColor: "black"
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
    }

    RowLayout {
        id: bar
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.top: parent.top
        anchors.margins: Theme.spacing
        spacing: Theme.spacing
        TouchButton {
            objectName: "viewerBack"
            primary: true
            text: "‹ Back"
            onClicked: view.backRequested()
        }
        Text {
            Layout.fillWidth: true
            text: view.viewer.title
            color: Theme.viewerText
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontLarge
            elide: Text.ElideRight
        }
        TouchButton { compact: true; text: "▲"; onClicked: view.viewer.step(-1) }
        TouchButton { compact: true; text: "▼"; onClicked: view.viewer.step(1) }
        TouchButton {
            objectName: "viewerReset"
            text: "Reset"
            onClicked: view.viewer.reset()
        }
    }

    RowLayout {
        id: footer
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        anchors.margins: Theme.spacing
        spacing: Theme.spacing
        Chip { text: "Stack"; checked: view.mode === "stack"; onClicked: view.mode = "stack" }
        Chip { text: "W/L"; checked: view.mode === "window"; onClicked: view.mode = "window" }
        Chip { text: "Probe"; checked: view.mode === "probe"; onClicked: view.mode = "probe" }
        Item { Layout.preferredWidth: Theme.spacing * 2 }
        Item {
            Layout.fillWidth: true
            Layout.preferredHeight: Theme.touch
            Flickable {
                id: presets
                objectName: "viewerPresets"
                anchors.fill: parent
                contentWidth: presetRow.implicitWidth
                flickableDirection: Flickable.HorizontalFlick
                boundsBehavior: Flickable.StopAtBounds
                clip: true
                Row {
                    id: presetRow
                    spacing: Theme.spacing
                    Repeater {
                        model: view.viewer.presets
                        TouchButton {
                            required property string modelData
                            text: modelData
                            onClicked: view.viewer.applyPreset(modelData)
                        }
                    }
                }
            }
            // The bar scrolls sideways: a fade and an arrow on each side with more presets;
            // tapping the arrow scrolls by most of a bar.
            Repeater {
                model: [-1, 1]
                Rectangle {
                    required property int modelData
                    readonly property bool before: modelData < 0
                    objectName: before ? "presetsBefore" : "presetsAfter"
                    visible: before ? presets.contentX > 1
                                    : presets.contentX + presets.width < presets.contentWidth - 1
                    anchors.left: before ? parent.left : undefined
                    anchors.right: before ? undefined : parent.right
                    width: Theme.touch
                    height: parent.height
                    gradient: Gradient {
                        orientation: Gradient.Horizontal
                        GradientStop {
                            position: 0.0
                            color: before ? Theme.viewerBackground : "transparent"
                        }
                        GradientStop { position: 0.4; color: Theme.viewerBackground }
                        GradientStop { position: 0.6; color: Theme.viewerBackground }
                        GradientStop {
                            position: 1.0
                            color: before ? "transparent" : Theme.viewerBackground
                        }
                    }
                    Text {
                        anchors.centerIn: parent
                        text: parent.before ? "‹" : "›"
                        color: Theme.viewerText
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontLarge
                    }
                    TapHandler {
                        onTapped: presets.contentX = Math.max(0, Math.min(
                            presets.contentWidth - presets.width,
                            presets.contentX + parent.modelData * presets.width * 0.8))
                    }
                }
            }
        }
    }
}
