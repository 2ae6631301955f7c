"""Export to folders, DICOMDIR media and zips (``exporter``), with PS3.15 Annex E
de-identification (``deidentify``, its action table in ``annex_e``)."""
