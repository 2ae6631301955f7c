import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Send: choose the destination (a configured DICOM node) and the priority; OK queues it.
KioskDialog {
    id: dialog
    required property DatabaseModel database
    property string priority: "Medium"
    // The title names what was selected when the dialog opened (not bound to the live text).
    onAboutToShow: {
        dialog.title = "Send " + dialog.database.selectionText.replace(" selected", "")
        dialog.database.loadDestinations()
    }

    SectionLabel { text: "Destination" }
    TouchComboBox {
        id: destination
        objectName: "sendDestination"
        Layout.fillWidth: true
        editable: false
        model: dialog.database.destinations
        displayText: count === 0 ? "No destinations configured yet" : currentText
    }
    Text {
        Layout.fillWidth: true
        visible: destination.count === 0
        text: "Add the DICOM nodes to send to in Settings."
        wrapMode: Text.WordWrap
        color: Theme.textDim
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontSmall
    }
    SectionLabel { text: "Priority" }
    RowLayout {
        Layout.fillWidth: true
        spacing: Theme.spacing
        Repeater {
            model: dialog.database.priorities
            Chip {
                required property string modelData
                objectName: "sendPriority" + modelData
                Layout.fillWidth: true
                text: modelData
                checked: dialog.priority === modelData
                onClicked: dialog.priority = modelData
            }
        }
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            objectName: "sendCancel"
            text: "Cancel"
            implicitHeight: Theme.primary
            onClicked: dialog.close()
        },
        TouchButton {
            objectName: "sendOk"
            text: "OK"
            primary: true
            enabled: destination.count > 0
            onClicked: {
                dialog.close()
                dialog.database.send(destination.currentText, dialog.priority)
            }
        }
    ]
}
