"""What a person sees, kept from regressing: SVG snapshots of the real app on the demo workspace."""

from __future__ import annotations

from typing import Any

from syrupy import SnapshotAssertion
from textual.pilot import Pilot

from ballast_tui.engine.workspace import Workspace
from tests.tui.conftest import make_app, settle
from tests.tui.snapshots import matches, screenshot


async def _settled(pilot: Pilot[Any]) -> None:
    await settle(pilot, rounds=5)


def test_dashboards_list(demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, _ = demo_ws
    assert matches(snapshot, screenshot(make_app(ws), (100, 24), _settled))


def test_demo_dashboard_120x40(demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, board_id = demo_ws
    assert matches(snapshot, screenshot(make_app(ws, board_id), (120, 40), _settled))


def test_demo_dashboard_80x24(demo_ws: tuple[Workspace, str], snapshot: SnapshotAssertion) -> None:
    ws, board_id = demo_ws
    assert matches(snapshot, screenshot(make_app(ws, board_id), (80, 24), _settled))
