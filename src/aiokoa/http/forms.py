"""Forms: `FormData` (a multi-valued mapping), `UploadFile`, and the parsing of
`application/x-www-form-urlencoded` and `multipart/form-data` bodies with python-multipart.

Multipart bodies are parsed as their chunks arrive: a file's bytes go to its
`SpooledTemporaryFile` (in memory up to `spool` bytes, on disk past it, through the
temporary file's descriptor), never into one buffer. Every limit stops the parse with a
`BodyError` (400 or 413) and closes the files it had opened, which removes their temporary
files.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator, Mapping
from tempfile import SpooledTemporaryFile
from typing import Any, Generic, TypeVar
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import MultipartParseError, QuerystringParseError
from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header

from .body import BodyError, charset_codec, too_large

V_co = TypeVar("V_co", covariant=True)

_UNSET: Any = object()
SPOOL = 1 << 20
"""Bytes of a file kept in memory before it is spooled to a temporary file on disk."""
MAX_FIELDS = 1000
MAX_FILES = 1000
MAX_FILE_SIZE = 200 << 20
MAX_FIELD_SIZE = 1 << 20
WRITE_BATCH = 1 << 20
"""Bytes of spooled file data gathered before they are written to disk in one thread hop."""
SLOW_WRITE = 0.005
"""Seconds one write of a chunk to a spooled file may take on the event loop: past it, the
disk is holding writes back, and the rest of the form's file data goes through a thread."""
RESERVE = 4 << 20
"""Bytes of disk reserved ahead of a temporary file's data, where the system can reserve
them: a write into reserved space skips the filesystem's bookkeeping for each new block
(on ext4, a fifth of the write's cost)."""
_fallocate = getattr(os, "posix_fallocate", None)


class FormData(Mapping[str, V_co], Generic[V_co]):
    """A form's fields in the order sent. `form["tag"]` is the first value sent under that
    name, `form.getall("tag")` every one; `multi_items()` lists every (name, value) pair."""

    __slots__ = ("_items", "_first")

    def __init__(self, items: Iterable[tuple[str, V_co]] = ()) -> None:
        self._items = list(items)
        first: dict[str, V_co] = {}
        for name, value in self._items:
            first.setdefault(name, value)
        self._first = first

    def __getitem__(self, name: str) -> V_co:
        return self._first[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getall(self, name: str) -> list[V_co]:
        return [value for key, value in self._items if key == name]

    def multi_items(self) -> list[tuple[str, V_co]]:
        return list(self._items)

    def to_json(self) -> dict[str, V_co | list[V_co]]:
        """`{"name": value}`, with a list for a name sent more than once (as Koa's body
        parsers give forms); `ctx.body = form` sends this."""
        result: dict[str, V_co | list[V_co]] = {}
        for name, value in self._items:
            seen = result.get(name, _UNSET)
            if seen is _UNSET:
                result[name] = value
            elif isinstance(seen, list):
                seen.append(value)
            else:
                result[name] = [seen, value]
        return result

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FormData):
            return self._items == other._items
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"FormData({self._items!r})"


class UploadFile:
    """A file sent in a multipart form. `file` is a `SpooledTemporaryFile`: in memory up to
    a threshold, a temporary file past it, removed when closed (aiokoa closes it once the
    response is sent)."""

    __slots__ = ("filename", "content_type", "headers", "size", "file")

    def __init__(
        self,
        filename: str,
        *,
        content_type: str = "application/octet-stream",
        headers: Mapping[str, str] | None = None,
        spool: int = SPOOL,
    ) -> None:
        self.filename = filename
        self.content_type = content_type
        self.headers = dict(headers or {})
        self.size = 0
        self.file: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(max_size=spool)  # noqa: SIM115 - closed when the response ends

    @property
    def in_memory(self) -> bool:
        """Whether the content is still in memory (reads and writes then need no thread)."""
        return not getattr(self.file, "_rolled", True)

    async def read(self, size: int = -1) -> bytes:
        if self.in_memory:
            return self.file.read(size)
        return await asyncio.to_thread(self.file.read, size)

    async def seek(self, offset: int, whence: int = 0) -> int:
        if self.in_memory:
            return self.file.seek(offset, whence)
        return await asyncio.to_thread(self.file.seek, offset, whence)

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.in_memory:
            self.file.write(data)
        else:
            await asyncio.to_thread(self.file.write, data)

    def close(self) -> Awaitable[None]:
        """Close the file (removing its temporary file) now; `await upload.close()` works too."""
        self.file.close()
        return _DONE

    @property
    def closed(self) -> bool:
        return self.file.closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        """The content in chunks from the current position, so `ctx.body = upload` streams it."""
        while chunk := await self.read(64 * 1024):
            yield chunk

    def __repr__(self) -> str:
        return f"UploadFile(filename={self.filename!r}, content_type={self.content_type!r}, size={self.size})"


