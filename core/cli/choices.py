"""The choices the command line offers, as plain values: building the parser must not import
the modules that use them (SQLAlchemy, pydicom, pynetdicom). tests/core/cli checks that each
is the same as the constant it stands for."""

from __future__ import annotations

LEVELS = ("patient", "study", "series", "image")  # core.db.queries.LEVELS
EXPORT_FORMATS = ("files", "dicomdir", "zip")  # core.export.exporter.FORMATS
EXPORT_DATES = ("keep", "remove", "shift")  # core.export.deidentify.DATES_OPTIONS
PRIORITIES = ("medium", "high", "low")  # core.transfers.log.PRIORITIES
RETRIEVE_METHODS = ("move", "get")  # core.registry.RETRIEVE_METHODS
THUMBNAIL_SIZE = 128  # core.imaging.thumbnails.DEFAULT_SIZE
