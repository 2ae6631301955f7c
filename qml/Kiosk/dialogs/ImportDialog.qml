import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Import: pick a folder (USB stick, CD), import it with progress and Cancel, then a summary.
KioskDialog {
    id: dialog
    required property ImportModel importer
    title: "Import images"
    height: parent ? parent.height - 2 * Theme.spacing : implicitHeight

    FolderPicker {
        Layout.fillWidth: true
        Layout.fillHeight: true
        visible: !dialog.importer.running && dialog.importer.summary === ""
        folders: dialog.importer.folders
    }
    ColumnLayout {
        Layout.fillWidth: true
        Layout.fillHeight: true
        visible: dialog.importer.running || dialog.importer.summary !== ""
        spacing: Theme.spacing
        Text {
            Layout.fillWidth: true
            text: dialog.importer.running ? dialog.importer.status : dialog.importer.summary
            wrapMode: Text.WordWrap
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
        Item { Layout.fillHeight: true }
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            text: dialog.importer.running ? "Cancel import" : "Close"
            implicitHeight: Theme.primary
            onClicked: dialog.importer.running ? dialog.importer.cancel() : dialog.close()
        },
        TouchButton {
            objectName: "importStart"
            visible: !dialog.importer.running && dialog.importer.summary === ""
            text: "Import this folder"
            primary: true
            onClicked: dialog.importer.start(dialog.importer.folders.path)
        }
    ]
}
