import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Import: pick a folder (USB stick, CD; or type its path), import it with progress and Cancel,
// then a summary with every file that was not imported and why, in a list that scrolls.
KioskDialog {
    id: dialog
    required property ImportModel importer
    readonly property bool choosing: !importer.running && importer.summary === ""
    title: "Import images"
    tall: true
    onAboutToShow: dialog.importer.reset()

    FolderPicker {
        id: picker
        namePrefix: "importPicker"
        Layout.fillWidth: true
        Layout.fillHeight: true
        visible: dialog.choosing
        folders: dialog.importer.folders
    }
    ColumnLayout {
        Layout.fillWidth: true
        Layout.fillHeight: true
        visible: !dialog.choosing
        spacing: Theme.spacing
        Text {
            objectName: "importSummary"
            Layout.fillWidth: true
            text: dialog.importer.running ? dialog.importer.status : dialog.importer.summary
            wrapMode: Text.WordWrap
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
        ProgressBar {
            Layout.fillWidth: true
            visible: dialog.importer.running
            value: dialog.importer.progress
        }
        SectionLabel {
            visible: rejected.count > 0
            text: "Not imported (" + rejected.count + ")"
        }
        ListView {
            id: rejected
            objectName: "importRejections"
            Layout.fillWidth: true
            Layout.fillHeight: true
            visible: count > 0
            clip: true
            boundsBehavior: Flickable.StopAtBounds
            model: dialog.importer.rejections
            ScrollBar.vertical: ScrollBar { policy: ScrollBar.AsNeeded }
            delegate: Rectangle {
                id: rejection
                required property string name
                required property string path
                required property string reason
                required property int index
                objectName: "importRejection_" + index
                width: rejected.width
                implicitHeight: Math.max(Theme.rowHeight, lines.implicitHeight + Theme.spacing)
                height: implicitHeight
                color: index % 2 ? Theme.surfaceAlt : Theme.surface
                Column {
                    id: lines
                    anchors.verticalCenter: parent.verticalCenter
                    x: Theme.spacing
                    width: parent.width - 2 * Theme.spacing
                    Text {
                        width: parent.width
                        text: rejection.name
                        color: Theme.text
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontNormal
                        elide: Text.ElideMiddle
                    }
                    Text {
                        width: parent.width
                        text: rejection.reason
                        wrapMode: Text.Wrap
                        color: Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontSmall
                    }
                }
            }
        }
        Item { Layout.fillHeight: true; visible: rejected.count === 0 }
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            objectName: "importAnother"
            visible: !dialog.choosing && !dialog.importer.running
            text: "Import another"
            implicitHeight: Theme.primary
            onClicked: dialog.importer.reset()
        },
        TouchButton {
            objectName: "importClose"
            text: dialog.importer.running ? "Cancel import" : "Close"
            implicitHeight: Theme.primary
            onClicked: dialog.importer.running ? dialog.importer.cancel() : dialog.close()
        },
        TouchButton {
            objectName: "importStart"
            visible: dialog.choosing
            text: "Import this folder"
            primary: true
            onClicked: dialog.importer.start(picker.chosenPath)
        }
    ]
}
