"""JSON bodies: compact like Koa's `JSON.stringify`, and fast when orjson is installed.

orjson (`pip install aiokoa[speed]`) encodes several times faster than the standard
library; both encoders give the same JSON for the same values (dates, UUIDs, Decimals,
sets, enums and dataclasses included), so installing it changes nothing but the speed.
"""

from __future__ import annotations

import dataclasses
import json
from enum import Enum
from typing import Any


def _default(value: Any) -> Any:
    """The types JSON lacks, as Python users expect them."""
    if callable(getattr(value, "to_json", None)):  # FormData, and the project's own types
        return value.to_json()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if type(value).__name__ in ("UUID", "Decimal"):
        return str(value)
    raise TypeError(f"ctx.body of type {type(value).__name__} is not JSON serialisable")


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default).encode


def dumps_stdlib(value: Any) -> bytes:
    """The standard library's encoding: used without orjson, and for what orjson refuses."""
    return _encode(value).encode()


try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    dumps = dumps_stdlib
else:

    def dumps(value: Any) -> bytes:
        try:
            return orjson.dumps(value, default=_default)
        except TypeError:  # dict keys that are not str, integers beyond 64 bits
            return dumps_stdlib(value)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_decode = json.JSONDecoder(parse_constant=_no_constant).decode


def loads_stdlib(data: bytes) -> Any:
    """The standard library's decoding, strict as orjson: UTF-8 only, no NaN or Infinity."""
    text = data.decode()
    try:
        return _decode(text)
    except ValueError as err:
        if isinstance(err, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(str(err), text, 0) from None


try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    loads = loads_stdlib
else:
    _DIGITS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))  # digits as "0", the rest " "
    _LONG_NUMBER = b"0" * 19

    def loads(data: bytes) -> Any:
        """orjson's decoding, but the standard library's where they differ: a run of 19 digits
        or more may be an integer beyond 64 bits, which orjson would make a float, and what
        orjson refuses is decoded again, so that errors read the same with or without it."""
        if _LONG_NUMBER in data.translate(_DIGITS):
            return loads_stdlib(data)
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            return loads_stdlib(data)
