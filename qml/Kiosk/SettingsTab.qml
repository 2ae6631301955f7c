import QtQuick
import Kiosk

// The Settings tab as the window shows it (made by Main.qml after the first frame).
SettingsView {
    app: window.app
    onLeaveKioskRequested: window.protect(
        "Leave kiosk mode", "Show the window controls again? Anyone at this "
        + "screen can then close or switch away from the kiosk.",
        "Leave kiosk mode", false, function () { window.app.leaveKioskMode() })
}
