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
                Repeater {
                    model: [view.database.patients, view.database.studies,
                            view.database.series, view.database.images]
                    LevelPanel {
                        required property var modelData
                        level: modelData
                        database: view.database
                        visible: level.shown
                        Layout.fillWidth: true
                        Layout.fillHeight: true
                        onDeleteRequested: (name) => view.deleteRequested(name)
                    }
                }
                Item {
                    Layout.fillHeight: true
                    visible: !view.database.patients.shown && !view.database.studies.shown
                             && !view.database.series.shown && !view.database.images.shown
                }
                Binding {
                    target: view.database
                    property: "maxExpanded"
                    // Parent and child always fit; more when each table keeps about four rows.
                    value: Math.max(2, Math.floor((levels.height - Theme.touch) / (Theme.touch * 5.5)))
                }
            }

            Item {
                Layout.preferredWidth: Math.min(Theme.sidePanel, view.width * 0.4)
                Layout.fillHeight: true
                FilterPanel {
                    anchors.fill: parent
                    visible: view.database.filters.shown
                    filters: view.database.filters
                    onPickDate: (from) => view.datePickRequested(from)
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

    FirstRunView {
        anchors.fill: parent
        visible: view.app.empty
        app: view.app
        onImportRequested: view.importRequested()
    }
}
