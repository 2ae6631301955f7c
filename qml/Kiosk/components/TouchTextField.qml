import QtQuick
import QtQuick.Controls
import Kiosk

// A text field 48 high; focusing it opens the on-screen keyboard when that is on.
TextField {
    implicitHeight: Theme.touch
    font.family: Theme.fontFamily
    font.pixelSize: Theme.fontNormal
    topInset: 0
    bottomInset: 0
    leftPadding: Theme.spacing * 1.5
    rightPadding: Theme.spacing * 1.5
    topPadding: 0
    bottomPadding: 0
    verticalAlignment: TextInput.AlignVCenter
    color: Theme.text
    placeholderTextColor: Theme.textDim
    background: Rectangle {
        radius: Theme.radius
        color: Theme.surfaceAlt
        border.width: parent.activeFocus ? 2 * Theme.border : Theme.border
        border.color: parent.activeFocus ? Theme.accent : Theme.borderColor
    }
}
