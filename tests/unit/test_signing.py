"""The workspace's signing key and its signatures (the published page's cookies and forms)."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from ballast_tui.engine.signing import sign, verify, workspace_secret


def test_the_key_is_made_once_owner_only_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    key = workspace_secret(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert workspace_secret(path) == key
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_processes_racing_to_make_the_key_agree(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(workspace_secret(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(keys)) == 1


def test_a_truncated_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="too short"):
        workspace_secret(path)


def test_a_signature_holds_for_its_parts_and_key_only() -> None:
    key, other = b"k" * 32, b"o" * 32
    signature = sign(key, "access", "dash_1", "slug", "3")
    assert verify(key, signature, "access", "dash_1", "slug", "3")
    assert not verify(other, signature, "access", "dash_1", "slug", "3")
    assert not verify(key, signature, "access", "dash_1", "slug", "4")
    # Parts are joined unambiguously: moving a boundary changes the signature.
    assert not verify(key, signature, "access", "dash_1s", "lug", "3")
    assert not verify(key, signature + "x", "access", "dash_1", "slug", "3")


def test_a_part_with_the_separator_cannot_be_signed_or_verified() -> None:
    with pytest.raises(ValueError):
        sign(b"k" * 32, "a\x1fb")
    assert not verify(b"k" * 32, "anything", "a\x1fb")
