"""Request bodies written byte for byte, for the tests of forms and body readers."""

from __future__ import annotations

BOUNDARY = "aiokoa-boundary"


def part(name: str, value: bytes | str, *, filename: str | None = None, content_type: str | None = None) -> bytes:
    """One part of a multipart/form-data body (without its boundary line)."""
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    data = value.encode() if isinstance(value, str) else value
    return head.encode() + b"\r\n" + data


def multipart(*parts: bytes, boundary: str = BOUNDARY) -> bytes:
    """A complete multipart/form-data body of `parts`."""
    delimiter = f"--{boundary}\r\n".encode()
    return b"".join(delimiter + item + b"\r\n" for item in parts) + f"--{boundary}--\r\n".encode()


def multipart_type(boundary: str = BOUNDARY) -> str:
    return f"multipart/form-data; boundary={boundary}"
