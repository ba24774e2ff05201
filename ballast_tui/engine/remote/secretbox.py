"""Encryption at rest for connection URLs: a key file in the workspace and Fernet.

The key lives in ``<workspace>/connections.key`` (mode 0600), apart from
``ballast.db``: a copy of the database alone reveals no password. Fernet is
AES-128-CBC with an HMAC-SHA256, from `cryptography`.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ballast_tui.storage.private import open_private

KEY_FILE = "connections.key"


class SecretBoxError(Exception):
    """The workspace key cannot open a stored secret (replaced or damaged key file)."""


class SecretBox:
    """Seals and opens short secrets with the workspace's key, created on first use."""

    def __init__(self, root: Path) -> None:
        self.path = root / KEY_FILE
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    def _key(self) -> Fernet:
        with self._lock:
            if self._fernet is None:
                if not self.path.exists():
                    _create_key_file(self.path)
                self._fernet = Fernet(self.path.read_bytes().strip())
            return self._fernet

    def seal(self, secret: str) -> bytes:
        """`secret` encrypted and authenticated."""
        return self._key().encrypt(secret.encode())

    def open(self, token: bytes) -> str:
        """The secret `seal` made `token` from."""
        try:
            return self._key().decrypt(token).decode()
        except InvalidToken:
            raise SecretBoxError(
                f"the workspace key {self.path.name} cannot decrypt this connection; "
                "it was replaced or damaged: remove the connection and add it again"
            ) from None


def _create_key_file(path: Path) -> None:
    """Write a new key readable by its owner only; a key another process wrote first wins."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open_private(temporary, "xb") as file:
        file.write(Fernet.generate_key())
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(temporary, path)  # atomic, and refuses to replace a key that exists
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
