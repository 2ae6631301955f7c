import QtQuick
import QtQuick.Layouts
import QtQuick.Templates as T
import Kiosk
import Kiosk.Backend

// A touch folder picker: a path field (typed on the on-screen keyboard; Go opens it), up, home
// and removable-media shortcuts, hidden folders on request, and folder rows one touch high.
// Each row is a button, so a tap on it is taken here and never reaches what lies under the
// dialog. Why a folder cannot be opened shows here too (the toast is behind the dialog).
ColumnLayout {
    id: picker
    required property FolderModel folders
    // objectNames: <prefix>Path, <prefix>Go, <prefix>Up, <prefix>Hidden, <prefix>Folder_<folder>
    property string namePrefix: "picker"
    // The field's text: the folder shown, or what the user has typed there since.
    readonly property string chosenPath: pathField.text
    spacing: Theme.spacing
    // Hidden (the import started, Back): the field lets go, and the keyboard goes down with it.
    onVisibleChanged: if (!visible && pathField.activeFocus) pathField.focus = false

    function go() {
        picker.folders.open(pathField.text)
        pathField.focus = false
    }

    Connections {
        target: picker.folders
        function onErrorOccurred(text) { problem.text = text }
        function onPathChanged() { problem.text = "" }
    }

    RowLayout {
        Layout.fillWidth: true
        spacing: Theme.spacing
        TouchTextField {
            id: pathField
            objectName: picker.namePrefix + "Path"
            Layout.fillWidth: true
            text: picker.folders.path
            placeholderText: "Folder"
            inputMethodHints: Qt.ImhNoAutoUppercase | Qt.ImhNoPredictiveText
            // Enter (or Go) opens the folder and ends typing: the keyboard goes down.
            onAccepted: picker.go()
        }
        TouchButton {
            objectName: picker.namePrefix + "Go"
            text: "Go"
            onClicked: picker.go()
        }
    }
    Flow {
        Layout.fillWidth: true
        spacing: Theme.spacing
        TouchButton {
            objectName: picker.namePrefix + "Up"
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
        Chip {
            objectName: picker.namePrefix + "Hidden"
            text: "Hidden folders"
            checked: picker.folders.showHidden
            onClicked: picker.folders.showHidden = checked
        }
    }
    Text {
        id: problem
        objectName: picker.namePrefix + "Problem"
        Layout.fillWidth: true
        visible: text !== ""
        wrapMode: Text.WordWrap
        color: Theme.danger
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontSmall
    }
    ListView {
        id: list
        Layout.fillWidth: true
        Layout.fillHeight: true
        Layout.minimumHeight: Theme.rowHeight * 2
        clip: true
        boundsBehavior: Flickable.StopAtBounds
        model: picker.folders
        delegate: T.AbstractButton {
            id: folderRow
            required property string name
            required property string path
            required property int index
            objectName: picker.namePrefix + "Folder_" + name
            width: list.width
            height: Theme.rowHeight
            text: name
            background: Rectangle {
                color: folderRow.down ? Theme.buttonPressed
                     : folderRow.index % 2 ? Theme.surfaceAlt : Theme.surface
            }
            contentItem: Text {
                leftPadding: Theme.spacing
                verticalAlignment: Text.AlignVCenter
                text: "▸  " + folderRow.name
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
                elide: Text.ElideRight
            }
            onClicked: picker.folders.open(folderRow.path)
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
