import QtQuick
import QtQuick.Templates as T
import Kiosk

// A column header: tap to sort by it, tap again to reverse. The sort arrow keeps its place
// when the title is too long for the column (the title elides, the arrow stays).
T.AbstractButton {
    id: cell
    property bool sorted: false
    property bool descending: false
    implicitHeight: Theme.touch
    background: Rectangle {
        color: cell.down ? Theme.buttonPressed : Theme.header
        Rectangle {
            anchors.right: parent.right
            width: Theme.border; height: parent.height
            color: Theme.borderColor
        }
    }
    contentItem: Item {
        Text {
            id: title
            anchors.left: parent.left
            anchors.right: arrow.visible ? arrow.left : parent.right
            anchors.verticalCenter: parent.verticalCenter
            leftPadding: Theme.spacing
            rightPadding: arrow.visible ? 0 : Theme.spacing
            text: cell.text
            color: cell.sorted ? Theme.accent : Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontSmall
            font.bold: true
            elide: Text.ElideRight
        }
        Text {
            id: arrow
            objectName: cell.objectName + "_arrow"
            visible: cell.sorted
            anchors.right: parent.right
            anchors.verticalCenter: parent.verticalCenter
            leftPadding: Theme.spacing / 4
            rightPadding: Theme.spacing / 2
            text: cell.descending ? "▼" : "▲"
            color: Theme.accent
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontSmall
        }
    }
}
