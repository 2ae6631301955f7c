import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Add or edit a remote DICOM node: name, AE title, host, port, TLS (the CA file, our client
// certificate and key), retrieve method, the services it may use on this node and the
// certificate its AE title is bound to. Save checks the values as `nodes add/edit` does; what
// is wrong shows beside the buttons (in view however far the fields are scrolled), and nothing
// is saved.
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
        tlsSwitch.checked = f.tls
        caField.text = f.tlsCa
        certField.text = f.tlsCert
        keyField.text = f.tlsKey
        peerField.text = f.tlsPeerCert
        // Opened with no field focused (the keyboard stays down), not in the field that had
        // the focus when it last closed (Enter in the last field saves and closes).
        for (var field of [nameField, aeField, hostField, portField, caField, certField,
                           keyField, peerField])
            field.focus = false
        dialog.open()
    }
    function save() {
        dialog.settings.saveNode(dialog.original, nameField.text, aeField.text, hostField.text,
                                 portField.text, dialog.method, dialog.services,
                                 { tls: tlsSwitch.checked, tlsCa: caField.text,
                                   tlsCert: certField.text, tlsKey: keyField.text,
                                   tlsPeerCert: peerField.text })
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
            onAccepted: tlsSwitch.checked ? caField.forceActiveFocus() : dialog.save()
            Layout.fillWidth: true
            inputMethodHints: Qt.ImhDigitsOnly
        }
        Text { text: "Use TLS"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            Switch {
                id: tlsSwitch
                objectName: "nodeTls"
                implicitHeight: Theme.touch
                implicitWidth: Theme.touch * 1.6
                // On is the accent colour with the knob at the right, off a plain track with
                // the knob at the left (as the Export dialog's switch).
                indicator: Rectangle {
                    implicitWidth: Theme.touch * 1.2
                    implicitHeight: Math.round(Theme.touch * 0.6)
                    x: tlsSwitch.width - width - tlsSwitch.rightPadding
                    y: Math.round((tlsSwitch.height - height) / 2)
                    radius: height / 2
                    color: tlsSwitch.checked ? Theme.accent : Theme.buttonFill
                    border.width: Theme.border
                    border.color: tlsSwitch.checked ? Theme.accent : Theme.borderColor
                    Rectangle {
                        readonly property real inset: 2 * Theme.border
                        width: parent.height - 2 * inset
                        height: width
                        radius: width / 2
                        y: inset
                        x: tlsSwitch.checked ? parent.width - width - inset : inset
                        color: tlsSwitch.checked ? Theme.accentText : Theme.textDim
                    }
                }
            }
            Text {
                Layout.fillWidth: true
                text: tlsSwitch.checked ? "Sending, queries, retrieves and Test use DICOM TLS"
                                        : "Plain TCP"
                wrapMode: Text.WordWrap
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontSmall
            }
        }
        Text {
            visible: tlsSwitch.checked
            text: "CA file"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal
        }
        TouchTextField {
            id: caField
            objectName: "nodeTlsCa"
            visible: tlsSwitch.checked
            onAccepted: certField.forceActiveFocus()
            Layout.fillWidth: true
            placeholderText: "PEM file of the CA that signs its certificate"
            inputMethodHints: Qt.ImhNoAutoUppercase | Qt.ImhNoPredictiveText
        }
        Text {
            visible: tlsSwitch.checked
            text: "Client certificate"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal
        }
        TouchTextField {
            id: certField
            objectName: "nodeTlsCert"
            visible: tlsSwitch.checked
            onAccepted: keyField.forceActiveFocus()
            Layout.fillWidth: true
            placeholderText: "Optional: ours, if it asks for one"
            inputMethodHints: Qt.ImhNoAutoUppercase | Qt.ImhNoPredictiveText
        }
        Text {
            visible: tlsSwitch.checked
            text: "Client key"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal
        }
        TouchTextField {
            id: keyField
            objectName: "nodeTlsKey"
            visible: tlsSwitch.checked
            onAccepted: peerField.forceActiveFocus()
            Layout.fillWidth: true
            placeholderText: "Optional: if not in the certificate file"
            inputMethodHints: Qt.ImhNoAutoUppercase | Qt.ImhNoPredictiveText
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
        Text { text: "Bound to"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
        TouchTextField {
            id: peerField
            objectName: "nodeTlsPeerCert"
            onAccepted: dialog.save()
            Layout.fillWidth: true
            placeholderText: "Optional: its certificate (PEM file or SHA-256)"
            inputMethodHints: Qt.ImhNoAutoUppercase | Qt.ImhNoPredictiveText
        }
    }
    Text {
        Layout.fillWidth: true
        text: "AE title: 1-16 characters. Host: a name or IP address. C-MOVE: the server sends "
              + "the images to this node (it must know our AE title, host and port); C-GET: they "
              + "come back on the same connection. May use: what this server may do here when "
              + "only known nodes are accepted. TLS: the CA file signs its certificate; a client "
              + "certificate and key only if it asks for one. Bound to: calls with its AE title "
              + "are accepted only over TLS from a client showing that certificate."
        wrapMode: Text.WordWrap
        color: Theme.textDim
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontSmall
    }

    buttons: [
        Text {
            objectName: "nodeEditorError"
            Layout.fillWidth: true
            text: dialog.settings.editorError
            wrapMode: Text.WordWrap
            maximumLineCount: 4
            elide: Text.ElideRight
            color: Theme.danger
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontSmall
        },
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
