import QtQuick
import Kiosk

// A short message at the bottom of the window; errors stay longer. Tap to dismiss.
// A message shown again while up (the app model's MESSAGE_SECONDS, 4 s) replaces it: that is
// how a message about a transfer follows it as it is sent.
Rectangle {
    id: toast
    property bool error: false
    function show(text, isError) {
        label.text = text
        toast.error = isError
        toast.visible = true
        timer.interval = isError ? 8000 : 4000
        timer.restart()
    }
    visible: false
    width: Math.min(parent ? parent.width - 4 * Theme.spacing : 600, label.implicitWidth + 4 * Theme.spacing)
    height: Math.max(Theme.touch, label.implicitHeight + 2 * Theme.spacing)
    radius: Theme.radius
    color: error ? Theme.danger : Theme.toastBackground
    Text {
        id: label
        anchors.fill: parent
        anchors.margins: Theme.spacing
        wrapMode: Text.WordWrap
        verticalAlignment: Text.AlignVCenter
        horizontalAlignment: Text.AlignHCenter
        color: toast.error ? Theme.accentText : Theme.toastText
        font.family: Theme.fontFamily
        font.pixelSize: Theme.fontNormal
    }
    Timer { id: timer; onTriggered: toast.visible = false }
    TapHandler { onTapped: toast.visible = false }
}
