import QtQuick
import QtQuick.Controls.Basic as Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Load: the stack fills the screen. Swipe or drag (or the wheel with Shift) to move through
// it, or the slider at the right edge; play runs it as cine. Pinch or wheel to zoom, two
// fingers or right-drag to pan, W/L mode to window, Probe mode (a tap, or press and hold)
// for the value under the finger. A tap elsewhere shows or hides the four-corner overlay.
// Key flags the image; Save stores the view (and the key images) in the database.
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
    // The image region on screen, as fractions of the image (may reach outside 0..1).
    function shownArea() {
        var tl = picture.mapFromItem(stage, 0, 0)
        var br = picture.mapFromItem(stage, stage.width, stage.height)
        var left = (picture.width - picture.paintedWidth) / 2
        var top = (picture.height - picture.paintedHeight) / 2
        return [(tl.x - left) / picture.paintedWidth, (tl.y - top) / picture.paintedHeight,
                (br.x - left) / picture.paintedWidth, (br.y - top) / picture.paintedHeight]
    }
    function save(capture) {
        var a = view.shownArea()
        view.viewer.saveView(a[0], a[1], a[2], a[3], capture)
    }
    // Show the image region (fractions) a saved presentation state asks for, scaled to fit.
    function showArea(l, t, r, b) {
        view.resetView()
        var w = Math.max(1e-6, r - l) * picture.paintedWidth
        var h = Math.max(1e-6, b - t) * picture.paintedHeight
        var s = Math.min(stage.width / w, stage.height / h)
        var left = (picture.width - picture.paintedWidth) / 2
        var top = (picture.height - picture.paintedHeight) / 2
        var cx = left + (l + r) / 2 * picture.paintedWidth
        var cy = top + (t + b) / 2 * picture.paintedHeight
        canvas.scale = s
        // the canvas scales about its centre: move the area's centre to the stage's centre
        canvas.x = (canvas.width / 2 - cx) * s
        canvas.y = (canvas.height / 2 - cy) * s
    }
    function reportZoom() {
        if (view.viewer.imageWidth > 0)
            view.viewer.setZoom(canvas.scale * picture.paintedWidth / view.viewer.imageWidth)
    }
    Connections {
        target: view.viewer
        function onResetRequested() { view.resetView() }
        function onAreaRequested(l, t, r, b) { view.showArea(l, t, r, b) }
    }

    Item {
        id: stage
        objectName: "viewerStage"
        anchors.top: bar.bottom
        anchors.bottom: footer.top
        anchors.left: parent.left
        anchors.right: parent.right
        clip: true

        onHeightChanged: view.viewer.setDragExtent(height)
        Component.onCompleted: view.viewer.setDragExtent(height)

        Item {
            id: canvas
            width: stage.width
            height: stage.height
            onScaleChanged: view.reportZoom()
            Image {
                id: picture
                objectName: "viewerImage"
                anchors.fill: parent
                source: view.viewer.source
                cache: false
                smooth: true
                fillMode: Image.PreserveAspectFit
                onPaintedWidthChanged: view.reportZoom()
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
            objectName: "viewerTap"
            onLongPressed: stage.probeAt(point.position.x, point.position.y)
            onTapped: (eventPoint) => {
                if (view.mode === "probe") {
                    stage.probeAt(eventPoint.position.x, eventPoint.position.y)
                } else {
                    view.viewer.clearProbe()
                    view.viewer.toggleOverlay()
                }
            }
        }

        ViewerOverlay {
            objectName: "viewerOverlay"
            anchors.fill: parent
            anchors.rightMargin: slider.visible ? slider.width : 0
            viewer: view.viewer
        }

        // The stack's scroll bar: drag the handle or tap the track to go to an image.
        Controls.Slider {
            id: slider
            objectName: "viewerSlider"
            anchors.right: parent.right
            anchors.top: parent.top
            anchors.bottom: parent.bottom
            width: Theme.touch
            orientation: Qt.Vertical
            visible: view.viewer.count > 1
            // a vertical slider runs from the bottom: the first image is at the top
            from: Math.max(1, view.viewer.count - 1)
            to: 0
            stepSize: 1
            snapMode: Controls.Slider.SnapAlways
            live: true
            value: view.viewer.index
            onMoved: view.viewer.goTo(Math.round(value))
            background: Rectangle {
                x: (slider.width - width) / 2
                width: Theme.spacing
                height: slider.height
                radius: width / 2
                color: Theme.buttonFill
                opacity: 0.6
            }
            handle: Rectangle {
                objectName: "viewerSliderHandle"
                x: (slider.width - width) / 2
                y: slider.visualPosition * (slider.availableHeight - height)
                width: Theme.touch * 0.75
                height: Theme.touch * 0.75
                radius: width / 2
                color: slider.pressed ? Theme.accentPressed : Theme.accent
            }
        }

        Text {
            objectName: "viewerEmpty"
            anchors.centerIn: parent
            visible: view.viewer.count === 0
            text: "Nothing loaded"
            color: Theme.viewerText
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontLarge
        }
        Text {
            objectName: "viewerProbe"
            anchors.horizontalCenter: parent.horizontalCenter
            anchors.bottom: parent.bottom
            anchors.bottomMargin: Theme.touch
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
            objectName: "viewerTitle"
            Layout.fillWidth: true
            text: view.viewer.title
            color: Theme.viewerText
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontLarge
            elide: Text.ElideRight
        }
        TouchButton {
            objectName: "viewerPlay"
            compact: true
            enabled: view.viewer.count > 1
            checked: view.viewer.playing
            text: view.viewer.playing ? "❚❚" : "▶"
            onClicked: view.viewer.togglePlay()
        }
        TouchButton {
            objectName: "viewerSlower"
            compact: true
            text: "−"
            onClicked: view.viewer.setFrameRate(view.viewer.frameRate / 2)
        }
        Text {
            objectName: "viewerRate"
            text: view.viewer.frameRateText
            color: Theme.viewerText
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontSmall
        }
        TouchButton {
            objectName: "viewerFaster"
            compact: true
            text: "+"
            onClicked: view.viewer.setFrameRate(view.viewer.frameRate * 2)
        }
        TouchButton {
            objectName: "viewerKey"
            text: view.viewer.keyCount > 0 ? "Key ★ " + view.viewer.keyCount : "Key"
            checked: view.viewer.keyImage
            onClicked: view.viewer.toggleKeyImage()
        }
        TouchButton {
            objectName: "viewerSave"
            text: "Save"
            enabled: view.viewer.canSave && !view.viewer.saving
            onClicked: view.save(false)
        }
        TouchButton {
            objectName: "viewerCapture"
            text: "Capture"
            enabled: view.viewer.canSave && !view.viewer.saving
            onClicked: view.save(true)
        }
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
        Chip {
            objectName: "viewerModeStack"
            text: "Stack"
            checked: view.mode === "stack"
            onClicked: view.mode = "stack"
        }
        Chip {
            objectName: "viewerModeWindow"
            text: "W/L"
            checked: view.mode === "window"
            onClicked: view.mode = "window"
        }
        Chip {
            objectName: "viewerModeProbe"
            text: "Probe"
            checked: view.mode === "probe"
            onClicked: view.mode = "probe"
        }
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
                            objectName: "preset_" + modelData
                            text: modelData
                            checked: view.viewer.activePreset === modelData
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
