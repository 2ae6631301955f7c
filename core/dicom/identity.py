"""Who we say we are in association requests and in the files we write (PS3.7 D.3.3.2)."""

# pydicom's implementation class UID (pydicom.uid.PYDICOM_IMPLEMENTATION_UID), which the files
# we write carry; a literal here so that the lean SCUs need not import pydicom for it
# (tests/core/net/test_acse.py checks it is still pydicom's).
IMPLEMENTATION_CLASS_UID = "1.2.826.0.1.3680043.8.498.1"
IMPLEMENTATION_VERSION = "DICOM_KIOSK_01"
