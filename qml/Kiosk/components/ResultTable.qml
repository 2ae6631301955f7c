import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Query results: tappable, sortable column headers and rows that select on tap; a spinner
// while the list is being fetched.
Rectangle {
    id: panel
    required property ResultListModel list
    property string emptyText: "No entries"
    signal rowTapped(int index)

    color: Theme.surface
    radius: Theme.radius
    border.width: Theme.border
    border.color: Theme.borderColor
    clip: true

    Flickable {
        id: hflick
        anchors.fill: parent
        anchors.margins: Theme.border
        contentWidth: table.width
        contentHeight: height
        flickableDirection: Flickable.HorizontalFlick
        boundsBehavior: Flickable.StopAtBounds
        clip: true

        Column {
            id: table
            width: Math.max(hflick.width, panel.list.totalWeight * Theme.columnUnit)
            height: hflick.height
            property real unit: width / panel.list.totalWeight

            Row {
                id: headerRow
                Repeater {
                    model: panel.list.columns
                    HeaderCell {
                        required property var modelData
                        objectName: panel.objectName + "_header_" + modelData.key
                        width: modelData.weight * table.unit
                        text: modelData.title
                        sorted: panel.list.sortKey === modelData.key
                        descending: panel.list.descending
                        onClicked: panel.list.sortBy(modelData.key)
                    }
                }
            }

            ListView {
                id: rows
                width: table.width
                height: table.height - headerRow.height
                clip: true
                model: panel.list
                boundsBehavior: Flickable.StopAtBounds
                currentIndex: panel.list.currentRow
                onCurrentIndexChanged: if (currentIndex >= 0) positionViewAtIndex(currentIndex, ListView.Contain)
                delegate: Rectangle {
                    id: rowItem
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
                                width: panel.list.columns[index].weight * table.unit
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
                    TapHandler { onTapped: panel.rowTapped(rowItem.index) }
                }
                Text {
                    anchors.centerIn: parent
                    width: parent.width - 4 * Theme.spacing
                    horizontalAlignment: Text.AlignHCenter
                    wrapMode: Text.WordWrap
                    visible: rows.count === 0 && !panel.list.busy
                    text: panel.emptyText
                    color: Theme.textDim
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontNormal
                }
            }
        }
    }
    BusyIndicator {
        objectName: "resultSpinner"
        anchors.centerIn: parent
        width: Theme.touch * 1.5
        height: width
        running: panel.list.busy
        visible: running
    }
}
