import QtQuick
import Kiosk

Text {
    color: Theme.textDim
    font.family: Theme.fontFamily
    font.pixelSize: Theme.fontSmall
    font.bold: true
    font.capitalization: Font.AllUppercase
}