class _Done:
    """An awaitable with nothing to wait for (awaiting it, or not, is the same)."""

    __slots__ = ()

    def __await__(self) -> Generator[None, None, None]:
        yield from ()


_DONE = _Done()


def _decode(data: bytes, codec: str, what: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        raise BodyError(400, f"{what} is not valid {codec}: {err.reason} at byte {err.start}") from None


def parse_urlencoded(data: bytes, *, charset: str = "", max_fields: int = MAX_FIELDS) -> FormData[str]:
    """`a=1&b=2&a=3`: repeated names kept in order, `+` a space, percent-escapes decoded in
    the charset (UTF-8 by default: invalid bytes are a 400)."""
    codec = charset_codec(charset)
    pairs: list[tuple[str, str]] = []
    name = bytearray()
    value = bytearray()

    def on_field_start() -> None:
        name.clear()
        value.clear()

    def on_field_name(chunk: bytes, start: int, end: int) -> None:
        name.extend(chunk[start:end])

    def on_field_data(chunk: bytes, start: int, end: int) -> None:
        value.extend(chunk[start:end])

    def on_field_end() -> None:
        if len(pairs) >= max_fields:
            raise BodyError(413, f"the form has more than {max_fields} fields")
        key = _decode(unquote_to_bytes(bytes(name).replace(b"+", b" ")), codec, "a form field name")
        pairs.append((key, _decode(unquote_to_bytes(bytes(value).replace(b"+", b" ")), codec, f"form field {key!r}")))

    parser = QuerystringParser(
        {
            "on_field_start": on_field_start,
            "on_field_name": on_field_name,
            "on_field_data": on_field_data,
            "on_field_end": on_field_end,
        }
    )
    try:
        parser.write(data)
        parser.finalize()
    except QuerystringParseError as err:  # pragma: no cover - only with strict parsing, which is off
        raise BodyError(400, f"invalid form body: {err}") from None
    return FormData(pairs)


def _header_text(value: bytes) -> str:
    """Header bytes as browsers send them (UTF-8), else Latin-1."""
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")


class _Multipart:
    """The callbacks of one multipart parse, and what they found."""

    def __init__(
        self,
        *,
        max_files: int,
        max_fields: int,
        max_file_size: int,
        max_field_size: int,
        spool: int,
        track: Callable[[UploadFile], object],
    ) -> None:
        self.max_files = max_files
        self.max_fields = max_fields
        self.max_file_size = max_file_size
        self.max_field_size = max_field_size
        self.spool = spool
        self.track = track
        self.items: list[tuple[str, str | UploadFile]] = []
        self.files: list[UploadFile] = []
        self.fields = 0
        self.writes: list[tuple[UploadFile, bytes]] = []
        self.pending = 0  # bytes in `writes`, counted up to `counted` of them
        self.counted = 0
        self.headers: dict[str, str] = {}
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.name = ""
        self.upload: UploadFile | None = None
        self.value = bytearray()
        self.ended = False
        self.inline = True  # file data written on the event loop (until one write is slow)
        self.disk: _Disk | None = None  # the file being written on disk

    def on_part_begin(self) -> None:
        self.headers = {}
        self.upload = None
        self.value.clear()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name.extend(data[start:end])

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value.extend(data[start:end])

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_name).decode("latin-1").lower()] = _header_text(bytes(self.header_value))
        self.header_name.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        disposition = self.headers.get("content-disposition")
        if disposition is None:
            raise BodyError(400, "a multipart part has no Content-Disposition header")
        _, options = parse_options_header(disposition.encode())
        name = options.get(b"name")
        if name is None:
            raise BodyError(400, "a multipart part has no name in its Content-Disposition")
        self.name = _header_text(name)
        filename = options.get(b"filename")
        if filename is None:
            self.fields += 1
            if self.fields > self.max_fields:
                raise BodyError(413, f"the form has more than {self.max_fields} fields")
            return
        if len(self.files) >= self.max_files:
            raise BodyError(413, f"the form has more than {self.max_files} files")
        content_type = self.headers.get("content-type", "application/octet-stream")
        upload = self.upload = UploadFile(
            _header_text(filename), content_type=content_type, headers=self.headers, spool=self.spool
        )
        self.files.append(upload)
        self.track(upload)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        upload = self.upload
        if upload is None:
            self.value.extend(data[start:end])
            if len(self.value) > self.max_field_size:
                raise too_large(self.max_field_size, f"form field {self.name!r}")
            return
        upload.size += end - start
        if upload.size > self.max_file_size:
            raise too_large(self.max_file_size, f"file {upload.filename!r}")
        self.writes.append((upload, data[start:end]))

    def on_part_end(self) -> None:
        upload = self.upload
        if upload is None:
            self.items.append((self.name, _decode(bytes(self.value), "utf-8", f"form field {self.name!r}")))
        else:
            self.items.append((self.name, upload))

    def on_end(self) -> None:
        self.ended = True

    def rewind(self) -> None:
        """Each file back to its start: a seek that writes nothing (the data on disk went
        through the descriptor), so no thread is needed."""
        for upload in self.files:
            upload.file.seek(0)

    async def flush(self, *, end: bool = False) -> None:
        """Write what the chunks brought to the files. Each chunk is written as it comes,
        on the event loop, while the writes stay quick: in memory, or into the page cache
        (a memory copy, no cheaper in a thread, whose hop costs more than the write and
        leaves the chunk to fall out of the CPU cache). Once a write took longer than
        `SLOW_WRITE` (the disk holds writes back), the rest is gathered up to `WRITE_BATCH`
        bytes (or the end) for one thread hop each: a slow disk stalls the loop once at most."""
        writes = self.writes
        if not writes and not end:
            return
        if self.inline:
            self.writes = []
            started = time.perf_counter()
            self.write(writes, end)
            if time.perf_counter() - started > SLOW_WRITE:
                self.inline = False
            return
        self.pending += sum(len(data) for _, data in writes[self.counted :])
        self.counted = len(writes)
        if self.pending >= WRITE_BATCH or end:
            self.writes, self.pending, self.counted = [], 0, 0
            await asyncio.to_thread(self.write, writes, end)

    def write(self, writes: list[tuple[UploadFile, bytes]], end: bool) -> None:
        """Write file data: in memory up to the spool, then (the file's data moved to its
        temporary file) to the temporary file through `_Disk`. Parts come one after the
        other, so data for another file means the one on disk is complete."""
        disk = self.disk
        for upload, data in writes:
            if disk is not None:
                if disk.upload is upload:
                    disk.write(data)
                    continue
                disk.finish()
                disk = self.disk = None
            upload.file.write(data)  # (the write past the spool moves the file to disk)
            if not upload.in_memory:
                disk = self.disk = _Disk(upload)
        if end and disk is not None:
            disk.finish()
            self.disk = None


