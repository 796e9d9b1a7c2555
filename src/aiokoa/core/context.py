"""The context: one object per request holding the request, the response and `state`.

Koa builds three linked objects per request; here the state lives in one `__slots__`
object (the hot path allocates nothing else), and `ctx.request`/`ctx.response` are views
made only when asked for. Apps subclass `Context` (`app.context`) so that what a user adds
there appears on that app's contexts only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from ..http.statuses import MESSAGES
from .after import AfterResponse, queue
from .cookies import Cookies
from .errorpage import error_body
from .errors import Assert, create_error, status_of
from .request import Request, RequestMixin
from .response import Response, ResponseMixin, _header_value, header_name
from .response import _names as _known_names

if TYPE_CHECKING:
    from ..types import Receive, Scope, Send
    from .application import Koa
    from .body import RequestBody
    from .websocket import WebSocket


class Context(RequestMixin, ResponseMixin):
    __slots__ = (
        "app",
        "scope",
        "receive",
        "respond",
        "_send",
        "_state",
        "_request",
        "_response",
        # request, parsed lazily
        "_method",
        "_path",
        "_querystring",
        "_url",
        "_query",
        "_query_for",
        "_request_headers",
        "_ip",
        "_accept",
        "_cookies",
        # what was read of the body, and the form's files to close (None until a reader runs)
        "_request_body",
        # response
        "_status",
        "_explicit_status",
        "_explicit_null_body",
        "_message",
        "_body",
        "_headers",
        "_header_sent",
        "_ended",
        "_finished",
        # the work queued with `after()` (None until queued)
        "_after",
        # the last next() handed out, checked once when the chain returns
        "_pending",
        "_pending_by",
        # set only when used (never in __init__): keep_on_error's names, and in development
        # the innermost middleware that returned a value
        "_keep",
        "_returned_by",
        # what a router found (see below)
        "_params",
        "matched",
        "route_name",
        "route_path",
        "router",
    )

    app: Koa
    scope: Scope
    receive: Receive
    respond: bool
    _state: dict[str, Any] | None
    _request: Request | None
    _response: Response | None
    _pending: Awaitable[Any] | None
    _pending_by: Any
    _cookies: Cookies | None
    _request_body: RequestBody | None
    _keep: set[str]
    _returned_by: tuple[Any, Any, set[str]]
    _after: AfterResponse | None

    request_class: type[Request] = Request
    response_class: type[Response] = Response
    assert_ = Assert()
    """`ctx.assert_(value, status, message)`: Koa's `ctx.assert` (`assert` is a keyword)."""

    _params: dict[str, Any] | None

    websocket: WebSocket
    """A websocket connection's own (`app.ws.use()`); HTTP requests have none."""

    # What a router found, for the middleware around it, logs and metrics: the core's
    # contract with any router, which sets these as it matches (`aiokoa.Router` sets all
    # of them). None until a router did; `ctx.params` is `{}` until then.
    matched: list[Any] | None
    """Every router layer whose path matched (any method); set, even as `[]`, once a router ran."""
    route_name: str | None
    """The matched route's name, for logs and metrics."""
    route_path: str | None
    """The matched route's path pattern (`"/users/{id:int}"`), for logs and metrics."""
    router: Any
    """The router whose route matched."""

    def __init__(self, app: Koa, scope: Scope, receive: Receive, send: Send) -> None:
        self.app = app
        self.scope = scope
        self.receive = receive
        self._send = send
        self.respond = True
        """Set to False to answer through `ctx.send` yourself; aiokoa then sends nothing."""
        self._state = self._request = self._response = None
        self._method = self._path = self._querystring = self._url = None
        self._query = self._query_for = self._request_headers = None
        self._ip = self._accept = self._cookies = self._request_body = None
        self._status = 404
        self._explicit_status = self._explicit_null_body = False
        self._header_sent = self._ended = self._finished = False
        self._message = self._body = self._pending = self._pending_by = self._after = None
        # One assignment each: the API reference reads each field's type and docstring from
        # its own line, and a chained assignment would give all the first one's.
        self._params = None
        self.matched = None
        self.route_name = None
        self.route_path = None
        self.router = None
        self._headers = {}

    @property
    def state(self) -> dict[str, Any]:
        """The namespace for passing data between middleware (Koa's `ctx.state`)."""
        state = self._state
        if state is None:
            state = self._state = {}
        return state

    @state.setter
    def state(self, value: dict[str, Any]) -> None:
        self._state = value

    @property
    def params(self) -> dict[str, Any]:
        """The matched route's parameters (`{"id": 3}`): a router sets them (`aiokoa.Router`
        merges those of every layer that matched into them); `{}` before."""
        params = self._params
        if params is None:
            params = self._params = {}
        return params

    @params.setter
    def params(self, value: dict[str, Any]) -> None:
        self._params = value

    @property
    def cookies(self) -> Cookies:
        """`ctx.cookies.get(name)` / `.set(name, value, ...)`, signed with `app.keys`."""
        cookies = self._cookies
        if cookies is None:
            cookies = self._cookies = Cookies(self, self.app.keys)
        return cookies

    @cookies.setter
    def cookies(self, value: Cookies) -> None:
        self._cookies = value

    def to_json(self) -> dict[str, Any]:
        return {
            "request": self.request.to_json(),
            "response": self.response.to_json(),
            "app": self.app.to_json(),
            "original_url": self.original_url,
        }

    @property
    def request(self) -> Request:
        request = self._request
        if request is None:
            request = self._request = self.request_class(self)
        return request

    @property
    def response(self) -> Response:
        response = self._response
        if response is None:
            response = self._response = self.response_class(self)
        return response

    @property
    def lifespan_state(self) -> dict[str, Any]:
        """What the app's lifespan yielded (`Koa(lifespan=...)`): the resources that live as
        long as the app, such as a database pool. The server hands each request a shallow
        copy of the ASGI lifespan state, so a name set here stays with this request."""
        state = self.scope.get("state")
        if state is None:  # a server without lifespan state: the mapping the app keeps
            state = self.scope["state"] = dict(self.app.lifespan_state)
        return state

    def after(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Call `fn(*args, **kwargs)` once the response is over (`core/after.py`): an async
        function is awaited, a plain one runs in a thread; an error goes to the app's
        `error` event, never to the client."""
        queue(self, fn, args, kwargs)

    @property
    def send(self) -> Send:
        """The raw ASGI send; aiokoa notes what goes through it so it never answers twice."""
        return self._send_tracked

    def throw(self, *args: Any, **props: Any) -> NoReturn:
        """`ctx.throw(404)`, `ctx.throw(400, "name required")`, `ctx.throw(401, "login", headers=...)`."""
        raise create_error(*args, **props)

    def onerror(self, err: BaseException) -> None:
        """Turn an error into the error response, after telling the app's `error` listeners.

        Every header is dropped except those the error carries (`err.headers`) and those the
        app keeps (`app.keep_headers_on_error`). Once headers went out nothing can be
        rewritten: the error is flagged `header_sent` and the response is aborted.
        """
        header_sent = self._header_sent or self._ended
        if header_sent:
            _mark(err, "header_sent", True)
        self.app.emit("error", err, self)
        if header_sent:
            return
        status = status_of(err)
        headers = self._headers
        keep = [*self.app.keep_headers_on_error, *getattr(self, "_keep", ())]
        kept = {name: headers[name] for name in keep if name in headers}
        headers.clear()
        headers.update(kept)
        extra = getattr(err, "headers", None)
        if isinstance(extra, Mapping):
            for field, value in extra.items():
                name = str(field).lower()
                if name not in ("content-type", "content-length"):
                    headers[name] = _header_value(name, value)
        _mark(err, "status", status)
        message = (getattr(err, "message", None) or str(err)) if getattr(err, "expose", False) else None
        content_type, body = error_body(self, err, status, message or MESSAGES[status])
        self._status = status
        self._message = None
        self._explicit_status = True
        self._body = body
        headers["content-type"] = content_type
        headers["content-length"] = len(body.encode())

    def keep_on_error(self, *fields: str) -> None:
        """Keep these response headers if an error replaces the response, as
        `Koa(keep_headers_on_error=...)` does for every response (CORS, request ids)."""
        keep: set[str] | None = getattr(self, "_keep", None)
        if keep is None:
            keep = self._keep = set()
        try:  # names seen before: their lower case is already known, no call per name
            keep.update(map(_known_names.__getitem__, fields))
        except KeyError:
            keep.update(map(header_name, fields))

    def __repr__(self) -> str:
        return f"<Context {self.method} {self.url} -> {self._status}>"


def _mark(err: BaseException, name: str, value: object) -> None:
    with contextlib.suppress(AttributeError):  # an exception type with __slots__
        setattr(err, name, value)
