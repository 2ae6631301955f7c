import QtQuick
import Kiosk

// The window's dialogs and the import's progress: Main.qml makes them (by this file's URL, so
// that the first frame compiles none of them) once that frame is up, and reaches them through
// these aliases (`window.later()`). `window` is Main's.
Item {
    readonly property alias sendDialog: sendDialog
    readonly property alias exportDialog: exportDialog
    readonly property alias importDialog: importDialog
    readonly property alias sendQueued: sendQueued
    readonly property alias pinPrompt: pinPrompt
    readonly property alias transferDetails: transferDetails
    readonly property alias datePicker: datePicker

    SendDialog { id: sendDialog; objectName: "sendDialog"; database: window.app.database }
    ExportDialog {
        id: exportDialog
        objectName: "exportDialog"
        database: window.app.database
        folders: window.app.importer.folders
    }
    ImportDialog { id: importDialog; objectName: "importDialog"; importer: window.app.importer }
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
}
