"""The index: the one writer of patient/study/series/instance rows (``writer``), the sink that
received files enter through (``received``) and the importer of files and media (``importer``)."""
