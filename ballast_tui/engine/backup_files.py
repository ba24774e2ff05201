"""The files of a backup: private copies hashed on the way, and the manifest that lists them.

A backup directory holds the workspace's files under their workspace paths
(``ballast.db``, ``data/<board_id>/<file>``, the key files) and
``manifest.json``: the format and its version, when and from where it was
taken, the schema version and row counts of the database, and the size and
SHA-256 of every file. Restore copies only the files the manifest lists,
checking each hash as it copies.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeGuard

FORMAT = "ballast-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
DB_NAME = "ballast.db"
DATA_DIR = "data"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_CHUNK = 1 << 20
_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}"  # no leading dot: never ".", ".." or hidden
_DATA_MEMBER = re.compile(rf"{DATA_DIR}/{_SEGMENT}/{_SEGMENT}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why, in one line."""


@dataclass(frozen=True)
class FileEntry:
    """One file of a backup: its size in bytes and the SHA-256 of its content."""

    sha256: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "bytes": self.size}


@dataclass(frozen=True)
class Manifest:
    """What a backup holds (`manifest.json`)."""

    ballast_version: str
    created_at: str
    workspace: str
    schema_version: int
    counts: dict[str, int]
    files: dict[str, FileEntry]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "ballast_version": self.ballast_version,
            "created_at": self.created_at,
            "workspace": self.workspace,
            "schema_version": self.schema_version,
            "counts": self.counts,
            "files": {name: entry.to_json() for name, entry in sorted(self.files.items())},
        }

    @property
    def data_files(self) -> set[str]:
        """The data files listed, as ``<board_id>/<file>`` (the database's own spelling)."""
        prefix = DATA_DIR + "/"
        return {name[len(prefix) :] for name in self.files if name.startswith(prefix)}


def is_member_name(name: str, key_names: tuple[str, ...]) -> bool:
    """Whether `name` is a path a backup may hold: the database, a key file, or ``data/<board>/<file>``."""
    return name == DB_NAME or name in key_names or _DATA_MEMBER.fullmatch(name) is not None


def make_private_dir(path: Path) -> None:
    """Create the directory `path` (and its missing parents inside a backup), 0700 whatever the umask."""
    if path.is_dir():
        return
    if not path.parent.exists():
        make_private_dir(path.parent)
    path.mkdir(mode=PRIVATE_DIR)
    path.chmod(PRIVATE_DIR)


def _create_private(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    return fd


def copy_hashed(source: Path, target: Path) -> FileEntry:
    """Copy `source` to the new file `target` (0600, fsynced), hashing the bytes as they pass."""
    with open(source, "rb") as reader:
        return copy_stream(reader, target)


def copy_stream(reader: BinaryIO, target: Path) -> FileEntry:
    """Copy an open file to the new file `target` (0600, fsynced), hashing the bytes as they pass."""
    make_private_dir(target.parent)
    digest = hashlib.sha256()
    size = 0
    with os.fdopen(_create_private(target), "wb") as writer:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return FileEntry(digest.hexdigest(), size)


def hash_file(path: Path) -> FileEntry:
    """The size and SHA-256 of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as reader:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return FileEntry(digest.hexdigest(), size)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Write `manifest.json` (0600, fsynced): the last file of a backup."""
    text = json.dumps(manifest.to_json(), indent=2) + "\n"
    with os.fdopen(_create_private(directory / MANIFEST_NAME), "w", encoding="utf-8") as writer:
        writer.write(text)
        writer.flush()
        os.fsync(writer.fileno())


def read_manifest(directory: Path, key_names: tuple[str, ...]) -> Manifest:
    """The manifest of the backup at `directory`; `BackupError` when it is not one this release reads."""
    path = directory / MANIFEST_NAME
    if not directory.exists():
        raise BackupError(f"{directory} is not a backup: no such directory")
    if not directory.is_dir():
        raise BackupError(f"{directory} is not a backup: it is not a directory")
    if not path.is_file():
        raise BackupError(f"{directory} is not a Ballast backup: it has no {MANIFEST_NAME}")
    try:
        value = json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        raise BackupError(f"{path} is damaged: it is not valid JSON") from None
    return _parse(value, path, key_names)


def _parse(value: object, path: Path, key_names: tuple[str, ...]) -> Manifest:
    def bad(what: str) -> BackupError:
        return BackupError(f"{path} is not a Ballast backup manifest: {what}")

    if not isinstance(value, dict) or value.get("format") != FORMAT:
        raise bad(f"its format is not {FORMAT!r}")
    version = value.get("version")
    if not _is_int(version) or version < 1:
        raise bad("it has no format version")
    if version > FORMAT_VERSION:
        raise BackupError(
            f"{path} is of backup format {version}, newer than this Ballast reads; upgrade first"
        )
    texts = {key: value.get(key) for key in ("ballast_version", "created_at", "workspace")}
    if not all(isinstance(text, str) for text in texts.values()):
        raise bad("ballast_version, created_at and workspace must be strings")
    schema_version, counts, files = value.get("schema_version"), value.get("counts"), value.get("files")
    if not _is_int(schema_version):
        raise bad("schema_version must be an integer")
    if not isinstance(counts, dict) or not all(_is_int(n) for n in counts.values()):
        raise bad("counts must map names to integers")
    if not isinstance(files, dict) or DB_NAME not in files:
        raise bad(f"its files must include {DB_NAME}")
    entries: dict[str, FileEntry] = {}
    for name, entry in files.items():
        if not is_member_name(name, key_names):
            raise bad(f"it lists a file {name!r} a workspace does not hold")
        if not isinstance(entry, dict) or not _is_int(entry.get("bytes")):
            raise bad(f"the entry of {name} has no size")
        digest = entry.get("sha256")
        if not isinstance(digest, str) or _SHA256.fullmatch(digest) is None:
            raise bad(f"the entry of {name} has no SHA-256")
        entries[name] = FileEntry(digest, entry["bytes"])
    return Manifest(
        str(texts["ballast_version"]),
        str(texts["created_at"]),
        str(texts["workspace"]),
        schema_version,
        dict(counts),
        entries,
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
