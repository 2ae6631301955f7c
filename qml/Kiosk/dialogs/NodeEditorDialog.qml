import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Add or edit a remote DICOM node: name, AE title, host, port, retrieve method and the
// services it may use on this node. Save checks the values; what is wrong shows here.
KioskDialog {
    id: dialog
    required property SettingsModel settings
    property string original: ""
    property string method: "move"
    property var services: []

    function edit(name) {
        var f = dialog.settings.nodeFields(name)
        dialog.original = name
        dialog.title = name === "" ? "Add a remote node" : "Edit " + name
        nameField.text = f.name
        aeField.text = f.aeTitle
        hostField.text = f.host
        portField.text = f.port
        dialog.method = f.method
        dialog.services = f.services
        dialog.open()
    }
    function save() {
        dialog.settings.saveNode(dialog.original, nameField.text, aeField.text, hostField.text,
                                 portField.text, dialog.method, dialog.services)
    }
    function toggle(key) {
        var list = dialog.services.slice()
        var at = list.indexOf(key)
        if (at >= 0) list.splice(at, 1); else list.push(key)
        dialog.services = list
    }

    Connections {
        target: dialog.settings
        function onNodeSaved() { dialog.close() }
    }

    GridLayout {
        Layout.fillWidth: true
        columns: 2
        columnSpacing: Theme.spacing
        rowSpacing: Theme.spacing
        Text { text: "Name"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
        TouchTextField {
            id: nameField
            objectName: "nodeName"
            onAccepted: aeField.forceActiveFocus()
            Layout.fillWidth: true
        }
        Text { text: "AE title"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
        TouchTextField {
            id: aeField
            objectName: "nodeAe"
            onAccepted: hostField.forceActiveFocus()
            Layout.fillWidth: true
            maximumLength: 16
            inputMethodHints: Qt.ImhPreferUppercase | Qt.ImhNoAutoUppercase
        }
        Text { text: "Host"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
        TouchTextField {
            id: hostField
            objectName: "nodeHost"
            onAccepted: portField.forceActiveFocus()
            Layout.fillWidth: true
            inputMethodHints: Qt.ImhNoAutoUppercase | Qt.ImhUrlCharactersOnly
        }
        Text { text: "Port"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
        TouchTextField {
            id: portField
            objectName: "nodePort"
            onAccepted: dialog.save()
            Layout.fillWidth: true
            inputMethodHints: Qt.ImhDigitsOnly
        }
        Text { text: "Retrieve by"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            Chip {
                objectName: "nodeMove"
                Layout.fillWidth: true
                text: "C-MOVE"
                checked: dialog.method === "move"
                onClicked: dialog.method = "move"
            }
            Chip {
                objectName: "nodeGet"
                Layout.fillWidth: true
                text: "C-GET"
                checked: dialog.method === "get"
                onClicked: dialog.method = "get"
            }
        }
        Text { text: "May use"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            Repeater {
                model: dialog.settings.services
                Chip {
                    required property var modelData
                    objectName: "nodeService_" + modelData.key
                    Layout.fillWidth: true
                    text: modelData.title
                    checked: dialog.services.indexOf(modelData.key) >= 0
                    onClicked: dialog.toggle(modelData.key)
                }
            }
        }
    }
    Text {
        Layout.fillWidth: true
        text: "AE title: 1-16 characters. Host: a name or IP address. C-MOVE: the server sends "
              + "the images to this node (it must know our AE title, host and port); C-GET: they "
              + "come back on the same connection. May use: what this server may do here when "
              + "only known nodes are accepted."
        wrapMode: Text.WordWrap
        color: Theme.textDim
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontSmall
    }
    Text {
        objectName: "nodeEditorError"
        Layout.fillWidth: true
        visible: text !== ""
        text: dialog.settings.editorError
        wrapMode: Text.WordWrap
        color: Theme.danger
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontNormal
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            objectName: "nodeCancel"
            text: "Cancel"
            implicitHeight: Theme.primary
            onClicked: dialog.close()
        },
        TouchButton {
            objectName: "nodeSave"
            text: "Save"
            primary: true
            onClicked: dialog.save()
        }
    ]
}
