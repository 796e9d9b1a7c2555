"""Routing: `Router` (@koa/router's model) with typed path parameters and typed handlers."""

from .layer import Layer
from .path import CONVERTERS, Converter, NoMatchFound, register_converter
from .router import ALL_METHODS, DEFAULT_METHODS, Match, Registration, Router, RouterMiddleware
from .typed import Body, Cookie, Form, Header, Path, Query, RegistrationError, operation

__all__ = [
    "ALL_METHODS",
    "CONVERTERS",
    "DEFAULT_METHODS",
    "Body",
    "Converter",
    "Cookie",
    "Form",
    "Header",
    "Layer",
    "Match",
    "NoMatchFound",
    "Path",
    "Query",
    "Registration",
    "RegistrationError",
    "Router",
    "RouterMiddleware",
    "operation",
    "register_converter",
]
