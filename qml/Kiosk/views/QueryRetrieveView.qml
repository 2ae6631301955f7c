import QtQuick
import Kiosk

PlannedView {
    heading: "Query/Retrieve"
    description: "Here you will query other DICOM servers by patient name, ID, date and modality, "
                 + "browse their studies and series, and retrieve them into this database. "
                 + "Query/Retrieve is not part of this build yet."
}
