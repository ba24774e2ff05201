"""The `ballast` console script: the command line, started with the garbage collector paused."""

from __future__ import annotations

from ballast_tui.startup import pause_collector, resume_collector


def main() -> int:
    """Run `ballast` with the arguments it was given (see `ballast_tui.cli.main`)."""
    pause_collector()
    try:
        from ballast_tui.cli import main as cli_main

        return cli_main()
    finally:
        resume_collector()
