import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// An empty database: say so, and offer Import and demo data, and a PIN for the kiosk lock.
Item {
    id: view
    required property AppModel app
    signal importRequested()

    ColumnLayout {
        anchors.centerIn: parent
        width: Math.min(parent.width - 4 * Theme.spacing, Theme.dialogWidth)
        spacing: Theme.spacing * 2
        Text {
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
            text: "No images yet"
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontTitle
            font.bold: true
        }
        Text {
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
            text: "Import images from a USB stick or CD, send them to " + view.app.nodeText
                  + ", or try the kiosk with a few synthetic demo patients."
            color: Theme.textDim
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
        RowLayout {
            Layout.alignment: Qt.AlignHCenter
            spacing: Theme.spacing * 2
            TouchButton {
                objectName: "firstRunImport"
                primary: true
                text: "Import…"
                Layout.preferredWidth: Theme.touch * 4
                onClicked: view.importRequested()
            }
            TouchButton {
                objectName: "firstRunDemo"
                primary: true
                text: "Load demo data"
                enabled: !view.app.importer.running
                Layout.preferredWidth: Theme.touch * 4
                onClicked: view.app.importer.loadDemo()
            }
        }
        // The kiosk lock, before the first patient arrives (also on the Settings tab).
        TouchButton {
            objectName: "firstRunSetPin"
            Layout.alignment: Qt.AlignHCenter
            visible: !view.app.lock.pinSet
            text: "Set a PIN to lock the kiosk…"
            onClicked: pinSetup.setUp()
        }
    }

    PinSetupDialog {
        id: pinSetup
        objectName: "firstRunPinDialog"
        padName: "firstRunPin"
        lock: view.app.lock
    }
}
