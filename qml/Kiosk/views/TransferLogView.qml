import QtQuick
import Kiosk

PlannedView {
    heading: "Transfer Log"
    description: "Every image sent and received will be listed here by level (transfer, study, "
                 + "series, image) with its state, retries and error details, and you will be able "
                 + "to retry or cancel transfers. The send queue is not part of this build yet."
}
