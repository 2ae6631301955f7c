import QtQuick
import Kiosk

// The Query/Retrieve tab as the window shows it (made by Main.qml after the first frame).
QueryRetrieveView { objectName: "queryRetrieveView"; app: window.app }
