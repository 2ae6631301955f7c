import QtQuick
import QtQuick.Layouts
import Kiosk

// A tab whose feature is not in this build yet: what it will hold.
Item {
    id: view
    property string heading: ""
    property string description: ""
    ColumnLayout {
        anchors.centerIn: parent
        width: Math.min(parent.width - 4 * Theme.spacing, Theme.dialogWidth * 1.2)
        spacing: Theme.spacing * 2
        Text {
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
            text: view.heading
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontTitle
            font.bold: true
        }
        Text {
            Layout.fillWidth: true
            horizontalAlignment: Text.AlignHCenter
            wrapMode: Text.WordWrap
            text: view.description
            color: Theme.textDim
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
    }
}
