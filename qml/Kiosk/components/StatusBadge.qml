import QtQuick
import Kiosk

// A transfer state: a coloured dot and its name in a rounded frame of the same colour.
Rectangle {
    id: badge
    property string text: ""
    property string tone: "neutral"
    readonly property color toneColor: Theme.toneColor(tone)

    implicitHeight: Theme.badgeHeight
    implicitWidth: dot.width + label.implicitWidth + 3 * Theme.spacing
    radius: height / 2
    color: "transparent"
    border.width: Theme.border
    border.color: toneColor

    Rectangle {
        id: dot
        anchors.left: parent.left
        anchors.leftMargin: Theme.spacing
        anchors.verticalCenter: parent.verticalCenter
        width: Theme.spacing
        height: width
        radius: width / 2
        color: badge.toneColor
    }
    Text {
        id: label
        anchors.left: dot.right
        anchors.leftMargin: Theme.spacing / 2
        anchors.right: parent.right
        anchors.rightMargin: Theme.spacing / 2
        anchors.verticalCenter: parent.verticalCenter
        text: badge.text
        color: badge.toneColor
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontSmall
        font.bold: true
        elide: Text.ElideRight
    }
}
