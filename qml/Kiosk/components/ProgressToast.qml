import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Long work in progress (import, demo data): progress, status and Cancel.
Rectangle {
    id: toast
    required property ImportModel importer
    visible: importer.running
    width: Math.min(parent ? parent.width - 4 * Theme.spacing : 600, Theme.dialogWidth)
    height: content.implicitHeight + 2 * Theme.spacing
    radius: Theme.radius
    color: Theme.surface
    border.width: Theme.border
    border.color: Theme.accent

    RowLayout {
        id: content
        anchors.fill: parent
        anchors.margins: Theme.spacing
        spacing: Theme.spacing
        ColumnLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing / 2
            Text {
                Layout.fillWidth: true
                text: toast.importer.status
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontSmall
                elide: Text.ElideRight
            }
            ProgressBar {
                Layout.fillWidth: true
                value: toast.importer.progress
            }
        }
        TouchButton {
            objectName: "importCancel"
            text: "Cancel"
            onClicked: toast.importer.cancel()
        }
    }
}
