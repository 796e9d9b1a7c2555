"""Routing: `Router` (@koa/router's model) with typed path parameters."""

from .layer import Layer
from .path import CONVERTERS, Converter, NoMatchFound, register_converter
from .router import ALL_METHODS, DEFAULT_METHODS, Match, Registration, Router, RouterMiddleware

__all__ = [
    "ALL_METHODS",
    "CONVERTERS",
    "DEFAULT_METHODS",
    "Converter",
    "Layer",
    "Match",
    "NoMatchFound",
    "Registration",
    "Router",
    "RouterMiddleware",
    "register_converter",
]
