import QtQuick
import QtQuick.VirtualKeyboard

// The on-screen keyboard; it slides in when a text field has focus.
InputPanel {
    id: panel
    width: parent ? parent.width : 0
    y: active && parent ? parent.height - height : (parent ? parent.height : 0)
}
