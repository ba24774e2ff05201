"""A group's small output files made durable by one fsync: a journal of their bytes.

Each run's output is a Parquet file, and the row naming it is committed only
once the file is durable. fsyncing every small file of a cascade costs a
cascade of trivial blocks more than their queries do (on a virtual machine, a
fsync in flight also slows the other core). So the small files of one group
commit are written in place without fsync, and their bytes are also written to
one journal beside them, which is fsynced once, before the group's rows are
committed. Later, when the workspace is idle, each file is fsynced on its own
and the journal removed (`replay` with `restore=False`).

After a crash, `recover` replays what journals are left: a file that is missing
or does not hold the bytes its journal holds is written again from the journal
(the bytes are checked against their content hash first, so a journal torn by
the crash restores nothing it did not hold whole). A restored file that no row
names (its group never committed) is swept like any other.

The format: `MAGIC`, then per file a 4-byte big-endian length, a JSON header
(`name`, `hash`, `size`) and `size` bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ballast_tui.storage.files import content_hash_of, file_hash, fsync_file, place_synced
from ballast_tui.storage.private import fsync_dir, open_private

MAGIC = b"BALLAST-JOURNAL-1\n"
SUFFIX = ".journal"
_HEADER_LIMIT = 4096


@dataclass(frozen=True)
class Entry:
    """One file of a journal: its name in the journal's directory, its content hash
    (`files.encode_table`'s blake2b) and its bytes."""

    name: str
    content_hash: str
    data: bytes | memoryview


def write_journal(directory: Path, entries: Sequence[Entry]) -> Path:
    """Write `entries` to a new journal in `directory`, fsynced; return its path.

    The journal's own name in the directory is made durable by the caller's fsync of the
    directory (the group commit fsyncs it for the files' renames anyway).
    """
    path = directory / f"{secrets.token_hex(8)}{SUFFIX}"
    try:
        with open_private(path) as out:
            out.write(MAGIC)
            for entry in entries:
                _check_name(entry.name)
                data = memoryview(entry.data)
                header = json.dumps({"name": entry.name, "hash": entry.content_hash, "size": data.nbytes})
                encoded = header.encode()
                out.write(len(encoded).to_bytes(4, "big"))
                out.write(encoded)
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def read_journal(path: Path) -> list[Entry]:
    """The whole entries of a journal whose bytes match their hash; reading stops at the first
    entry cut short or malformed (a journal torn by a crash)."""
    with open(path, "rb") as source:
        if source.read(len(MAGIC)) != MAGIC:
            return []
        return list(_entries(source))


def _entries(source: IO[bytes]) -> Iterator[Entry]:
    while True:
        length = source.read(4)
        if len(length) < 4:
            return
        size = int.from_bytes(length, "big")
        if size > _HEADER_LIMIT:
            return
        try:
            header = json.loads(source.read(size))
            name, expected, data_size = str(header["name"]), str(header["hash"]), int(header["size"])
            _check_name(name)
        except (ValueError, KeyError, TypeError):
            return
        data = source.read(data_size)
        if len(data) < data_size:
            return
        if content_hash_of(data) == expected:
            yield Entry(name, expected, data)


def _check_name(name: str) -> None:
    """A journal names files of its own directory only."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or "\0" in name:
        raise ValueError(f"not a file name of the journal's directory: {name!r}")


def replay(path: Path, *, restore: bool, settle: bool = True) -> list[Path]:
    """Make each file the journal holds durable on its own, then remove the journal.

    With `restore`, a file that is missing or does not hold the journal's bytes is written again
    from them (through a temporary file, fsynced, renamed); without it (the journal of a group
    this process committed), such a file was removed on purpose (a run discarded) and is left
    alone. Without `settle`, only that is done: intact files are not fsynced and the journal
    stays. Returns the files written again.
    """
    directory = path.parent
    restored: list[Path] = []
    for entry in read_journal(path):
        target = directory / entry.name
        if restore and not _holds(target, entry.content_hash):
            place_synced(entry.data, target)  # fsynced as it is written
            restored.append(target)
        elif settle:
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile (a run discarded)
                fsync_file(target)
    if settle:
        fsync_dir(directory)
        path.unlink(missing_ok=True)
    return restored


def _holds(target: Path, content_hash: str) -> bool:
    """Whether the file at `target` is there and holds the bytes of that content hash (read only
    when restoring: a group this process committed left its files as they are)."""
    try:
        return file_hash(target) == content_hash
    except FileNotFoundError:
        return False


def recover(data_dir: Path, min_age_s: float) -> list[Path]:
    """Replay every journal left under `data_dir` (one directory a board), restoring what a crash
    lost; return the files written again.

    A journal younger than `min_age_s` may be another live process's, between its commit and its
    own replay: its files are checked and restored alike, but it is left in place for its owner.
    """
    restored: list[Path] = []
    if not data_dir.exists():
        return restored
    cutoff = time.time() - min_age_s
    for journal in sorted(data_dir.glob(f"*/*{SUFFIX}")):
        try:
            young = journal.stat().st_mtime > cutoff
        except FileNotFoundError:
            continue
        restored += replay(journal, restore=True, settle=not young)
    return restored
