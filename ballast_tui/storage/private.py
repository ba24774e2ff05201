"""Owner-only files: a workspace is private to the OS user who owns it.

Every directory made inside a workspace is 0700 and every file 0600, whatever
the process's umask. A umask only takes bits away, so nothing here trusts it:
files are opened with mode 0600 and set to it once open, directories are set to
0700 once made. `restrict_umask` is the safety net for what a library writes on
its own; `tighten` brings a workspace made by hand, or by an older version, to
the same standard, logging each path it changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import IO

DIR_MODE = 0o700
FILE_MODE = 0o600
OTHERS = 0o077
"""The permission bits of the group and of everyone else: none is set inside a workspace."""

log = logging.getLogger("ballast.workspace")


def restrict_umask() -> int:
    """Make this process create files and directories owner-only by default; answer the old umask."""
    old = os.umask(OTHERS)
    os.umask(old | OTHERS)
    return old


def private_opener(path: str, flags: int) -> int:
    """An `opener` for `open()`: a file created by it is 0600 (one that exists keeps its owner)."""
    fd = os.open(path, flags, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_private(path: Path, mode: str = "wb") -> IO[bytes]:
    """`open(path, mode)` for a binary file of the workspace, which is (or becomes) 0600."""
    return open(path, mode, opener=private_opener)


def create_file(path: Path) -> None:
    """Create `path` empty and 0600 when it is missing; a file that exists is not even opened.

    (Closing a descriptor of a database file would drop the locks SQLite holds on it in this
    process; `tighten` sees to files that exist.)
    """
    with contextlib.suppress(FileExistsError):
        os.close(private_opener(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL))


def make_dirs(path: Path) -> None:
    """Create `path` and its missing parents, each 0700; directories that exist are left as they are."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process made it first
        os.chmod(directory, DIR_MODE)


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, content: bytes) -> None:
    """Write `content` to `path` (0600) through a temporary file, fsync and a rename.

    A failure leaves what was at `path` untouched.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open_private(temporary) as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):
        fsync_dir(path.parent)


def copy_file(source: Path, target: Path) -> None:
    """Copy `source`'s bytes to `target`, which is 0600 (not `source`'s mode)."""
    with open(source, "rb") as reading, open_private(target) as writing:
        shutil.copyfileobj(reading, writing)


def owned_by_me(path: Path) -> bool:
    """Whether `path` (not following a symlink) is a regular file owned by this process's real uid."""
    try:
        found = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(found.st_mode) and found.st_uid == os.getuid()


@dataclass(frozen=True)
class Tightened:
    """One path whose permissions `tighten` took group and other bits off."""

    path: Path
    before: int
    after: int


def tighten(root: Path) -> list[Tightened]:
    """Take the group's and everyone else's permissions off `root` and everything under it.

    Symbolic links are neither followed nor changed. Each change is logged (logger
    `ballast.workspace`, level WARNING) naming the path and both modes; a path that
    cannot be changed (another user's file) is logged and left.
    """
    changed: list[Tightened] = []
    _tighten_one(root, changed)
    for directory, subdirectories, files in os.walk(root, onerror=_walk_error):
        for name in (*subdirectories, *files):
            _tighten_one(Path(directory, name), changed)
    return changed


def _tighten_one(path: Path, changed: list[Tightened]) -> None:
    try:
        found = path.lstat()
    except FileNotFoundError:
        return  # removed meanwhile (a temporary file)
    if stat.S_ISLNK(found.st_mode):
        return
    before = stat.S_IMODE(found.st_mode)
    if not before & OTHERS:
        return
    after = before & ~OTHERS
    try:
        os.chmod(path, after)
    except FileNotFoundError:
        return
    except OSError as error:
        log.warning("could not make %s private (mode %03o): %s", path, before, error.strerror or error)
        return
    log.warning("made %s private: mode %03o -> %03o", path, before, after)
    changed.append(Tightened(path, before, after))


def _walk_error(error: OSError) -> None:
    if isinstance(error, FileNotFoundError):
        return  # removed meanwhile (a deleted board's data)
    log.warning("could not look inside %s: %s", error.filename, error.strerror or error)
