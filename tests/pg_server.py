"""A real PostgreSQL server for tests and benchmarks: initdb into a temporary directory, started on
a free port, stopped and removed at the end.

The server binaries come from the system (Debian/Ubuntu: ``apt-get install -y postgresql``, which
puts them in /usr/lib/postgresql/<version>/bin); `$BALLAST_PG_BIN` may name another directory.
PostgreSQL refuses to run as root: when the tests run as root, the server runs as the
`$BALLAST_PG_USER` account (default ``postgres`` if it exists, else ``nobody``), in a directory
owned by that account.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

SUPERUSER = "ballast_admin"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, postgres) were not found in /usr/lib/postgresql/*/bin, "
    "$BALLAST_PG_BIN or PATH. Install them: `apt-get install -y postgresql` (see .ci/run)."
)


class PostgresMissing(RuntimeError):
    """The server binaries are not installed."""


def find_binaries() -> Path:
    """The directory holding initdb and postgres (newest version first)."""
    candidates = [os.environ.get("BALLAST_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").is_file() and (Path(candidate) / "postgres").is_file():
            return Path(candidate)
    raise PostgresMissing(INSTALL_HINT)


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.name)
    except ValueError:
        return 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_as() -> str | None:
    """The account to run the server as: None for the current one, unless it is root."""
    if os.geteuid() != 0:
        return None
    wanted = os.environ.get("BALLAST_PG_USER")
    for name in ([wanted] if wanted else []) + ["postgres", "nobody"]:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise PostgresMissing("running as root, and no account (postgres, nobody) to run PostgreSQL as")


class PostgresServer:
    """One throw-away cluster: ``start()``, `url()`, `execute()`, ``stop()``."""

    def __init__(self, superuser_password: str = "admin-pw-not-the-secret") -> None:
        self.bin = find_binaries()
        self.user = _run_as()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="ballast-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.superuser_password = superuser_password
        self.process: subprocess.Popen[bytes] | None = None
        self._admin: Any = None

    def _subprocess_user(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        entry = pwd.getpwnam(self.user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def start(self, **settings: str) -> PostgresServer:
        """initdb, then the server on 127.0.0.1:port with `settings` (``-c name=value``); wait until ready."""
        password_file = self.root / "pw"
        password_file.write_text(self.superuser_password + "\n")
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            for path in (self.root, password_file):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                SUPERUSER,
                f"--pwfile={password_file}",
                "-A",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            **self._subprocess_user(),
        )
        password_file.unlink()
        options = {
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "log_statement": "all",
            "log_min_messages": "warning",
            "max_connections": "60",
            **settings,
        }
        command = [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        command += ["-k", str(self.root), "-h", "127.0.0.1"]
        for name, value in options.items():
            command += ["-c", f"{name}={value}"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=log, start_new_session=True, **self._subprocess_user()
            )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        import adbc_driver_postgresql.dbapi as postgresql

        deadline = time.monotonic() + timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited at start:\n{self.log_text()[-3000:]}")
            try:
                self._admin = postgresql.connect(
                    self.url(SUPERUSER, self.superuser_password), autocommit=True
                )
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def url(self, user: str, password: str, database: str = "postgres") -> str:
        from urllib.parse import quote

        return (
            f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"
        )

    def execute(self, *statements: str, quiet: bool = False) -> list[tuple[Any, ...]]:
        """Run statements as the superuser (`quiet`: kept out of the statement log); the last one's rows."""
        rows: list[tuple[Any, ...]] = []
        cursor = self._admin.cursor()
        try:
            if quiet:
                cursor.execute("SET log_statement = 'none'")
            for statement in statements:
                cursor.execute(statement)
                rows = cursor.fetchall() if cursor.description else []
        finally:
            if quiet:
                cursor.execute("RESET log_statement")
            cursor.close()
        return rows

    def create_role(self, name: str, password: str) -> None:
        """A login role (its password kept out of the server's log) that may read every table."""
        self.execute(
            f"CREATE ROLE {name} LOGIN PASSWORD '{password.replace(chr(39), chr(39) * 2)}'",
            f"GRANT pg_read_all_data TO {name}",
            quiet=True,
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Fast shutdown (open sessions are ended), then remove everything."""
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)
