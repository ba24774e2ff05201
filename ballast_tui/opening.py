"""Opening a workspace for a client (the app, a command, an agent): the one place that decides between
joining the server that serves it and opening its files here.

`open_backend` looks at the workspace's server lock (`ballast_tui.server_lock`):

- held, and its `server.json` names an address that answers: join that server
  (as the user of the token given, else the local OS user's account, with a
  token minted for this client and revoked when it is done);
- held, but nobody answers yet (a server starting) or any more (one exiting):
  wait a little, then join it or, once the lock is free, go on;
- free: nobody serves the workspace. A client that means to serve it (the
  app) takes the lock first, then opens the files; any other client opens the
  files without serving. A `server.json` left behind by a dead server is
  ignored and replaced, never a reason to fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ballast_tui.backend import Backend, LocalBackend
from ballast_tui.config import Settings, WorkspacePaths, read_server_json
from ballast_tui.engine.signing import workspace_secret
from ballast_tui.engine.users import Users
from ballast_tui.engine.workspace import Workspace
from ballast_tui.server_lock import ServerLock, held
from ballast_tui.storage.db import Database

WAIT_FOR_SERVER_S = 10.0
"""How long a client waits for a server that holds the workspace but does not answer (starting,
or exiting) before it gives up (or, when the server left, goes on without it)."""
POLL_S = 0.1


@dataclass
class Opened:
    """A backend `open_backend` chose, and what to undo when done with it."""

    backend: Backend
    workspace: Workspace | None
    """The workspace, when it was opened here (no server runs it)."""
    url: str | None
    """The server's address, when the backend reaches one."""
    _undo: list[Callable[[], None]] = dataclasses.field(default_factory=list)

    def close(self) -> None:
        """Forget a token minted for this client, close a workspace opened for it, let the lock go."""
        for undo in reversed(self._undo):
            with contextlib.suppress(Exception):
                undo()
        self._undo.clear()


def answers(info: dict[str, object], timeout: float = 1.0) -> bool:
    """Whether something accepts connections at the address a `server.json` names."""
    url = urlsplit(str(info.get("url", "")))
    port = info.get("port", url.port)
    if not url.hostname or not isinstance(port, int):
        return False
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def open_backend(
    root: Path,
    token: str | None,
    *,
    client: str,
    session_id: str | None = None,
    serve: bool = False,
    wait_s: float = WAIT_FOR_SERVER_S,
    settings: Settings | None = None,
) -> Opened:
    """The backend for a client of the workspace at `root` (see the module's doc). With `serve`, a
    client that opens the files here holds the workspace's server lock until `close` (it is to start
    the server); it opens them with `settings` (default: the contract's defaults). Raises
    `Unauthorized` for a bad token, `OSError` when a server holds the workspace
    but never answers."""
    paths = WorkspacePaths(root)
    lock = ServerLock(root)
    deadline = time.monotonic() + wait_s
    while True:
        if paths.db.exists() and held(root) and not lock.owned:
            info = read_server_json(paths)
            if info is not None and answers(info):
                try:
                    return _join(paths, str(info["url"]), token, client, session_id)
                except OSError:
                    # It answered, then stopped (a server exiting as we came): wait for the lock or
                    # for the next server, as for one that does not answer.
                    if time.monotonic() >= deadline:
                        raise
        elif not serve or lock.acquire(patience_s=0):
            break
        if time.monotonic() >= deadline:
            raise OSError(f"a server holds {root} but does not answer (waited {wait_s:.0f} s)")
        time.sleep(POLL_S)
    undo: list[Callable[[], None]] = [lock.release] if lock.owned else []
    try:
        ws = Workspace(root, settings)
    except BaseException:
        lock.release()
        raise
    undo.append(ws.close)
    try:
        user = ws.users.authenticate(token) if token else ws.users.local()
    except BaseException:
        for step in reversed(undo):
            step()
        raise
    return Opened(LocalBackend(ws, user, client=client, session_id=session_id), ws, None, undo)


def _join(paths: WorkspacePaths, url: str, token: str | None, client: str, session_id: str | None) -> Opened:
    from ballast_tui.remote import RemoteBackend

    undo: list[Callable[[], None]] = []
    if token is None:
        users = _users(paths)
        try:
            token = minted = users.add_token(users.local().id, "session")
        finally:
            users.db.close()
        undo.append(lambda: _revoke(paths, minted))
    # On the server's box (this user may write its workspace), files to import are staged there.
    staging = paths.imports if os.access(paths.root, os.W_OK) else None
    remote = RemoteBackend(url, token, client=client, session_id=session_id, staging=staging)
    opened = Opened(remote, None, url, undo)
    try:
        asyncio.run(remote.start())
    except BaseException:
        opened.close()
        raise
    return opened


def _users(paths: WorkspacePaths) -> Users:
    return Users(Database(paths.db), lambda: workspace_secret(paths.secret))


def _revoke(paths: WorkspacePaths, token: str) -> None:
    users = _users(paths)
    try:
        users.revoke(token)
    finally:
        users.db.close()
