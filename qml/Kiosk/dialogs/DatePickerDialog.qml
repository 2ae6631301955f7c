import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Kiosk

// A touch date picker: year, month and day tumblers.
KioskDialog {
    id: dialog
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
            Layout.fillWidth: true
            Layout.fillHeight: true
            visibleItemCount: 5
            model: new Date().getFullYear() - dialog.firstYear + 2
            delegate: tumblerText
            property var labelFor: function (i) { return "" + (dialog.firstYear + i) }
        }
        Tumbler {
            id: month
            Layout.fillWidth: true
            Layout.fillHeight: true
            visibleItemCount: 5
            model: 12
            delegate: tumblerText
            property var labelFor: function (i) { return dialog.months[i] }
        }
        Tumbler {
            id: day
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
            required property int index
            text: Tumbler.tumbler.labelFor(index)
            horizontalAlignment: Text.AlignHCenter
            verticalAlignment: Text.AlignVCenter
            opacity: 1.0 - Math.abs(Tumbler.displacement) / 3
            color: Theme.text
            font.family: Theme.fontFamily
            font.pixelSize: Theme.fontLarge
        }
    }

    buttons: [
        Item { Layout.fillWidth: true },
        TouchButton { text: "Cancel"; implicitHeight: Theme.primary; onClicked: dialog.close() },
        TouchButton {
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
