"""DICOM data without a database or a network: header reading (``header``), Part 10 framing
of received data sets (``part10``), transcoding for sending (``transcode``), demo data (``synth``).
"""
