import QtQuick

Window {
    visible: true
    visibility: Window.FullScreen
    color: "#202020"
    ListView {
        anchors.fill: parent
        model: ["Doe^John", "Smith^Anna", "Yilmaz^Sofia", "Mazur^Piotr", "Johnson^Mary"]
        delegate: Text {
            required property string modelData
            text: modelData
            color: "white"
            font.pixelSize: 28
            height: 56
        }
    }
}
