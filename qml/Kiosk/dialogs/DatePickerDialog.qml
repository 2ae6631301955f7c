import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk

// A touch date picker: year, month and day tumblers. A value is chosen by turning its tumbler
// or by tapping it; the years stop at both ends (1980 does not follow the latest year).
KioskDialog {
    id: dialog
    objectName: "datePicker"
    signal picked(string yyyymmdd)
    readonly property int firstYear: 1980
    readonly property var months: ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    function pick(title, yyyymmdd) {
        dialog.title = title
        var d = new Date()
        if (yyyymmdd.length === 8)
            d = new Date(parseInt(yyyymmdd.substr(0, 4)), parseInt(yyyymmdd.substr(4, 2)) - 1,
                         parseInt(yyyymmdd.substr(6, 2)))
        year.currentIndex = d.getFullYear() - firstYear
        month.currentIndex = d.getMonth()
        day.currentIndex = d.getDate() - 1
        dialog.open()
    }
    function pad(n) { return n < 10 ? "0" + n : "" + n }

    RowLayout {
        Layout.fillWidth: true
        Layout.preferredHeight: Theme.touch * 5
        spacing: Theme.spacing
        Tumbler {
            id: year
            objectName: "dateYear"
            Layout.fillWidth: true
            Layout.fillHeight: true
            visibleItemCount: 5
            wrap: false
            model: new Date().getFullYear() - dialog.firstYear + 2
            delegate: tumblerText
            property var labelFor: function (i) { return "" + (dialog.firstYear + i) }
        }
        Tumbler {
            id: month
            objectName: "dateMonth"
            Layout.fillWidth: true
            Layout.fillHeight: true
            visibleItemCount: 5
            model: 12
            delegate: tumblerText
            property var labelFor: function (i) { return dialog.months[i] }
        }
        Tumbler {
            id: day
            objectName: "dateDay"
            Layout.fillWidth: true
            Layout.fillHeight: true
            visibleItemCount: 5
            model: new Date(dialog.firstYear + year.currentIndex, month.currentIndex + 1, 0).getDate()
            delegate: tumblerText
            property var labelFor: function (i) { return "" + (i + 1) }
        }
    }
    Component {
        id: tumblerText
        Text {
            id: value
            required property int index
            // dateYear_2024, dateMonth_Mar, dateDay_12: each value can be found and tapped.
            objectName: Tumbler.tumbler.objectName + "_" + text
            text: Tumbler.tumbler.labelFor(index)
            horizontalAlignment: Text.AlignHCenter
            verticalAlignment: Text.AlignVCenter
            opacity: 1.0 - Math.abs(Tumbler.displacement) / 3
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontLarge
            // A tap on a value turns the tumbler to it (a drag beyond the threshold still
            // turns the tumbler instead).
            TapHandler { onTapped: value.Tumbler.tumbler.currentIndex = value.index }
        }
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton {
            objectName: "datePickerCancel"
            text: "Cancel"
            implicitHeight: Theme.primary
            onClicked: dialog.close()
        },
        TouchButton {
            objectName: "datePickerOk"
            text: "OK"
            primary: true
            onClicked: {
                dialog.close()
                dialog.picked("" + (dialog.firstYear + year.currentIndex)
                              + dialog.pad(month.currentIndex + 1) + dialog.pad(day.currentIndex + 1))
            }
        }
    ]
}
