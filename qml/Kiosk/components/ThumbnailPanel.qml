import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Previews: a selected study shows one thumbnail per series; a selected series its images.
// Thumbnails load asynchronously from image://thumbs.
Rectangle {
    id: panel
    required property DatabaseModel database

    color: Theme.surface
    radius: Theme.radius
    border.width: Theme.border
    border.color: Theme.borderColor

    readonly property LevelModel shownModel:
        database.previewMode === "images" ? database.images : database.series

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.spacing
        spacing: Theme.spacing

        Text {
            Layout.fillWidth: true
            text: panel.database.previewTitle
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontNormal
            font.bold: true
            elide: Text.ElideRight
        }

        GridView {
            id: grid
            objectName: "thumbnailGrid"
            Layout.fillWidth: true
            Layout.fillHeight: true
            visible: panel.database.previewMode !== "none"
            clip: true
            boundsBehavior: Flickable.StopAtBounds
            model: panel.database.previewMode === "none" ? null : panel.shownModel
            readonly property int columns: Math.max(1, Math.floor(width / (Theme.thumbSize + Theme.spacing)))
            cellWidth: Math.floor(width / columns)
            cellHeight: cellWidth + Theme.fontSmall * 2
            delegate: Item {
                id: tile
                objectName: "thumbnail_" + index
                required property int index
                required property string thumb
                required property string label
                required property bool current
                width: grid.cellWidth
                height: grid.cellHeight
                Rectangle {
                    anchors.fill: parent
                    anchors.margins: Theme.spacing / 2
                    radius: Theme.radius
                    color: tile.current ? Theme.current : Theme.surfaceAlt
                    Image {
                        id: picture
                        anchors.top: parent.top
                        anchors.horizontalCenter: parent.horizontalCenter
                        anchors.topMargin: Theme.spacing / 2
                        width: parent.width - Theme.spacing
                        height: width
                        asynchronous: true
                        fillMode: Image.PreserveAspectFit
                        sourceSize.width: 192
                        sourceSize.height: 192
                        source: tile.thumb ? "image://thumbs/" + tile.thumb : ""
                        Rectangle {
                            anchors.fill: parent
                            visible: picture.status !== Image.Ready
                            color: Theme.header
                        }
                    }
                    Text {
                        anchors.bottom: parent.bottom
                        anchors.bottomMargin: Theme.spacing / 4
                        width: parent.width
                        horizontalAlignment: Text.AlignHCenter
                        text: tile.label
                        color: Theme.text
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontSmall
                        elide: Text.ElideRight
                    }
                }
                TapHandler {
                    onTapped: panel.shownModel.select(tile.index, false)
                    onDoubleTapped: panel.database.load()
                }
            }
        }
        Item {
            Layout.fillWidth: true
            Layout.fillHeight: true
            visible: panel.database.previewMode === "none"
            Text {
                anchors.centerIn: parent
                width: parent.width
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.WordWrap
                text: "Thumbnails of the selected study's series, or of a series' images, appear here."
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontNormal
            }
        }
    }
}
