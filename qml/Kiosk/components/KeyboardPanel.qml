import QtQuick
import QtQuick.VirtualKeyboard

// The on-screen keyboard; it slides in when a text field has focus. The panel fills its
// parent (the window's overlay); the keyboard itself keeps its own height at the bottom, and
// `keyboardHeight` says how much of the window it covers (0 while it is down).
Item {
    id: root
    readonly property real keyboardHeight: input.active ? input.height : 0
    InputPanel {
        id: input
        width: root.width
        y: active ? root.height - height : root.height
    }
}
