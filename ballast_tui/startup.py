"""The cyclic garbage collector held off while `ballast` starts.

Starting imports Textual, DuckDB, pyarrow, pydantic and our own modules: a few hundred thousand
objects that live as long as the process. While they are made, the collector keeps walking all of
them (full collections of 60-130 ms each, about half a second before the first screen on a 2-core
machine), finding nothing to free. So the `ballast` command pauses it at launch, and resumes it once
the process is started (the app's first screen drawn, or a command about to run), after moving
everything made so far out of its sight (`gc.freeze`): later collections walk only newer objects.
"""

from __future__ import annotations

import gc

_paused = False


def pause_collector() -> None:
    """Hold off the cyclic garbage collector until `resume_collector` (reference counting still frees
    everything without cycles)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume_collector() -> None:
    """End the pause, if `pause_collector` began one: what exists now is frozen, the collector runs
    again. Called more than once, or without a pause (the app under test), it does nothing."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
