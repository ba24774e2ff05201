"""Every cell's data at once: asked before the grid is even built, taken by the cells it suits.

A board's first paint waits for two things: Textual building and laying out
the grid, and the engine reading each block's output. Asking for the data
first (at the size the layout will give each view, `Grid.plan`) lets the
answers be computed on the tool threads while the grid is built; a cell whose
real size turned out different from the plan asks again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from ballast_tui.widgets.block_cell import BlockCell, block_data_arguments
from ballast_tui.widgets.grid import PlannedRow
from ballast_tui.widgets.views import view_class_for

Block = dict[str, Any]
Answer = dict[str, Any] | None
EarlyAnswers = dict[str, tuple[dict[str, Any], asyncio.Future[Answer]]]
"""Data asked before the grid was built: each block's arguments and the answer on its way."""


def ask_early(
    call: Callable[..., Awaitable[Answer]],
    dashboard_id: str,
    plan: list[PlannedRow],
    blocks: dict[str, Block],
    overrides: dict[str, Any] | None,
) -> EarlyAnswers:
    """Ask `dashboard_block_data` now (through `call`) for every planned block, at its planned size."""
    return _ask(
        call,
        (
            block_data_arguments(
                dashboard_id,
                planned.block_id,
                view_class_for(blocks[planned.block_id]).request_for(planned.width, planned.height),
                overrides,
            )
            for row in plan
            for planned in row.blocks
        ),
    )


def ask_now(call: Callable[..., Awaitable[Answer]], cells: list[BlockCell]) -> EarlyAnswers:
    """Ask for these cells' data at once, before anything else is drawn: the requests reach the tool
    threads while the screen re-lays out, instead of after it."""
    return _ask(call, (cell.data_arguments() for cell in cells))


def _ask(call: Callable[..., Awaitable[Answer]], requests: Iterable[dict[str, Any] | None]) -> EarlyAnswers:
    """Each request's answer started now (None: a cell with nothing to ask yet), by block id."""
    return {
        arguments["block_id"]: (arguments, asyncio.ensure_future(call("dashboard_block_data", **arguments)))
        for arguments in requests
        if arguments is not None
    }


async def answers_for(cells: list[BlockCell], early: EarlyAnswers | None = None) -> list[Answer]:
    """Each cell's data, fetched at once: an `early` answer for a cell that takes it, else asked now.
    Early answers no cell took are dropped."""
    early = dict(early or {})
    ready = _all_ready(cells, early)
    if ready is not None:
        # Every answer is in (the first paint: they came while the grid was built). Taken at once,
        # without a turn of the loop, which would first paint the screen as it is: without them.
        return ready

    async def answer(cell: BlockCell) -> Answer:
        asked = early.pop(cell.block["id"], None)
        if asked is not None and cell.takes(asked[0]):
            return await asked[1]
        return await cell.fetch()

    try:
        return list(await asyncio.gather(*(answer(cell) for cell in cells)))
    finally:
        for _arguments, unused in early.values():
            unused.cancel()


def _all_ready(cells: list[BlockCell], early: EarlyAnswers) -> list[Answer] | None:
    """Each cell's early answer when every cell takes one that has already come (and not failed);
    else None. Early answers no cell took are dropped."""
    asked = [early.get(cell.block["id"]) for cell in cells]
    if not all(
        each is not None and each[1].done() and not each[1].cancelled() and each[1].exception() is None
        for each in asked
    ):
        return None
    if not all(cell.takes(each[0]) for cell, each in zip(cells, asked, strict=True) if each is not None):
        return None
    taken = {cell.block["id"] for cell in cells}
    for block_id, (_arguments, unused) in early.items():
        if block_id not in taken:
            unused.cancel()
    return [each[1].result() for each in asked if each is not None]
