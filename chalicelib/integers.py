"""The one parser of integers written as text: query strings, paths, forms, settings."""

from __future__ import annotations

import re

# ASCII digits only: int() and str.isdigit() also take "²", "①", "１２", " 1", "+1", "1_0".
ASCII_INT_RE = re.compile(r"[0-9]{1,20}")
INVALID_INTEGER = "A valid integer is required."
MAX_ID = 10**15  # beyond any id we hand out, within every database's BIGINT


def ascii_int(value: object, minimum: int = 0, maximum: int = 10**20) -> int:
    """ValueError(INVALID_INTEGER) unless ASCII digits within [minimum, maximum]."""
    number = int(value) if isinstance(value, str) and ASCII_INT_RE.fullmatch(value) else None
    if number is None or not minimum <= number <= maximum:
        raise ValueError(INVALID_INTEGER)
    return number


def positive_counts(raw: dict[str, str]) -> dict[int, int]:
    """A Redis hash of id -> count as ints; fields we never write (not ASCII integers,
    counts below 1) are skipped."""
    counts = {}
    for field, value in raw.items():
        try:
            counts[ascii_int(field)] = ascii_int(value, minimum=1)
        except ValueError:
            continue
    return counts
