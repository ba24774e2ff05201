"""``GET /api/v1/dashboards/{id}/blocks/{block_id}/data.{csv|parquet|json}``: a block's whole output.

The route streams: the `export_block` tool runs on a worker thread and writes
into a sink that hands chunks of at most `CHUNK_BYTES` to a bounded queue, which the
handler drains into a `web.StreamResponse`. The thread waits while the queue
is full, so a slow client slows the export down instead of piling it up in
memory, and nothing is ever truncated.

Errors found before the first byte (role, unknown block, no output, a bad
override) answer in the contract's JSON shape. A failure after the headers
went out cannot change the status any more: the stream ends with an
`X-Ballast-Error` trailer and the connection closes before the message is
complete, so the client sees a broken transfer that says why, never a short
file that looks complete.

`filter_overrides` is a JSON object in the query string, e.g.
``?filter_overrides={"region":"eu"}``; the block is then computed with those
values for this call alone and nothing is stored.

`ExportStream` is the streaming part alone, for any tool that writes into
`Context.export_sink` (a published page's CSV downloads use it too).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, cast

from aiohttp import web

from ballast_server.jsonio import parse_json
from ballast_server.keys import REGISTRY
from ballast_server.routes import API, tool_context
from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import InvalidRequest, NotFound, ToolError
from ballast_tui.engine.exports import FORMATS, MEDIA_TYPES, ROWS_HEADER
from ballast_tui.tools.registry import Registry

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger("ballast.server")

CHUNK_BYTES = 1 << 20
"""The most one queued chunk holds."""
QUEUE_CHUNKS = 8
"""Chunks waiting for the client at most, per export."""
EXPORT_WORKERS = 8
"""Exports streaming at once; more wait for a free worker."""
_POLL_S = 0.5

EXPORT_POOL = web.AppKey("export_pool", ThreadPoolExecutor)
EXPORT_STOPPING = web.AppKey("export_stopping", threading.Event)

_QUERY_PARAMS = frozenset({"filter_overrides"})
ERROR_TRAILER = "X-Ballast-Error"
"""The trailer an export that fails after its headers ends with (see `_break_off`)."""


@dataclass(frozen=True)
class Started:
    """Every check passed: the block about to be written, and how many rows it holds."""

    name: str
    rows: int


class _Done:
    """The export finished; every byte was queued."""


class _Aborted(Exception):
    """The client went away or the server stops: the worker stops writing."""


_Item = Started | _Done | bytes | BaseException


class _Bridge:
    """From the export's thread to the handler: a bounded queue on the handler's loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stopping: threading.Event) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[_Item] = asyncio.Queue(QUEUE_CHUNKS)
        self.aborted = threading.Event()
        self.stopping = stopping

    def put(self, item: _Item) -> None:
        """Queue `item`, waiting while the queue is full; `_Aborted` once the reader is gone."""
        if self.aborted.is_set() or self.stopping.is_set():
            raise _Aborted
        future: Future[None] = asyncio.run_coroutine_threadsafe(self.queue.put(item), self.loop)
        while True:
            try:
                future.result(timeout=_POLL_S)
                return
            except FutureTimeout:
                if self.aborted.is_set() or self.stopping.is_set():
                    future.cancel()
                    raise _Aborted from None

    def abort(self) -> None:
        """The handler stops reading: the worker stops at its next write, never blocked on a full queue."""
        self.aborted.set()
        while not self.queue.empty():
            self.queue.get_nowait()


class _Sink(io.RawIOBase):
    """A binary file for the `export_block` tool whose writes become queued chunks."""

    def __init__(self, bridge: _Bridge) -> None:
        super().__init__()
        self._bridge = bridge
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        view = memoryview(data).cast("B")
        self._buffer += view
        while len(self._buffer) >= CHUNK_BYTES:
            self._bridge.put(bytes(self._buffer[:CHUNK_BYTES]))
            del self._buffer[:CHUNK_BYTES]
        return len(view)

    def drain(self) -> None:
        """Queue what is left in the buffer."""
        if self._buffer:
            self._bridge.put(bytes(self._buffer))
            self._buffer.clear()


class _BridgeSink:
    """The `ExportSink` of one request: announces the block once every check passed, then streams."""

    def __init__(self, bridge: _Bridge) -> None:
        self.bridge = bridge
        self.file = _Sink(bridge)

    def begin(self, name: str, fmt: str, rows: int) -> IO[bytes]:
        self.bridge.put(Started(name, rows))
        return cast(IO[bytes], self.file)


def _produce(registry: Registry, ctx: Context, tool: str, arguments: dict[str, Any], bridge: _Bridge) -> None:
    """The worker: export into the bridge, then `_Done`, or the exception that stopped it."""
    sink = _BridgeSink(bridge)
    ctx.export_sink = sink
    try:
        registry.call(ctx, tool, arguments)
        sink.file.drain()
        bridge.put(_Done())
    except _Aborted:
        return
    except BaseException as error:  # handed to the handler, which answers or logs it
        with contextlib.suppress(_Aborted, RuntimeError):  # RuntimeError: the loop is closed
            bridge.put(error)


