import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// A touch folder picker: removable-media shortcuts, up, and 48 px folder rows.
ColumnLayout {
    id: picker
    required property FolderModel folders
    spacing: Theme.spacing

    Flow {
        Layout.fillWidth: true
        spacing: Theme.spacing
        TouchButton {
            text: "▲ Up"
            enabled: picker.folders.canGoUp
            onClicked: picker.folders.up()
        }
        Repeater {
            model: picker.folders.shortcuts
            TouchButton {
                required property var modelData
                text: modelData.label
                onClicked: picker.folders.open(modelData.path)
            }
        }
    }
    Text {
        Layout.fillWidth: true
        text: picker.folders.path
        color: Theme.text
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontNormal
        font.bold: true
        elide: Text.ElideMiddle
    }
    ListView {
        id: list
        Layout.fillWidth: true
        Layout.fillHeight: true
        Layout.minimumHeight: Theme.touch * 2
        clip: true
        boundsBehavior: Flickable.StopAtBounds
        model: picker.folders
        delegate: Rectangle {
            id: folderRow
            required property string name
            required property string path
            required property int index
            width: list.width
            height: Theme.rowHeight
            color: tap.pressed ? Theme.buttonPressed : index % 2 ? Theme.surfaceAlt : Theme.surface
            Text {
                anchors.fill: parent
                leftPadding: Theme.spacing
                verticalAlignment: Text.AlignVCenter
                text: "▸  " + folderRow.name
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
                elide: Text.ElideRight
            }
            TapHandler {
                id: tap
                onTapped: picker.folders.open(folderRow.path)
            }
        }
        Text {
            anchors.centerIn: parent
            visible: list.count === 0
            text: "No folders here"
            color: Theme.textDim
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
        }
    }
}
