"""The embedded server's `server.log`: rotated past its size, a bounded number of files, each 0600."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ballast_server.logfile import LOG_BACKUPS, LOG_MAX_BYTES, LOG_NAME, workspace_log_handler

MAX_BYTES = 4_000
BACKUPS = 2


@pytest.fixture
def logger(tmp_path: Path) -> Iterator[logging.Logger]:
    """A logger of its own writing through the workspace handler (small sizes), with umask 000."""
    old_umask = os.umask(0)  # the files must be private whatever the umask
    handler = workspace_log_handler(tmp_path, max_bytes=MAX_BYTES, backups=BACKUPS)
    log = logging.getLogger(f"test.logfile.{tmp_path.name}")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        yield log
    finally:
        log.removeHandler(handler)
        handler.close()
        os.umask(old_umask)


def log_files(root: Path) -> list[Path]:
    return sorted(root.glob(LOG_NAME + "*"))


def test_the_log_rotates_past_its_size_and_keeps_a_bounded_number_of_files(
    logger: logging.Logger, tmp_path: Path
) -> None:
    line = "x" * 100
    for i in range(1_000):  # ~130 KB: many times what the files may hold
        logger.info("request %d %s", i, line)
    files = log_files(tmp_path)
    assert [p.name for p in files] == [LOG_NAME, *(f"{LOG_NAME}.{n}" for n in range(1, BACKUPS + 1))]
    for path in files:
        assert path.stat().st_size <= MAX_BYTES
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    newest = (tmp_path / LOG_NAME).read_text().splitlines()
    assert newest[-1].endswith(f"request 999 {line}")
    assert " INFO test.logfile." in newest[-1]


def test_an_existing_log_is_made_private_and_appended_to(tmp_path: Path) -> None:
    path = tmp_path / LOG_NAME
    path.write_text("earlier\n")
    path.chmod(0o644)
    handler = workspace_log_handler(tmp_path)
    try:
        handler.emit(logging.makeLogRecord({"msg": "later", "levelno": logging.INFO, "levelname": "INFO"}))
    finally:
        handler.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[0] == "earlier" and lines[1].endswith("later")


def test_the_defaults_bound_the_log_to_20_mb() -> None:
    assert (LOG_MAX_BYTES, LOG_BACKUPS) == (5 * 1024 * 1024, 3)
