"""The index: the one intake thread every image enters through (``intake``), the writer of
patient/study/series/instance rows it calls (``writer``), the C-GET sink (``received``) and the
importer of files and media (``importer``)."""
