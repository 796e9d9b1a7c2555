"""Status codes and their messages, as Koa's `statuses` package knows them."""

from http import HTTPStatus

MESSAGES: dict[int, str] = {s.value: s.phrase for s in HTTPStatus}
# Where Python's phrases are older than the ones Koa (and RFC 9110) use.
MESSAGES.update(
    {
        413: "Payload Too Large",
        414: "URI Too Long",
        416: "Range Not Satisfiable",
        418: "I'm a Teapot",
    }
)

EMPTY = frozenset({204, 205, 304})
"""Statuses whose responses never carry a body."""

REDIRECT = frozenset({300, 301, 302, 303, 305, 307, 308})
