"""JSON bodies: orjson and the standard library give the same JSON for the same values."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import uuid
from typing import Any

import pytest

from aiokoa.http import jsonbody


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


VALUES: list[Any] = [
    {"a": 1, "b": [1, 2.5, None, True, False]},
    [],
    'héllo ✓ "quoted" \n',
    42,
    -(2**70),  # beyond 64 bits: orjson refuses, the standard library answers
    {1: "int key", "2": "str key"},
    datetime.datetime(2026, 11, 21, 12, 30, 5, 123456, tzinfo=datetime.UTC),
    datetime.date(2026, 11, 21),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    decimal.Decimal("1.10"),
    Color.RED,
    Point(1, 2),
    {"nested": {"set": {3}, "tuple": (1, 2)}},
]


@pytest.mark.parametrize("value", VALUES, ids=lambda value: type(value).__name__)
def test_both_encoders_give_the_same_bytes(value: Any) -> None:
    assert jsonbody.dumps(value) == jsonbody.dumps_stdlib(value)


def test_output_is_compact_like_json_stringify() -> None:
    assert jsonbody.dumps({"a": [1, 2], "b": "x"}) == b'{"a":[1,2],"b":"x"}'


def test_values_come_out_as_users_expect() -> None:
    encoded = json.loads(jsonbody.dumps([VALUES[6], VALUES[8], VALUES[9], VALUES[10], VALUES[11]]))
    assert encoded == [
        "2026-11-21T12:30:05.123456+00:00",
        "12345678-1234-5678-1234-567812345678",
        "1.10",
        "red",
        {"x": 1, "y": 2},
    ]


@pytest.mark.parametrize("dumps", [jsonbody.dumps, jsonbody.dumps_stdlib])
def test_unserialisable_body_is_a_clear_type_error(dumps: Any) -> None:
    with pytest.raises(TypeError, match=r"ctx\.body of type object is not JSON serialisable"):
        dumps({"x": object()})


def test_orjson_is_used_when_installed() -> None:
    assert jsonbody.dumps is not jsonbody.dumps_stdlib  # the dev extra installs orjson
