import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// The Transfer Log tab (the manual's transfer log): the transfers of one direction, the
// selected one by study, series and image, and the buttons Refresh, Details, Resend, Abort,
// Delete, Clear and Close.
Item {
    id: view
    required property TransferLogModel log

    signal closeRequested()
    signal deleteRequested()
    signal clearRequested()
    signal detailsRequested()

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.spacing
        spacing: Theme.spacing

        // Title, paging, and the Incoming/Outgoing selector in the upper right corner.
        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            Text {
                text: view.log.outgoing ? "Outgoing transfers" : "Incoming transfers"
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontLarge
                font.bold: true
            }
            Text {
                Layout.fillWidth: true
                text: view.log.rangeText
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontSmall
                elide: Text.ElideRight
            }
            BusyIndicator {
                Layout.preferredWidth: Theme.touch
                Layout.preferredHeight: Theme.touch
                running: view.log.busy
                visible: running
            }
            TouchButton {
                objectName: "transfersPrevious"
                compact: true; text: "«"
                enabled: view.log.hasPrevious
                onClicked: view.log.turnPage(-1)
            }
            Text {
                text: "Page " + view.log.page
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontSmall
            }
            TouchButton {
                objectName: "transfersNext"
                compact: true; text: "»"
                enabled: view.log.hasMore
                onClicked: view.log.turnPage(1)
            }
            Item { Layout.preferredWidth: Theme.spacing }
            Chip {
                objectName: "directionIn"
                text: "Incoming"
                checked: !view.log.outgoing
                onClicked: view.log.setDirection("in")
            }
            Chip {
                objectName: "directionOut"
                text: "Outgoing"
                checked: view.log.outgoing
                onClicked: view.log.setDirection("out")
            }
        }

        // The transfers.
        Rectangle {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredHeight: 1
            color: Theme.surface
            radius: Theme.radius
            border.width: Theme.border
            border.color: Theme.borderColor
            clip: true

            ColumnLayout {
                id: listTable
                anchors.fill: parent
                anchors.margins: Theme.border
                spacing: 0
                readonly property var weights: view.log.listWeights

                Rectangle {
                    Layout.fillWidth: true
                    Layout.preferredHeight: Theme.infoHeight
                    color: Theme.header
                    Row {
                        anchors.fill: parent
                        Repeater {
                            model: view.log.listColumns
                            Text {
                                required property var modelData
                                width: listTable.width * listTable.weights[modelData.key]
                                height: parent.height
                                leftPadding: Theme.spacing
                                text: modelData.title
                                color: Theme.text
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontSmall
                                font.bold: true
                                elide: Text.ElideRight
                                verticalAlignment: Text.AlignVCenter
                            }
                        }
                    }
                }

                ListView {
                    id: transferList
                    objectName: "transferList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: view.log.transfers
                    boundsBehavior: Flickable.StopAtBounds
                    ScrollBar.vertical: ScrollBar {}
                    // Keep the selected transfer in sight (after Send, it is opened from there).
                    Connections {
                        target: view.log
                        function onSelectionChanged() {
                            if (view.log.selectedRow >= 0)
                                transferList.positionViewAtIndex(view.log.selectedRow, ListView.Contain)
                        }
                    }

                    delegate: Rectangle {
                        id: transferRow
                        objectName: "transferRow_" + transferId
                        required property int index
                        required property int transferId
                        required property string statusText
                        required property string tone
                        required property string peer
                        required property string peerDetail
                        required property string priority
                        required property string counts
                        required property real progress
                        required property real failedShare
                        required property bool indeterminate
                        required property string started
                        required property string finished
                        required property bool selected
                        width: transferList.width
                        height: Theme.rowHeight
                        color: selected ? Theme.current
                             : index % 2 ? Theme.surfaceAlt : Theme.surface

                        Row {
                            anchors.fill: parent
                            Item {
                                width: listTable.width * listTable.weights.status
                                height: parent.height
                                StatusBadge {
                                    objectName: "transferStatus_" + transferRow.transferId
                                    anchors.left: parent.left
                                    anchors.leftMargin: Theme.spacing
                                    anchors.verticalCenter: parent.verticalCenter
                                    width: Math.min(implicitWidth, parent.width - 2 * Theme.spacing)
                                    text: transferRow.statusText
                                    tone: transferRow.tone
                                }
                            }
                            Column {
                                width: listTable.width * listTable.weights.peer
                                anchors.verticalCenter: parent.verticalCenter
                                leftPadding: Theme.spacing
                                Text {
                                    width: parent.width - 2 * Theme.spacing
                                    text: transferRow.peer
                                    color: Theme.text
                                    font.family: Theme.fontFamily
                                    font.pixelSize: Theme.fontNormal
                                    elide: Text.ElideRight
                                }
                                Text {
                                    width: parent.width - 2 * Theme.spacing
                                    text: transferRow.peerDetail
                                    visible: text !== "" && text !== transferRow.peer
                                    color: Theme.textDim
                                    font.family: Theme.fontFamily
                                    font.pixelSize: Theme.fontSmall
                                    elide: Text.ElideRight
                                }
                            }
                            Text {
                                width: listTable.width * listTable.weights.priority
                                visible: view.log.outgoing
                                height: parent.height
                                leftPadding: Theme.spacing
                                text: transferRow.priority
                                color: Theme.text
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontNormal
                                elide: Text.ElideRight
                                verticalAlignment: Text.AlignVCenter
                            }
                            Text {
                                width: listTable.width * listTable.weights.counts
                                height: parent.height
                                leftPadding: Theme.spacing
                                text: transferRow.counts
                                color: Theme.text
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontNormal
                                elide: Text.ElideRight
                                verticalAlignment: Text.AlignVCenter
                            }
                            Item {
                                width: listTable.width * listTable.weights.progress
                                height: parent.height
                                ProgressLine {
                                    anchors.left: parent.left
                                    anchors.right: parent.right
                                    anchors.margins: Theme.spacing
                                    anchors.verticalCenter: parent.verticalCenter
                                    value: transferRow.progress
                                    failed: transferRow.failedShare
                                    indeterminate: transferRow.indeterminate
                                }
                            }
                            Text {
                                width: listTable.width * listTable.weights.started
                                height: parent.height
                                leftPadding: Theme.spacing
                                text: transferRow.started
                                color: Theme.textDim
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontSmall
                                elide: Text.ElideRight
                                verticalAlignment: Text.AlignVCenter
                            }
                            Text {
                                width: listTable.width * listTable.weights.finished
                                height: parent.height
                                leftPadding: Theme.spacing
                                text: transferRow.finished
                                color: Theme.textDim
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontSmall
                                elide: Text.ElideRight
                                verticalAlignment: Text.AlignVCenter
                            }
                        }
                        TapHandler {
                            onTapped: view.log.select(transferRow.index)
                            onDoubleTapped: view.detailsRequested()
                        }
                    }

                    Text {
                        anchors.centerIn: parent
                        width: parent.width - 4 * Theme.spacing
                        visible: transferList.count === 0
                        horizontalAlignment: Text.AlignHCenter
                        wrapMode: Text.WordWrap
                        text: view.log.busy ? "Loading…" : view.log.emptyText
                        color: Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontNormal
                    }
                }
            }
        }

        // The status table of the selected transfer: study -> series -> image.
        Rectangle {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredHeight: 1
            color: Theme.surface
            radius: Theme.radius
            border.width: Theme.border
            border.color: Theme.borderColor
            clip: true

            ColumnLayout {
                id: levelTable
                anchors.fill: parent
                anchors.margins: Theme.border
                spacing: 0
                readonly property var weights: view.log.levelWeights

                RowLayout {
                    Layout.fillWidth: true
                    Layout.preferredHeight: Theme.touch + Theme.spacing
                    Layout.leftMargin: Theme.spacing / 2
                    Layout.rightMargin: Theme.spacing / 2
                    spacing: Theme.spacing
                    TouchButton {
                        objectName: "levelBack"
                        text: "‹ Back"
                        enabled: view.log.canBack
                        onClicked: view.log.back()
                    }
                    Repeater {
                        model: view.log.crumbs
                        TouchButton {
                            required property string modelData
                            required property int index
                            objectName: "crumb_" + index
                            Layout.maximumWidth: Theme.sidePanel * 0.8
                            text: (index > 0 ? "› " : "") + modelData
                            checked: index === view.log.depth - 1
                            onClicked: view.log.goToDepth(index + 1)
                        }
                    }
                    Text {
                        Layout.fillWidth: true
                        text: view.log.hasSelection ? view.log.selectedError : view.log.selectedText
                        color: view.log.selectedError !== "" ? Theme.statusError : Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontSmall
                        elide: Text.ElideRight
                    }
                }

                Rectangle {
                    Layout.fillWidth: true
                    Layout.preferredHeight: Theme.infoHeight
                    color: Theme.header
                    visible: view.log.hasSelection
                    Row {
                        anchors.fill: parent
                        Repeater {
                            model: view.log.levelColumns
                            Text {
                                required property var modelData
                                width: levelTable.width * levelTable.weights[modelData.key]
                                height: parent.height
                                leftPadding: Theme.spacing
                                text: modelData.title
                                color: Theme.text
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontSmall
                                font.bold: true
                                elide: Text.ElideRight
                                verticalAlignment: Text.AlignVCenter
                            }
                        }
                    }
                }

                ListView {
                    id: levelList
                    objectName: "levelList"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    clip: true
                    model: view.log.levels
                    boundsBehavior: Flickable.StopAtBounds
                    ScrollBar.vertical: ScrollBar {}
                    Connections {
                        target: view.log
                        function onLevelChanged() {
                            if (view.log.levelRow >= 0)
                                levelList.positionViewAtIndex(view.log.levelRow, ListView.Contain)
                        }
                    }

                    delegate: Rectangle {
                        id: levelRow
                        required property int index
                        required property string label
                        required property string statusText
                        required property string tone
                        required property int total
                        required property int done
                        required property int failed
                        required property real progress
                        required property real failedShare
                        required property string error
                        required property bool canShow
                        required property bool selected
                        width: levelList.width
                        height: Theme.touch + Theme.spacing
                        color: selected ? Theme.current
                             : index % 2 ? Theme.surfaceAlt : Theme.surface

                        Row {
                            anchors.fill: parent
                            Text {
                                width: levelTable.width * levelTable.weights.label
                                height: parent.height
                                leftPadding: Theme.spacing
                                rightPadding: Theme.spacing
                                text: levelRow.label
                                color: Theme.text
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontNormal
                                elide: Text.ElideRight
                                verticalAlignment: Text.AlignVCenter
                            }
                            Item {
                                width: levelTable.width * levelTable.weights.status
                                height: parent.height
                                StatusBadge {
                                    anchors.left: parent.left
                                    anchors.leftMargin: Theme.spacing
                                    anchors.verticalCenter: parent.verticalCenter
                                    width: Math.min(implicitWidth, parent.width - 2 * Theme.spacing)
                                    text: levelRow.statusText
                                    tone: levelRow.tone
                                }
                            }
                            Repeater {
                                model: [levelRow.total, levelRow.done, levelRow.failed]
                                Text {
                                    required property int modelData
                                    required property int index
                                    width: levelTable.width
                                           * levelTable.weights[["total", "done", "failed"][index]]
                                    height: levelRow.height
                                    leftPadding: Theme.spacing
                                    text: modelData
                                    color: index === 2 && modelData > 0 ? Theme.statusError : Theme.text
                                    font.family: Theme.fontFamily
                                    font.pixelSize: Theme.fontNormal
                                    verticalAlignment: Text.AlignVCenter
                                }
                            }
                            Item {
                                width: levelTable.width * levelTable.weights.progress
                                height: parent.height
                                ProgressLine {
                                    anchors.left: parent.left
                                    anchors.right: parent.right
                                    anchors.margins: Theme.spacing
                                    anchors.verticalCenter: parent.verticalCenter
                                    value: levelRow.progress
                                    failed: levelRow.failedShare
                                }
                            }
                            Text {
                                width: levelTable.width * levelTable.weights.error
                                height: parent.height
                                leftPadding: Theme.spacing
                                rightPadding: Theme.spacing
                                text: levelRow.error
                                color: Theme.statusError
                                font.family: Theme.fontFamily
                                font.pixelSize: Theme.fontSmall
                                elide: Text.ElideRight
                                verticalAlignment: Text.AlignVCenter
                            }
                            Item {
                                width: levelTable.width * levelTable.weights.show
                                height: parent.height
                                TouchButton {
                                    objectName: "show_" + levelRow.index
                                    anchors.centerIn: parent
                                    width: Math.max(Theme.touch, parent.width - Theme.spacing)
                                    visible: levelRow.canShow
                                    text: "Show"
                                    onClicked: view.log.showLevel(levelRow.index)
                                }
                            }
                        }
                        TapHandler {
                            onTapped: view.log.selectLevelRow(levelRow.index)
                            onDoubleTapped: {
                                view.log.selectLevelRow(levelRow.index)
                                view.detailsRequested()
                            }
                        }
                    }

                    Text {
                        anchors.centerIn: parent
                        width: parent.width - 4 * Theme.spacing
                        visible: levelList.count === 0
                        horizontalAlignment: Text.AlignHCenter
                        wrapMode: Text.WordWrap
                        text: view.log.levelEmptyText
                        color: Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontNormal
                    }
                }
            }
        }

        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            TouchButton {
                objectName: "transfersRefresh"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Refresh"
                onClicked: view.log.refresh()
            }
            TouchButton {
                objectName: "transfersDetails"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Details"
                enabled: view.log.hasSelection
                onClicked: view.detailsRequested()
            }
            TouchButton {
                objectName: "transfersResend"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Resend"
                enabled: view.log.canResend
                onClicked: view.log.resend()
            }
            TouchButton {
                objectName: "transfersAbort"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Abort"
                enabled: view.log.canAbort
                onClicked: view.log.abort()
            }
            TouchButton {
                objectName: "transfersDelete"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Delete"
                danger: enabled
                enabled: view.log.canDelete
                onClicked: view.deleteRequested()
            }
            TouchButton {
                objectName: "transfersClear"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Clear"
                enabled: view.log.canClear
                onClicked: view.clearRequested()
            }
            TouchButton {
                objectName: "transfersClose"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Close"
                onClicked: view.closeRequested()
            }
        }
    }
}
