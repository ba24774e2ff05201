"""The pipes between the engine and its query worker processes: frames, and Arrow in them.

Every message is a frame: an 8-byte big-endian length, then that many bytes.
A new worker first sends `READY`. The engine sends a request as one frame (a
pickled dict: the worker is our own child, started by us, so it trusts what
we send). The worker answers with a frame of JSON (``ok``, a failure's ``kind`` and ``detail``, a listing's
``tables``, ``held``: the connection whose session it keeps open) and, when
the JSON says ``arrow``, a second frame holding the result as an Arrow IPC
stream. Nothing the worker sends is unpickled: a worker talks to databases we
do not control.

The engine reads with a deadline (`wait_readable`, `read_frame`); the worker
blocks (`read_frame_blocking`), since it has nothing else to do.
"""

from __future__ import annotations

import os
import select
import struct
import time
from typing import BinaryIO

import pyarrow as pa

HEADER = struct.Struct("!Q")
READY = b'{"ready": true}'
"""A new worker's first frame: its imports are done."""
CALL = struct.Struct("!Q")
"""An interrupt on the control pipe: the id of the call to interrupt."""


class Deadline(Exception):
    """The deadline passed before the whole frame arrived."""


class Gone(Exception):
    """The other end closed its pipe (the process exited or was killed)."""


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write every byte of `data` to the blocking file descriptor `fd`; `Gone` when nobody reads."""
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except (BrokenPipeError, ConnectionResetError):
        raise Gone from None


def send_frame(fd: int, payload: bytes) -> None:
    """One frame, in one write when it fits the pipe."""
    write_all(fd, HEADER.pack(len(payload)) + payload)


def wait_readable(fd: int, deadline: float) -> bool:
    """Whether `fd` has something to read (or was closed) before `deadline` (a monotonic time)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if poller.poll(max(1, int(remaining * 1000 + 0.999))):
            return True


def read_frame(fd: int, deadline: float) -> bytearray:
    """The next frame's payload from `fd`; `Deadline` if it is not all there by `deadline`, `Gone` at EOF."""
    header = _read_exact(fd, HEADER.size, deadline)
    (size,) = HEADER.unpack(header)
    return _read_exact(fd, size, deadline)


def _read_exact(fd: int, size: int, deadline: float) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        if not wait_readable(fd, deadline):
            raise Deadline
        try:
            count = os.readv(fd, [view[got:]])
        except ConnectionResetError:
            count = 0
        if count == 0:
            raise Gone
        got += count
    return buffer


def read_frame_blocking(stream: BinaryIO) -> bytes | None:
    """The next frame's payload from a buffered stream; None at EOF."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    payload = stream.read(size)
    return payload if len(payload) == size else None


def write_frames(stream: BinaryIO, *payloads: bytes | pa.Buffer) -> None:
    """Frames on a buffered stream, flushed: one message, whole."""
    for payload in payloads:
        stream.write(HEADER.pack(len(payload)))
        stream.write(memoryview(payload))
    stream.flush()


def table_to_ipc(table: pa.Table) -> pa.Buffer:
    """`table` as an Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def table_from_ipc(payload: bytearray) -> pa.Table:
    """The table of an Arrow IPC stream, over `payload` without copying it."""
    with pa.ipc.open_stream(pa.py_buffer(payload)) as reader:
        return reader.read_all()
