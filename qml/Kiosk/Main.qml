import QtQuick
import QtQuick.Controls
import QtQuick.Controls.Material
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

ApplicationWindow {
    id: window
    required property AppModel app

    // Windowed: 1280x800, or the screen's free area when that is smaller.
    width: Math.min(1280, Math.max(1024, Screen.desktopAvailableWidth))
    height: Math.min(800, Math.max(600, Screen.desktopAvailableHeight))
    minimumWidth: 1024
    minimumHeight: 600
    visible: true
    title: "dicom-kiosk"
    flags: app.fullscreen ? (Qt.Window | Qt.FramelessWindowHint) : Qt.Window
    visibility: app.fullscreen ? Window.FullScreen : Window.AutomaticVisibility
    color: Theme.background
    readonly property real uiScale: Theme.scale  // what the sizes are multiplied by (tests read it)
    // How high the on-screen keyboard is while it is up (views keep their actions above it).
    readonly property real keyboardHeight: keyboard.item ? keyboard.item.keyboardHeight : 0

    // A view the first frame does not need (it shows only the Database list): made the first
    // time it is shown, or ahead of that, in the background once the first frame is up
    // (`early`); then kept. Shown while still being made, it is finished at once. Its content
    // is a file of its own, loaded by its URL: the first frame compiles none of it.
    component LazyView: Loader {
        property bool shown: false
        property bool early: false
        property bool made: false
        active: window.app.ready && (shown || made || early)
        asynchronous: !shown
        onLoaded: made = true
    }

    // The dialogs (and the import's progress) are made right after the first frame, by
    // `dialogs`; `later()` gives them, making them now if a tap comes first.
    function later() {
        window.app.showRest()
        return dialogs.item
    }

    Material.theme: Theme.dark ? Material.Dark : Material.Light
    Material.accent: Theme.accent
    Material.primary: Theme.accent

    // Kiosk mode takes the whole screen itself: without a window manager (as on many kiosks)
    // nobody acts on the full-screen request, and the window would keep its windowed size.
    Binding { target: window; property: "x"; value: window.screen.virtualX; when: window.app.fullscreen }
    Binding { target: window; property: "y"; value: window.screen.virtualY; when: window.app.fullscreen }
    Binding { target: window; property: "width"; value: window.screen.width; when: window.app.fullscreen }
    Binding { target: window; property: "height"; value: window.screen.height; when: window.app.fullscreen }

    Binding { target: Theme; property: "dark"; value: window.app.theme !== "light" }
    Binding {
        target: Theme
        property: "scale"
        value: Theme.scaleFor(Screen.pixelDensity * 25.4)
    }

    // What cannot be undone asks for a confirmation; with a kiosk PIN set, for the PIN instead.
    function protect(title, text, confirmText, destructive, callback) {
        if (window.app.lock.pinSet)
            window.later().pinPrompt.ask(title, text, "action:" + title, callback)
        else
            confirm.ask(title, text, confirmText, destructive, callback)
    }
    Component.onCompleted: window.app.lock.watch(window)

    Connections {
        target: window.app
        function onErrorOccurred(text) { toast.show(text, true) }
        function onMessage(text) { toast.show(text, false) }
    }
    // After Send: offer to follow the new transfer in the Transfer Log.
    Connections {
        target: window.app.database
        function onSendQueued(transferId, text) {
            window.later().sendQueued.ask("Queued for sending", text, "Open Transfer Log", false,
                                          function () {
                                              window.app.transfers.showTransfer(transferId)
                                              tabs.current = 1
                                          }, "Stay here")
        }
    }

    ColumnLayout {
        anchors.fill: parent
        spacing: 0
        visible: window.app.view === "database" && !window.app.lock.locked

        Rectangle {
            Layout.fillWidth: true
            Layout.preferredHeight: Theme.touch + Theme.spacing
            color: Theme.header
            RowLayout {
                anchors.fill: parent
                spacing: Theme.spacing
                Repeater {
                    id: tabs
                    property int current: 0
                    model: ["Database", "Transfer Log", "Query/Retrieve", "Settings"]
                    TouchButton {
                        required property string modelData
                        required property int index
                        objectName: "tab_" + index
                        Layout.preferredWidth: Theme.touch * 3.4
                        Layout.fillHeight: true
                        text: modelData
                        checked: tabs.current === index
                        onClicked: {
                            window.app.showRest()  // a tab tapped before the rest is made
                            tabs.current = index
                        }
                    }
                }
                // The status lines: what the database holds, the filter applied, the selection.
                // Each one line, cut at its end when too long: its start stays readable. The
                // filter's line shows the cut text itself (what a reader, or a test, sees).
                Column {
                    id: statusLines
                    objectName: "statusLines"
                    Layout.fillWidth: true
                    Layout.rightMargin: Theme.spacing
                    Text {
                        objectName: "statusStats"
                        width: parent.width
                        horizontalAlignment: Text.AlignRight
                        text: window.app.statsText
                        color: Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontSmall
                        elide: Text.ElideRight
                    }
                    Text {
                        id: filterSummary
                        objectName: "filterSummary"
                        width: parent.width
                        visible: window.app.database.filters.summary !== ""
                        horizontalAlignment: Text.AlignRight
                        text: summaryMetrics.elidedText
                        color: Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontSmall
                        TextMetrics {
                            id: summaryMetrics
                            font: filterSummary.font
                            text: window.app.database.filters.summary
                            elide: Qt.ElideRight
                            elideWidth: filterSummary.width
                        }
                    }
                    Text {
                        objectName: "statusSelection"
                        width: parent.width
                        visible: text !== ""
                        horizontalAlignment: Text.AlignRight
                        text: window.app.database.selectionText
                        color: Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontSmall
                        elide: Text.ElideRight
                    }
                }
            }
        }

        StackLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            currentIndex: tabs.current
            DatabaseView {
                id: databaseView
                objectName: "databaseView"
                app: window.app
                keyboardHeight: window.keyboardHeight
                onSendRequested: window.later().sendDialog.open()
                onExportRequested: window.later().exportDialog.open()
                onImportRequested: {
                    window.app.importer.folders.open(window.app.importer.folders.path)
                    window.later().importDialog.open()
                }
                onDeleteRequested: (name) => {
                    var prompt = window.app.database.deletePrompt(name)
                    if (prompt !== "")
                        window.protect("Delete", prompt, "Delete", true,
                                       function () { window.app.database.deleteSelected(name) })
                }
                onDatePickRequested: (from) => {
                    var picker = window.later().datePicker
                    picker.from = from
                    picker.pick(from ? "Study date from" : "Study date to",
                                from ? window.app.database.filters.dateFrom
                                     : window.app.database.filters.dateTo)
                }
                onCloseRequested: {
                    if (window.app.fullscreen)
                        toast.show("Kiosk mode: leave it in Settings to close the kiosk.", false)
                    else
                        confirm.ask("Close", "Close dicom-kiosk?", "Close", false,
                                    function () { window.app.requestQuit() })
                }
            }
            // The other tabs: made once the first frame is up, or when first shown if sooner.
            LazyView {
                shown: tabs.current === 1
                early: true
                source: Qt.resolvedUrl("TransferLogTab.qml")
            }
            LazyView {
                shown: tabs.current === 2
                early: true
                source: Qt.resolvedUrl("QueryRetrieveTab.qml")
            }
            LazyView {
                shown: tabs.current === 3
                early: true
                source: Qt.resolvedUrl("SettingsTab.qml")
            }
        }
    }

    LazyView {
        anchors.fill: parent
        visible: window.app.view === "viewer" && !window.app.lock.locked
        shown: window.app.view === "viewer"
        source: Qt.resolvedUrl("ViewerTab.qml")
    }

    ConfirmDialog { id: confirm; objectName: "confirmDialog" }
    Loader {
        id: dialogs
        anchors.fill: parent
        active: window.app.ready
        source: Qt.resolvedUrl("MainDialogs.qml")
    }
    Toast {
        id: toast
        objectName: "toast"
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
        anchors.bottomMargin: Theme.primary + 3 * Theme.spacing
    }

    // The on-screen keyboard lives above dialogs (in the overlay), so it also serves them.
    Loader {
        id: keyboard
        parent: Overlay.overlay
        anchors.fill: parent
        active: window.app.virtualKeyboard && window.app.ready  // after the first frame
        z: 1000
        source: Qt.resolvedUrl("components/KeyboardPanel.qml")
    }

    // Above everything, the on-screen keyboard included, while the kiosk is locked (it puts
    // itself in the overlay). Made at once when the kiosk opens locked, else in the background
    // once the first frame is up.
    Loader {
        property bool made: false
        active: made || window.app.lock.locked || window.app.ready
        asynchronous: !window.app.lock.locked
        onLoaded: made = true
        sourceComponent: LockScreen { app: window.app }
    }
}
