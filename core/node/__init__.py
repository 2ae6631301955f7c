"""The DICOM node: lifecycle (``server``), what every association talks to (``reception``),
the lean storage acceptor (``storage``), pynetdicom's DIMSE handlers (``handlers``), C-FIND
matching (``matching``) and the Protocols between them (``context``)."""
