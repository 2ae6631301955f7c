import QtQuick
import Kiosk
import Kiosk.Backend

// The four-corner overlay radiology viewers show, and the orientation markers at the middle of
// each edge. Only text in the corners and single markers at the edges: the middle of the image
// stays clear at every size. It takes no input (taps reach the image below).
Item {
    id: overlay
    required property ViewerModel viewer
    visible: viewer.count > 0 && viewer.overlayShown

    component CornerText: Text {
        color: Theme.viewerText
        style: Text.Outline
        styleColor: "black"
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontSmall
        // a corner takes at most a third of the width: long descriptions are cut, not spread
        width: Math.min(implicitWidth, overlay.width / 3)
        elide: Text.ElideRight
        maximumLineCount: 4
    }
    component Marker: Text {
        color: Theme.viewerText
        style: Text.Outline
        styleColor: "black"
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontLarge
        font.bold: true
    }

    CornerText {
        objectName: "overlayTopLeft"
        anchors.left: parent.left
        anchors.top: parent.top
        anchors.margins: Theme.spacing
        text: overlay.viewer.overlayTopLeft
    }
    CornerText {
        objectName: "overlayTopRight"
        anchors.right: parent.right
        anchors.top: parent.top
        anchors.margins: Theme.spacing
        horizontalAlignment: Text.AlignRight
        text: overlay.viewer.overlayTopRight
    }
    CornerText {
        objectName: "overlayBottomLeft"
        anchors.left: parent.left
        anchors.bottom: parent.bottom
        anchors.margins: Theme.spacing
        text: overlay.viewer.overlayBottomLeft
    }
    CornerText {
        objectName: "overlayBottomRight"
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        anchors.margins: Theme.spacing
        horizontalAlignment: Text.AlignRight
        text: overlay.viewer.overlayBottomRight
    }
    Marker {
        objectName: "markerLeft"
        anchors.left: parent.left
        anchors.verticalCenter: parent.verticalCenter
        anchors.margins: Theme.spacing
        text: overlay.viewer.markerLeft
    }
    Marker {
        objectName: "markerRight"
        anchors.right: parent.right
        anchors.verticalCenter: parent.verticalCenter
        anchors.margins: Theme.spacing
        text: overlay.viewer.markerRight
    }
    Marker {
        objectName: "markerTop"
        anchors.top: parent.top
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.margins: Theme.spacing
        text: overlay.viewer.markerTop
    }
    Marker {
        objectName: "markerBottom"
        anchors.bottom: parent.bottom
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.margins: Theme.spacing
        text: overlay.viewer.markerBottom
    }
}
