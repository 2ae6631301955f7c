import QtQuick
import Kiosk

// A toggle chip (modality, priority, format): a checkable touch button.
TouchButton {
    checkable: true
    implicitWidth: Math.max(Theme.touch * 1.5, contentItem.implicitWidth + 2 * Theme.spacing * 2)
}
