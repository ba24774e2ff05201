"""Running a set of blocks in topological order, in parallel where independent.

A block runs once all of its upstreams in the set are done. Before executing,
its input fingerprint (type, config, the content hashes of what it reads, and
its bound values) is compared with its earlier successful runs: a match reuses
that run's output. An error records an error run, and everything downstream
of it is marked `upstream_error` without running. With `persist=False` (a
`filter_overrides` call) nothing is written: no run, no file, no state.

A block that reads connected tables runs through `remote.runner`; its
fingerprint includes the board's refresh epoch (what it read is reused until
the next refresh, never after), and its run records what was sent (`remote`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ballast_tui.engine.blocks import CONTROL_TYPES, bound_values
from ballast_tui.engine.board_graph import BoardGraph
from ballast_tui.engine.events import RunFinished, RunStarted
from ballast_tui.engine.executor import QueryError
from ballast_tui.engine.ids import new_id
from ballast_tui.engine.outputs import Output, compute, describe_schema, output_of_file, source_query
from ballast_tui.engine.remote.runner import RemoteRun, run_sql
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import repos
from ballast_tui.storage.db import dumps, utcnow
from ballast_tui.storage.files import write_parquet_atomic

TRIGGERS = ("edit", "control", "refresh", "schedule", "manual")


def digest(value: Any) -> str:
    """A stable SHA-256 of a JSON-able value."""
    return hashlib.sha256(dumps(value).encode()).hexdigest()


@dataclass
class CascadeResult:
    """What happened to each block of a cascade, and the outputs it produced."""

    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    upstream_error: list[str] = field(default_factory=list)
    outputs: dict[str, Output] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    remote: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def describe(self) -> dict[str, list[str]]:
        """The contract's `cascade`: ``{"ran", "reused", "failed"}`` (plus the blocks not run)."""
        return {
            "ran": self.ran,
            "reused": self.reused,
            "failed": self.failed,
            "upstream_error": self.upstream_error,
        }


