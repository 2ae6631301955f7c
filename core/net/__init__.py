"""Lean DICOM upper-layer and DIMSE code on plain blocking sockets (see ``core.net.dimse``)."""
