import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk

// A filter's text field with suggestions. The field keeps exactly what was typed, with or
// without the on-screen keyboard and at any speed: the view model's `value` is written into
// it only when it differs from the text (Clear), and suggestions arriving never touch it.
// Suggestions only suggest: the list under the field (or all of them, from the ▾ button)
// fills the field when one is picked. Enter reports `accepted` with the text shown.
Item {
    id: root
    property string value: ""           // what the view model holds
    property var choices: []            // [{value, label}] for what is typed
    property string placeholder: ""
    property real keyboardHeight: 0     // the on-screen keyboard's, the list stays above it
    property Item listLimit: null       // and above this item (the panel's Apply)
    readonly property alias text: field.text
    readonly property bool suggesting: popup.opened
    signal edited(string text)          // typed or picked
    signal accepted(string text)        // Enter

    implicitHeight: Theme.touch
    implicitWidth: Theme.touch * 5

    onValueChanged: if (field.text !== value) field.text = value
    Component.onCompleted: field.text = value
    // New suggestions for what was just typed: show them (or hide an empty list).
    onChoicesChanged: {
        if (!field.activeFocus || !root.wantsList)
            return
        if (root.choices.length > 0)
            root.openList()
        else
            popup.close()
    }
    property bool wantsList: false

    function openList() {
        var bottom = root.mapToItem(null, 0, root.height).y
        var end = (root.Window.window ? root.Window.window.height : bottom + Theme.touch * 4)
                  - root.keyboardHeight
        if (root.listLimit)
            end = Math.min(end, root.listLimit.mapToItem(null, 0, 0).y)
        popup.room = end - bottom - Theme.spacing
        if (popup.room >= Theme.touch)  // no room for one row: no list (the field still works)
            popup.open()
        else
            popup.close()
    }
    function pick(value) {
        field.text = value
        root.wantsList = false
        popup.close()
        root.edited(value)
    }

    RowLayout {
        anchors.fill: parent
        spacing: 0
        TouchTextField {
            id: field
            objectName: root.objectName + "Text"
            Layout.fillWidth: true
            Layout.fillHeight: true
            placeholderText: root.placeholder
            inputMethodHints: Qt.ImhNoAutoUppercase | Qt.ImhNoPredictiveText
            onTextEdited: {
                root.wantsList = true
                root.edited(field.text)
            }
            onAccepted: {
                root.wantsList = false
                popup.close()
                root.accepted(field.text)
            }
            // Leaving the field (Apply, another control) closes its list: left open, it
            // would cover the field below it.
            onActiveFocusChanged: {
                if (!activeFocus) {
                    root.wantsList = false
                    popup.close()
                }
            }
        }
        TouchButton {
            id: openButton
            objectName: root.objectName + "Open"
            compact: true
            Layout.fillHeight: true
            focusPolicy: Qt.NoFocus
            text: popup.opened ? "▴" : "▾"
            onClicked: {
                if (popup.opened) {
                    popup.close()
                    return
                }
                root.wantsList = true
                root.openList()
            }
        }
    }

    Popup {
        id: popup
        property real room: Theme.touch * 4
        y: root.height
        width: root.width
        height: Math.min(Math.max(Theme.touch, list.contentHeight), room) + 2 * padding
        padding: Theme.border
        focus: false  // the field keeps the focus (and the on-screen keyboard stays)
        closePolicy: Popup.CloseOnEscape | Popup.CloseOnPressOutsideParent
        // It opens and closes at once. With the style's transitions, a close() while it is
        // still opening (Enter right after a key that brought suggestions) could leave it
        // open over the fields below, and a closing list would still take a tap meant for them.
        enter: null
        exit: null
        background: Rectangle {
            color: Theme.surfaceAlt
            radius: Theme.radius
            border.width: Theme.border
            border.color: Theme.borderColor
        }
        contentItem: ListView {
            id: list
            objectName: root.objectName + "List"
            clip: true
            boundsBehavior: Flickable.StopAtBounds
            model: root.choices
            delegate: ItemDelegate {
                required property var modelData
                required property int index
                objectName: root.objectName + "Choice_" + index
                width: ListView.view.width
                height: Theme.touch
                focusPolicy: Qt.NoFocus
                text: modelData.label
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
                onClicked: root.pick(modelData.value)
            }
            Text {
                anchors.centerIn: parent
                visible: list.count === 0
                text: "No suggestions"
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontSmall
            }
        }
    }
}
