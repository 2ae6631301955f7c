import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// One database level: a bar (name toggles the table; navigate, refresh, delete) and a
// table with tappable, sortable column headers.
Rectangle {
    id: panel
    required property LevelModel level
    required property DatabaseModel database
    signal deleteRequested(string levelName)
    // The columns, read once (each read of the model's property converts the whole list).
    readonly property var columns: level.columns
    // Rows made ahead of scrolling (ListView's default cache, 320 px); the Database tab turns
    // it on once the first frame is up, which then makes only the rows it shows.
    property bool buffered: true

    color: Theme.surface
    radius: Theme.radius
    border.width: Theme.border
    border.color: Theme.borderColor
    clip: true
    implicitHeight: bar.height + (level.shown ? Theme.touch * 4 : 0)

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.border
        spacing: 0

        RowLayout {
            id: bar
            Layout.fillWidth: true
            Layout.preferredHeight: Theme.touch
            Layout.leftMargin: Theme.spacing / 2
            Layout.rightMargin: Theme.spacing / 2
            spacing: Theme.spacing

            Text {
                text: panel.level.title
                color: Theme.text
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontLarge
                font.bold: true
            }
            Text {
                Layout.fillWidth: true
                text: panel.level.rangeText
                      + (panel.level.selectedCount > 1 ? "  ·  " + panel.level.selectedCount + " selected" : "")
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontSmall
                elide: Text.ElideRight
            }
            TouchButton {
                compact: true; text: "‹"
                enabled: panel.level.total > 0
                onClicked: panel.level.moveCurrent(-1)
            }
            TouchButton {
                compact: true; text: "›"
                enabled: panel.level.total > 0
                onClicked: panel.level.moveCurrent(1)
            }
            TouchButton {
                compact: true; text: "«"
                enabled: panel.level.page > 1
                onClicked: panel.level.turnPage(-1)
            }
            Text {
                text: panel.level.page + "/" + panel.level.pageCount
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontSmall
            }
            TouchButton {
                compact: true; text: "»"
                enabled: panel.level.page < panel.level.pageCount
                onClicked: panel.level.turnPage(1)
            }
            TouchButton {
                compact: true; text: "⟳"
                onClicked: panel.level.refresh()
            }
            TouchButton {
                objectName: "delete_" + panel.level.level
                text: "Delete"
                danger: enabled
                enabled: panel.level.selectedCount > 0
                onClicked: panel.deleteRequested(panel.level.level)
            }
        }

        Flickable {
            id: hflick
            visible: panel.level.shown
            Layout.fillWidth: true
            Layout.fillHeight: true
            contentWidth: table.width
            contentHeight: height
            flickableDirection: Flickable.HorizontalFlick
            boundsBehavior: Flickable.StopAtBounds
            clip: true

            Column {
                id: table
                width: Math.max(hflick.width, panel.level.totalWeight * Theme.columnUnit)
                height: hflick.height
                property real unit: width / panel.level.totalWeight

                Row {
                    id: headerRow
                    Repeater {
                        model: panel.columns
                        HeaderCell {
                            required property var modelData
                            objectName: "header_" + panel.level.level + "_" + modelData.key
                            width: modelData.weight * table.unit
                            text: modelData.title
                            sorted: panel.level.sortKey === modelData.key
                            descending: panel.level.descending
                            onClicked: panel.level.sortBy(modelData.key)
                        }
                    }
                }

                ListView {
                    id: rows
                    width: table.width
                    height: table.height - headerRow.height
                    clip: true
                    cacheBuffer: panel.buffered ? 320 : 0
                    model: panel.level
                    boundsBehavior: Flickable.StopAtBounds
                    currentIndex: panel.level.currentRow
                    // The selected row stays in view: when it changes, when the page is read
                    // again (a reset scrolls to the top) and when the table changes size.
                    function keepCurrent() {
                        if (currentIndex >= 0 && currentIndex < count)
                            positionViewAtIndex(currentIndex, ListView.Contain)
                    }
                    onCurrentIndexChanged: keepCurrent()
                    onHeightChanged: Qt.callLater(keepCurrent)
                    onCountChanged: Qt.callLater(keepCurrent)
                    Connections {
                        target: panel.level
                        function onPageChanged() { Qt.callLater(rows.keepCurrent) }
                        function onModelReset() { Qt.callLater(rows.keepCurrent) }
                    }
                    delegate: Rectangle {
                        id: rowItem
                        objectName: "row_" + panel.level.level + "_" + index
                        required property int index
                        required property var cells
                        required property bool selected
                        required property bool current
                        width: rows.width
                        height: Theme.rowHeight
                        color: current ? Theme.current
                             : selected ? Theme.selected
                             : index % 2 ? Theme.surfaceAlt : Theme.surface
                        Row {
                            anchors.fill: parent
                            Repeater {
                                model: rowItem.cells
                                Text {
                                    required property var modelData
                                    required property int index
                                    width: panel.columns[index].weight * table.unit
                                    height: rowItem.height
                                    leftPadding: Theme.spacing
                                    rightPadding: Theme.spacing
                                    text: modelData
                                    color: Theme.text
                                    font.family: Theme.fontFamily
                                    font.pixelSize: Theme.fontNormal
                                    elide: Text.ElideRight
                                    verticalAlignment: Text.AlignVCenter
                                }
                            }
                        }
                        TapHandler {
                            id: rowTap
                            onTapped: {
                                if (rowTap.point.modifiers & Qt.ControlModifier)
                                    panel.level.select(rowItem.index, true)
                                else
                                    panel.database.select(panel.level.level, rowItem.index)
                            }
                            onDoubleTapped: panel.database.load()
                        }
                    }
                    Text {
                        anchors.centerIn: parent
                        visible: rows.count === 0
                        text: panel.level.busy ? "Loading…" : "No entries"
                        color: Theme.textDim
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontNormal
                    }
                }
            }
        }
    }
}
