"""What a block of a cascade reads, and the fingerprint of it.

A block reads the outputs of its upstream blocks (made by this cascade, or
stored from an earlier one), the board's sources, the values of the controls
it binds, and for connected tables the board's refresh epoch. The fingerprint
hashes all of that with the block's type and config: an equal fingerprint and
an earlier successful run mean the run's output can be reused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ballast_tui.engine.blocks import CONTROL_TYPES, bound_values
from ballast_tui.engine.board_graph import BoardGraph
from ballast_tui.engine.outputs import Output, output_of_file
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage import repos
from ballast_tui.storage.db import dumps

if TYPE_CHECKING:
    from ballast_tui.engine.remote.runner import RemoteRun


def digest(value: Any) -> str:
    """A stable SHA-256 of a JSON-able value."""
    return hashlib.sha256(dumps(value).encode()).hexdigest()


class BlockInputs:
    """What the blocks of one cascade over one board read; stored outputs are looked up once."""

    def __init__(
        self,
        ws: Workspace,
        graph: BoardGraph,
        board_id: str,
        *,
        trigger: str,
        persist: bool,
        overrides: Mapping[str, Any],
    ) -> None:
        self.ws = ws
        self.g = graph
        self.board_id = board_id
        self.trigger = trigger
        self.persist = persist
        self.overrides = overrides
        self._outside: dict[str, Output | None] = {}
        self._sources: dict[str, Output] = {}
        self._epoch: int | None = None
        self._owner = ""

    def current_output(self, block_id: str) -> Output | None:
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

    def source_output(self, name: str) -> Output:
        """The output of the board's source `name` (its Parquet file)."""
        if name not in self._sources:
            row = self.g.sources[name]
            self._sources[name] = Output(
                row["content_hash"],
                row["row_count"],
                row["columns"],
                path=self.ws.board_dir(self.board_id) / row["file"],
            )
        return self._sources[name]

    def remote_epoch(self) -> int:
        """The board's refresh count: connected data read before the last refresh is not reused."""
        if self._epoch is None:
            row = self.ws.db.row("SELECT remote_epoch, owner_id FROM boards WHERE id = ?", [self.board_id])
            self._epoch = int(row["remote_epoch"]) if row else 0
            self._owner = str(row["owner_id"]) if row else ""
        return self._epoch

    def owner(self) -> str:
        """The board's owner (the connections it may read are the ones granted to them)."""
        self.remote_epoch()
        return self._owner

    def remote_run(self, block_id: str) -> RemoteRun | None:
        """How the block reads connected tables, or None when it reads none."""
        if not self.g.upstream_remote.get(block_id):
            return None
        # A refresh, a schedule or a recorded manual run reads anew; edits, controls and viewers'
        # overrides may reuse what this epoch already read.
        reuse = not self.persist or self.trigger in ("edit", "control")
        from ballast_tui.engine.remote.runner import RemoteRun  # only boards reading connections load it

        return RemoteRun(self.ws.connections, self.board_id, self.owner(), self.remote_epoch(), reuse=reuse)

    def control_value(self, block: Mapping[str, Any]) -> Any:
        """A control's value in this cascade: its override, else its stored value, else its default."""
        if block["id"] in self.overrides:
            return self.overrides[block["id"]]
        return block["value"] if block["value"] is not None else block["config"].get("default")

    def bound(self, block: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters a SQL block's query takes, from the controls it binds."""
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

    def blocked_by_upstream(self, block_id: str, in_set: set[str], produced: Mapping[str, Output]) -> bool:
        """Whether an upstream has no good output: one in the set that produced none, or one outside
        the set with no stored output."""
        for up in self.g.upstream_ids[block_id]:
            if up in in_set:
                if up not in produced:
                    return True
            elif self.current_output(up) is None:
                return True
        return False

    def inputs(self, block_id: str, produced: Mapping[str, Output]) -> dict[str, Output]:
        """What the block reads, by name: upstream outputs (`produced` by this cascade first), sources."""
        inputs: dict[str, Output] = {}
        for up in self.g.upstream_ids[block_id]:
            output = produced.get(up) or self.current_output(up)
            assert output is not None
            inputs[self.g.by_id[up]["name"]] = output
        for name in self.g.upstream_sources[block_id]:
            inputs[name] = self.source_output(name)
        return inputs

    def fingerprint(
        self,
        block: Mapping[str, Any],
        inputs: Mapping[str, Output],
        bound: Mapping[str, Any],
        value: Any,
        remote: RemoteRun | None,
    ) -> str:
        """The hash of everything the block's output depends on."""
        return digest(
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
