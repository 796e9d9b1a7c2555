"""Every exception a user may catch is importable from `aiokoa` itself, or, for those of the
middleware shipped with it, from `aiokoa.middleware` (importing `aiokoa` loads the core only)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import aiokoa
import aiokoa.middleware

# Raised and handled inside aiokoa, never seen by an app: a malformed path parameter
# becomes a 400 response, a command-line mistake becomes one line and exit status 2, a
# request body that cannot be accepted reaches the app as an HttpError (400, 413, 415).
INTERNAL = {"aiokoa.router.matcher.BadParam", "aiokoa.cli.CliError", "aiokoa.http.body.BodyError"}


def exception_classes() -> dict[str, type[BaseException]]:
    """Each exception class defined in an aiokoa module, by where it is defined."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(aiokoa.__path__, "aiokoa."):
        if module_info.name.endswith("__main__"):
            continue  # running it is the command line
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("aiokoa")
                and value.__name__ == name
            ):
                found[f"{module_info.name}.{name}"] = value
    return found


PUBLIC = sorted(
    {
        cls.__name__: cls for cls in exception_classes().values() if f"{cls.__module__}.{cls.__name__}" not in INTERNAL
    }.items()
)


def test_the_known_exceptions_are_found() -> None:
    names = {name for name, _ in PUBLIC}
    assert {"CookieError", "HttpError", "MiddlewareError", "NoMatchFound", "ResponseSentError"} <= names
    assert set(exception_classes()) >= INTERNAL


@pytest.mark.parametrize(("name", "cls"), PUBLIC, ids=[name for name, _ in PUBLIC])
def test_public_exception_is_exported(name: str, cls: type[BaseException]) -> None:
    package = aiokoa.middleware if cls.__module__.startswith("aiokoa.middleware") else aiokoa
    assert getattr(package, name, None) is cls
    assert name in package.__all__
