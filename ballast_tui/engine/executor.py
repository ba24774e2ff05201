"""DuckDB execution: one sandboxed in-memory database per board, queries on a thread pool.

Each board gets its own DuckDB instance whose `allowed_directories` are that
board's data directory and the workspace's import directory, so a query can
read its own board's Parquet and nothing else, whatever it writes. The sandbox is applied in the order that
matters: extensions' autoload/autoinstall and Python replacement scans off at
open; then the allowed directory, external access off, and the configuration
locked last, so no query can loosen it. Only statements that DuckDB itself
classifies as one SELECT reach execution. A board's quick queries (`quick_blocks`) run on a
second instance of the board, opened the same way but with one thread; its memory limit is the
same share, and it counts in the same query slots, so together they stay within the budget.

Every query runs on a cursor of its own while it runs (so it can be interrupted
alone), called from worker threads (the workspace's block pool, the tool pool),
never from an event loop, with a timer that interrupts it at the time limit.
A block's query (`query`, `query_to_file`) takes an idle cursor of the board's
instance, if one is left, and gives it back when it is done (no cursor made and
closed per block, a fixed cost of each): only after a query that
read its inputs as named tables (no temporary views), that ended without an
error, and that nothing interrupted, with its result closed and its inputs'
registrations dropped, so the next query finds nothing of it. An interrupt
(the time limit, `cancel`) reaches a cursor only while its query holds it.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from ballast_tui.config import Settings
from ballast_tui.engine.handoff import Written, survives_parquet, take_batches
from ballast_tui.engine.output_writer import WriteAhead
from ballast_tui.engine.statements import (
    TABLE_BATCH_ROWS,
    NotOneSelect,
    Reading,
    Relation,
    only_one_select,
    run_reading,
)
from ballast_tui.lazy import lazy_module
from ballast_tui.storage.files import write_stream_atomic
from ballast_tui.storage.private import make_dirs

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

if TYPE_CHECKING:
    import duckdb

# DuckDB is imported where a board's instance is opened and where its errors are caught, not with
# this module: the app's first paint imports the engine but opens no instance.

MAX_OPEN_BOARDS = 16
QUERY_SLOTS = 2
"""Queries running at once, across every board. The workspace's memory budget (`memory_limit`) is
shared out between them: each board's DuckDB may use `memory_limit / QUERY_SLOTS`, and no more than
`QUERY_SLOTS` of them run, so together they never pass the budget. A query waits for a slot (its
time limit counts from the start of that wait)."""
IDLE_CURSORS = QUERY_SLOTS
"""Idle cursors kept per board's instance, for its next queries."""
BATCH_ROWS = 100_000
"""Rows per batch when a result streams from DuckDB into its Parquet file."""
QUICK_PASSES = frozenset(
    {
        "filter_pushdown",
        "join_order",
        "statistics_propagation",
        "top_n",
        "limit_pushdown",
        "in_clause",
        "build_side_probe_side",
        "join_filter_pushdown",
        "deliminator",
        "unnest_rewriter",
        "filter_pullup",
        "cte_inlining",
        "materialized_cte",
    }
)
"""The optimizer passes a board's single-threaded instance runs (`quick_blocks`); every other pass
is off there. DuckDB's optimizer took 0.25–0.3 ms of a 0.65 ms one-row query, most of it in passes
that pay off only over large inputs; a quick query reads a few rows. Kept: the passes that make a
filtered cross product a join and order joins, so a comma join stays a hash join;
`statistics_propagation`, which picks the perfect hash aggregate, so a GROUP BY over small integers
comes out in the same order as on the board's main instance; and the cheap ones that bound a worst
case (top-N, LIMIT and IN lists, a hash join's build side, decorrelation, UNNEST, CTEs). A pass
changes a query's plan, never its answer."""
__all__ = [
    "QUICK_PASSES",
    "Alarm",
    "Executor",
    "QueryError",
    "Relation",
    "TableWriter",
    "alarm",
    "cannot_store",
    "keep_only_quick_passes",
    "parse_bytes",
]

TableWriter: TypeAlias = "Callable[[pa.Table, Path], WriteAhead]"
"""Writes a table to a Parquet file on a thread of its own (`OutputWriter`)."""
T = TypeVar("T")


class QueryError(Exception):
    """A query that failed, timed out or was cancelled; the message is for the user."""


@dataclass
class _Instance:
    con: duckdb.DuckDBPyConnection
    active: int = 0
    idle: list[duckdb.DuckDBPyConnection] = field(default_factory=list)
    """Cursors a finished query gave back, clean, for the next (`Executor._query_cursor` with `reuse`)."""
    closed: bool = False
    single: _Instance | None = None
    """The board's single-threaded instance, for quick queries (`Executor.query_to_file` with
    `single`), opened with the first of them and closed with this one."""

    def close(self) -> None:
        """Close the instance and its idle cursors (a query still running closes its own)."""
        import duckdb

        self.closed = True
        idle, self.idle = self.idle, []
        for cursor in idle:
            with contextlib.suppress(duckdb.Error):
                cursor.close()
        self.con.close()
        if self.single is not None:
            self.single.close()


