"""Snapshot comparison of the real app, stored as SVGs in the repository's top-level `snapshots/`.

Built on syrupy like pytest-textual-snapshot (whose SVG normalisation it
reuses), with one difference: where the files live. Update them with
`pytest tests/tui --snapshot-update` after looking at the change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pytest_textual_snapshot import SVGImageExtension
from syrupy import SnapshotAssertion
from textual.app import App
from textual.pilot import Pilot

SNAPSHOTS = Path(__file__).resolve().parents[2] / "snapshots"


class TopLevelSnapshots(SVGImageExtension):
    """SVG snapshots named after their test, in `snapshots/`."""

    @classmethod
    def dirname(cls, *, test_location: Any) -> str:
        return str(SNAPSHOTS)


def screenshot(
    app: App[Any], size: tuple[int, int], run_before: Callable[[Pilot[Any]], Awaitable[None]]
) -> str:
    """The app's screen as SVG once `run_before` has brought it where it should be."""
    from textual._doc import take_svg_screenshot

    return take_svg_screenshot(app=app, terminal_size=size, run_before=run_before)


def matches(snapshot: SnapshotAssertion, svg: str) -> bool:
    """Compare with (or, under --snapshot-update, write) the stored snapshot."""
    return bool(snapshot.use_extension(TopLevelSnapshots) == svg)