class Cascade:
    """One cascade over one board."""

    def __init__(
        self,
        ws: Workspace,
        graph: BoardGraph,
        board_id: str,
        *,
        trigger: str,
        actor: str | None,
        persist: bool = True,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self.ws = ws
        self.g = graph
        self.board_id = board_id
        self.trigger = trigger
        self.actor = actor
        self.persist = persist
        self.overrides = dict(overrides or {})
        self.result = CascadeResult()
        self._outside: dict[str, Output | None] = {}
        self._sources: dict[str, Output] = {}
        self._epoch: int | None = None

    # -- reading what is already there ----------------------------------------

    def _current_output(self, block_id: str) -> Output | None:
        """The stored output of a block outside this cascade, or None if it has none that is good."""
        if block_id not in self._outside:
            block = self.g.by_id[block_id]
            output = None
            if block["state"] == "success" and block["current_run_id"]:
                run = repos.run(self.ws.db, self.board_id, block["current_run_id"])
                if run is not None and run["file"]:
                    output = output_of_file(
                        self.ws.board_dir(self.board_id) / run["file"],
                        run["output"]["content_hash"],
                        run["id"],
                    )
            self._outside[block_id] = output
        return self._outside[block_id]

    def _source_output(self, name: str) -> Output:
        if name not in self._sources:
            row = self.g.sources[name]
            self._sources[name] = Output(
                row["content_hash"],
                row["row_count"],
                row["columns"],
                path=self.ws.board_dir(self.board_id) / row["file"],
            )
        return self._sources[name]

    def _remote_epoch(self) -> int:
        """The board's refresh count: connected data read before the last refresh is not reused."""
        if self._epoch is None:
            row = self.ws.db.row("SELECT remote_epoch FROM boards WHERE id = ?", [self.board_id])
            self._epoch = int(row["remote_epoch"]) if row else 0
        return self._epoch

    def _remote_run(self, block_id: str) -> RemoteRun | None:
        if not self.g.upstream_remote.get(block_id):
            return None
        # A refresh, a schedule or a recorded manual run reads anew; edits, controls and viewers'
        # overrides may reuse what this epoch already read.
        reuse = not self.persist or self.trigger in ("edit", "control")
        return RemoteRun(self.ws.connections, self.board_id, self._remote_epoch(), reuse=reuse)

    def control_value(self, block: Mapping[str, Any]) -> Any:
        if block["id"] in self.overrides:
            return self.overrides[block["id"]]
        return block["value"] if block["value"] is not None else block["config"].get("default")

    def _bound(self, block: Mapping[str, Any]) -> dict[str, Any]:
        if block["type"] != "sql":
            return {}
        today = self.ws.today()
        values: dict[str, Any] = {}
        for name in block["config"].get("inputs", []):
            control = self.g.by_name[name]
            values.update(bound_values(control["type"], name, self.control_value(control), today))
        used = self.g.params.get(block["id"], frozenset())
        # Bind only what the SQL uses: DuckDB refuses parameters a query does not take.
        return {k: v for k, v in values.items() if k in used}

    # -- running ------------------------------------------------------------

    def run(self, block_ids: Iterable[str], force: Iterable[str] = ()) -> CascadeResult:
        """Run `block_ids` (the caller chose the set), forcing execution of `force`."""
        order = self.g.ordered(block_ids)
        forced = set(force)
        lock = self.ws.board_lock(self.board_id) if self.persist else nullcontext()
        with lock:
            self._run_ordered(order, forced)
        return self.result

    def _run_ordered(self, order: list[str], forced: set[str]) -> None:
        in_set = set(order)
        done: set[str] = set()
        waiting = list(order)
        running: dict[Future[None], str] = {}
        while waiting or running:
            ready: list[str] = []
            for block_id in list(waiting):
                ups = self.g.upstream_ids[block_id]
                if any(u in in_set and u not in done for u in ups):
                    continue
                waiting.remove(block_id)
                if self._blocked_by_upstream(block_id, in_set):
                    self._mark_upstream_error(block_id)
                    done.add(block_id)
                    continue
                ready.append(block_id)
            if len(ready) == 1 and not running:
                # Nothing could run beside it: run it on this thread rather than hand it
                # to a worker and wait (two thread switches per block of a chain).
                self._run_block(ready[0], ready[0] in forced)
                done.add(ready[0])
                continue
            for block_id in ready:
                future = self.ws.block_pool.submit(self._run_block, block_id, block_id in forced)
                running[future] = block_id
            if not running:
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                done.add(running.pop(future))
                future.result()

    def _blocked_by_upstream(self, block_id: str, in_set: set[str]) -> bool:
        for up in self.g.upstream_ids[block_id]:
            if up in in_set:
                if up not in self.result.outputs:
                    return True
            elif self._current_output(up) is None:
                return True
        return False

    def _inputs(self, block_id: str) -> dict[str, Output]:
        inputs: dict[str, Output] = {}
        for up in self.g.upstream_ids[block_id]:
            output = self.result.outputs.get(up) or self._current_output(up)
            assert output is not None
            inputs[self.g.by_id[up]["name"]] = output
        for name in self.g.upstream_sources[block_id]:
            inputs[name] = self._source_output(name)
        return inputs

    def _run_block(self, block_id: str, forced: bool) -> None:
        block = self.g.by_id[block_id]
        inputs = self._inputs(block_id)
        bound = self._bound(block)
        value = self.control_value(block) if block["type"] in CONTROL_TYPES else None
        remote = self._remote_run(block_id)
        fingerprint = digest(
            {
                "type": block["type"],
                "config": block["config"],
                "value": value,
                "upstream": {name: out.content_hash for name, out in sorted(inputs.items())},
                "bound": bound,
                "today": str(self.ws.today()) if block["type"] in CONTROL_TYPES else None,
                **({"remote_epoch": remote.epoch} if remote is not None else {}),
            }
        )
        if self.persist and not forced and self._reuse(block, fingerprint):
            return
        if self.persist:
            self._publish(RunStarted, block_id=block_id, block_name=block["name"], trigger=self.trigger)
        started_at, t0 = utcnow(), time.perf_counter()
        try:
            if remote is not None:
                sql = block["config"]["sql"] if block["type"] == "sql" else source_query(block)
                produced = run_sql(self.ws.executor, remote, sql, inputs, bound)
            else:
                produced = compute(
                    self.ws.executor, self.board_id, block, inputs, bound, value, self.ws.today()
                )
            error = None
        except QueryError as failure:
            produced, error = None, str(failure)
        duration_ms = round((time.perf_counter() - t0) * 1000, 3)
        trace = remote.trace if remote is not None else None
        if trace is not None:
            self.result.remote[block_id] = trace
        if not self.persist:
            self._keep_unpersisted(block_id, produced, error)
            return
        self._record(block, fingerprint, inputs, bound, produced, error, started_at, duration_ms, trace)

    def _reuse(self, block: Mapping[str, Any], fingerprint: str) -> bool:
        run = repos.reusable_run(self.ws.db, block["id"], fingerprint)
        if run is None or not run["file"]:
            return False
        path = self.ws.board_dir(self.board_id) / run["file"]
        if not path.exists():
            return False
        output = Output(
            run["output"]["content_hash"],
            run["output"]["row_count"],
            run["output"]["columns"],
            path=path,
            run_id=run["id"],
        )
        with self.ws.db.write() as tx:
            repos.set_block_state(tx, block["id"], "success", run["id"], None)
        self.result.outputs[block["id"]] = output
        self.result.runs[block["id"]] = run
        self.result.reused.append(block["id"])
        self._publish(
            RunFinished,
            block_id=block["id"],
            block_name=block["name"],
            run_id=run["id"],
            status="success",
            reused=True,
            row_count=output.row_count,
            duration_ms=0,
            error=None,
        )
        return True

    def _keep_unpersisted(self, block_id: str, produced: pa.Table | Output | None, error: str | None) -> None:
        if error is not None or produced is None:
            self.result.failed.append(block_id)
            self.result.errors[block_id] = error or "no output"
            return
        if isinstance(produced, Output):
            self.result.outputs[block_id] = produced
        else:
            self.result.outputs[block_id] = Output(
                "", produced.num_rows, describe_schema(produced.schema), table=produced
            )
        self.result.ran.append(block_id)

    def _record(
        self,
        block: Mapping[str, Any],
        fingerprint: str,
        inputs: Mapping[str, Output],
        bound: Mapping[str, Any],
        produced: pa.Table | Output | None,
        error: str | None,
        started_at: str,
        duration_ms: float,
        remote: list[dict[str, Any]] | None = None,
    ) -> None:
        run_id = new_id("run")
        output: Output | None = None
        file_name: str | None = None
        if isinstance(produced, Output):
            # A view of its upstream's file: a copy, so naming this run leaves the upstream's alone.
            output = dataclasses.replace(produced, run_id=None)
            file_name = produced.path.name if produced.path else None
        elif produced is not None:
            file_name = f"{run_id}.parquet"
            path = self.ws.board_dir(self.board_id) / file_name
            try:
                content_hash = write_parquet_atomic(produced, path)
            except pa.ArrowException as failure:
                # e.g. INTERVAL or UNION columns, which Parquet cannot hold: an error run, not a crash.
                file_name = None
                error = f"the result cannot be stored ({failure}); cast that column to VARCHAR"
            else:
                output = Output(content_hash, produced.num_rows, describe_schema(produced.schema), path=path)
        run = {
            "id": run_id,
            "block_id": block["id"],
            "board_id": self.board_id,
            "status": "success" if error is None else "error",
            "trigger": self.trigger,
            "actor": self.actor,
            "fingerprint": fingerprint,
            "inputs": {
                "config_hash": digest(block["config"]),
                "upstream": {name: out.run_id for name, out in inputs.items()},
                "bound": {
                    k: str(v) if not isinstance(v, str | int | float | bool) else v for k, v in bound.items()
                },
            },
            "output": output.summary() if output else None,
            "file": file_name,
            "error": error,
            "started_at": started_at,
            "finished_at": utcnow(),
            "duration_ms": duration_ms,
            "remote": remote,
        }
        with self.ws.db.write() as tx:
            repos.insert_run(tx, run)
            repos.set_block_state(tx, block["id"], run["status"], run_id, error)
        self.result.runs[block["id"]] = run
        if output is not None:
            output.run_id = run_id
            self.result.outputs[block["id"]] = output
            self.result.ran.append(block["id"])
        else:
            self.result.failed.append(block["id"])
            self.result.errors[block["id"]] = error or ""
        self._publish(
            RunFinished,
            block_id=block["id"],
            block_name=block["name"],
            run_id=run_id,
            status=run["status"],
            reused=False,
            row_count=output.row_count if output else None,
            duration_ms=duration_ms,
            error=error,
        )

    def _mark_upstream_error(self, block_id: str) -> None:
        self.result.upstream_error.append(block_id)
        if not self.persist:
            return
        block = self.g.by_id[block_id]
        with self.ws.db.write() as tx:
            tx.execute(
                "UPDATE blocks SET state = 'upstream_error', error = ? WHERE id = ?",
                ["an upstream block failed", block_id],
            )
        self._publish(
            RunFinished,
            block_id=block_id,
            block_name=block["name"],
            run_id=None,
            status="upstream_error",
            reused=False,
            row_count=None,
            duration_ms=0,
            error="an upstream block failed",
        )

    def _publish(self, kind: type[RunStarted] | type[RunFinished], **payload: Any) -> None:
        self.ws.bus.publish(kind(dashboard_id=self.board_id, actor=self.actor, **payload))
