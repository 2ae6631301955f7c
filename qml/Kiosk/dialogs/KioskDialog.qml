import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk

// A modal, centred dialog: a title, content, and a row of touch buttons at the bottom.
Popup {
    id: dialog
    property string title: ""
    default property alias content: body.data
    property alias buttons: buttonRow.data

    parent: Overlay.overlay
    modal: true
    focus: true
    // Centred; moved to the top while the on-screen keyboard covers the bottom.
    x: parent ? Math.round((parent.width - width) / 2) : 0
    y: parent ? (Qt.inputMethod.visible ? Theme.spacing
                                        : Math.round((parent.height - height) / 2)) : 0
    width: Math.min(parent ? parent.width - 2 * Theme.spacing : Theme.dialogWidth, Theme.dialogWidth)
    height: Math.min(parent ? parent.height - 2 * Theme.spacing : implicitHeight, implicitHeight)
    padding: Theme.spacing * 2
    closePolicy: Popup.CloseOnEscape
    background: Rectangle {
        color: Theme.surface
        radius: Theme.radius
        border.width: Theme.border
        border.color: Theme.borderColor
    }
    Overlay.modal: Rectangle { color: Theme.overlay }

    contentItem: ColumnLayout {
        spacing: Theme.spacing * 1.5
        Text {
            Layout.fillWidth: true
            text: dialog.title
            visible: text !== ""
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontLarge
            font.bold: true
            elide: Text.ElideRight
        }
        ColumnLayout {
            id: body
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: Theme.spacing
        }
        RowLayout {
            id: buttonRow
            Layout.fillWidth: true
            spacing: Theme.spacing
        }
    }
}
