import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk

// A modal, centred dialog: a title, content, and a row of touch buttons at the bottom.
// Nothing behind it takes input while it is open: the dimmed overlay takes taps outside it, and
// its background takes every press inside it that no control of its own accepts. (A pointer
// handler, such as a TapHandler, only watches a press without accepting it; without the
// background's MouseArea the same press would also reach the table row under the dialog.)
// While the on-screen keyboard is up the dialog sits above it: its content scrolls, and the
// field being typed in is scrolled into view, so its buttons stay reachable.
Popup {
    id: dialog
    property string title: ""
    default property alias content: body.data
    property alias buttons: buttonRow.data
    // Take all the height there is (dialogs with lists), not only what the content needs.
    property bool tall: false
    // How much of the window the on-screen keyboard covers (0 while it is down).
    readonly property real keyboardHeight: {
        var window = ApplicationWindow.window
        if (window && window.keyboardHeight !== undefined)
            return window.keyboardHeight
        return Qt.inputMethod.visible ? Qt.inputMethod.keyboardRectangle.height : 0
    }
    readonly property real roomHeight:
        parent ? parent.height - keyboardHeight - 2 * Theme.spacing : implicitHeight

    parent: Overlay.overlay
    modal: true
    focus: true
    // Centred; moved to the top while the on-screen keyboard covers the bottom.
    x: parent ? Math.round((parent.width - width) / 2) : 0
    y: parent ? (keyboardHeight > 0 ? Theme.spacing
                                    : Math.round((parent.height - height) / 2)) : 0
    width: Math.min(parent ? parent.width - 2 * Theme.spacing : Theme.dialogWidth, Theme.dialogWidth)
    height: tall ? roomHeight : Math.min(roomHeight, implicitHeight)
    padding: Theme.spacing * 2
    closePolicy: Popup.CloseOnEscape
    background: Rectangle {
        color: Theme.surface
        radius: Theme.radius
        border.width: Theme.border
        border.color: Theme.borderColor
        MouseArea {
            anchors.fill: parent
            acceptedButtons: Qt.AllButtons
            onWheel: (wheel) => wheel.accepted = true
        }
    }
    // The dimmed window behind. It goes the moment the dialog closes (Qt sets its opacity to 0
    // at once), and so does the dialog: no exit transition. With the style's fade-out (Material:
    // 150 ms opacity, 220 ms scale) the closing dialog, already invisible, would stay in the
    // overlay until its scale animation ended, and it and its background's MouseArea would take
    // a tap meant for a button under it (the Export button under the tall Import dialog).
    Overlay.modal: Rectangle { objectName: "dialogDimmer"; color: Theme.overlay }
    exit: null

    contentItem: ColumnLayout {
        id: column
        spacing: Theme.spacing * 1.5
        // The field with the keyboard's focus, kept in view while the content scrolls.
        readonly property Item focused: Window.activeFocusItem
        onFocusedChanged: scroller.reveal()
        Text {
            Layout.fillWidth: true
            text: dialog.title
            visible: text !== ""
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontLarge
            font.bold: true
            elide: Text.ElideRight
        }
        Flickable {
            id: scroller
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredHeight: body.implicitHeight
            contentWidth: width
            contentHeight: body.height
            clip: contentHeight > height
            interactive: contentHeight > height
            boundsBehavior: Flickable.StopAtBounds
            // Shows that more is there; the content keeps clear of it.
            ScrollIndicator.vertical: ScrollIndicator { active: scroller.interactive }
            onHeightChanged: reveal()

            function reveal() {
                var item = column.focused
                var inside = item
                while (inside && inside !== body) inside = inside.parent
                if (!inside || !interactive) return
                var top = item.mapToItem(body, 0, 0).y
                if (top < contentY)
                    contentY = top
                else if (top + item.height > contentY + height)
                    contentY = Math.min(top + item.height - height, contentHeight - height)
            }

            ColumnLayout {
                id: body
                width: scroller.width - (scroller.interactive ? Theme.spacing : 0)
                height: Math.max(implicitHeight, scroller.height)
                spacing: Theme.spacing
            }
        }
        RowLayout {
            id: buttonRow
            Layout.fillWidth: true
            spacing: Theme.spacing
        }
    }
}
