import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Asks for the kiosk's PIN before an action it protects (Delete, Clear, leaving kiosk mode,
// changing settings). ``ask`` opens it; the action runs once the PIN is right.
KioskDialog {
    id: dialog
    required property LockModel lock
    property string text: ""
    property string purpose: ""
    property var onConfirm: null
    // Names its PIN pad's keys (<padName>_1 ...) and its Cancel (<padName>Cancel) for tests.
    property string padName: "pinDialog"

    function ask(title, text, purpose, callback) {
        dialog.title = title
        dialog.text = text
        dialog.purpose = purpose
        dialog.onConfirm = callback
        pad.pin = ""
        dialog.lock.clearError()
        dialog.open()
        pad.forceActiveFocus()
    }

    Connections {
        target: dialog.lock
        function onAuthorized(purpose) {
            if (!dialog.visible || purpose !== dialog.purpose) return
            var callback = dialog.onConfirm
            dialog.onConfirm = null
            dialog.close()
            if (callback) callback()
        }
    }

    Text {
        Layout.fillWidth: true
        visible: text !== ""
        text: dialog.text
        wrapMode: Text.WordWrap
        color: Theme.text
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontNormal
    }
    PinPad {
        id: pad
        name: dialog.padName
        Layout.alignment: Qt.AlignHCenter
        keySize: Theme.touch
        error: dialog.visible ? dialog.lock.error : ""
        busy: dialog.lock.busy
        onTyped: dialog.lock.clearError()
        onSubmitted: (pin) => dialog.lock.authorize(pin, dialog.purpose)
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            objectName: dialog.padName + "Cancel"
            text: "Cancel"
            implicitHeight: Theme.primary
            onClicked: dialog.close()
        }
    ]
}
