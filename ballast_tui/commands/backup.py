"""`ballast backup DEST` and `ballast restore SRC DIR`: the workspace copied while it serves; brought back.

Both work on the files, not through a server: a backup is taken beside a running
server (SQLite's online backup, see `ballast_tui.engine.backup`), and a restore
makes a new workspace that nothing serves yet.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ballast_tui.commands import fail, workspace_of
from ballast_tui.engine.backup import BackupError, Manifest, backup_workspace, restore_workspace


def run_backup(args: argparse.Namespace) -> int:
    """`ballast backup DEST`: a consistent copy of the workspace in the new directory DEST."""
    dest = Path(args.dest)
    try:
        manifest = backup_workspace(workspace_of(args), dest)
    except (BackupError, OSError) as error:
        return fail(_one_line(error))
    print(f"backed up {manifest.workspace} to {dest.expanduser().resolve()}: {_summary(manifest)}")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """`ballast restore SRC DIR`: the backup at SRC as a new workspace at DIR (new, or an empty directory)."""
    target = Path(args.dir).expanduser().resolve()
    try:
        manifest = restore_workspace(Path(args.src), target)
    except (BackupError, OSError) as error:
        return fail(_one_line(error))
    print(f"restored the backup of {manifest.created_at} to {target}: {_summary(manifest)}")
    print(f"open it with: ballast --workspace {target}")
    return 0


def _summary(manifest: Manifest) -> str:
    counts = manifest.counts
    size = sum(entry.size for entry in manifest.files.values())
    parts = [f"{name} {counts.get(name, 0)}" for name in ("boards", "blocks", "runs", "sources", "users")]
    return f"{', '.join(parts)}, data files {counts.get('data_files', 0)}, {size / 1e6:.1f} MB"


def _one_line(error: Exception) -> str:
    """An error's message on one line (an OSError's own text names the path)."""
    return " ".join(str(error).split())
