"""What a cascade leaves behind for each block: a run row and its Parquet file, the block's state,
the events that announce it, and the entry in the cascade's result.

Reuse records no new run: the block points at the earlier run again. A block
that errors records an error run; one blocked by a failed upstream records
none, only its state. With `persist=False` nothing is written or announced,
only the result is kept.

The result is kept at once (downstream blocks read it); the rows, the file's
durability and the `run_finished` event go to the cascade's `GroupCommit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ballast_tui.engine.cascade_inputs import digest
from ballast_tui.engine.events import RunFinished
from ballast_tui.engine.executor import cannot_store
from ballast_tui.engine.group_commit import GroupCommit, Write
from ballast_tui.engine.ids import new_id
from ballast_tui.engine.outputs import Output, describe_schema
from ballast_tui.engine.workspace import Workspace
from ballast_tui.lazy import lazy_module
from ballast_tui.storage import repos
from ballast_tui.storage.connection import Connection
from ballast_tui.storage.db import utcnow
from ballast_tui.storage.files import write_parquet_atomic

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

if TYPE_CHECKING:
    from ballast_tui.engine.cascade import CascadeResult

UPSTREAM_FAILED = "an upstream block failed"


class RunRecorder:
    """Writes the outcome of each block of one cascade over one board, and adds it to `result`."""

    def __init__(
        self,
        ws: Workspace,
        board_id: str,
        result: CascadeResult,
        *,
        trigger: str,
        actor: str | None,
        persist: bool,
        group: GroupCommit | None = None,
    ) -> None:
        self.ws = ws
        self.board_id = board_id
        self.result = result
        self.trigger = trigger
        self.actor = actor
        self.persist = persist
        self.group = group or GroupCommit(ws)
        self._synced = False

    def reuse(self, block: Mapping[str, Any], fingerprint: str) -> bool:
        """Point the block at an earlier successful run with this fingerprint, if its file is still there."""
        if not self._synced:
            self.ws.reuse_filter.sync()  # the runs recorded since the last cascade
            self._synced = True
        if not self.ws.reuse_filter.may_have(block["id"], fingerprint):
            return False
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
        self.result.outputs[block["id"]] = output
        self.result.runs[block["id"]] = run
        self.result.reused.append(block["id"])
        self._finished(
            lambda tx: repos.set_block_state(tx, block["id"], "success", run["id"], None),
            None,
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

    def keep_unpersisted(self, block_id: str, produced: pa.Table | Output | None, error: str | None) -> None:
        """Keep what the block produced in the result only (`persist=False`)."""
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

    def record(
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
        written: Path | None = None,
        *,
        durable: Future[None] | None = None,
    ) -> None:
        """Store the block's run (its output file first), set the block's state, announce the run.

        `written` is the file the block's query streamed its result into, if it did; `durable` is
        done when the writer's thread has it in place and fsynced, if it writes it.
        """
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
                content_hash = write_parquet_atomic(produced, path, durable=False)
            except pa.ArrowException as failure:
                # e.g. INTERVAL or UNION columns, which Parquet cannot hold: an error run, not a crash.
                file_name = None
                error = cannot_store(failure)
            else:
                output = Output(content_hash, produced.num_rows, describe_schema(produced.schema), path=path)
                written = path
        run = {
            "id": run_id,
            "block_id": block["id"],
            "board_id": self.board_id,
            "status": "success" if error is None else "error",
            "trigger": self.trigger,
            "actor": self.actor,
            "fingerprint": fingerprint,
            "inputs": {
                "config_hash": "",  # hashed in `write`, at the commit: not between two queries
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

        def write(tx: Connection) -> None:
            run["inputs"]["config_hash"] = digest(block["config"])
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
        self._finished(
            write,
            written if output is not None and output.path == written else None,
            block_id=block["id"],
            block_name=block["name"],
            run_id=run_id,
            status=run["status"],
            reused=False,
            row_count=output.row_count if output else None,
            duration_ms=duration_ms,
            error=error,
            durable=durable,
        )

    def mark_upstream_error(self, block: Mapping[str, Any]) -> None:
        """The block did not run because an upstream failed: its state says so (when persisting)."""
        block_id = block["id"]
        self.result.upstream_error.append(block_id)
        if not self.persist:
            return
        self._finished(
            lambda tx: tx.execute(
                "UPDATE blocks SET state = 'upstream_error', error = ? WHERE id = ?",
                [UPSTREAM_FAILED, block_id],
            ),
            None,
            block_id=block_id,
            block_name=block["name"],
            run_id=None,
            status="upstream_error",
            reused=False,
            row_count=None,
            duration_ms=0,
            error=UPSTREAM_FAILED,
        )

    def _finished(
        self, write: Write, file: Path | None, *, durable: Future[None] | None = None, **payload: Any
    ) -> None:
        """Queue the block's rows (naming `file`, made `durable` by the writer if it writes it) and
        its `run_finished` for the group commit."""
        event = RunFinished(dashboard_id=self.board_id, actor=self.actor, **payload)
        self.group.add(write, event, file, durable=durable)
