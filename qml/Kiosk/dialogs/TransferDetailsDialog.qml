import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Details of a transfer, or of one study, series or image of it: every field and the error.
KioskDialog {
    id: dialog
    required property TransferLogModel log
    title: log.detailsTitle

    Flickable {
        id: fields
        Layout.fillWidth: true
        Layout.fillHeight: true
        Layout.preferredHeight: content.implicitHeight
        contentHeight: content.implicitHeight
        clip: true
        boundsBehavior: Flickable.StopAtBounds
        ScrollBar.vertical: ScrollBar {}

        ColumnLayout {
            id: content
            width: fields.width
            spacing: Theme.spacing

            GridLayout {
                Layout.fillWidth: true
                columns: 2
                columnSpacing: Theme.spacing * 2
                rowSpacing: Theme.spacing / 2
                Repeater {
                    model: dialog.log.details
                    delegate: Text {
                        required property var modelData
                        required property int index
                        Layout.row: index
                        Layout.column: 0
                        text: modelData.name
                        color: Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontNormal
                    }
                }
                Repeater {
                    model: dialog.log.details
                    delegate: Text {
                        required property var modelData
                        required property int index
                        Layout.row: index
                        Layout.column: 1
                        Layout.fillWidth: true
                        text: modelData.value
                        color: Theme.text
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontNormal
                        wrapMode: Text.WrapAnywhere
                    }
                }
            }

            SectionLabel {
                visible: dialog.log.detailsError !== ""
                text: "Error"
            }
            Rectangle {
                Layout.fillWidth: true
                visible: dialog.log.detailsError !== ""
                implicitHeight: errorText.implicitHeight + 2 * Theme.spacing
                radius: Theme.radius
                color: "transparent"
                border.width: Theme.border
                border.color: Theme.statusError
                Text {
                    id: errorText
                    objectName: "detailsError"
                    anchors.fill: parent
                    anchors.margins: Theme.spacing
                    text: dialog.log.detailsError
                    color: Theme.statusError
                    wrapMode: Text.Wrap
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontNormal
                }
            }
        }
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            objectName: "detailsClose"
            text: "Close"
            primary: true
            onClicked: dialog.close()
        }
    ]
}
