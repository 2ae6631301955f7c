import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Export: a folder on a disk, optional anonymization with a new name and ID, the format.
KioskDialog {
    id: dialog
    required property DatabaseModel database
    required property FolderModel folders
    property string format: "files"
    property bool choosing: false
    title: "Export " + database.selectionText.replace(" selected", "")

    ColumnLayout {
        Layout.fillWidth: true
        Layout.fillHeight: true
        visible: !dialog.choosing
        spacing: Theme.spacing

        SectionLabel { text: "Folder" }
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            TouchTextField {
                id: folderField
                objectName: "exportFolder"
                Layout.fillWidth: true
                text: dialog.folders.path
            }
            TouchButton { text: "Browse"; onClicked: dialog.choosing = true }
        }
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            Text {
                Layout.fillWidth: true
                text: "Anonymize"
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
            }
            Switch {
                id: anonymize
                objectName: "exportAnonymize"
                implicitHeight: Theme.touch
                implicitWidth: Theme.touch * 1.6
            }
        }
        RowLayout {
            Layout.fillWidth: true
            visible: anonymize.checked
            spacing: Theme.spacing
            TouchTextField { id: newName; Layout.fillWidth: true; placeholderText: "New patient name" }
            TouchTextField { id: newId; Layout.fillWidth: true; placeholderText: "New patient ID" }
        }
        SectionLabel { text: "Format" }
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            Repeater {
                model: [
                    { key: "files", label: "Files" },
                    { key: "dicomdir", label: "DICOMDIR" },
                    { key: "zip", label: "Zip" }
                ]
                Chip {
                    required property var modelData
                    Layout.fillWidth: true
                    text: modelData.label
                    checked: dialog.format === modelData.key
                    onClicked: dialog.format = modelData.key
                }
            }
        }
    }
    FolderPicker {
        Layout.fillWidth: true
        Layout.fillHeight: true
        Layout.preferredHeight: Theme.touch * 6
        visible: dialog.choosing
        folders: dialog.folders
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            text: dialog.choosing ? "Back" : "Cancel"
            implicitHeight: Theme.primary
            onClicked: dialog.choosing ? dialog.choosing = false : dialog.close()
        },
        TouchButton {
            objectName: "exportOk"
            text: dialog.choosing ? "Use this folder" : "OK"
            primary: true
            onClicked: {
                if (dialog.choosing) {
                    folderField.text = dialog.folders.path
                    dialog.choosing = false
                    return
                }
                dialog.close()
                dialog.database.exportTo(folderField.text, anonymize.checked, newName.text,
                                         newId.text, dialog.format)
            }
        }
    ]
}
