"""Log lines that a peer cannot forge: control characters in messages are escaped.

Peers choose AE titles, UIDs and error comments, and those end up in log messages. A calling
AE title holding a newline would otherwise start a line of its own that reads like ours.
``SafeFormatter`` escapes every control character of the message (tracebacks, which are
ours, keep their lines); ``printable`` does the same for one string.
"""

from __future__ import annotations

import logging
import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{ord(char):02x}")


def printable(text: str) -> str:
    """``text`` with its control characters written as escapes (``\\n``, ``\\x00``)."""
    return _CONTROL.sub(_escape, text)


class SafeFormatter(logging.Formatter):
    """A formatter whose messages carry no raw control characters."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = printable(record.message)
        return super().formatMessage(record)


def install(logger: logging.Logger | None = None) -> None:
    """Give every handler of ``logger`` (the root logger) a SafeFormatter with its format."""
    for handler in (logger or logging.getLogger()).handlers:
        current = handler.formatter
        handler.setFormatter(
            SafeFormatter(current._fmt if current else None, current.datefmt if current else None)
        )
