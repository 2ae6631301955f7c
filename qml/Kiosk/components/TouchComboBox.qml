import QtQuick
import QtQuick.Controls
import Kiosk

// An editable combo box with 48 px rows; the list holds database suggestions.
ComboBox {
    id: control
    editable: true
    implicitHeight: Theme.touch
    topInset: 0
    bottomInset: 0
    font.family: Theme.fontFamily
    font.pixelSize: Theme.fontNormal
    background: Rectangle {
        radius: Theme.radius
        color: Theme.surfaceAlt
        border.width: control.activeFocus ? 2 * Theme.border : Theme.border
        border.color: control.activeFocus ? Theme.accent : Theme.borderColor
    }
    delegate: ItemDelegate {
        required property string modelData
        required property int index
        width: ListView.view ? ListView.view.width : implicitWidth
        height: Theme.touch
        text: modelData
        font: control.font
        highlighted: control.highlightedIndex === index
    }
}
