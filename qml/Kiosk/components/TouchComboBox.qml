import QtQuick
import QtQuick.Controls
import Kiosk

// An editable combo box with 48 px rows; the list holds database suggestions.
// `value` is what the view model holds; `edited` reports what the user typed or picked (a
// change of suggestions never changes the text by itself).
ComboBox {
    id: control
    property string value: ""
    signal edited(string text)

    editable: true
    onActivated: (index) => control.edited(control.textAt(index))
    // The combo box picks its first item itself when the list changes: put the value back.
    onCountChanged: Qt.callLater(control.showValue)
    onCurrentIndexChanged: Qt.callLater(control.showValue)
    onValueChanged: control.showValue()
    Component.onCompleted: control.showValue()
    function showValue() {
        if (!control.editable)
            return
        if (control.currentIndex !== -1 && control.textAt(control.currentIndex) !== control.value)
            control.currentIndex = -1
        if (control.editText !== control.value)
            control.editText = control.value
    }
    Connections {
        target: control.editable ? control.contentItem : null
        ignoreUnknownSignals: true
        function onTextEdited() { control.edited(control.editText) }
    }
    implicitHeight: Theme.touch
    topInset: 0
    bottomInset: 0
    font.family: Theme.fontFamily
    font.pixelSize: Theme.fontNormal
    background: Rectangle {
        radius: Theme.radius
        color: Theme.surfaceAlt
        border.width: control.activeFocus ? 2 * Theme.border : Theme.border
        border.color: control.activeFocus ? Theme.accent : Theme.borderColor
    }
    delegate: ItemDelegate {
        required property string modelData
        required property int index
        width: ListView.view ? ListView.view.width : implicitWidth
        height: Theme.touch
        text: modelData
        font: control.font
        highlighted: control.highlightedIndex === index
    }
}
