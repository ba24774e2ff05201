"""Events: every change publishes its event, per-board seqs without gaps and in order, catching up
with `since`, and a local session feeding an asyncio consumer from other threads."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ballast_tui.backend import LocalBackend
from ballast_tui.engine.events import (
    HISTORY,
    BlockChanged,
    Event,
    EventBus,
    Presence,
    RunFinished,
    RunStarted,
    SourceChanged,
    event_from_dict,
)
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from tests.conftest import ToolClient

Row = dict[str, Any]


class Recorder:
    """The events of one board (None: all boards) in the order subscribers receive them."""

    def __init__(self, bus: EventBus, board: str | None) -> None:
        self.items: list[Row] = []
        self._lock = threading.Lock()
        self.unsubscribe = bus.subscribe(board, self._take)

    def _take(self, event: Event) -> None:
        with self._lock:
            self.items.append(event.to_dict())

    def take(self) -> list[Row]:
        """Events received since the last take."""
        with self._lock:
            taken, self.items = self.items, []
        return taken


@pytest.fixture
def recorder(ws: Workspace, board: str) -> Iterator[Recorder]:
    rec = Recorder(ws.bus, board)
    yield rec
    rec.unsubscribe()


def types(events: list[Row]) -> list[str]:
    return [e["type"] for e in events]


def assert_consecutive(events: list[Row], board: str, first: int | None = None) -> None:
    assert all(e["dashboard_id"] == board for e in events)
    seqs = [e["seq"] for e in events]
    start = seqs[0] if first is None else first
    assert seqs == list(range(start, start + len(seqs))), seqs


def test_every_change_publishes_its_event_with_gapless_seq(
    ws: Workspace, call: ToolClient, board: str, recorder: Recorder
) -> None:
    seen: list[Row] = []

    def step(tool: str, **args: Any) -> list[Row]:
        call(tool, dashboard_id=board, **args)
        events = recorder.take()
        seen.extend(events)
        return events

    first = ws.bus.last_seq(board) + 1
    added = step("dashboard_add_block", type="sql", name="a", config={"sql": "select 1 as v"})
    assert types(added) == ["block_changed", "run_started", "run_finished"]
    block_id = added[0]["block_id"]
    assert added[0]["change"] == "added" and added[0]["block"]["name"] == "a"
    assert added[2]["status"] == "success" and added[2]["run_id"]

    updated = step("dashboard_update_block", block_id=block_id, config={"sql": "select 2 as v"})
    assert types(updated) == ["block_changed", "run_started", "run_finished"]
    assert updated[0]["change"] == "updated" and updated[0]["block"]["version"] == 2

    control = step("dashboard_add_block", type="param-enum", name="c", config={"options": ["p", "q"]})
    control_id = control[0]["block_id"]
    set_control = step("dashboard_set_control", block_id=control_id, value="q")
    assert types(set_control) == ["control_changed", "run_started", "run_finished"]
    assert set_control[0]["value"] == "q"

    shown = step("dashboard_set_displayed", block_id=block_id, displayed=True)
    assert types(shown) == ["block_changed", "layout_changed"]
    layout = step("dashboard_set_layout", rows=[{"blocks": [block_id], "height": 300}])
    assert types(layout) == ["layout_changed"]

    hidden = step("dashboard_set_displayed", block_id=block_id, displayed=False)
    assert types(hidden) == ["block_changed", "layout_changed"]
    shown_again = step("dashboard_set_displayed", block_id=block_id, displayed=True)
    assert types(shown_again) == ["block_changed", "layout_changed"]
    deleted = step("dashboard_delete_block", block_id=block_id)
    assert types(deleted) == ["block_changed", "layout_changed"]
    assert deleted[0]["change"] == "deleted" and deleted[1]["layout"] == {"rows": []}

    pushed = step("catalog_push", name="src", rows=[{"x": 1}])
    assert types(pushed) == ["source_changed"]
    step("dashboard_add_block", type="sql", name="reader", config={"sql": "select x from src"})
    pushed_again = step("catalog_push", name="src", rows=[{"x": 2}])
    assert types(pushed_again) == ["source_changed", "run_started", "run_finished"]

    gone = step("dashboard_delete")
    assert types(gone) == ["board_deleted"]

    assert_consecutive(seen, board, first)
    assert all(e.get("at") for e in seen)
    assert ws.bus.last_seq(board) == seen[-1]["seq"]


def test_two_boards_have_independent_seqs(ws: Workspace, call: ToolClient) -> None:
    boards = [call("dashboard_create", title=t)["dashboard"]["id"] for t in ("One", "Two")]
    recorders = {b: Recorder(ws.bus, b) for b in boards}
    everything = Recorder(ws.bus, None)
    try:
        for i in range(3):
            for b in boards:
                call(
                    "dashboard_add_block",
                    dashboard_id=b,
                    type="sql",
                    name=f"n{i}",
                    config={"sql": "select 1"},
                )
    finally:
        for rec in [*recorders.values(), everything]:
            rec.unsubscribe()
    for b, rec in recorders.items():
        events = rec.take()
        assert len(events) == 9
        assert_consecutive(events, b, 1)
    both = everything.take()
    assert len(both) == 18
    for b in boards:
        assert_consecutive([e for e in both if e["dashboard_id"] == b], b, 1)


def test_parallel_runs_reach_subscribers_in_seq_order(ws: Workspace, call: ToolClient, board: str) -> None:
    """Sibling blocks publish from different threads; a subscriber still sees seq 1, 2, 3… in order."""
    call("dashboard_add_block", dashboard_id=board, type="sql", name="root", config={"sql": "select 1 as v"})
    root = call("dashboard_get", dashboard_id=board)["dashboard"]["blocks"][0]["id"]
    for name in ("left_side", "right_side", "middle"):
        call(
            "dashboard_add_block",
            dashboard_id=board,
            type="sql",
            name=name,
            config={"sql": "select v from root"},
        )
    received: list[int] = []
    lock = threading.Lock()
    slowed = threading.Event()

    def slow_subscriber(event: Event) -> None:
        # A subscriber that takes its time on the first sibling's start (a slow client, a busy loop).
        if isinstance(event, RunStarted) and event.block_id != root and not slowed.is_set():
            slowed.set()
            time.sleep(0.3)
        with lock:
            received.append(event.seq)

    unsubscribe = ws.bus.subscribe(board, slow_subscriber)
    try:
        call("dashboard_update_block", dashboard_id=board, block_id=root, config={"sql": "select 2 as v"})
    finally:
        unsubscribe()
    assert len(received) == 1 + 2 + 2 * 3
    assert received == sorted(received), received
    assert received == list(range(received[0], received[0] + len(received)))


def test_since_returns_missed_events_or_none_when_too_many_were_missed(
    ws: Workspace, call: ToolClient, board: str, recorder: Recorder
) -> None:
    for i in range(3):
        call("dashboard_add_block", dashboard_id=board, type="markdown", name=f"m{i}", config={"text": "hi"})
    events = recorder.take()
    newest = ws.bus.last_seq(board)
    assert events[-1]["seq"] == newest
    assert [e.to_dict() for e in ws.bus.since(board, 0) or []] == events
    assert [e.to_dict() for e in ws.bus.since(board, 4) or []] == [e for e in events if e["seq"] > 4]
    assert ws.bus.since(board, newest) == []
    # A client that saw seqs this bus never published (e.g. before a restart) must resync.
    assert ws.bus.since(board, newest + 5) is None

    bus = EventBus()
    for i in range(HISTORY + 50):
        bus.publish(BlockChanged(dashboard_id="dash_x", block_id=f"blk_{i}", change="updated"))
    assert bus.since("dash_x", 0) is None
    assert bus.since("dash_x", 49) is None
    kept = bus.since("dash_x", 50)
    assert kept is not None and len(kept) == HISTORY
    assert [e.block_id for e in kept if isinstance(e, BlockChanged)] == [
        f"blk_{i}" for i in range(50, HISTORY + 50)
    ]
    assert bus.since("dash_other", 0) == []


async def test_a_local_session_gets_typed_events_on_its_loop_from_other_threads(
    ws: Workspace, owner: User, call: ToolClient, board: str
) -> None:
    backend = LocalBackend(ws, owner)
    received: list[Event] = []
    wanted = 7  # our own presence first, then what the three changes publish
    done = asyncio.Event()
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    async def consume() -> None:
        async for event in backend.events(board):
            threads.add(threading.get_ident())
            received.append(event)
            if len(received) == wanted:
                done.set()
                return

    task = asyncio.create_task(consume())
    while backend.live.board_id != board:
        await asyncio.sleep(0.01)

    def change() -> None:
        call("dashboard_add_block", dashboard_id=board, type="sql", name="a", config={"sql": "select 1 as v"})
        call("catalog_push", dashboard_id=board, name="src", rows=[{"x": 1}])
        call("dashboard_add_block", dashboard_id=board, type="markdown", name="m", config={"text": "t"})

    publisher = threading.Thread(target=change)
    publisher.start()
    await asyncio.wait_for(done.wait(), timeout=10)
    await asyncio.to_thread(publisher.join)
    await task
    await backend.close()

    assert [type(e) for e in received] == [
        Presence,
        BlockChanged,
        RunStarted,
        RunFinished,
        SourceChanged,
        BlockChanged,
        RunStarted,
    ]
    assert_consecutive([e.to_dict() for e in received], board, received[0].seq)
    assert threads == {loop_thread}


def test_events_read_back_from_their_wire_form_as_the_same_type() -> None:
    sent = RunFinished(
        dashboard_id="dash_x", seq=7, block_id="blk_a", block_name="a", run_id=None, status="error"
    )
    assert event_from_dict(sent.to_dict()) == sent
    assert event_from_dict({"type": "joined", "dashboard_id": "dash_x"}) is None
    assert event_from_dict({**sent.to_dict(), "from_a_newer_server": 1}) == sent
