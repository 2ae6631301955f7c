import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Settings: theme, on-screen keyboard, kiosk mode; the DICOM node and peers come later.
Item {
    id: view
    required property AppModel app
    signal leaveKioskRequested()

    Flickable {
        anchors.fill: parent
        anchors.margins: Theme.spacing * 2
        contentHeight: column.implicitHeight
        clip: true
        boundsBehavior: Flickable.StopAtBounds

        ColumnLayout {
            id: column
            width: Math.min(parent.width, Theme.dialogWidth * 1.4)
            spacing: Theme.spacing * 1.5

            SectionLabel { text: "Appearance" }
            RowLayout {
                spacing: Theme.spacing
                Chip {
                    objectName: "themeDark"
                    text: "Dark"
                    checked: view.app.theme === "dark"
                    onClicked: view.app.setTheme("dark")
                }
                Chip {
                    objectName: "themeLight"
                    text: "Light"
                    checked: view.app.theme === "light"
                    onClicked: view.app.setTheme("light")
                }
            }
            SectionLabel { text: "Input" }
            RowLayout {
                Layout.fillWidth: true
                spacing: Theme.spacing
                Text {
                    Layout.fillWidth: true
                    text: "On-screen keyboard when a text field is tapped (applies after a restart)"
                    wrapMode: Text.WordWrap
                    color: Theme.text
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontNormal
                }
                Switch {
                    implicitHeight: Theme.touch
                    implicitWidth: Theme.touch * 1.6
                    checked: view.app.virtualKeyboard
                    onToggled: view.app.setVirtualKeyboard(checked)
                }
            }
            SectionLabel { text: "Kiosk mode" }
            RowLayout {
                Layout.fillWidth: true
                spacing: Theme.spacing
                Text {
                    Layout.fillWidth: true
                    text: view.app.fullscreen ? "The kiosk fills the screen without window controls."
                                              : "Windowed. Start with --fullscreen for kiosk mode."
                    wrapMode: Text.WordWrap
                    color: Theme.text
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontNormal
                }
                TouchButton {
                    text: "Leave kiosk mode"
                    enabled: view.app.fullscreen
                    onClicked: view.leaveKioskRequested()
                }
            }
            SectionLabel { text: "DICOM node" }
            Text {
                Layout.fillWidth: true
                text: view.app.nodeText + "\nData: " + view.app.dataDir
                      + "\nThe node's settings (AE title, port, accepted peers) and the list of "
                      + "remote servers to send to and query will be edited here."
                wrapMode: Text.WordWrap
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
            }
        }
    }
}
