"""Backups: a consistent copy of a workspace taken while its server runs, and a workspace restored from one.

A backup holds:

- ``ballast.db``, copied with SQLite's online backup API from a connection of
  its own (`storage.snapshot`): one transaction's view, WAL included. Copying
  the directory by hand while a server runs can miss what is still in the WAL.
- the Parquet files the copied rows name. They never change once written, so
  a copy made after the snapshot is the file the snapshot means; one removed
  meanwhile (a source replaced, a board deleted) is caught by checking that
  every named file was copied, and the snapshot is taken again.
- ``secret.key`` (signatures, and the key tokens are hashed under) and
  ``connections.key`` (connection URLs), copied after the snapshot: a key a
  row of it needs existed before it.
- ``manifest.json`` (`backup_files`), written last.

Never ``server.json`` or ``server.log``; not ``published/`` (drawings, made
again on demand) nor ``imports/`` (files waiting to be imported).

A backup is built in a hidden directory beside DEST and renamed to DEST when
complete, so a backup that fails, or is killed, leaves nothing at DEST; what a
killed one leaves has no manifest, which restore refuses. Restore works the
same way round: files copied (each hash checked as it is copied) into a hidden
directory beside DIR, checked (`PRAGMA integrity_check`, every named file
present), opened once as a workspace (the migrations run), then renamed to DIR.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from ballast_tui import __version__
from ballast_tui.config import WorkspacePaths
from ballast_tui.engine.backup_files import (
    DATA_DIR,
    DB_NAME,
    BackupError,
    FileEntry,
    Manifest,
    copy_hashed,
    copy_stream,
    hash_file,
    is_member_name,
    make_private_dir,
    read_manifest,
    write_manifest,
)
from ballast_tui.engine.ids import random_base36
from ballast_tui.engine.remote.secretbox import KEY_FILE as CONNECTIONS_KEY
from ballast_tui.engine.workspace import Workspace
from ballast_tui.storage.db import utcnow
from ballast_tui.storage.files import fsync_dir
from ballast_tui.storage.migrations import MIGRATIONS
from ballast_tui.storage.snapshot import (
    describe_copy,
    integrity_check,
    referenced_files_in,
    referenced_files_of,
    snapshot_database,
)

__all__ = ["BackupError", "Manifest", "backup_workspace", "restore_workspace"]

SNAPSHOT_ATTEMPTS = 10
"""How many times the database is copied again when a file it names went before it was copied."""
OPEN_AHEAD = 256
"""How many of the files a snapshot names are opened at once, right after it (see `_open_ahead`)."""
KEY_NAMES = (WorkspacePaths(Path()).secret.name, CONNECTIONS_KEY)


def backup_workspace(root: Path, dest: Path) -> Manifest:
    """Copy the workspace at `root` to the new directory `dest`, consistent while a server writes."""
    paths = WorkspacePaths(root.expanduser().resolve())
    dest = dest.expanduser().resolve()
    if not paths.db.is_file():
        raise BackupError(f"no workspace at {paths.root} (it has no {DB_NAME})")
    if dest == paths.root or paths.root in dest.parents:
        raise BackupError(f"the backup must go outside the workspace {paths.root}; {dest} is not")
    if os.path.lexists(dest):
        raise BackupError(f"{dest} exists: give the backup a new path")
    if not dest.parent.is_dir():
        raise BackupError(f"no directory {dest.parent} to put the backup in")
    try:
        with _staging(dest, "partial") as staging:
            files = _copy_consistent(paths, staging)
            for name in KEY_NAMES:
                if (paths.root / name).is_file():
                    files[name] = copy_hashed(paths.root / name, staging / name)
            version, counts = describe_copy(staging / DB_NAME)
            counts["data_files"] = sum(name.startswith(DATA_DIR + "/") for name in files)
            manifest = Manifest(__version__, utcnow(), str(paths.root), version, counts, files)
            write_manifest(staging, manifest)
            _publish(staging, dest)
    except sqlite3.Error as error:
        raise BackupError(f"cannot copy {paths.db}: {error}") from None
    return manifest


def _copy_consistent(paths: WorkspacePaths, staging: Path) -> dict[str, FileEntry]:
    """The database snapshot and every data file it names, copied into `staging`; their entries."""
    copied: dict[str, FileEntry] = {}
    copy = staging / DB_NAME
    missing: list[str] = []
    for _attempt in range(SNAPSHOT_ATTEMPTS):
        with ExitStack() as stack:

            def hold(db: sqlite3.Connection) -> tuple[set[str], list[str], dict[str, BinaryIO]]:
                named = referenced_files_in(db)
                todo = sorted(named - copied.keys())
                return named, todo, _open_ahead(paths.data, todo[:OPEN_AHEAD], stack)

            named, todo, ahead = snapshot_database(paths.db, copy, hold)
            missing = _copy_named(paths.data, staging / DATA_DIR, todo, ahead, copied)
        if not missing:
            break
    else:
        raise BackupError(
            f"{len(missing)} data file(s) the database names kept going from {paths.data} before they "
            f"could be copied, e.g. {missing[0]}: the workspace is damaged, or replaces them too fast"
        )
    problem = integrity_check(copy)
    if problem != "ok":
        raise BackupError(f"the workspace's database fails its integrity check: {problem}")
    for file in copied.keys() - named:  # copied for an earlier snapshot, no longer named
        (staging / DATA_DIR / file).unlink()
        del copied[file]
    return {DB_NAME: hash_file(copy), **{f"{DATA_DIR}/{file}": copied[file] for file in sorted(copied)}}


def _open_ahead(data: Path, files: list[str], stack: ExitStack) -> dict[str, BinaryIO]:
    """Open `files` under `data` at once, right after the snapshot that names them (those still there).

    An open file stays readable when the server removes it (a source replaced, a
    board deleted), so the time in which one can go is the time to open them,
    not the time to copy them all.
    """
    opened: dict[str, BinaryIO] = {}
    for file in files:
        _check_member(file)
        with suppress(FileNotFoundError):
            opened[file] = stack.enter_context(open(data / file, "rb"))  # noqa: SIM115 (it is)
    return opened


def _copy_named(
    data: Path, target: Path, files: list[str], ahead: dict[str, BinaryIO], copied: dict[str, FileEntry]
) -> list[str]:
    """Copy `files` (``<board_id>/<file>``) from `data` to `target`, into `copied`; answer those gone."""
    missing: list[str] = []
    for file in files:
        _check_member(file)
        reader = ahead.pop(file, None)
        if reader is None:
            try:
                reader = open(data / file, "rb")  # noqa: SIM115 (closed just below)
            except FileNotFoundError:
                missing.append(file)
                continue
        with reader:
            copied[file] = copy_stream(reader, target / file)
    return missing


def _check_member(file: str) -> None:
    if not is_member_name(f"{DATA_DIR}/{file}", KEY_NAMES):
        raise BackupError(f"the database names a data file at an unexpected path: {file!r}")


def restore_workspace(source: Path, target: Path) -> Manifest:
    """Bring the backup at `source` back as a new workspace at `target` (absent, or an empty directory)."""
    source = source.expanduser().resolve()
    target = target.expanduser().resolve()
    manifest = read_manifest(source, KEY_NAMES)
    newest = max(version for version, _, _ in MIGRATIONS)
    if manifest.schema_version > newest:
        raise BackupError(
            f"the backup's database is of schema version {manifest.schema_version}, "
            f"newer than this Ballast knows ({newest}): restore it with a newer Ballast"
        )
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: restore into a new or empty directory")
    if target == source or source in target.parents:
        raise BackupError(f"restore the workspace outside the backup: {target} is inside {source}")
    if not target.parent.is_dir():
        raise BackupError(f"no directory {target.parent} to restore into")
    try:
        with _staging(target, "restoring") as staging:
            _copy_checked(source, staging, manifest)
            _check_restored(staging, manifest)
            make_private_dir(staging / DATA_DIR)
            make_private_dir(WorkspacePaths(staging).imports)
            Workspace(staging).close()  # the migrations run, as on any open
            _publish(staging, target)
    except sqlite3.Error as error:
        raise BackupError(f"the backup's database cannot be read: {error}") from None
    return manifest


def _copy_checked(source: Path, staging: Path, manifest: Manifest) -> None:
    """Copy every file the manifest lists, refusing any whose size or SHA-256 differs."""
    for name, expected in sorted(manifest.files.items()):
        try:
            copied = copy_hashed(source / name, staging / name)
        except FileNotFoundError:
            raise BackupError(f"the backup is incomplete: it lacks {name}") from None
        if copied != expected:
            raise BackupError(f"the backup is damaged: {name} is not the file its manifest lists")


def _check_restored(staging: Path, manifest: Manifest) -> None:
    """The restored database passes `PRAGMA integrity_check` and every data file it names is there."""
    problem = integrity_check(staging / DB_NAME)
    if problem != "ok":
        raise BackupError(f"the backup's database fails its integrity check: {problem}")
    missing = sorted(referenced_files_of(staging / DB_NAME) - manifest.data_files)
    if missing:
        raise BackupError(f"the backup is incomplete: {len(missing)} data file(s) missing, e.g. {missing[0]}")


@contextmanager
def _staging(final: Path, purpose: str) -> Iterator[Path]:
    """A new private directory beside `final` to build it in; removed, with all in it, on failure."""
    staging = final.with_name(f".{final.name}.{purpose}-{random_base36(8)}")
    make_private_dir(staging)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _publish(staging: Path, final: Path) -> None:
    """Make everything in `staging` durable, then rename it to `final` in one step."""
    for directory, _, _ in os.walk(staging, topdown=False):
        fsync_dir(Path(directory))
    if final.is_dir():
        final.rmdir()  # an empty directory the caller chose (restore); refused if anything came in
    os.rename(staging, final)
    fsync_dir(final.parent)
