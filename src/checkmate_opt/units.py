"""Parsing byte sizes such as ``"12GB"`` or ``"500MiB"``."""

from __future__ import annotations

import math
import re

__all__ = ["format_bytes", "parse_bytes"]

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
_PATTERN = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*$")


def parse_bytes(value: str | int | float) -> int:
    """Parse a byte count: an integer, or a number with a unit (``12GB``, ``500MiB``, ``1e9``).

    Decimal units (KB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) powers
    of 1024. Fractional bytes are rounded down.

    Raises
    ------
    ValueError
        If the value is negative, not finite, or not understood.

    Examples
    --------
    >>> parse_bytes("12GB"), parse_bytes("500MiB"), parse_bytes(1024)
    (12000000000, 524288000, 1024)
    """
    if isinstance(value, bool):
        raise ValueError(f"budget must be a byte count, got {value!r}")
    if isinstance(value, int | float):
        number, unit = float(value), ""
    else:
        match = _PATTERN.match(str(value))
        if not match:
            raise ValueError(
                f"cannot parse {value!r} as a byte count; write e.g. 16GB, 500MiB or 1000000"
            )
        number, unit = float(match.group(1)), match.group(2).upper()
        if unit not in _UNITS:
            raise ValueError(
                f"unknown unit {match.group(2)!r} in {value!r}; use B, KB, MB, GB, TB, KiB, MiB, "
                "GiB or TiB"
            )
    if not math.isfinite(number):
        raise ValueError(f"budget must be finite, got {value!r}")
    if number < 0:
        raise ValueError(f"budget must be >= 0 bytes, got {value!r}")
    return int(number * _UNITS[unit])


def format_bytes(value: float) -> str:
    """Human-readable decimal size, e.g. ``12.3 GB``."""
    v = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(v) < 1000 or unit == "TB":
            return f"{v:.0f} {unit}" if unit == "B" else f"{v:.2f} {unit}"
        v /= 1000
    return f"{v:.2f} TB"
