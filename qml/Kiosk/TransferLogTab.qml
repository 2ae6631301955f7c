import QtQuick
import Kiosk

// The Transfer Log tab as the window shows it; Main.qml makes it (by its URL, so that the
// first frame compiles none of it) once that frame is up. `window` and `tabs` are Main's.
TransferLogView {
    objectName: "transferLogView"
    log: window.app.transfers
    onCloseRequested: tabs.current = 0
    onDetailsRequested: {
        window.app.transfers.openDetails()
        window.later().transferDetails.open()
    }
    onDeleteRequested: window.protect("Delete transfer", window.app.transfers.deletePrompt,
                                      "Delete", true, function () { window.app.transfers.delete() })
    onClearRequested: window.protect("Clear", window.app.transfers.clearPrompt, "Clear", true,
                                     function () { window.app.transfers.clear() })
}
