"""The `typed` scenario's order (10 fields and a list of lines), declared once for each
validation library the apps use: msgspec Structs (aiokoa, Litestar) and pydantic models
(FastAPI, BlackSheep)."""

from __future__ import annotations

import msgspec
from pydantic import BaseModel


class Line(msgspec.Struct):
    sku: str
    qty: int
    price: float


class Order(msgspec.Struct):
    id: int
    customer: str
    email: str
    status: str
    currency: str
    total: float
    paid: bool
    priority: int
    notes: str
    lines: list[Line]


class LineModel(BaseModel):
    sku: str
    qty: int
    price: float


class OrderModel(BaseModel):
    id: int
    customer: str
    email: str
    status: str
    currency: str
    total: float
    paid: bool
    priority: int
    notes: str
    lines: list[LineModel]
