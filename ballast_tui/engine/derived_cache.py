"""Small answers derived from inputs that never change, kept on disk for the next process.

Some answers cost far more to compute than to keep: what a SQL text reads
(parsing it loads sqlglot and its DuckDB dialect) and a chart's reduced series
over a stored output (a DuckDB query over the whole file). Their inputs never
change under a key (a SQL text, an output's content hash), so the answer
computed once stays right forever; keeping it lets a board that was drawn
before be drawn again without loading the SQL parser or DuckDB at all (the
app's first paint).

One small JSON file per answer, `cache/<kind>/<digest>.json`, written through a
rename: a process that dies mid-write leaves a file that fails to read, which
is a miss. The file holds its whole key, so a digest that matched another key
is a miss too. Files are owner-only, like the rest of the workspace, and bounded
in number and size (the oldest go first; a large answer is not kept). Only callers that already checked the
caller's access to what the key names read or write here.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import threading
from pathlib import Path
from typing import Any

from ballast_tui import __version__
from ballast_tui.storage.private import make_dirs, open_private

MAX_ENTRIES = 2048
"""Answers kept per kind; past that, the least recently written go."""
MAX_ANSWER_BYTES = 128 * 1024
"""A larger answer is not kept (it is cheap next to what made it): a kind holds 256 MB at most."""
PRUNE_EVERY = 64
"""Writes between two counts of a kind's files."""


def code_id(*modules: str) -> str:
    """Which code derived an answer, for its key: this version of Ballast and the installed files of
    `modules` (dotted names, found and not imported; their modification times), so an upgrade, or
    a change to the code, never serves an answer the new code would not give. Finding a submodule
    imports its package: another project's code is named by its top-level package."""
    parts = [__version__]
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None and spec.origin else ""
        parts.append(f"{origin}@{os.stat(origin).st_mtime_ns if origin else 0}")
    return "|".join(parts)


class DerivedCache:
    """Answers by kind and key, in files under `directory`."""

    def __init__(self, directory: Path, max_entries: int = MAX_ENTRIES) -> None:
        self.directory = directory
        self.max_entries = max_entries
        self._writes = 0
        self._lock = threading.Lock()

    def _path(self, kind: str, key: str) -> Path:
        digest = hashlib.sha256(f"{kind}\0{key}".encode()).hexdigest()[:40]
        return self.directory / kind / f"{digest}.json"

    def get(self, kind: str, key: str) -> Any | None:
        """The answer kept for `key`, or None (never kept, unreadable, or another key's)."""
        try:
            with open(self._path(kind, key), "rb") as file:
                kept = json.load(file)
        except (OSError, ValueError):
            return None
        if not isinstance(kept, dict) or kept.get("key") != key:
            return None
        return kept.get("value")

    def put(self, kind: str, key: str, value: Any) -> None:
        """Keep `value` (JSON) for `key`. A failure to write is ignored: it is only a cache."""
        encoded = json.dumps({"key": key, "value": value}, separators=(",", ":")).encode()
        if len(encoded) > MAX_ANSWER_BYTES:
            return
        path = self._path(kind, key)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            make_dirs(path.parent)
            with open_private(temporary) as file:
                file.write(encoded)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()
            return
        with self._lock:
            self._writes += 1
            due = self._writes % PRUNE_EVERY == 0
        if due:
            self.prune(kind)

    def prune(self, kind: str) -> None:
        """Remove the oldest answers of `kind` past `max_entries`."""
        with contextlib.suppress(OSError):
            entries = list(os.scandir(self.directory / kind))
            if len(entries) <= self.max_entries:
                return
            entries.sort(key=lambda entry: entry.stat().st_mtime_ns)
            for entry in entries[: len(entries) - self.max_entries]:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
