"""`aiokoa` on the command line: serve an app, and show how it is put together.

    aiokoa run app:app --port 3000 --reload      # uvicorn; --server granian if installed
    aiokoa run app:app --workers 4 --graceful-timeout 20   # production: one worker per core
    aiokoa inspect app:app                       # the middleware stack and the routes
    aiokoa routes app:app                        # the routes only

`module:attribute` names the app as uvicorn does (`attribute` defaults to `app`); the
module is imported from `--app-dir` (default: the current directory).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

from .core.application import Koa
from .core.compose import flatten
from .core.server import PROXY_HEADERS, SHUTDOWN_TIMEOUT, bind, serve, url
from .tracing import Label, Tracer

SERVERS = ("uvicorn", "granian")


class CliError(Exception):
    """A mistake on the command line, reported as one line and exit status 2."""


def load(target: str, app_dir: str = ".") -> Any:
    """The object `module:attribute` names, its module imported from `app_dir`."""
    module_name, _, attribute = target.partition(":")
    attribute = attribute or "app"
    if not module_name:
        raise CliError(f"expected module:app, got {target!r}")
    path = os.path.abspath(app_dir)
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            raise CliError(f"no module named {module_name!r} in {path} (use --app-dir to look elsewhere)") from None
        raise
    app = module
    for name in attribute.split("."):
        try:
            app = getattr(app, name)
        except AttributeError:
            raise CliError(f"module {module_name!r} has no attribute {attribute!r}") from None
    return app


def _koa(target: str, app_dir: str) -> Koa:
    app = load(target, app_dir)
    if not isinstance(app, Koa):
        raise CliError(f"{target} is {type(app).__name__}, not an aiokoa app (Koa)")
    return app


# -- inspect and routes ----------------------------------------------------------------


def middleware_table(app: Koa) -> list[tuple[str, str]]:
    """`(name, file:line)` for each middleware, in the order they run."""
    rows = []
    for fn in flatten(app.middleware):
        if isinstance(fn, Tracer):
            rows.append(("trace()", "(traces the whole chain)"))
            continue
        router = _router_of(fn)
        label = Label(fn)
        name = f"{type(router).__name__}.routes()" if router is not None else _name(fn, label.name)
        rows.append((name, label.where))
    return rows


def _name(fn: Any, qualname: str) -> str:
    """aiokoa's own middleware factories by the call that made them: `Router.allowed_methods()`."""
    if ".<locals>." in qualname and getattr(fn, "__module__", "").startswith("aiokoa."):
        return qualname.split(".<locals>.", 1)[0] + "()"
    return qualname


def routes_table(app: Koa) -> list[tuple[str, str, str, str]]:
    """`(methods, path, name, handler file:line)` for every route of every router the app
    uses, nested routers included; `use()` layers show as methods `use`."""
    rows = []
    for fn in flatten(app.middleware):
        router = _router_of(fn)
        if router is None:
            continue
        for layer in _layers_of(router):
            verbs = list(getattr(layer, "methods", ()) or ())
            methods = "ALL" if len(verbs) > 9 else ",".join(verbs) or "use"
            path = getattr(layer, "path", "")
            path = path.pattern if hasattr(path, "pattern") else str(path)
            name = getattr(layer, "name", None) or ""
            stack = list(getattr(layer, "stack", ()) or ())
            handler = Label(stack[-1]) if stack else None
            where = f"{_name(stack[-1], handler.name)} ({handler.where})" if handler is not None else ""
            rows.append((methods, path or "(any)", name, where))
    return rows


def _router_of(fn: Any) -> Any:
    """The router behind `router.routes()`, found by what it exposes, not by its class."""
    router = getattr(fn, "router", None)
    return router if router is not None and hasattr(router, "stack") else None


def _layers_of(router: Any) -> list[Any]:
    layers = router.stack
    if callable(layers):
        layers = layers()
    return list(layers or ())


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)
    return "\n".join(indent + line.rstrip() for line in lines)


