import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Settings (the manual's nDC interface): the DICOM node's state with Start, Stop and Reset;
// this node's AE title, port, bind address and accept policy; the remote nodes; storage; the
// audit trail (latest records, Verify); the kiosk lock (PIN, idle time); appearance,
// on-screen keyboard and kiosk mode. With a PIN set, the tab is covered until it is entered,
// and covered again once the tab is left.
Item {
    id: view
    required property AppModel app
    readonly property SettingsModel settings: app.settings
    readonly property LockModel lock: app.lock
    signal leaveKioskRequested()

    onVisibleChanged: if (!visible) view.lock.closeSettings()

    // With the on-screen keyboard, a focused field scrolls to the top, above the keyboard.
    function reveal(field) {
        if (!field.activeFocus || !view.app.virtualKeyboard)
            return
        flick.contentY = Math.max(0, field.mapToItem(grid, 0, 0).y - Theme.spacing)
    }

    Flickable {
        id: flick
        anchors.fill: parent
        anchors.margins: Theme.spacing * 2
        contentHeight: grid.implicitHeight
        bottomMargin: Qt.inputMethod.visible ? flick.height : 0
        clip: true
        boundsBehavior: Flickable.StopAtBounds

        GridLayout {
            id: grid
            width: flick.width
            columns: flick.width > Theme.dialogWidth * 1.6 ? 2 : 1
            columnSpacing: Theme.spacing * 3
            rowSpacing: Theme.spacing * 2

            // -- left: the DICOM node ---------------------------------------------------------
            ColumnLayout {
                Layout.fillWidth: true
                Layout.preferredWidth: 1
                Layout.alignment: Qt.AlignTop
                spacing: Theme.spacing

                SectionLabel { text: "DICOM node" }
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    Rectangle {
                        Layout.preferredWidth: Theme.spacing * 2
                        Layout.preferredHeight: Theme.spacing * 2
                        radius: width / 2
                        color: view.settings.nodeRunning ? Theme.ok : Theme.danger
                    }
                    Text {
                        objectName: "nodeStatus"
                        Layout.fillWidth: true
                        text: view.settings.nodeStatus
                        color: Theme.text
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontLarge
                        font.bold: true
                        wrapMode: Text.WordWrap
                    }
                }
                GridLayout {
                    Layout.fillWidth: true
                    columns: 2
                    columnSpacing: Theme.spacing * 2
                    rowSpacing: Theme.spacing / 2
                    Repeater {
                        model: ["AE title", view.settings.nodeAddressTitle, "Active associations",
                                "Images received today"]
                        Text {
                            required property string modelData
                            required property int index
                            objectName: "nodeTitle_" + index
                            Layout.row: index
                            Layout.column: 0
                            text: modelData
                            color: Theme.textDim
                            font.family: Theme.fontFamily
                            font.pixelSize: Theme.fontNormal
                        }
                    }
                    Repeater {
                        model: [view.settings.nodeAeTitle, view.settings.nodeAddress,
                                view.settings.activeAssociations, view.settings.imagesToday]
                        Text {
                            required property var modelData
                            required property int index
                            objectName: "nodeValue_" + index
                            Layout.row: index
                            Layout.column: 1
                            Layout.fillWidth: true
                            text: modelData
                            color: Theme.text
                            font.family: Theme.fontFamily
                            font.pixelSize: Theme.fontNormal
                            elide: Text.ElideRight
                        }
                    }
                }
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    TouchButton {
                        objectName: "nodeStart"
                        Layout.fillWidth: true
                        implicitHeight: Theme.primary
                        text: "Start"
                        enabled: !view.settings.nodeRunning && !view.settings.nodeBusy
                        onClicked: view.settings.startNode()
                    }
                    TouchButton {
                        objectName: "nodeStop"
                        Layout.fillWidth: true
                        implicitHeight: Theme.primary
                        text: "Stop"
                        enabled: view.settings.nodeRunning && !view.settings.nodeBusy
                        onClicked: confirm.ask(
                            "Stop the DICOM node",
                            "While the node is stopped, scanners and other nodes cannot send "
                            + "images here, and C-MOVE retrieves do not arrive.",
                            "Stop", true, function () { view.settings.stopNode() })
                    }
                    TouchButton {
                        objectName: "nodeReset"
                        Layout.fillWidth: true
                        implicitHeight: Theme.primary
                        text: "Reset"
                        enabled: !view.settings.nodeBusy
                        onClicked: confirm.ask(
                            "Reset the DICOM node",
                            "The node stops (transfers in progress get a few seconds to finish) "
                            + "and starts again with the saved settings.",
                            "Reset", false, function () { view.settings.resetNode() })
                    }
                }

                SectionLabel { text: "This node"; Layout.topMargin: Theme.spacing }
                GridLayout {
                    Layout.fillWidth: true
                    columns: 2
                    columnSpacing: Theme.spacing
                    rowSpacing: Theme.spacing
                    Text { text: "AE title"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
                    TouchTextField {
                        id: aeField
                        objectName: "localAe"
                        onActiveFocusChanged: view.reveal(this)
                        onAccepted: portField.forceActiveFocus()
                        Layout.fillWidth: true
                        text: view.settings.aeTitle
                        maximumLength: 16
                        inputMethodHints: Qt.ImhPreferUppercase | Qt.ImhNoAutoUppercase
                    }
                    Text { text: "Port"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
                    TouchTextField {
                        id: portField
                        objectName: "localPort"
                        onActiveFocusChanged: view.reveal(this)
                        onAccepted: bindField.forceActiveFocus()
                        Layout.fillWidth: true
                        text: view.settings.port
                        inputMethodHints: Qt.ImhDigitsOnly
                    }
                    Text { text: "Bind address"; color: Theme.text; font.family: Theme.fontFamily; font.pixelSize: Theme.fontNormal }
                    TouchTextField {
                        id: bindField
                        objectName: "localBind"
                        onActiveFocusChanged: view.reveal(this)
                        onAccepted: view.settings.saveLocal(aeField.text, portField.text, bindField.text)
                        Layout.fillWidth: true
                        text: view.settings.bind
                        inputMethodHints: Qt.ImhPreferNumbers | Qt.ImhNoAutoUppercase
                    }
                }
                Text {
                    objectName: "localError"
                    Layout.fillWidth: true
                    visible: text !== ""
                    text: view.settings.configError
                    wrapMode: Text.WordWrap
                    color: Theme.danger
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontNormal
                }
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    Text {
                        Layout.fillWidth: true
                        text: "0.0.0.0 listens on every network; 127.0.0.1 on this machine only."
                        wrapMode: Text.WordWrap
                        color: Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontSmall
                    }
                    TouchButton {
                        objectName: "localSave"
                        text: "Save"
                        onClicked: view.settings.saveLocal(aeField.text, portField.text, bindField.text)
                    }
                }
                Rectangle {
                    Layout.fillWidth: true
                    visible: view.settings.restartNeeded
                    implicitHeight: restartRow.implicitHeight + 2 * Theme.spacing
                    radius: Theme.radius
                    color: Theme.surface
                    border.width: Theme.border
                    border.color: Theme.accent
                    RowLayout {
                        id: restartRow
                        anchors.fill: parent
                        anchors.margins: Theme.spacing
                        spacing: Theme.spacing
                        Text {
                            objectName: "restartText"
                            Layout.fillWidth: true
                            text: view.settings.restartText
                            wrapMode: Text.WordWrap
                            color: Theme.text
                            font.family: Theme.fontFamily
                            font.pixelSize: Theme.fontSmall
                        }
                        TouchButton {
                            objectName: "restartNode"
                            text: "Restart node"
                            primary: true
                            implicitHeight: Theme.touch
                            enabled: !view.settings.nodeBusy
                            onClicked: view.settings.resetNode()
                        }
                    }
                }

                SectionLabel { text: "Who may send and query"; Layout.topMargin: Theme.spacing }
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    Chip {
                        objectName: "acceptAny"
                        Layout.fillWidth: true
                        text: "Any calling AE"
                        checked: view.settings.acceptPolicy === "any"
                        onClicked: view.settings.setAcceptPolicy("any")
                    }
                    Chip {
                        objectName: "acceptKnown"
                        Layout.fillWidth: true
                        text: "Known nodes only"
                        checked: view.settings.acceptPolicy === "known"
                        onClicked: view.settings.setAcceptPolicy("known")
                    }
                }
            }

            // -- right: remote nodes, storage, appearance ------------------------------------
            ColumnLayout {
                Layout.fillWidth: true
                Layout.preferredWidth: 1
                Layout.alignment: Qt.AlignTop
                spacing: Theme.spacing

                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    SectionLabel { Layout.fillWidth: true; text: "Remote nodes" }
                    TouchButton {
                        objectName: "nodeAdd"
                        text: "Add"
                        onClicked: editor.edit("")
                    }
                }
                Text {
                    Layout.fillWidth: true
                    visible: view.settings.nodes.count === 0
                    text: "No remote nodes yet. Add the PACS to query and the archives to send to."
                    wrapMode: Text.WordWrap
                    color: Theme.textDim
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontNormal
                }
                Repeater {
                    model: view.settings.nodes
                    Rectangle {
                        id: nodeRow
                        required property string name
                        required property string detail
                        required property string testState
                        required property string testText
                        Layout.fillWidth: true
                        implicitHeight: nodeContent.implicitHeight + 2 * Theme.spacing
                        radius: Theme.radius
                        color: Theme.surface
                        border.width: Theme.border
                        border.color: Theme.borderColor
                        RowLayout {
                            id: nodeContent
                            anchors.fill: parent
                            anchors.margins: Theme.spacing
                            spacing: Theme.spacing
                            ColumnLayout {
                                Layout.fillWidth: true
                                spacing: Theme.spacing / 4
                                Text {
                                    Layout.fillWidth: true
                                    text: nodeRow.name
                                    color: Theme.text
                                    font.family: Theme.fontFamily
                                    font.pixelSize: Theme.fontNormal
                                    font.bold: true
                                    elide: Text.ElideRight
                                }
                                Text {
                                    objectName: "nodeDetail_" + nodeRow.name
                                    Layout.fillWidth: true
                                    text: nodeRow.detail
                                    color: Theme.textDim
                                    font.family: Theme.fontFamily
                                    font.pixelSize: Theme.fontSmall
                                    wrapMode: Text.WordWrap
                                }
                                Text {
                                    objectName: "nodeTest_" + nodeRow.name
                                    Layout.fillWidth: true
                                    visible: nodeRow.testText !== ""
                                    text: nodeRow.testText
                                    color: nodeRow.testState === "failed" ? Theme.danger
                                         : nodeRow.testState === "ok" ? Theme.ok : Theme.textDim
                                    font.family: Theme.fontFamily
                                    font.pixelSize: Theme.fontSmall
                                    wrapMode: Text.WordWrap
                                }
                            }
                            TouchButton {
                                objectName: "nodeTestButton_" + nodeRow.name
                                text: "Test"
                                enabled: nodeRow.testState !== "testing"
                                onClicked: view.settings.testNode(nodeRow.name)
                            }
                            TouchButton {
                                objectName: "nodeEdit_" + nodeRow.name
                                text: "Edit"
                                onClicked: editor.edit(nodeRow.name)
                            }
                            TouchButton {
                                objectName: "nodeDelete_" + nodeRow.name
                                text: "Delete"
                                onClicked: confirm.ask("Delete remote node",
                                                       view.settings.deletePrompt(nodeRow.name), "Delete",
                                                       true, function () { view.settings.deleteNode(nodeRow.name) })
                            }
                        }
                    }
                }

                SectionLabel { text: "Storage"; Layout.topMargin: Theme.spacing }
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    ColumnLayout {
                        Layout.fillWidth: true
                        spacing: Theme.spacing / 2
                        Text {
                            Layout.fillWidth: true
                            text: view.settings.storageLocation
                            color: Theme.text
                            font.family: Theme.fontFamily
                            font.pixelSize: Theme.fontNormal
                            elide: Text.ElideMiddle
                        }
                        Text {
                            objectName: "storageText"
                            Layout.fillWidth: true
                            text: view.settings.storageText
                            wrapMode: Text.WordWrap
                            color: Theme.textDim
                            font.family: Theme.fontFamily
                            font.pixelSize: Theme.fontSmall
                        }
                        ProgressBar {
                            Layout.fillWidth: true
                            value: view.settings.diskUsed
                        }
                    }
                    TouchButton {
                        compact: true
                        text: "⟳"
                        onClicked: view.settings.refresh()
                    }
                }

                RowLayout {
                    Layout.fillWidth: true
                    Layout.topMargin: Theme.spacing
                    spacing: Theme.spacing
                    SectionLabel { Layout.fillWidth: true; text: "Audit trail" }
                    TouchButton {
                        objectName: "auditVerify"
                        text: "Verify"
                        enabled: !view.settings.auditBusy
                        onClicked: view.settings.verifyAudit()
                    }
                    TouchButton {
                        objectName: "auditRefresh"
                        compact: true
                        text: "⟳"
                        onClicked: view.settings.refreshAudit()
                    }
                }
                Text {
                    objectName: "auditText"
                    Layout.fillWidth: true
                    visible: text !== ""
                    text: view.settings.auditText
                    color: view.settings.auditBroken ? Theme.danger : Theme.ok
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontNormal
                    font.bold: view.settings.auditBroken
                    wrapMode: Text.WordWrap
                }
                Text {
                    Layout.fillWidth: true
                    visible: view.settings.audit.count === 0
                    text: "No audit records yet. Every action on images is recorded here."
                    wrapMode: Text.WordWrap
                    color: Theme.textDim
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontNormal
                }
                Repeater {
                    objectName: "auditRecords"
                    model: view.settings.audit
                    Rectangle {
                        id: auditRow
                        required property string time
                        required property string event
                        required property string summary
                        required property string user
                        required property string patients
                        required property bool failed
                        Layout.fillWidth: true
                        implicitHeight: auditContent.implicitHeight + Theme.spacing
                        radius: Theme.radius
                        color: Theme.surface
                        border.width: Theme.border
                        border.color: auditRow.failed ? Theme.danger : Theme.borderColor
                        ColumnLayout {
                            id: auditContent
                            anchors.fill: parent
                            anchors.margins: Theme.spacing / 2
                            spacing: Theme.spacing / 4
                            Text {
                                Layout.fillWidth: true
                                text: auditRow.time + "  " + auditRow.event
                                color: Theme.text
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontSmall
                                font.bold: true
                                elide: Text.ElideRight
                            }
                            Text {
                                Layout.fillWidth: true
                                text: auditRow.user + ": " + auditRow.summary
                                color: Theme.textDim
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontSmall
                                wrapMode: Text.WordWrap
                            }
                            Text {
                                Layout.fillWidth: true
                                visible: auditRow.patients !== ""
                                text: auditRow.patients
                                color: Theme.textDim
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontSmall
                                elide: Text.ElideRight
                            }
                        }
                    }
                }

                SectionLabel { text: "Kiosk lock"; Layout.topMargin: Theme.spacing }
                Text {
                    objectName: "lockStatus"
                    Layout.fillWidth: true
                    text: view.lock.statusText
                    wrapMode: Text.WordWrap
                    color: Theme.text
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontNormal
                }
                Flow {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    TouchButton {
                        objectName: "lockSetPin"
                        text: view.lock.pinSet ? "Change PIN…" : "Set PIN…"
                        onClicked: pinSetup.setUp()
                    }
                    TouchButton {
                        objectName: "lockRemovePin"
                        visible: view.lock.pinSet
                        text: "Remove PIN…"
                        onClicked: pinSetup.remove()
                    }
                    TouchButton {
                        objectName: "lockNow"
                        visible: view.lock.pinSet
                        text: "Lock now"
                        onClicked: view.lock.lockNow()
                    }
                }
                Text {
                    Layout.fillWidth: true
                    text: "Lock the screen after this long without a touch:"
                    wrapMode: Text.WordWrap
                    color: Theme.textDim
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontSmall
                }
                Flow {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    Repeater {
                        model: view.lock.idleChoices
                        Chip {
                            required property var modelData
                            objectName: "lockIdle_" + modelData.seconds
                            text: modelData.text
                            checked: view.lock.idleSeconds === modelData.seconds
                            onClicked: view.lock.setIdleSeconds(modelData.seconds)
                        }
                    }
                }

                SectionLabel { text: "Appearance"; Layout.topMargin: Theme.spacing }
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
            }
        }
    }

    // With a PIN set: the tab stays covered until the PIN is entered.
    Rectangle {
        objectName: "settingsLocked"
        anchors.fill: parent
        visible: !view.lock.settingsOpen
        color: Theme.background
        MouseArea {
            anchors.fill: parent
            acceptedButtons: Qt.AllButtons
            onWheel: (wheel) => wheel.accepted = true
        }
        ColumnLayout {
            anchors.centerIn: parent
            width: Math.min(parent.width - 4 * Theme.spacing, Theme.dialogWidth)
            spacing: Theme.spacing * 2
            Text {
                Layout.fillWidth: true
                horizontalAlignment: Text.AlignHCenter
                text: "Settings are protected by the kiosk's PIN."
                wrapMode: Text.WordWrap
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontLarge
            }
            TouchButton {
                objectName: "settingsUnlock"
                Layout.alignment: Qt.AlignHCenter
                Layout.preferredWidth: Theme.touch * 4
                primary: true
                text: "Enter PIN"
                onClicked: settingsPin.ask("Settings", "", "settings", null)
            }
        }
    }

    NodeEditorDialog { id: editor; objectName: "nodeEditor"; settings: view.settings }
    ConfirmDialog { id: confirm; objectName: "settingsConfirm" }
    PinDialog {
        id: settingsPin
        objectName: "settingsPinDialog"
        padName: "settingsPin"
        lock: view.lock
    }
    PinSetupDialog { id: pinSetup; objectName: "pinSetupDialog"; lock: view.lock }
}
