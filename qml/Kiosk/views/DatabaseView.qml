import QtQuick
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// The Database tab (the manual's database window): levels on the left, thumbnails or the
// filter panel on the right, the actions along the bottom.
Item {
    id: view
    required property AppModel app
    readonly property DatabaseModel database: app.database
    property real keyboardHeight: 0

    signal sendRequested()
    signal exportRequested()
    signal importRequested()
    signal closeRequested()
    signal deleteRequested(string levelName)
    signal datePickRequested(bool from)

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.spacing
        spacing: Theme.spacing
        visible: !view.app.empty

        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            spacing: Theme.spacing

            ColumnLayout {
                id: levels
                Layout.fillWidth: true
                Layout.fillHeight: true
                spacing: Theme.spacing
                // The level names: tap to show or hide a level; each says what is selected in it.
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    Repeater {
                        model: [view.database.patients, view.database.studies,
                                view.database.series, view.database.images]
                        TouchButton {
                            required property var modelData
                            objectName: "levelToggle_" + modelData.level
                            Layout.fillWidth: true
                            Layout.preferredWidth: 1
                            text: (modelData.shown ? "▾ " : "▸ ") + modelData.title
                                  + (modelData.currentLabel !== "" ? ": " + modelData.currentLabel : "")
                            checked: modelData.shown
                            onClicked: view.database.toggleLevel(modelData.level)
                        }
                    }
                }
                // The tables keep fixed places: a level that opens takes a free place and
                // nothing already on the screen moves or shrinks under the finger. Wide
                // screens hold all four levels in two rows of two; narrower ones stack as
                // many as fit (each keeps a few rows), and a selection opens the next level
                // only where a place is free (its series show as thumbnails meanwhile).
                Item {
                    id: levelArea
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    readonly property var models: [view.database.patients, view.database.studies,
                                                   view.database.series, view.database.images]
                    readonly property bool wide: width >= 2 * Theme.studyTableWidth + Theme.spacing
                    readonly property int rowsOfPanels: wide ? 2 : Math.max(2, Math.floor(
                        (height + Theme.spacing) / (Theme.levelPanelMinHeight + Theme.spacing)))
                    readonly property real slotWidth: wide ? (width - Theme.spacing) / 2 : width
                    readonly property real slotHeight:
                        Math.floor((height - (rowsOfPanels - 1) * Theme.spacing) / rowsOfPanels)
                    function shownBefore(index) {
                        var n = 0
                        for (var i = 0; i < index; i++)
                            if (models[i].shown)
                                n++
                        return n
                    }
                    Repeater {
                        model: levelArea.models
                        LevelPanel {
                            required property var modelData
                            required property int index
                            objectName: "levelPanel_" + modelData.level
                            level: modelData
                            database: view.database
                            buffered: view.app.ready
                            visible: level.shown
                            width: levelArea.slotWidth
                            height: levelArea.slotHeight
                            x: levelArea.wide ? (index % 2) * (levelArea.slotWidth + Theme.spacing) : 0
                            y: (levelArea.wide ? Math.floor(index / 2) : levelArea.shownBefore(index))
                               * (levelArea.slotHeight + Theme.spacing)
                            onDeleteRequested: (name) => view.deleteRequested(name)
                        }
                    }
                }
                Binding {
                    target: view.database
                    property: "maxExpanded"
                    value: levelArea.wide ? 4 : levelArea.rowsOfPanels
                }
            }

            Item {
                Layout.preferredWidth: Math.min(Theme.sidePanel, view.width * 0.4)
                Layout.fillHeight: true
                // Made when first shown, or in the background once the first frame is up.
                Loader {
                    property bool made: false
                    anchors.fill: parent
                    visible: view.database.filters.shown
                    active: made || view.database.filters.shown || view.app.ready
                    asynchronous: !view.database.filters.shown
                    onLoaded: made = true
                    sourceComponent: FilterPanel {
                        filters: view.database.filters
                        keyboardHeight: view.keyboardHeight
                        keyboardOverlap: Math.max(0, view.keyboardHeight - actions.height
                                                     - 2 * Theme.spacing)
                        onPickDate: (from) => view.datePickRequested(from)
                    }
                }
                ThumbnailPanel {
                    anchors.fill: parent
                    visible: !view.database.filters.shown
                    database: view.database
                }
            }
        }

        RowLayout {
            id: actions
            Layout.fillWidth: true
            spacing: Theme.spacing
            TouchButton {
                objectName: "refreshButton"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Refresh"
                onClicked: view.database.refresh()
            }
            TouchButton {
                objectName: "loadButton"
                Layout.fillWidth: true; primary: true
                text: "Load"
                enabled: view.database.hasSelection
                onClicked: view.database.load()
            }
            TouchButton {
                objectName: "sendButton"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Send"
                enabled: view.database.hasSelection
                onClicked: view.sendRequested()
            }
            TouchButton {
                objectName: "exportButton"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Export"
                enabled: view.database.hasSelection
                onClicked: view.exportRequested()
            }
            TouchButton {
                objectName: "importButton"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Import"
                onClicked: view.importRequested()
            }
            TouchButton {
                objectName: "filtersButton"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: view.database.filters.shown ? "Hide Filters" : "Show Filters"
                checked: view.database.filters.shown
                onClicked: view.database.filters.shown = !view.database.filters.shown
            }
            TouchButton {
                objectName: "multiButton"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Multiple"
                checkable: true
                checked: view.database.multiSelect
                onToggled: view.database.multiSelect = checked
            }
            TouchButton {
                objectName: "closeButton"
                Layout.fillWidth: true; implicitHeight: Theme.primary
                text: "Close"
                onClicked: view.closeRequested()
            }
        }
    }

    // Made at once for an empty database, else in the background once the first frame is up.
    Loader {
        property bool made: false
        anchors.fill: parent
        visible: view.app.empty
        active: made || view.app.empty || view.app.ready
        asynchronous: !view.app.empty
        onLoaded: made = true
        sourceComponent: FirstRunView {
            app: view.app
            onImportRequested: view.importRequested()
        }
    }
}
