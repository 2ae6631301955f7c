import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk
import Kiosk.Backend

// Query/Retrieve (the manual's "Retrieving images from an external DICOM server"): the query
// fields and server, the studies found, a tapped study's series, Retrieve with progress and
// Cancel; the Options sub-tab holds maximum matches, the wildcard and auto-load.
Item {
    id: view
    required property AppModel app
    readonly property QueryRetrieveModel qr: app.queryRetrieve
    property bool showOptions: false

    ColumnLayout {
        anchors.fill: parent
        anchors.margins: Theme.spacing
        spacing: Theme.spacing

        RowLayout {
            Layout.fillWidth: true
            spacing: Theme.spacing
            TouchButton {
                objectName: "qrQueryTab"
                text: "Query"
                checked: !view.showOptions
                onClicked: view.showOptions = false
            }
            TouchButton {
                objectName: "qrOptionsTab"
                text: "Options"
                checked: view.showOptions
                onClicked: view.showOptions = true
            }
            ColumnLayout {
                Layout.fillWidth: true
                Layout.leftMargin: Theme.spacing
                spacing: 0
                Text {
                    objectName: "qrStatus"
                    Layout.fillWidth: true
                    text: view.qr.status
                    color: view.qr.truncated ? Theme.accent : Theme.text
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontSmall
                    font.bold: view.qr.truncated
                    elide: Text.ElideRight
                }
                Text {
                    Layout.fillWidth: true
                    text: view.qr.nodeText
                    color: Theme.textDim
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontSmall
                    elide: Text.ElideRight
                }
            }
        }

        // -- Query -----------------------------------------------------------------------
        RowLayout {
            Layout.fillWidth: true
            visible: !view.showOptions
            spacing: Theme.spacing
            TouchComboBox {
                id: server
                objectName: "qrServer"
                Layout.fillWidth: true
                Layout.preferredWidth: 3
                editable: false
                model: view.qr.nodeNames
                currentIndex: view.qr.nodeIndex
                displayText: count === 0 ? "No servers" : "Server: " + currentText
                onActivated: (index) => view.qr.setNode(textAt(index))
            }
            TouchTextField {
                objectName: "qrPatientName"
                Layout.fillWidth: true
                Layout.preferredWidth: 3
                placeholderText: "Patient name"
                text: view.qr.patientName
                onTextEdited: view.qr.setPatientName(text)
                onAccepted: view.qr.query()
            }
            TouchTextField {
                objectName: "qrPatientId"
                Layout.fillWidth: true
                Layout.preferredWidth: 2
                placeholderText: "Patient ID"
                text: view.qr.patientId
                onTextEdited: view.qr.setPatientId(text)
                onAccepted: view.qr.query()
            }
            TouchTextField {
                objectName: "qrAccession"
                Layout.fillWidth: true
                Layout.preferredWidth: 2
                placeholderText: "Accession number"
                text: view.qr.accession
                onTextEdited: view.qr.setAccession(text)
                onAccepted: view.qr.query()
            }
        }
        RowLayout {
            Layout.fillWidth: true
            visible: !view.showOptions
            spacing: Theme.spacing
            TouchButton {
                objectName: "qrDateFrom"
                Layout.fillWidth: true
                Layout.preferredWidth: 2
                text: "From: " + view.qr.dateFromText
                onClicked: {
                    datePicker.from = true
                    datePicker.pick("Study date from", view.qr.dateFrom)
                }
            }
            TouchButton {
                objectName: "qrDateTo"
                Layout.fillWidth: true
                Layout.preferredWidth: 2
                text: "To: " + view.qr.dateToText
                onClicked: {
                    datePicker.from = false
                    datePicker.pick("Study date to", view.qr.dateTo)
                }
            }
            TouchButton { text: "Today"; onClicked: view.qr.lastDays(1) }
            TouchButton { text: "Any date"; onClicked: view.qr.anyDate() }
            TouchComboBox {
                objectName: "qrModality"
                Layout.fillWidth: true
                Layout.preferredWidth: 2
                editable: false
                model: view.qr.modalities
                currentIndex: Math.max(0, view.qr.modalities.indexOf(view.qr.modality))
                displayText: "Modality: " + currentText
                onActivated: (index) => view.qr.setModality(textAt(index))
            }
            TouchButton {
                objectName: "qrQuery"
                Layout.fillWidth: true
                Layout.preferredWidth: 2
                primary: true
                implicitHeight: Theme.touch
                text: view.qr.querying ? "Cancel query" : "Query"
                danger: view.qr.querying
                enabled: server.count > 0
                onClicked: view.qr.querying ? view.qr.cancelQuery() : view.qr.query()
            }
        }

        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            visible: !view.showOptions
            spacing: Theme.spacing
            ResultTable {
                objectName: "qrStudies"
                Layout.fillWidth: true
                Layout.fillHeight: true
                Layout.preferredWidth: 2
                list: view.qr.studies
                emptyText: view.qr.studiesEmptyText
                onRowTapped: (index) => view.qr.selectStudy(index)
            }
            ColumnLayout {
                Layout.fillWidth: true
                Layout.fillHeight: true
                Layout.preferredWidth: 1
                spacing: Theme.spacing / 2
                Text {
                    Layout.fillWidth: true
                    text: view.qr.seriesTitle
                    color: Theme.textDim
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontSmall
                    elide: Text.ElideRight
                }
                ResultTable {
                    objectName: "qrSeries"
                    Layout.fillWidth: true
                    Layout.fillHeight: true
                    list: view.qr.series
                    emptyText: view.qr.studies.count > 0 ? "Tap a study to list its series" : ""
                    onRowTapped: (index) => view.qr.selectSeries(index)
                }
            }
        }

        RowLayout {
            Layout.fillWidth: true
            visible: !view.showOptions
            spacing: Theme.spacing
            TouchButton {
                objectName: "qrMultiple"
                implicitHeight: Theme.primary
                text: "Multiple"
                checkable: true
                checked: view.qr.multiSelect
                onToggled: view.qr.multiSelect = checked
            }
            Text {
                visible: !view.qr.retrieving
                Layout.fillWidth: true
                text: view.qr.selectionText + (view.qr.progressText !== "" ? "  ·  " + view.qr.progressText : "")
                color: Theme.textDim
                font.family: Theme.fontFamily
                font.pixelSize: Theme.fontSmall
                elide: Text.ElideRight
            }
            ColumnLayout {
                visible: view.qr.retrieving
                Layout.fillWidth: true
                spacing: Theme.spacing / 2
                Text {
                    objectName: "qrProgressText"
                    Layout.fillWidth: true
                    text: view.qr.progressText
                    color: Theme.text
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontSmall
                    elide: Text.ElideRight
                }
                ProgressBar {
                    Layout.fillWidth: true
                    value: view.qr.progress
                }
            }
            TouchButton {
                objectName: "qrCancelRetrieve"
                visible: view.qr.retrieving
                implicitHeight: Theme.primary
                text: "Cancel"
                danger: true
                onClicked: view.qr.cancelRetrieve()
            }
            TouchButton {
                objectName: "qrRetrieve"
                Layout.preferredWidth: Theme.touch * 3.4
                primary: true
                text: "Retrieve"
                enabled: view.qr.canRetrieve && !view.qr.retrieving
                onClicked: view.qr.retrieve()
            }
        }

        // -- Options -----------------------------------------------------------------------
        Flickable {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.leftMargin: Theme.spacing
            Layout.topMargin: Theme.spacing
            visible: view.showOptions
            contentHeight: options.implicitHeight
            clip: true
            boundsBehavior: Flickable.StopAtBounds

            ColumnLayout {
                id: options
                width: Math.min(parent.width, Theme.dialogWidth * 1.4)
                spacing: Theme.spacing * 1.5

                SectionLabel { text: "Maximum matches" }
                Flow {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    Repeater {
                        model: view.qr.maxResultChoices
                        Chip {
                            required property var modelData
                            objectName: "qrMax_" + modelData.value
                            text: modelData.label
                            checked: view.qr.maxResults === modelData.value
                            onClicked: view.qr.setMaxResults(modelData.value)
                        }
                    }
                }
                Text {
                    Layout.fillWidth: true
                    text: "A query stops after this many studies and says that more exist."
                    wrapMode: Text.WordWrap
                    color: Theme.textDim
                    font.family: Theme.fontFamily
                    font.pixelSize: Theme.fontSmall
                }
                SectionLabel { text: "Wildcard" }
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    Text {
                        Layout.fillWidth: true
                        text: "Append * to the patient name and ID (\"smi\" finds Smith)"
                        wrapMode: Text.WordWrap
                        color: Theme.text
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontNormal
                    }
                    Switch {
                        objectName: "qrWildcard"
                        implicitHeight: Theme.touch
                        implicitWidth: Theme.touch * 1.6
                        checked: view.qr.appendWildcard
                        onToggled: view.qr.setAppendWildcard(checked)
                    }
                }
                SectionLabel { text: "After a retrieve" }
                RowLayout {
                    Layout.fillWidth: true
                    spacing: Theme.spacing
                    Text {
                        Layout.fillWidth: true
                        text: "Open the retrieved images in the viewer when the retrieve finishes"
                        wrapMode: Text.WordWrap
                        color: Theme.text
                        font.family: Theme.fontFamily
                        font.pixelSize: Theme.fontNormal
                    }
                    Switch {
                        objectName: "qrAutoLoad"
                        implicitHeight: Theme.touch
                        implicitWidth: Theme.touch * 1.6
                        checked: view.qr.autoLoad
                        onToggled: view.qr.setAutoLoad(checked)
                    }
                }
            }
        }
    }

    DatePickerDialog {
        id: datePicker
        objectName: "qrDatePicker"
        property bool from: true
        onPicked: (value) => from ? view.qr.setDateFrom(value) : view.qr.setDateTo(value)
    }
}
