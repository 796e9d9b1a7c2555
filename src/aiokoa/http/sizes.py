"""Sizes as ints or strings: `"1mb"`, `"56kb"`, `"512b"`, `"1.5 MB"` (binary units, as
the `bytes` package Koa's middleware use reads them)."""

from __future__ import annotations

import re

UNITS = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}
_size = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb)?\s*", re.I).fullmatch


def parse_size(value: int | str) -> int:
    """`parse_size("1mb") == 1048576`; an int is taken as a number of bytes."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"a size cannot be negative: {value}")
        return value
    match = _size(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not a size: {value!r} (an int, or a string such as '1mb' or '56kb')")
    number, unit = match.groups()
    return int(float(number) * UNITS[(unit or "b").lower()])


def format_size(size: int) -> str:
    """`format_size(1048576) == "1mb"`: the largest unit that divides it exactly."""
    for unit in ("tb", "gb", "mb", "kb"):
        if size and size % UNITS[unit] == 0:
            return f"{size // UNITS[unit]}{unit}"
    return f"{size}b"
