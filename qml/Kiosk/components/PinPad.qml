import QtQuick
import QtQuick.Layouts
import Kiosk

// A PIN pad: the digits entered so far as dots, ten digit keys, Erase and OK. Its own keys (not
// the on-screen keyboard), so it works on the lock screen above everything; a hardware
// keyboard's digits, Backspace and Enter work as well while it has the focus.
FocusScope {
    id: pad
    // Names its keys for tests: <name>_1 ... <name>_0, <name>_back, <name>_ok, <name>_entered.
    property string name: "pin"
    property string pin: ""
    property string error: ""
    property bool busy: false
    property int keySize: Theme.primary
    readonly property int maxDigits: 12
    signal submitted(string pin)
    signal typed()

    implicitWidth: keys.implicitWidth
    implicitHeight: column.implicitHeight

    function press(digit) {
        if (pad.pin.length < pad.maxDigits) pad.pin += digit
        pad.typed()
    }
    function erase() { pad.pin = pad.pin.slice(0, -1); pad.typed() }
    function submit() {
        if (pad.pin === "" || pad.busy) return
        var entered = pad.pin
        pad.pin = ""
        pad.submitted(entered)
    }

    Keys.onPressed: (event) => {
        if (event.text >= "0" && event.text <= "9" && event.text.length === 1) pad.press(event.text)
        else if (event.key === Qt.Key_Backspace) pad.erase()
        else if (event.key === Qt.Key_Return || event.key === Qt.Key_Enter) pad.submit()
        else return
        event.accepted = true
    }

    ColumnLayout {
        id: column
        anchors.fill: parent
        spacing: Theme.spacing
        Text {
            objectName: pad.name + "_entered"
            Layout.fillWidth: true
            Layout.preferredHeight: Theme.touch
            horizontalAlignment: Text.AlignHCenter
            verticalAlignment: Text.AlignVCenter
            text: pad.pin === "" ? "Enter the PIN" : "●".repeat(pad.pin.length)
            color: pad.pin === "" ? Theme.textDim : Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: pad.pin === "" ? Theme.fontNormal : Theme.fontTitle
        }
        GridLayout {
            id: keys
            Layout.alignment: Qt.AlignHCenter
            columns: 3
            columnSpacing: Theme.spacing
            rowSpacing: Theme.spacing
            Repeater {
                model: ["1", "2", "3", "4", "5", "6", "7", "8", "9", "back", "0", "ok"]
                TouchButton {
                    required property string modelData
                    objectName: pad.name + "_" + modelData
                    Layout.preferredWidth: pad.keySize * 1.4
                    Layout.preferredHeight: pad.keySize
                    text: modelData === "back" ? "⌫" : modelData === "ok" ? "OK" : modelData
                    primary: modelData === "ok"
                    enabled: modelData === "ok" ? pad.pin !== "" && !pad.busy
                           : modelData === "back" ? pad.pin !== "" : true
                    font.pixelSize: Theme.fontLarge
                    onClicked: {
                        pad.forceActiveFocus()
                        if (modelData === "back") pad.erase()
                        else if (modelData === "ok") pad.submit()
                        else pad.press(modelData)
                    }
                }
            }
        }
        Text {
            objectName: pad.name + "_error"
            Layout.fillWidth: true
            Layout.preferredWidth: keys.implicitWidth
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
            text: pad.error
            visible: text !== ""
            color: Theme.danger
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
    }
}
