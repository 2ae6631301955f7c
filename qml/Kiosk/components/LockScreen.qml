import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// The lock screen: opaque, above everything (views, the viewer, dialogs, the on-screen
// keyboard), taking every press, wheel and key. It shows the DICOM node's state and a PIN pad,
// never a patient: the window's views are hidden while it is up (Main.qml), the dialogs they
// left open stay under it.
FocusScope {
    id: screen
    required property AppModel app
    readonly property LockModel lock: app.lock
    readonly property SettingsModel settings: app.settings

    parent: Overlay.overlay
    anchors.fill: parent
    z: 2000
    visible: lock.locked
    focus: visible

    onVisibleChanged: {
        if (visible) {
            Qt.inputMethod.hide()
            pad.pin = ""
            pad.forceActiveFocus()
        }
    }
    Keys.onPressed: (event) => event.accepted = true

    Rectangle {
        objectName: "lockScreen"
        anchors.fill: parent
        color: Theme.background
        // Nothing under the lock screen takes a press, a touch or a wheel.
        MouseArea {
            anchors.fill: parent
            acceptedButtons: Qt.AllButtons
            hoverEnabled: true
            onWheel: (wheel) => wheel.accepted = true
            onPressed: pad.forceActiveFocus()
        }
    }

    GridLayout {
        anchors.centerIn: parent
        width: Math.min(parent.width - 4 * Theme.spacing, implicitWidth)
        columns: parent.width > parent.height ? 2 : 1
        columnSpacing: Theme.spacing * 6
        rowSpacing: Theme.spacing * 2

        ColumnLayout {
            Layout.alignment: Qt.AlignVCenter
            Layout.maximumWidth: Theme.dialogWidth
            spacing: Theme.spacing
            Text {
                text: "Locked"
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontTitle
                font.bold: true
            }
            Text {
                Layout.fillWidth: true
                text: "Enter the PIN to show the kiosk again. Images are still received and sent."
                wrapMode: Text.WordWrap
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
            }
            RowLayout {
                Layout.topMargin: Theme.spacing
                spacing: Theme.spacing
                Rectangle {
                    Layout.preferredWidth: Theme.spacing * 2
                    Layout.preferredHeight: Theme.spacing * 2
                    radius: width / 2
                    color: screen.settings.nodeRunning ? Theme.ok : Theme.danger
                }
                Text {
                    objectName: "lockNodeStatus"
                    Layout.fillWidth: true
                    text: "DICOM node: " + screen.settings.nodeStatus
                    color: Theme.text
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontLarge
                    wrapMode: Text.WordWrap
                }
            }
            Text {
                objectName: "lockNodeAddress"
                Layout.fillWidth: true
                text: screen.settings.nodeAeTitle + " · " + screen.settings.nodeAddress
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
                elide: Text.ElideRight
            }
            Text {
                objectName: "lockImagesToday"
                Layout.fillWidth: true
                text: "Images received today: " + screen.settings.imagesToday
                      + " · active associations: " + screen.settings.activeAssociations
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
                wrapMode: Text.WordWrap
            }
        }

        PinPad {
            id: pad
            name: "lockPin"
            Layout.alignment: Qt.AlignCenter
            keySize: Theme.primary
            error: screen.lock.error
            busy: screen.lock.busy
            onTyped: screen.lock.clearError()
            onSubmitted: (pin) => screen.lock.unlock(pin)
        }
    }
}
