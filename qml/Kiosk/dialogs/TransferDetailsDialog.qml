import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Details of a transfer, or of one study, series or image of it: the error first, then every
// field.
KioskDialog {
    id: dialog
    required property TransferLogModel log
    // Wider than other dialogs: the fields go in two pairs of columns, so all fit at 1024x600.
    readonly property bool twoPairs: width >= Theme.dialogWidth * 1.3
    width: Math.min(parent ? parent.width - 2 * Theme.spacing : Theme.dialogWidth * 1.6,
                    Theme.dialogWidth * 1.6)
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

            GridLayout {
                Layout.fillWidth: true
                columns: dialog.twoPairs ? 4 : 2
                columnSpacing: Theme.spacing * 2
                rowSpacing: Theme.spacing / 2
                Repeater {
                    model: dialog.log.details
                    delegate: Text {
                        required property var modelData
                        required property int index
                        Layout.row: dialog.twoPairs ? Math.floor(index / 2) : index
                        Layout.column: dialog.twoPairs ? (index % 2) * 2 : 0
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
                        Layout.row: dialog.twoPairs ? Math.floor(index / 2) : index
                        Layout.column: dialog.twoPairs ? (index % 2) * 2 + 1 : 1
                        Layout.fillWidth: true
                        text: modelData.value
                        color: Theme.text
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontNormal
                        wrapMode: Text.WrapAnywhere
                    }
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
