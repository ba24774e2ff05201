"""The embedded server's log file: `<workspace>/server.log`, rotated, readable by its owner only.

A TUI left open for weeks must not fill the disk: past `LOG_MAX_BYTES` the file
is renamed `server.log.1` (the older ones shift up to `server.log.N`) and a new
one is started; the oldest beyond `LOG_BACKUPS` is removed. Logs name users,
boards and paths, so each file is created 0600 whatever the umask.
"""

from __future__ import annotations

import io
import logging
import os
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "server.log"
LOG_MAX_BYTES = 5 * 1024 * 1024
"""A log file is rotated once it would grow past this size."""
LOG_BACKUPS = 3
"""How many rotated files are kept beside the current one."""
LOG_MODE = 0o600
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A `RotatingFileHandler` whose files, the first and every new one after a rotation, are 0600."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, LOG_MODE)
        try:
            os.fchmod(fd, LOG_MODE)  # an existing file keeps its mode otherwise
            return open(fd, "a", encoding=self.encoding, errors=self.errors)
        except BaseException:
            os.close(fd)
            raise


def workspace_log_handler(
    root: Path,
    max_bytes: int = LOG_MAX_BYTES,
    backups: int = LOG_BACKUPS,
    *,
    path: str | Path | None = None,
) -> PrivateRotatingFileHandler:
    """The handler that writes `path` (the `log_file` setting), else `<root>/server.log`, rotated past
    `max_bytes`, `backups` old files kept."""
    handler = PrivateRotatingFileHandler(
        Path(path) if path else root / LOG_NAME, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler
