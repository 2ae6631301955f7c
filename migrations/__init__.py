"""Alembic migration environment for the dicom-kiosk schema."""
