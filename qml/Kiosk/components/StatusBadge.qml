import QtQuick
import Kiosk

// A transfer state: a coloured dot and its name in a rounded frame of the same colour.
Rectangle {
    id: badge
    property string text: ""
    property string tone: "neutral"
    readonly property color toneColor: Theme.toneColor(tone)

    implicitHeight: Theme.badgeHeight
    implicitWidth: row.implicitWidth + 2 * Theme.spacing
    radius: height / 2
    color: "transparent"
    border.width: Theme.border
    border.color: toneColor

    Row {
        id: row
        anchors.centerIn: parent
        width: Math.min(implicitWidth, badge.width - 2 * Theme.spacing)
        spacing: Theme.spacing / 2
        Rectangle {
            anchors.verticalCenter: parent.verticalCenter
            width: Theme.spacing
            height: width
            radius: width / 2
            color: badge.toneColor
        }
        Text {
            anchors.verticalCenter: parent.verticalCenter
            width: Math.min(implicitWidth, row.width - Theme.spacing * 1.5)
            text: badge.text
            color: badge.toneColor
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontSmall
            font.bold: true
            elide: Text.ElideRight
        }
    }
}
