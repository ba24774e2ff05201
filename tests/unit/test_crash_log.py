"""The crash log of the terminal app: where a traceback goes when the app stops on an unexpected error."""

from __future__ import annotations

import stat
from pathlib import Path

from ballast_tui.crash import CRASH_LOG_MAX_BYTES, crash_message, record_crash


def failure(message: str) -> Exception:
    try:
        raise RuntimeError(message)
    except RuntimeError as error:
        return error


def test_a_crash_is_appended_to_a_private_log_and_named_in_one_line(tmp_path: Path) -> None:
    log = tmp_path / "state" / "ballast" / "crash.log"
    assert record_crash(failure("first"), log) == log
    assert record_crash(failure("second\nwith a second line"), log) == log
    text = log.read_text()
    assert text.count("Traceback") == 2 and "RuntimeError: first" in text and "with a second line" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert crash_message(failure("second\nwith a second line"), log) == (
        f"the app stopped on an unexpected error: RuntimeError: second (traceback in {log})"
    )


def test_a_full_log_is_rotated_once(tmp_path: Path) -> None:
    log = tmp_path / "crash.log"
    log.write_text("x" * CRASH_LOG_MAX_BYTES)
    record_crash(failure("new"), log)
    assert "RuntimeError: new" in log.read_text() and len(log.read_text()) < 10_000
    assert log.with_name("crash.log.1").read_text() == "x" * CRASH_LOG_MAX_BYTES


def test_an_unwritable_log_is_said_plainly(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    assert record_crash(failure("boom"), blocked / "crash.log") is None
    assert crash_message(ValueError(), None) == "the app stopped on an unexpected error: ValueError"