class _Use:
    """One query's hold on a cursor: an interrupt reaches the cursor only while the query holds it
    (a cursor given back and taken by the next query is never interrupted for this one)."""

    __slots__ = ("cursor", "hit", "live", "lock", "timed_out")

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor
        self.lock = threading.Lock()
        self.live = True
        self.hit = False
        """Whether an interrupt reached the cursor (it is not used again)."""
        self.timed_out = False

    def interrupt(self, *, timed_out: bool = False) -> None:
        with self.lock:
            if not self.live:
                return
            self.hit = True
            self.timed_out = self.timed_out or timed_out
            self.cursor.interrupt()

    def end(self) -> bool:
        """The query lets go of the cursor; whether no interrupt reached it."""
        with self.lock:
            self.live = False
            return not self.hit


class Alarm:
    """A function the watchdog calls at a deadline, unless cancelled first."""

    __slots__ = ("action",)

    def __init__(self, action: Callable[[], None]) -> None:
        self.action: Callable[[], None] | None = action

    def cancel(self) -> None:
        self.action = None


class _Watchdog:
    """One daemon thread that fires every query's time limit.

    It stands in for a `threading.Timer` per query: starting a thread waits for
    the new thread to be scheduled, a millisecond or more per query on a busy
    machine. Cancelled alarms stay in the heap, inert, until their deadline.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, delay: float, action: Callable[[], None]) -> Alarm:
        alarm = Alarm(action)
        deadline = time.monotonic() + delay
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="ballast-query-watchdog", daemon=True)
                self._thread.start()
            earliest = not self._heap or deadline < self._heap[0][0]
            heapq.heappush(self._heap, (deadline, next(self._order), alarm))
            if earliest:
                self._cond.notify()
        return alarm

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                action = heapq.heappop(self._heap)[2].action
            if action is not None:
                with suppress(Exception):  # e.g. the interrupt of a cursor closed meanwhile
                    action()
                action = None  # hold no cursor while waiting


_WATCHDOG = _Watchdog()


def alarm(delay: float, action: Callable[[], None]) -> Alarm:
    """Call `action` after `delay` seconds from the shared watchdog thread, unless cancelled first."""
    return _WATCHDOG.schedule(delay, action)


class Executor:
    """Runs SQL for boards in sandboxed DuckDB instances, each query interruptible."""

    def __init__(self, data_dir: Path, settings: Settings) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.budget = parse_bytes(settings.memory_limit)
        self.share = max(16 * 1024 * 1024, self.budget // QUERY_SLOTS)
        """What one board's DuckDB may use: its part of the workspace's budget."""
        self._slots = threading.BoundedSemaphore(QUERY_SLOTS)
        self._instances: OrderedDict[str, _Instance] = OrderedDict()
        self._lock = threading.Lock()
        self._running: dict[int, tuple[str, _Use]] = {}
        self._running_lock = threading.Lock()

    # -- instances ---------------------------------------------------------

    def _open(self, board_id: str, *, quick: bool = False) -> duckdb.DuckDBPyConnection:
        """A board's sandboxed instance; with `quick`, its single-threaded one (`QUICK_PASSES`)."""
        import duckdb

        board_dir = (self.data_dir / board_id).resolve()
        make_dirs(board_dir)
        con = duckdb.connect(
            ":memory:",
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "python_enable_replacements": False,
                "memory_limit": f"{self.share}B",
                # Idle boards keep no file data cached: memory is held only while a query runs.
                "enable_external_file_cache": False,
                # No spilling: an in-memory database would write `.tmp/` into the process's working
                # directory (outside the sandbox), and the memory limit would not hold.
                "temp_directory": "",
                "threads": 1 if quick else self.settings.duckdb_threads,
            },
        )
        if quick:
            keep_only_quick_passes(con)
        imports = (self.data_dir.parent / "imports").resolve()
        con.execute("SET allowed_directories = ?", [[str(board_dir) + "/", str(imports) + "/"]])
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return con

    def _acquire(self, board_id: str) -> _Instance:
        with self._lock:
            instance = self._instances.get(board_id)
            if instance is None:
                instance = self._instances[board_id] = _Instance(self._open(board_id))
                self._evict_idle()
            self._instances.move_to_end(board_id)
            instance.active += 1
            return instance

    def _single(self, board_id: str, instance: _Instance) -> _Instance:
        """The board's single-threaded instance (opened now if need be; under `_lock`)."""
        if instance.single is None or instance.single.closed:
            instance.single = _Instance(self._open(board_id, quick=True))
        return instance.single

    def _release(self, instance: _Instance) -> None:
        with self._lock:
            instance.active -= 1

    def _evict_idle(self) -> None:
        for board_id in list(self._instances):
            if len(self._instances) <= MAX_OPEN_BOARDS:
                return
            if self._instances[board_id].active == 0:
                self._instances.pop(board_id).close()

    def close_board(self, board_id: str) -> None:
        """Interrupt a board's queries and close its instance (before its files are removed)."""
        self.cancel(board_id)
        with self._lock:
            instance = self._instances.pop(board_id, None)
        if instance is not None:
            with self._lock:
                instance.close()

    # -- queries -----------------------------------------------------------

    @contextmanager
    def cursor(self, board_id: str, timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A new cursor on the board's sandboxed instance, interrupted at the time limit.

        DuckDB errors inside become `QueryError` with a message for the user.
        """
        with self._query_cursor(board_id, timeout, None) as cursor:
            yield cursor

    @contextmanager
    def _query_cursor(
        self, board_id: str, timeout: float | None, reuse: list[bool] | None, *, single: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """`cursor`; with `reuse`, an idle cursor of the instance if there is one, given back at the
        end if `reuse[0]` is then still true (the caller's word that the query left nothing on it);
        with `single`, a cursor of the board's single-threaded instance."""
        limit = self.settings.query_timeout_s if timeout is None else timeout
        waited_from = time.monotonic()
        if not self._slots.acquire(timeout=limit):
            raise QueryError(
                f"the workspace stayed busy with other queries for the time limit of {limit:g} s"
            )
        try:
            left = limit - (time.monotonic() - waited_from)
            with self._cursor(board_id, left, reuse, single=single) as cursor:
                yield cursor
        finally:
            self._slots.release()

    @contextmanager
    def _cursor(
        self, board_id: str, limit: float, reuse: list[bool] | None = None, *, single: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb

        instance = self._acquire(board_id)
        source = instance
        cursor = None
        try:
            with self._lock:
                if single:
                    source = self._single(board_id, instance)
                if reuse is not None and source.idle:
                    cursor = source.idle.pop()
            if cursor is None:
                cursor = source.con.cursor()
        except BaseException:
            self._release(instance)
            raise
        use = _Use(cursor)
        key = id(use)
        with self._running_lock:
            self._running[key] = (board_id, use)
        alarm = _WATCHDOG.schedule(max(0.0, limit), lambda: use.interrupt(timed_out=True))
        clean = False
        try:
            yield cursor
            clean = True
        except duckdb.InterruptException:
            if use.timed_out:
                total = self.settings.query_timeout_s
                raise QueryError(f"the query ran longer than the time limit of {total:g} s") from None
            raise QueryError("the query was cancelled") from None
        except duckdb.OutOfMemoryException as error:
            raise QueryError(
                f"the query needs more memory than it may use ({_size(self.share)}, its share of the "
                f"workspace's memory_limit of {_size(self.budget)}): aggregate or filter earlier, or "
                f"raise memory_limit ({_first_lines(str(error), 1)})"
            ) from None
        except duckdb.Error as error:
            raise QueryError(_first_lines(str(error))) from None
        finally:
            alarm.cancel()
            with self._running_lock:
                self._running.pop(key, None)
            untouched = use.end()
            kept = False
            if clean and untouched and reuse is not None and reuse[0]:
                with self._lock:
                    if not instance.closed and not source.closed and len(source.idle) < IDLE_CURSORS:
                        source.idle.append(cursor)
                        kept = True
            if not kept:
                with contextlib.suppress(duckdb.Error):
                    cursor.close()
            self._release(instance)

    def query(
        self,
        board_id: str,
        sql: str,
        relations: Mapping[str, Relation] | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> pa.Table:
        """Run one SELECT for a board, with `relations` visible by name; block until done.

        Call from a worker thread, never from an event loop.
        """
        reuse = [False]
        with self._query_cursor(board_id, timeout, reuse) as cursor:
            _check(cursor, sql)
            reading = run_reading(cursor, sql, relations or {}, params, TABLE_BATCH_ROWS, stream=False)
            table = reading.result
            assert isinstance(table, pa.Table)
            reading.release()
            reuse[0] = not reading.views
            return table

    def query_to_file(
        self,
        board_id: str,
        sql: str,
        relations: Mapping[str, Relation] | None,
        params: Mapping[str, Any] | None,
        path: Path,
        timeout: float | None = None,
        *,
        durable: bool = True,
        keep_bytes: int = 0,
        writer: TableWriter | None = None,
        single: bool = False,
    ) -> Written:
        """`query`, its result streamed batch by batch into the Parquet file `path` (written
        atomically, never whole in memory; fsynced unless `durable=False`).

        With `keep_bytes`, a result no larger than that whose types read the same from the table
        as from the file (`survives_parquet`) is also kept as an Arrow table (`Written.table`,
        else None). With `writer` too, such a result is not written here but handed to `writer`,
        which writes it to `path` on a thread of its own (`Written.writing`). With
        `single`, the query runs on the board's single-threaded instance: for a quick query over
        small inputs, whose fixed cost is mostly DuckDB handing its work to a second thread and
        waiting for it (the caller's judgement: a slow query there would have one core, not all).
        """
        import duckdb

        reuse = [False]
        with self._query_cursor(board_id, timeout, reuse, single=single) as cursor:
            _check(cursor, sql)
            reading = run_reading(cursor, sql, relations or {}, params, BATCH_ROWS, stream=True)
            try:
                written = self._write(reading, path, durable=durable, keep_bytes=keep_bytes, writer=writer)
            except duckdb.Error as error:
                raise reading.own_error(error) from None
            finally:
                reading.release()
            reuse[0] = not reading.views
            return written

    @staticmethod
    def _write(
        reading: Reading, path: Path, *, durable: bool, keep_bytes: int, writer: TableWriter | None
    ) -> Written:
        """Read a streamed result out: held whole and handed to `writer`, or written here."""
        reader = reading.result
        assert isinstance(reader, pa.RecordBatchReader)
        head, whole = take_batches(reader, keep_bytes)
        schema = reader.schema
        # Kept only where it reads the same as the file; else the blocks below read the file.
        table = pa.Table.from_batches(head, schema=schema) if whole and survives_parquet(schema) else None
        if table is not None and writer is not None:
            return Written("", table.num_rows, schema, table, writer(table, path))
        batches = head if whole else itertools.chain(head, reader)
        try:
            content_hash, rows = write_stream_atomic(batches, schema, path, durable=durable)
        except pa.ArrowException as failure:
            raise QueryError(cannot_store(failure)) from None
        return Written(content_hash, rows, schema, table)

    def with_connection(
        self, board_id: str, work: Callable[[duckdb.DuckDBPyConnection], T], timeout: float | None = None
    ) -> T:
        """Run `work` with a sandboxed cursor of the board (e.g. a comparison of two outputs)."""
        with self.cursor(board_id, timeout) as cursor:
            return work(cursor)

    def cancel(self, board_id: str | None = None) -> int:
        """Interrupt the running queries of one board (or all); return how many."""
        with self._running_lock:
            targets = [u for b, u in self._running.values() if board_id is None or b == board_id]
        for use in targets:
            use.interrupt()
        return len(targets)

    def close(self) -> None:
        """Cancel everything and close every instance.

        A query interrupted a moment ago may still hold its connection; closing
        then must not fail the shutdown, so DuckDB's refusal is ignored.
        """
        self.cancel()
        with self._lock:
            if self._instances:
                import duckdb  # loaded already, with the instances

                for instance in self._instances.values():
                    with contextlib.suppress(duckdb.Error):
                        instance.close()
            self._instances.clear()


def keep_only_quick_passes(con: duckdb.DuckDBPyConnection) -> None:
    """Turn off every optimizer pass of `con` but `QUICK_PASSES` (before its configuration is
    locked)."""
    passes = [row[0] for row in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()]
    con.execute("SET disabled_optimizers = ?", [",".join(p for p in passes if p not in QUICK_PASSES)])


def cannot_store(failure: pa.ArrowException) -> str:
    """The error of a result Parquet cannot hold (e.g. INTERVAL or UNION columns)."""
    return f"the result cannot be stored ({failure}); cast that column to VARCHAR"


def _check(cursor: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but one SELECT, with the message for the user."""
    try:
        only_one_select(cursor, sql)
    except NotOneSelect as refused:
        raise QueryError(str(refused)) from None


_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4}
_UNITS |= {"kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def parse_bytes(text: str) -> int:
    """A memory size such as `2GB`, `512MiB` or `1048576` as bytes (DuckDB's units: GB = 1000^3)."""
    spelled = text.strip().lower().replace(" ", "")
    number = spelled.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = spelled[len(number) :] or "b"
    if unit not in _UNITS or not number:
        raise ValueError(f"not a memory size: {text!r} (e.g. 2GB, 512MB, 4GiB)")
    return int(float(number) * _UNITS[unit])


def _size(size: int) -> str:
    for unit in ("GB", "MB", "KB"):
        if size >= _UNITS[unit.lower()]:
            return f"{size / _UNITS[unit.lower()]:.3g} {unit}"
    return f"{size} B"


def _first_lines(message: str, limit: int = 6) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    return "\n".join(lines[:limit])
