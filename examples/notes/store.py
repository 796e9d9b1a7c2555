"""The notes service's data: users, their notes and the notes' attachments, in SQLite through
the standard library's `sqlite3`.

sqlite3 blocks, so every query runs in a worker thread (`asyncio.to_thread`) while the event
loop goes on serving other requests. Each call opens its own connection: a connection belongs
to the thread that made it, and opening a local file is cheap. Passwords are hashed with
scrypt and a random salt; only the salt and the hash are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import msgspec

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, salt BLOB NOT NULL, hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,
    text TEXT NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY, note_id INTEGER NOT NULL REFERENCES notes ON DELETE CASCADE,
    name TEXT NOT NULL, size INTEGER NOT NULL, data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

T = TypeVar("T")


class Attachment(msgspec.Struct):
    id: int
    name: str
    size: int


class Note(msgspec.Struct):
    id: int
    text: str
    created: float
    attachments: list[Attachment] = []


def hash_password(password: str, salt: bytes) -> bytes:
    # scrypt's cost (n=2**14, 16 MB of memory) makes each guess slow for whoever steals the table.
    return hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


class Store:
    """The database at `path`, made (with its folder) on first use by `setup()`."""

    def __init__(self, path: str) -> None:
        self.path = path

    def setup(self) -> str:
        """Create the tables if missing; return the app's secret key, made on the first run."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as db:
            db.executescript(SCHEMA)
            db.execute("INSERT OR IGNORE INTO settings VALUES ('secret', ?)", (secrets.token_urlsafe(32),))
            secret: str = db.execute("SELECT value FROM settings WHERE name = 'secret'").fetchone()[0]
        return secret

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own, in one transaction: committed if the block ends normally,
        rolled back on an exception; closed in both cases."""
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db
        finally:
            db.close()

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(db)` in a worker thread, in a transaction of its own."""

        def in_thread() -> T:
            with self._transaction() as db:
                return work(db)

        return await asyncio.to_thread(in_thread)

    # -- users --

    async def create_user(self, name: str, password: str) -> int | None:
        """The new user's id, or None if the name is taken."""
        salt = os.urandom(16)
        hashed = await asyncio.to_thread(hash_password, password, salt)

        def insert(db: sqlite3.Connection) -> int | None:
            try:
                added = db.execute("INSERT INTO users (name, salt, hash) VALUES (?, ?, ?)", (name, salt, hashed))
                return added.lastrowid
            except sqlite3.IntegrityError:
                return None

        return await self._run(insert)

    async def check_password(self, name: str, password: str) -> int | None:
        """The user's id if the password is theirs, else None."""
        query = "SELECT id, salt, hash FROM users WHERE name = ?"
        row = await self._run(lambda db: db.execute(query, (name,)).fetchone())
        # An unknown name costs a hash too, so the answer's timing does not tell which names exist.
        user_id, salt, expected = row if row else (None, b"\0" * 16, b"")
        hashed = await asyncio.to_thread(hash_password, password, salt)
        return user_id if hmac.compare_digest(hashed, expected) else None

    # -- notes --

    async def notes(self, user_id: int, only: int | None = None) -> list[Note]:
        """The user's notes, oldest first, with their attachments; `only`: that one note."""
        mine = "n.user_id = :user AND (:only IS NULL OR n.id = :only)"  # values bound, never formatted in
        where = {"user": user_id, "only": only}

        def select(db: sqlite3.Connection) -> list[Note]:
            found = db.execute(f"SELECT n.id, n.text, n.created FROM notes n WHERE {mine} ORDER BY n.id", where)
            notes = {row[0]: Note(*row) for row in found}
            attached = db.execute(
                "SELECT a.note_id, a.id, a.name, a.size FROM attachments a JOIN notes n ON n.id = a.note_id"
                f" WHERE {mine} ORDER BY a.id",
                where,
            )
            for note_id, *attachment in attached:
                notes[note_id].attachments.append(Attachment(*attachment))
            return list(notes.values())

        return await self._run(select)

    async def note(self, user_id: int, note_id: int) -> Note | None:
        """One of the user's notes (None for another user's: it is not theirs to see)."""
        found = await self.notes(user_id, only=note_id)
        return found[0] if found else None

    async def add_note(self, user_id: int, text: str) -> Note:
        created = time.time()
        note_id = await self._run(
            lambda db: (
                db.execute(
                    "INSERT INTO notes (user_id, text, created) VALUES (?, ?, ?)", (user_id, text, created)
                ).lastrowid
            )
        )
        assert note_id is not None
        return Note(note_id, text, created)

    async def delete_note(self, user_id: int, note_id: int) -> bool:
        deleted = await self._run(
            lambda db: db.execute("DELETE FROM notes WHERE id = ? AND user_id = ?", (note_id, user_id)).rowcount
        )
        return deleted > 0

    # -- attachments --

    async def attach(self, note_id: int, name: str, data: bytes) -> Attachment:
        attachment_id = await self._run(
            lambda db: (
                db.execute(
                    "INSERT INTO attachments (note_id, name, size, data) VALUES (?, ?, ?, ?)",
                    (note_id, name, len(data), data),
                ).lastrowid
            )
        )
        assert attachment_id is not None
        return Attachment(attachment_id, name, len(data))

    async def attachment(self, user_id: int, note_id: int, attachment_id: int) -> tuple[str, bytes] | None:
        """The file's name and bytes, if the note is the user's."""
        row = await self._run(
            lambda db: db.execute(
                "SELECT a.name, a.data FROM attachments a JOIN notes n ON n.id = a.note_id"
                " WHERE a.id = ? AND a.note_id = ? AND n.user_id = ?",
                (attachment_id, note_id, user_id),
            ).fetchone()
        )
        return None if row is None else (row[0], row[1])
