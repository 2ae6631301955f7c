"""The ``dicom-kiosk`` command line: ``main`` builds the parser; each other module adds the
subcommands of one feature."""
