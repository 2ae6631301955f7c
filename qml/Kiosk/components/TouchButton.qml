import QtQuick
import QtQuick.Templates as T
import Kiosk

// A touch button: at least 48x48 (primary 60 high), visible pressed and checked states.
T.Button {
    id: control
    property bool primary: false
    property bool danger: false
    property bool compact: false   // square icon button

    implicitHeight: primary ? Theme.primary : Theme.touch
    implicitWidth: compact ? implicitHeight
                           : Math.max(implicitHeight, label.implicitWidth + 2 * Theme.spacing * 2)
    focusPolicy: Qt.TabFocus
    font.family: Theme.fontFamily
    font.pixelSize: primary ? Theme.fontLarge : Theme.fontNormal

    background: Rectangle {
        radius: Theme.radius
        color: {
            if (!control.enabled) return Theme.surfaceAlt
            if (control.danger) return control.down ? Theme.dangerPressed : Theme.danger
            if (control.primary || control.checked)
                return control.down ? Theme.accentPressed : Theme.accent
            return control.down ? Theme.buttonPressed : Theme.buttonFill
        }
        border.width: control.visualFocus ? 2 * Theme.border : 0
        border.color: Theme.accent
    }
    contentItem: Text {
        id: label
        text: control.text
        font: control.font
        elide: Text.ElideRight
        horizontalAlignment: Text.AlignHCenter
        verticalAlignment: Text.AlignVCenter
        color: !control.enabled ? Theme.textDim
             : (control.primary || control.danger || control.checked) ? Theme.accentText
             : Theme.text
    }
}
