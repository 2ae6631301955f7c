import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Export: a new, empty folder (or a zip), optional de-identification with a new name and ID and
// what to do with dates, the format; progress with Cancel. It exports what was selected when it
// opened (the exporter captures it), whatever changes behind it meanwhile.
KioskDialog {
    id: dialog
    required property DatabaseModel database
    // Not used: the export has a folder picker of its own (kept so that callers still load).
    property FolderModel folders: null
    readonly property ExportModel exporter: database.exporter
    property bool choosing: false
    title: exporter.title
    onAboutToShow: {
        dialog.choosing = false
        dialog.exporter.prepare()
    }

    Connections {
        target: dialog.exporter
        function onFinished() { dialog.close() }
    }

    ColumnLayout {
        Layout.fillWidth: true
        Layout.fillHeight: true
        visible: !dialog.choosing && !dialog.exporter.running
        spacing: Theme.spacing

        SectionLabel { text: "Folder" }
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            TouchTextField {
                id: folderField
                objectName: "exportFolder"
                Layout.fillWidth: true
                text: dialog.exporter.destination
                inputMethodHints: Qt.ImhNoAutoUppercase | Qt.ImhNoPredictiveText
                onTextEdited: dialog.exporter.destination = text
                onAccepted: focus = false  // typed: the keyboard goes down
            }
            TouchButton {
                objectName: "exportBrowse"
                text: "Browse"
                onClicked: {
                    dialog.exporter.browse()
                    dialog.choosing = true
                }
            }
        }
        Text {
            objectName: "exportFolderNote"
            Layout.fillWidth: true
            text: dialog.exporter.destinationNote
            wrapMode: Text.WordWrap
            color: dialog.exporter.destinationOk ? Theme.textDim : Theme.danger
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontSmall
        }
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            Text {
                text: "Format"
                Layout.preferredWidth: Theme.touch * 2
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
            }
            Repeater {
                model: dialog.exporter.formats
                Chip {
                    required property var modelData
                    objectName: "exportFormat_" + modelData.key
                    Layout.fillWidth: true
                    text: modelData.label
                    checked: dialog.exporter.format === modelData.key
                    onClicked: dialog.exporter.format = modelData.key
                }
            }
        }
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            Text {
                Layout.fillWidth: true
                text: "Anonymize (de-identify)"
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
            }
            Switch {
                id: anonymize
                objectName: "exportAnonymize"
                implicitHeight: Theme.touch
                implicitWidth: Theme.touch * 1.6
                // On is the accent colour with the knob at the right, off a plain track with
                // the knob at the left: the style's own greys look alike in either state.
                indicator: Rectangle {
                    implicitWidth: Theme.touch * 1.2
                    implicitHeight: Math.round(Theme.touch * 0.6)
                    x: anonymize.width - width - anonymize.rightPadding
                    y: Math.round((anonymize.height - height) / 2)
                    radius: height / 2
                    color: anonymize.checked ? Theme.accent : Theme.buttonFill
                    border.width: Theme.border
                    border.color: anonymize.checked ? Theme.accent : Theme.borderColor
                    Rectangle {
                        readonly property real inset: 2 * Theme.border
                        width: parent.height - 2 * inset
                        height: width
                        radius: width / 2
                        y: inset
                        x: anonymize.checked ? parent.width - width - inset : inset
                        color: anonymize.checked ? Theme.accentText : Theme.textDim
                    }
                }
            }
        }
        RowLayout {
            Layout.fillWidth: true
            visible: anonymize.checked
            spacing: Theme.spacing
            TouchTextField {
                id: newName
                onAccepted: focus = false
                objectName: "exportNewName"
                Layout.fillWidth: true
                placeholderText: "New patient name"
            }
            TouchTextField {
                id: newId
                onAccepted: focus = false
                objectName: "exportNewId"
                Layout.fillWidth: true
                placeholderText: "New patient ID"
            }
        }
        RowLayout {
            Layout.fillWidth: true
            visible: anonymize.checked
            spacing: Theme.spacing
            Text {
                text: "Dates"
                Layout.preferredWidth: Theme.touch * 2
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
            }
            Repeater {
                model: dialog.exporter.datesOptions
                Chip {
                    required property var modelData
                    objectName: "exportDates_" + modelData.key
                    Layout.fillWidth: true
                    text: modelData.label
                    checked: dialog.exporter.dates === modelData.key
                    onClicked: dialog.exporter.dates = modelData.key
                }
            }
        }
        Text {
            objectName: "exportError"
            Layout.fillWidth: true
            visible: text !== ""
            text: dialog.exporter.error
            wrapMode: Text.WordWrap
            color: Theme.danger
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
    }
    ColumnLayout {
        Layout.fillWidth: true
        visible: dialog.exporter.running
        spacing: Theme.spacing
        Text {
            objectName: "exportStatus"
            Layout.fillWidth: true
            text: "Exporting: " + dialog.exporter.status
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
        ProgressBar {
            Layout.fillWidth: true
            value: dialog.exporter.progress
        }
    }
    FolderPicker {
        id: picker
        namePrefix: "exportPicker"
        Layout.fillWidth: true
        Layout.fillHeight: true
        Layout.preferredHeight: Theme.touch * 6
        visible: dialog.choosing
        folders: dialog.exporter.folders
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            objectName: "exportCancel"
            text: dialog.exporter.running ? "Cancel export" : dialog.choosing ? "Back" : "Cancel"
            implicitHeight: Theme.primary
            onClicked: {
                if (dialog.exporter.running)
                    dialog.exporter.cancel()
                else if (dialog.choosing)
                    dialog.choosing = false   // leaves the chosen folder as it was
                else
                    dialog.close()
            }
        },
        TouchButton {
            objectName: "exportOk"
            visible: !dialog.exporter.running
            text: dialog.choosing ? "Use this folder" : "Export"
            primary: true
            enabled: dialog.choosing
                     || (dialog.exporter.hasSelection && dialog.exporter.destinationOk)
            onClicked: {
                if (dialog.choosing) {
                    dialog.exporter.chooseFolder(picker.chosenPath)
                    dialog.choosing = false
                    return
                }
                dialog.exporter.start(anonymize.checked, newName.text, newId.text)
            }
        }
    ]
}
