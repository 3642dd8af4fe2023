"""Money is integer fen (分). The API shows yuan as decimal strings with two places."""

from __future__ import annotations

import re

_YUAN = re.compile(r"^(-)?([0-9]{1,12})(?:\.([0-9]{1,2}))?$")
MAX_FEN = 99_999_999_999  # 999999999.99: the wallet's ceiling and a sane price ceiling


def parse_yuan(value: object) -> int:
    """ "5999.00" (or 5999 / "5999.5") -> 599900 fen. Floats are refused: they are not exact."""
    if isinstance(value, (bool, float)):
        raise ValueError('must be a decimal string like "5999.00"')
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError('must be a decimal string like "5999.00"')
    match = _YUAN.fullmatch(value.strip())
    if not match:
        raise ValueError('must be a decimal string with at most two decimal places, like "5999.00"')
    sign, whole, cents = match.groups()
    fen = int(whole) * 100 + int((cents or "0").ljust(2, "0"))
    return -fen if sign else fen


def format_yuan(fen: int) -> str:
    """599900 -> "5999.00"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole}.{cents:02d}"
