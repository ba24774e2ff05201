"""When the terminal app stops on an unexpected error: its traceback goes to a private log file, and
`ballast` says what happened in one line once the terminal is restored (exit status 1).

The log is the user's, not the workspace's: `~/.local/state/ballast/crash.log` (`$XDG_STATE_HOME`
when set), 0600 in a 0700 directory, since a traceback can name boards, paths and values. Past
`CRASH_LOG_MAX_BYTES` the file is renamed `crash.log.1` (replacing an older one) and a new one started.
"""

from __future__ import annotations

import contextlib
import os
import traceback
from datetime import UTC, datetime
from pathlib import Path

import platformdirs

CRASH_LOG_NAME = "crash.log"
CRASH_LOG_MAX_BYTES = 1024 * 1024


def crash_log_path() -> Path:
    """Where the app writes the traceback of an error it stopped on."""
    return platformdirs.user_state_path("ballast", appauthor=False) / CRASH_LOG_NAME


def record_crash(error: BaseException, path: Path) -> Path | None:
    """Append `error`'s traceback, with the time, to the log at `path`; the path, or None when it could
    not be written (the caller then shows the traceback itself)."""
    entry = f"--- {datetime.now(UTC).isoformat(timespec='seconds')} pid {os.getpid()}\n" + "".join(
        traceback.format_exception(error)
    )
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size + len(entry) > CRASH_LOG_MAX_BYTES:
                path.replace(path.with_name(path.name + ".1"))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        with open(fd, "a", encoding="utf-8") as log:
            os.fchmod(fd, 0o600)
            log.write(entry)
    except OSError:
        return None
    return path


def crash_message(error: BaseException, logged: Path | None) -> str:
    """The one line `ballast` prints: what stopped the app, and where its traceback is."""
    first = (str(error).strip().splitlines() or [""])[0]
    what = f"{type(error).__name__}: {first}" if first else type(error).__name__
    where = f" (traceback in {logged})" if logged is not None else ""
    return f"the app stopped on an unexpected error: {what}{where}"
