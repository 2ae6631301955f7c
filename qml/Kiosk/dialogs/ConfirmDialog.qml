import QtQuick
import QtQuick.Layouts
import Kiosk

// Asks before something cannot be undone (delete, leaving kiosk mode, closing).
KioskDialog {
    id: dialog
    property string text: ""
    property string confirmText: "Delete"
    property bool destructive: true
    property string cancelText: "Cancel"
    property var onConfirm: null

    function ask(title, text, confirmText, destructive, callback, cancelText) {
        dialog.title = title
        dialog.text = text
        dialog.confirmText = confirmText
        dialog.destructive = destructive
        dialog.onConfirm = callback
        dialog.cancelText = cancelText || "Cancel"
        dialog.open()
    }

    Text {
        Layout.fillWidth: true
        text: dialog.text
        wrapMode: Text.WordWrap
        color: Theme.text
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontNormal
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            objectName: "confirmCancel"
            text: dialog.cancelText
            implicitHeight: Theme.primary
            onClicked: dialog.close()
        },
        TouchButton {
            objectName: "confirmOk"
            text: dialog.confirmText
            primary: !dialog.destructive
            danger: dialog.destructive
            implicitHeight: Theme.primary
            onClicked: {
                dialog.close()
                if (dialog.onConfirm) dialog.onConfirm()
            }
        }
    ]
}
