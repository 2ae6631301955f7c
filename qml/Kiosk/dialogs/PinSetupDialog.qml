import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Sets, changes or removes the kiosk's PIN, one PIN at a time on the PIN pad: the current one
// (when a PIN is set), then the new one twice. Removing asks for the current one only.
KioskDialog {
    id: dialog
    required property LockModel lock
    property bool removing: false
    property string current: ""
    property string first: ""
    // "current", "new", "repeat"
    property string step: "new"
    // Names its PIN pad's keys (<padName>_1 ...), step text and Cancel for tests.
    property string padName: "pinSetup"

    function setUp() {
        dialog.removing = false
        dialog.start()
    }
    function remove() {
        dialog.removing = true
        dialog.start()
    }
    function start() {
        dialog.current = ""
        dialog.first = ""
        dialog.step = dialog.lock.pinSet ? "current" : "new"
        dialog.title = dialog.removing ? "Remove the PIN"
                     : dialog.lock.pinSet ? "Change the PIN" : "Set a PIN"
        dialog.lock.clearError()
        dialog.open()
        pad.forceActiveFocus()
    }

    Connections {
        target: dialog.lock
        function onPinSaved() { if (dialog.visible) dialog.close() }
        function onErrorChanged() {
            // A refused PIN: start again from the first step the dialog asked.
            if (dialog.visible && dialog.lock.error !== "" && dialog.step === "repeat")
                dialog.step = dialog.lock.pinSet ? "current" : "new"
        }
    }

    Text {
        objectName: dialog.padName + "Step"
        Layout.fillWidth: true
        wrapMode: Text.WordWrap
        text: dialog.step === "current" ? "Enter the PIN set now."
            : dialog.step === "new" ? "Enter the new PIN (4 to 12 digits)."
            : "Enter the new PIN again."
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
        onSubmitted: (pin) => {
            if (dialog.step === "current") {
                dialog.current = pin
                if (dialog.removing) dialog.lock.clearPin(pin)
                else dialog.step = "new"
            } else if (dialog.step === "new") {
                dialog.first = pin
                dialog.step = "repeat"
            } else {
                dialog.lock.setPin(dialog.first, pin, dialog.current)
            }
        }
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
