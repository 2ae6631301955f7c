"""The DICOM node: association handling (server), DIMSE handlers, C-FIND matching."""
