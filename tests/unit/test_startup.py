"""`ballast` starts with the garbage collector paused and resumes it, with what exists frozen."""

from __future__ import annotations

import gc
import subprocess
import sys

from ballast_tui import startup


def test_a_pause_is_ended_by_resume_and_what_exists_is_frozen() -> None:
    assert gc.isenabled()
    frozen_before = gc.get_freeze_count()
    try:
        startup.pause_collector()
        assert not gc.isenabled()
        kept = [[n] for n in range(1000)]  # made while paused: frozen by the resume
        startup.resume_collector()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen_before + len(kept)
        startup.resume_collector()  # a second resume changes nothing
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_resume_without_a_pause_leaves_the_collector_alone() -> None:
    """The app under test (no `ballast` launch) resumes at its first screen: nothing to do then."""
    gc.disable()
    try:
        startup.resume_collector()
        assert not gc.isenabled()  # someone else's choice stands
    finally:
        gc.enable()


def test_the_ballast_command_starts_through_the_paused_launch() -> None:
    """`python -m ballast_tui` (and the `ballast` script) run the command line through `launch`."""
    out = subprocess.run(
        [sys.executable, "-m", "ballast_tui", "--version"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.startswith("ballast "), out.stderr
