import QtQuick
import Kiosk

// The viewer as the window shows it (made by Main.qml when first shown).
ViewerView {
    objectName: "viewerView"
    viewer: window.app.viewer
    onBackRequested: window.app.showView("database")
}
