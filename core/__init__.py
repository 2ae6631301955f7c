"""dicom-kiosk core: storage, index, DICOM services. Never imports Qt."""
