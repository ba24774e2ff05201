"""Filter overrides: control values bound for one call alone, never stored.

One implementation for every caller: `dashboard_run_block`, exports, the
published page and its JSON answer. `resolve` checks each value against its
control (keyed by the control's id or name, inside the caller's board scope:
a published link's reader may set only displayed controls), and `compute`
runs, with a `Cascade(persist=False)`, the blocks of `targets` that depend on
an overridden control and what they need in between; nothing else runs and
nothing is stored (no run, no file, no control value).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ballast_tui.engine.blocks import CONTROL_TYPES, validate_control_value
from ballast_tui.engine.board_graph import BoardGraph
from ballast_tui.engine.cascade import Cascade, CascadeResult
from ballast_tui.engine.computed_cache import Computed
from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.scope import BoardScope

Row = dict[str, Any]


def resolve(board: BoardScope, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Override values keyed by control block id, each one its control allows (400 otherwise)."""
    resolved: dict[str, Any] = {}
    for key, value in overrides.items():
        control = board.find_block(key)
        if control is None:
            raise InvalidRequest(f"filter_overrides: no control {key!r} on this dashboard")
        if control["type"] not in CONTROL_TYPES:
            raise InvalidRequest(f"filter_overrides: {control['name']!r} is not a control")
        try:
            resolved[control["id"]] = validate_control_value(control["type"], control["config"], value)
        except InvalidRequest as error:
            raise InvalidRequest(f"filter_overrides: {control['name']!r}: {error.message}") from None
    return resolved


def compute(
    board: BoardScope,
    g: BoardGraph,
    overrides: Mapping[str, Any],
    targets: Iterable[str],
    *,
    include_targets: bool = False,
) -> CascadeResult:
    """Compute, storing nothing, every block of `targets` that depends on an overridden control and
    what it needs in between (with `include_targets`, the targets themselves whatever they depend
    on, e.g. a draft config); the rest keep their current outputs."""
    targets = list(targets)
    needed = g.downstream(overrides) & g.upstream(targets)
    if include_targets:
        needed |= set(targets)
    actor = None if board.public else board.ctx.user.id
    cascade = Cascade(
        board.ws, g, board.id, trigger="manual", actor=actor, persist=False, overrides=overrides
    )
    return cascade.run(needed, force=needed)


def stored_value(block: Row) -> Any:
    """A control's stored value, else its default."""
    return block["value"] if block["value"] is not None else block["config"].get("default")


def board_fingerprint(board: BoardScope) -> str:
    """A hash of everything a computation under overrides reads: every block's version, current
    run, state and stored value, every source's content, the connected data's epoch and the day
    (relative date ranges move with it)."""
    material = {
        "blocks": [
            [b["id"], b["version"], b["current_run_id"], b["state"], b["value"]] for b in board.states()
        ],
        "sources": [[s["name"], s["content_hash"]] for s in board.sources()],
        "epoch": board.row.get("remote_epoch"),
        "today": board.ws.today().isoformat(),
    }
    encoded = json.dumps(material, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


def computed(board: BoardScope, values: Mapping[str, Any], targets: Iterable[str]) -> Computed:
    """`compute` for a published page's blocks, through the workspace's `ComputedCache`."""
    targets = sorted(targets)
    key = hashlib.sha256(
        json.dumps(
            [board.id, board_fingerprint(board), values, targets], sort_keys=True, default=str
        ).encode()
    ).hexdigest()

    def run() -> Computed:
        result = compute(board, board.graph(), values, targets)
        touched = frozenset({*result.ran, *result.failed, *result.upstream_error})
        return Computed(dict(result.outputs), touched, dict(result.errors))

    return board.ws.computed.get(key, run)
