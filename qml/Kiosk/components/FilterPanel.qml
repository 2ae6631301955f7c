import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Show Filters: patient name and ID (editable, with suggestions; * is a wildcard), the
// study date range with quick ranges, the modalities present; Apply and Clear.
Rectangle {
    id: panel
    objectName: "filterPanel"
    required property FilterModel filters
    // How far the on-screen keyboard reaches over the panel: Clear and Apply stay above it.
    property real keyboardOverlap: 0
    property real keyboardHeight: 0
    signal pickDate(bool from)

    // Apply what the fields show (Apply, or Enter in a field).
    // The fields give up the focus: the on-screen keyboard goes down, the results show.
    function applyShown() {
        panel.filters.applyText(nameBox.text, idBox.text)
        panel.forceActiveFocus()
    }

    // Shown again: from the top (where the name field is), not where it was last scrolled to.
    onVisibleChanged: if (visible) fieldsView.contentY = 0

    color: Theme.surface
    radius: Theme.radius
    border.width: Theme.border
    border.color: Theme.borderColor

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.spacing
        anchors.bottomMargin: Theme.spacing + panel.keyboardOverlap
        spacing: Theme.spacing

        // The fields scroll when they are taller than the panel (at 1024x600, or with many
        // modalities): the indicator then shows, and stays, so the chips below are not a secret.
        Flickable {
            id: fieldsView
            objectName: "filterFields"
            readonly property bool overflows: contentHeight > height + 0.5
            Layout.fillWidth: true
            Layout.fillHeight: true
            contentWidth: width
            contentHeight: fields.implicitHeight
            clip: true
            interactive: overflows
            boundsBehavior: Flickable.StopAtBounds
            ScrollIndicator.vertical: ScrollIndicator {
                objectName: "filterFieldsScroll"
                visible: fieldsView.overflows
                active: fieldsView.overflows
            }

            ColumnLayout {
                id: fields
                width: fieldsView.width - (fieldsView.overflows ? Theme.spacing : 0)
                spacing: Theme.spacing

                SectionLabel { text: "Patient name" }
                FilterField {
                    id: nameBox
                    objectName: "filterName"
                    Layout.fillWidth: true
                    keyboardHeight: panel.keyboardHeight
                    listLimit: buttons
                    choices: panel.filters.nameChoices
                    value: panel.filters.patientName
                    onEdited: (text) => {
                        panel.filters.setPatientName(text)
                        panel.filters.refreshChoices()
                    }
                    onAccepted: panel.applyShown()
                }
                SectionLabel { text: "Patient ID" }
                FilterField {
                    id: idBox
                    objectName: "filterId"
                    Layout.fillWidth: true
                    keyboardHeight: panel.keyboardHeight
                    listLimit: buttons
                    choices: panel.filters.idChoices
                    value: panel.filters.patientId
                    onEdited: (text) => {
                        panel.filters.setPatientId(text)
                        panel.filters.refreshChoices()
                    }
                    onAccepted: panel.applyShown()
                }
                SectionLabel { text: "Study date" }
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    TouchButton {
                        objectName: "filterDateFrom"
                        Layout.fillWidth: true
                        text: "From " + panel.filters.dateFromText
                        onClicked: panel.pickDate(true)
                    }
                    TouchButton {
                        objectName: "filterDateTo"
                        Layout.fillWidth: true
                        text: "To " + panel.filters.dateToText
                        onClicked: panel.pickDate(false)
                    }
                }
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    TouchButton { objectName: "filterDays_1"; Layout.fillWidth: true; text: "Today"; onClicked: panel.filters.lastDays(1) }
                    TouchButton { objectName: "filterDays_7"; Layout.fillWidth: true; text: "7 days"; onClicked: panel.filters.lastDays(7) }
                    TouchButton { objectName: "filterDays_30"; Layout.fillWidth: true; text: "30 days"; onClicked: panel.filters.lastDays(30) }
                    TouchButton { objectName: "filterAnyDate"; Layout.fillWidth: true; text: "Any"; onClicked: panel.filters.anyDate() }
                }
                SectionLabel { text: "Modality" }
                // Every modality of the database, wrapped into as many rows as they need.
                Flow {
                    objectName: "filterModalities"
                    Layout.fillWidth: true
                    Layout.preferredHeight: implicitHeight
                    spacing: Theme.spacing
                    Repeater {
                        model: panel.filters.modalities
                        Chip {
                            required property string modelData
                            objectName: "filterModality_" + modelData
                            text: modelData
                            checked: panel.filters.modality === modelData
                            onClicked: panel.filters.toggleModality(modelData)
                        }
                    }
                }
                Text {
                    visible: panel.filters.modalities.length === 0
                    text: "No modalities in the database yet"
                    color: Theme.textDim
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontSmall
                }
            }
        }

        RowLayout {
            id: buttons
            Layout.fillWidth: true
            spacing: Theme.spacing
            TouchButton {
                objectName: "filterClear"
                Layout.fillWidth: true
                primary: false
                implicitHeight: Theme.primary
                text: "Clear"
                onClicked: {
                    panel.filters.clear()
                    panel.forceActiveFocus()
                }
            }
            TouchButton {
                objectName: "filterApply"
                Layout.fillWidth: true
                primary: true
                text: "Apply"
                onClicked: panel.applyShown()
            }
        }
    }
}