def format_inspect(app: Koa, *, middleware: bool = True, routes: bool = True) -> str:
    out = []
    if middleware:
        stack = middleware_table(app)
        numbered = [(f"{k})", name, where) for k, (name, where) in enumerate(stack, 1)]
        out.append(f"middleware ({len(stack)}), in the order they run:")
        out.append(_table(numbered) if numbered else "  (none)")
    if routes:
        table = routes_table(app)
        if middleware:
            out.append("")
        out.append(f"routes ({len(table)}):")
        if table:
            out.append(_table([("METHODS", "PATH", "NAME", "HANDLER"), *table]))
        elif not any(_router_of(fn) for fn in flatten(app.middleware)):
            out.append("  (no router: add one with app.use(router.routes()))")
        else:
            out.append("  (none)")
    return "\n".join(out)


# -- run -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    app = load(args.app, args.app_dir)  # fail here, clearly, before any server starts
    if args.env:
        os.environ["AIOKOA_ENV"] = args.env
        if isinstance(app, Koa):
            app.env = args.env
    if args.workers < 1:
        raise CliError(f"--workers must be 1 or more, got {args.workers}")
    if args.server == "uvicorn" and args.workers == 1 and not args.reload:
        serve(app, host=args.host, port=args.port, shutdown_timeout=args.shutdown_timeout, log_level=args.log_level)
        return
    if args.server == "granian" and importlib.util.find_spec("granian") is None:
        raise CliError("granian is not installed: pip install granian (or use --server uvicorn)")
    # The server binds the address itself in its supervising process: try it first, so a
    # port in use or an unknown host is one clear line rather than the server's traceback.
    bind(args.host, args.port).close()
    processes = f"{args.workers} worker{'s' * (args.workers > 1)}{', reloading' * args.reload}"
    print(f"aiokoa starting {args.server} on {url(args.host, args.port)} ({processes})", flush=True)
    if args.server == "granian":
        _run_granian(args)
        return
    import uvicorn

    uvicorn.run(
        args.app,
        host=args.host,
        port=args.port,
        workers=args.workers if args.workers > 1 else None,
        reload=args.reload,
        app_dir=args.app_dir,
        log_level=args.log_level,
        proxy_headers=PROXY_HEADERS,
        timeout_graceful_shutdown=args.shutdown_timeout,  # any seconds, though typed int
    )


def _run_granian(args: argparse.Namespace) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    paths = [os.path.abspath(args.app_dir), os.environ.get("PYTHONPATH")]
    os.environ["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    Granian(
        args.app,
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.workers,
        reload=args.reload,
        # a worker still busy after this is killed, so its shutdown listeners do not run
        workers_kill_timeout=args.shutdown_timeout,
    ).serve()


# -- the command line ------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="aiokoa", description="Serve and inspect aiokoa apps.")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_app(name: str, help: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help, description=help)
        command.add_argument("app", metavar="module:app", help="the app, e.g. server:app (attribute defaults to app)")
        command.add_argument("--app-dir", default=".", help="import the module from this directory (default: .)")
        return command

    serve = with_app("run", "serve the app")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="port to bind (default: 3000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    serve.add_argument("--reload", action="store_true", help="restart when the code changes (development)")
    serve.add_argument("--server", choices=SERVERS, default="uvicorn", help="the ASGI server (default: uvicorn)")
    serve.add_argument("--env", help="set app.env (and AIOKOA_ENV), e.g. production")
    serve.add_argument(
        "--graceful-timeout",
        "--shutdown-timeout",
        dest="shutdown_timeout",
        type=float,
        default=SHUTDOWN_TIMEOUT,
        metavar="SECONDS",
        help="on SIGTERM or Ctrl+C, how long the requests in flight get to finish (default: %(default)g)",
    )
    serve.add_argument("--log-level", default="warning", help="the server's log level (default: warning)")
    with_app("inspect", "print the middleware stack and the routes")
    with_app("routes", "print the routes table")
    return main


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "run":
            run(args)
        elif args.command == "inspect":
            print(format_inspect(_koa(args.app, args.app_dir)))
        else:
            print(format_inspect(_koa(args.app, args.app_dir), middleware=False))
    except CliError as err:
        print(f"aiokoa {args.command}: {err}", file=sys.stderr)
        return 2
    return 0
