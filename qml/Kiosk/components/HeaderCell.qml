import QtQuick
import QtQuick.Templates as T
import Kiosk

// A column header: tap to sort by it, tap again to reverse.
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
    contentItem: Text {
        leftPadding: Theme.spacing
        rightPadding: Theme.spacing
        text: cell.text + (cell.sorted ? (cell.descending ? "  ▼" : "  ▲") : "")
        color: cell.sorted ? Theme.accent : Theme.text
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontSmall
        font.bold: true
        elide: Text.ElideRight
        verticalAlignment: Text.AlignVCenter
    }
}
