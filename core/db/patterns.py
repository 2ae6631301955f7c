"""Case folding and wildcard patterns shared by the browse queries and the C-FIND SCP."""

from __future__ import annotations

import unicodedata

LIKE_ESCAPE = "\\"


def fold(text: str) -> str:
    """Case-insensitive, accent-preserving key: NFC-normalised Unicode case folding.

    Done in Python so SQLite (whose LOWER() is ASCII-only) and PostgreSQL agree.
    """
    return unicodedata.normalize("NFC", text).casefold()


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def wildcard_to_like(pattern: str) -> str:
    """Translate ``*``/``?`` wildcards to a LIKE pattern; ``%``, ``_`` and ``\\`` are literal.

    Use with ``ESCAPE '\\'``.
    """
    out: list[str] = []
    for char in pattern:
        if char == "*":
            out.append("%")
        elif char == "?":
            out.append("_")
        elif char in ("%", "_", LIKE_ESCAPE):
            out.append(LIKE_ESCAPE + char)
        else:
            out.append(char)
    return "".join(out)