class _Disk:
    """Writes a spooled file's data once it is on disk, with `os.write` on its descriptor
    rather than through the spooled file's and the buffered file's Python layers, into disk
    reserved `RESERVE` bytes ahead. Nothing else writes to the file meanwhile, and its
    buffer is empty (the rollover's seek emptied it), so the file object stays right."""

    __slots__ = ("upload", "fd", "offset", "reserved")

    def __init__(self, upload: UploadFile) -> None:
        self.upload = upload
        self.fd = upload.file.fileno()
        self.offset = os.lseek(self.fd, 0, os.SEEK_CUR)
        self.reserved = self.offset if _fallocate is not None else -1  # -1: nothing to reserve

    def write(self, data: bytes) -> None:
        end = self.offset + len(data)
        if end > self.reserved >= 0:
            self.reserve(end)
        written = os.write(self.fd, data)
        while written < len(data):  # a write cut short (a signal; a full disk raises next)
            written += os.write(self.fd, memoryview(data)[written:])
        self.offset = end

    def reserve(self, end: int) -> None:
        assert _fallocate is not None
        try:
            _fallocate(self.fd, self.reserved, end + RESERVE - self.reserved)
        except OSError:  # not possible here (no space for the reserve, ...): write without it
            self.reserved = -1
        else:
            self.reserved = end + RESERVE

    def finish(self) -> None:
        """The file is complete: give back the disk reserved past its end."""
        if self.reserved > self.offset:
            os.ftruncate(self.fd, self.offset)
        self.reserved = -1


async def parse_multipart(
    chunks: AsyncIterator[bytes],
    boundary: str,
    *,
    max_files: int = MAX_FILES,
    max_fields: int = MAX_FIELDS,
    max_file_size: int = MAX_FILE_SIZE,
    max_field_size: int = MAX_FIELD_SIZE,
    spool: int = SPOOL,
    track: Callable[[UploadFile], object] = lambda upload: None,
) -> FormData[str | UploadFile]:
    """A `multipart/form-data` body, parsed as its chunks arrive. `track(upload)` is called
    for each file as it opens, so that its owner can close it whatever happens next."""
    state = _Multipart(
        max_files=max_files,
        max_fields=max_fields,
        max_file_size=max_file_size,
        max_field_size=max_field_size,
        spool=spool,
        track=track,
    )
    callbacks = {name: getattr(state, name) for name in dir(_Multipart) if name.startswith("on_")}
    try:
        try:
            parser = MultipartParser(boundary.encode("latin-1"), callbacks)  # type: ignore[arg-type]
        except (ValueError, UnicodeEncodeError):
            raise BodyError(400, f"invalid multipart boundary {boundary!r}") from None
        async for chunk in chunks:
            parser.write(chunk)
            await state.flush()
        if not state.ended:
            raise BodyError(400, "the multipart body is truncated: its closing boundary never came")
        await state.flush(end=True)
        state.rewind()
    except BaseException as err:
        for upload in state.files:
            upload.file.close()
        if isinstance(err, MultipartParseError):
            raise BodyError(400, f"invalid multipart body: {err}") from None
        raise
    return FormData(state.items)
