"""Reading a write's JSON body by hand, after its auth check, with a size cap.

A route that declares its body as a FastAPI `Body()` has it read and parsed before any of its
dependencies run: an anonymous request with a malformed body was answered 422 (what is wrong with
it) instead of 401 (who are you). The write routes read the body here, as a dependency listed after
the auth check, so an unauthenticated write is refused before its body is even read.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request

MAX_WRITE_BYTES = 256 * 1024  # an ack or a silence is a few hundred bytes; 1,000 matchers still fit


class BodyRefused(Exception):
    """The body could not be read as JSON: an HTTP status and one line saying why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it is larger than `limit` bytes (read no further)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


async def read_json(request: Request, limit: int, *, what: str = "body") -> Any:
    """The body parsed as JSON (None when empty); BodyRefused 413 or 400 otherwise."""
    body = await read_capped(request, limit)
    if body is None:
        size = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"
        raise BodyRefused(413, f"body larger than {size}")
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyRefused(400, f"body is not JSON: {str(exc)[:80]}") from None
    except RecursionError:  # json's decoder recurses per level: 100,000 '[' exhaust the stack
        raise BodyRefused(400, f"body is nested too deeply to be {what}") from None


async def write_body(request: Request) -> Any:
    """A FastAPI dependency: the write's JSON body; 413 or 400 with one line in `detail`."""
    try:
        return await read_json(request, MAX_WRITE_BYTES)
    except BodyRefused as exc:
        raise HTTPException(exc.status, exc.message) from None
