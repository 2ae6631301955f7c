"""Fuzz targets, seed corpora and the atheris runner: see targets.py, test_fuzz.py, run.py."""
