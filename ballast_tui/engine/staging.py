"""Files on their way into a board's catalog: staged in the workspace's import directory.

`catalog_import` reads a server-side `path` only from the workspace's import
directory. A client on the same box as the workspace (the app, the command
line, beside a running server or not) copies the file there in chunks
(`stage_copy`, telling its progress) instead of sending its bytes through
JSON; a client elsewhere streams it to the server's upload route, which
stages it the same way (`stage_stream`). Staged files are owner-only and
removed once imported (and at start, like every leftover).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ballast_tui.engine.errors import ToolError
from ballast_tui.storage.private import make_dirs

UPLOADED = "the uploaded file"
"""How the server's errors name a file it was sent (the client names it as its user gave it)."""

CHUNK = 1 << 20
Progress = Callable[[int, int], None]
"""Told (bytes done, bytes in all; 0 when unknown) as a file is staged."""


def _staged_name(suffix: str) -> str:
    return f"staged_{secrets.token_hex(8)}{suffix}"


def stage_copy(source: Path, imports: Path, progress: Progress | None = None) -> Path:
    """Copy `source` into the import directory `imports`, chunk by chunk; the staged file."""
    total = source.stat().st_size
    target = imports / _staged_name("".join(source.suffixes[-2:]).lower())
    make_dirs(imports)
    done = 0
    try:
        with (
            open(source, "rb") as reader,
            os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as writer,
        ):
            while chunk := reader.read(CHUNK):
                writer.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


async def stage_stream(chunks: AsyncIterator[bytes], imports: Path, suffix: str, limit: int) -> Path:
    """Write an uploaded stream into the import directory, refusing (ValueError) past `limit` bytes;
    the staged file."""
    target = imports / _staged_name(suffix)
    make_dirs(imports)
    size = 0
    try:
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as writer:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise ValueError(f"the file is larger than the limit of {limit} bytes")
                writer.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def renamed_in(error: ToolError, internal: str, shown: str) -> ToolError:
    """`error` with every mention of `internal` (a staged file's name) replaced by `shown` (the file as
    its user named it): an error never shows a staging path."""
    if internal:
        error.message = error.message.replace(internal, shown)
        error.args = (error.message,)
    return error
