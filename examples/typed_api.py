"""A typed API: validated parameters and bodies, response models, OpenAPI 3.1 and Swagger UI.

    python examples/typed_api.py
    curl -i http://127.0.0.1:3000/books?limit=1                      # [{"id": 1, ...}]
    curl -i http://127.0.0.1:3000/books/1                             # one book
    curl -i http://127.0.0.1:3000/books/x                             # 422: path id is not an int
    curl -i -H 'Accept: application/json' -H 'X-API-Key: k' \\
         -d '{"title": 3, "authors": [{}]}' http://127.0.0.1:3000/books  # 422 listing each field
    curl -i http://127.0.0.1:3000/openapi.json                        # the OpenAPI document
    open http://127.0.0.1:3000/docs                                   # Swagger UI
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

import msgspec

from aiokoa import Context, Koa, Router
from aiokoa.router.typed import Header, operation


class Author(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    born: int | None = None


class NewBook(msgspec.Struct):
    """A book to add."""

    title: Annotated[str, msgspec.Meta(min_length=1)]
    authors: list[Author]
    year: int
    tags: list[str] = []


class Book(NewBook):
    """A book in the catalogue."""

    id: int = 0


BOOKS: dict[int, Book] = {
    1: Book(title="The C Programming Language", authors=[Author("Kernighan"), Author("Ritchie")], year=1978, id=1),
    2: Book(title="Structure and Interpretation", authors=[Author("Abelson"), Author("Sussman")], year=1985, id=2),
}

router = Router()


@router.get("/books")
@operation(tags=["books"])
async def list_books(
    ctx: Context, limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20, order: Literal["id", "year"] = "id"
) -> list[Book]:
    """List books.

    At most `limit` of them, by id or by year."""
    return sorted(BOOKS.values(), key=lambda book: getattr(book, order))[:limit]


@router.get("/books/:id")
@operation(tags=["books"])
async def get_book(ctx: Context, id: int) -> Book:
    """One book."""
    book = BOOKS.get(id)
    if book is None:
        ctx.throw(404, f"no book {id}")
    return book


@router.post("/books")
@operation(status=201, tags=["books"], security=[{"apiKey": []}])
async def add_book(ctx: Context, book: NewBook, api_key: Annotated[str, Header("x-api-key")]) -> Book:
    """Add a book."""
    if api_key != os.environ.get("API_KEY", "k"):
        ctx.throw(403, "wrong API key")
    added = Book(**msgspec.structs.asdict(book), id=max(BOOKS) + 1)
    BOOKS[added.id] = added
    return added


router.docs(
    title="Books",
    version="1.0.0",
    security_schemes={"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
)
app = Koa()
app.use(router.routes())
app.use(router.allowed_methods())

if __name__ == "__main__":
    app.listen(int(os.environ.get("PORT", "3000")))
