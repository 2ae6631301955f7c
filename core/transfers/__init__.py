"""Transfers: the log of everything sent and received (``log``), the durable send queue
(``queue``), the worker that sends (``sender``) and retrieves into the database (``retrieve``)."""