def _overrides(request: web.Request) -> dict[str, Any] | None:
    """The `filter_overrides` query parameter as a JSON object; unknown parameters refused."""
    unknown = sorted(set(request.query) - _QUERY_PARAMS)
    if unknown:
        raise InvalidRequest(
            f"unknown query parameter {', '.join(unknown)}; this route takes filter_overrides"
        )
    values = request.query.getall("filter_overrides", [])
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest("give filter_overrides once")
    parsed = parse_json(values[0], "filter_overrides")
    if not isinstance(parsed, dict):
        raise InvalidRequest("filter_overrides must be a JSON object of control name or id to value")
    return parsed


def _retrieve(future: asyncio.Future[None]) -> None:
    """The worker reports through the queue; this keeps asyncio from warning about its result."""
    if not future.cancelled():
        future.exception()


class ExportStream:
    """One export: `tool` runs on an export worker, writing into the caller's `ExportSink`; the
    handler waits for `started` (every check passed, or the tool's refusal raised), then `send`s
    the bytes as they come. `close` (always) stops the worker if the handler gives up first."""

    def __init__(self, request: web.Request, ctx: Context, tool: str, arguments: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        self.bridge = _Bridge(loop, request.app[EXPORT_STOPPING])
        worker = loop.run_in_executor(
            request.app[EXPORT_POOL], _produce, request.app[REGISTRY], ctx, tool, arguments, self.bridge
        )
        worker.add_done_callback(_retrieve)

    async def started(self) -> Started:
        """The block about to be streamed, once every check passed; else the refusal, raised."""
        first = await self.bridge.queue.get()
        if isinstance(first, BaseException):
            raise first  # before any byte: the caller answers it in the contract's shape
        assert isinstance(first, Started)
        return first

    async def send(
        self, request: web.Request, started: Started, fmt: str, headers: Mapping[str, str] | None = None
    ) -> web.StreamResponse:
        """Stream the export as a `fmt` attachment, with `headers` besides the file's own."""
        response = web.StreamResponse(
            headers={
                "Content-Type": MEDIA_TYPES[fmt] + ("; charset=utf-8" if fmt != "parquet" else ""),
                "Content-Disposition": f'attachment; filename="{started.name}.{fmt}"',
                ROWS_HEADER: str(started.rows),
                "Cache-Control": "no-store",
                "Trailer": ERROR_TRAILER,
                "X-Content-Type-Options": "nosniff",
                **(headers or {}),
            }
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        return await _stream(request, response, self.bridge)

    def close(self) -> None:
        self.bridge.abort()


async def export_data(request: web.Request) -> web.StreamResponse:
    """Stream a block's whole current output as CSV, Parquet or JSON (the caller's role: view)."""
    fmt = request.match_info["fmt"]
    if fmt not in FORMATS:
        raise NotFound(f"no export format {fmt!r}; use data.csv, data.parquet or data.json")
    overrides = _overrides(request)
    arguments: dict[str, Any] = {
        "dashboard_id": request.match_info["id"],
        "block_id": request.match_info["block_id"],
        "format": fmt,
    }
    if overrides is not None:
        arguments["filter_overrides"] = overrides
    export = ExportStream(request, tool_context(request), "export_block", arguments)
    try:
        return await export.send(request, await export.started(), fmt)
    finally:
        export.close()


async def _stream(request: web.Request, response: web.StreamResponse, bridge: _Bridge) -> web.StreamResponse:
    try:
        while True:
            item = await bridge.queue.get()
            if isinstance(item, _Done):
                break
            if isinstance(item, BaseException):
                log.error("export of %s failed after its headers were sent", request.path, exc_info=item)
                _break_off(request, item)
                return response
            assert isinstance(item, bytes)
            await response.write(item)
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away; the worker stops at its next write
    return response


def _break_off(request: web.Request, error: BaseException) -> None:
    """End a stream that failed after its headers went out: the chunked body's last chunk and an
    `X-Ballast-Error` trailer naming the failure, then the connection closes before the message's
    final line, so every client sees an incomplete transfer (curl exits 18, aiohttp raises
    `ClientPayloadError`) instead of a file that looks whole, and a client reading the raw stream
    reads why."""
    transport = request.transport
    if transport is None:
        return
    reason = error.message if isinstance(error, ToolError) else "internal error (the server's log has it)"
    line = " ".join(f"export failed: {reason}".split())[:300].encode("ascii", "replace")
    transport.write(b"0\r\n" + ERROR_TRAILER.encode() + b": " + line + b"\r\n")
    transport.close()


async def _export_pool(app: web.Application) -> AsyncIterator[None]:
    """The export workers, started and stopped with the app; stopping ends every export."""
    pool = ThreadPoolExecutor(max_workers=EXPORT_WORKERS, thread_name_prefix="ballast-export")
    app[EXPORT_POOL] = pool
    try:
        yield
    finally:
        app[EXPORT_STOPPING].set()
        pool.shutdown(wait=False, cancel_futures=True)


def setup_export_route(app: web.Application) -> None:
    """Add the export route and its worker pool to `app`."""
    app[EXPORT_STOPPING] = threading.Event()
    app.cleanup_ctx.append(_export_pool)
    app.router.add_get(
        f"{API}/dashboards/{{id}}/blocks/{{block_id}}/data.{{fmt}}", export_data, name="block_export"
    )
