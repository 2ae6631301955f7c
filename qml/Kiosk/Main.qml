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

    // A view made the first time it is shown, then kept (the first frame needs only the
    // Database list): its content is declared inside it, as a Component.
    component LazyView: Loader {
        default property Component view
        property bool shown: false
        property bool made: false
        sourceComponent: view
        active: shown || made
        onLoaded: made = true
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
            pinPrompt.ask(title, text, "action", callback)
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
            sendQueued.ask("Queued for sending", text, "Open Transfer Log", false, function () {
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
                        onClicked: tabs.current = index
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
                onSendRequested: sendDialog.open()
                onExportRequested: exportDialog.open()
                onImportRequested: {
                    window.app.importer.folders.open(window.app.importer.folders.path)
                    importDialog.open()
                }
                onDeleteRequested: (name) => {
                    var prompt = window.app.database.deletePrompt(name)
                    if (prompt !== "")
                        window.protect("Delete", prompt, "Delete", true,
                                       function () { window.app.database.deleteSelected(name) })
                }
                onDatePickRequested: (from) => {
                    datePicker.from = from
                    datePicker.pick(from ? "Study date from" : "Study date to",
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
            // Views not shown at start are made the first time they are shown, then kept.
            LazyView {
                shown: tabs.current === 1
                TransferLogView {
                    objectName: "transferLogView"
                    log: window.app.transfers
                    onCloseRequested: tabs.current = 0
                    onDetailsRequested: {
                        window.app.transfers.openDetails()
                        transferDetails.open()
                    }
                    onDeleteRequested: window.protect("Delete transfer",
                                                   window.app.transfers.deletePrompt, "Delete",
                                                   true, function () { window.app.transfers.delete() })
                    onClearRequested: window.protect("Clear", window.app.transfers.clearPrompt,
                                                  "Clear", true,
                                                  function () { window.app.transfers.clear() })
                }
            }
            LazyView {
                shown: tabs.current === 2
                QueryRetrieveView { objectName: "queryRetrieveView"; app: window.app }
            }
            LazyView {
                shown: tabs.current === 3
                SettingsView {
                    app: window.app
                    onLeaveKioskRequested: window.protect(
                        "Leave kiosk mode", "Show the window controls again? Anyone at this "
                        + "screen can then close or switch away from the kiosk.",
                        "Leave kiosk mode", false, function () { window.app.leaveKioskMode() })
                }
            }
        }
    }

    LazyView {
        anchors.fill: parent
        visible: window.app.view === "viewer" && !window.app.lock.locked
        shown: window.app.view === "viewer"
        ViewerView {
            objectName: "viewerView"
            viewer: window.app.viewer
            onBackRequested: window.app.showView("database")
        }
    }

    SendDialog { id: sendDialog; objectName: "sendDialog"; database: window.app.database }
    ExportDialog {
        id: exportDialog
        objectName: "exportDialog"
        database: window.app.database
        folders: window.app.importer.folders
    }
    ImportDialog { id: importDialog; objectName: "importDialog"; importer: window.app.importer }
    ConfirmDialog { id: confirm; objectName: "confirmDialog" }
    ConfirmDialog { id: sendQueued; objectName: "sendQueuedDialog" }
    PinDialog { id: pinPrompt; objectName: "pinDialog"; lock: window.app.lock }
    TransferDetailsDialog {
        id: transferDetails
        objectName: "transferDetailsDialog"
        log: window.app.transfers
    }
    DatePickerDialog {
        id: datePicker
        property bool from: true
        onPicked: (value) => from ? window.app.database.filters.setDateFrom(value)
                                  : window.app.database.filters.setDateTo(value)
    }

    ProgressToast {
        anchors.horizontalCenter: parent.horizontalCenter
        anchors.bottom: parent.bottom
        anchors.bottomMargin: Theme.primary + 3 * Theme.spacing
        importer: window.app.importer
        visible: window.app.importer.running && !importDialog.opened
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
        active: window.app.virtualKeyboard
        z: 1000
        source: Qt.resolvedUrl("components/KeyboardPanel.qml")
    }

    // Above everything, the on-screen keyboard included, while the kiosk is locked.
    LockScreen { app: window.app }
}
