"""`ballast_tui.lazy`: a module imported on first use is imported once, and threads that use it first
at the same moment all see it whole (the engine's worker threads touch pyarrow first together)."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ballast_tui.lazy import lazy_module

SLOW_MODULE = """
import time
IMPORTS = globals().setdefault("IMPORTS", 0) + 1
time.sleep(0.2)  # a slow import: the other threads arrive while it runs
READY = "whole"
"""


def test_threads_using_a_lazy_module_first_together_all_see_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ballast_slow_module.py").write_text(SLOW_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    slow = lazy_module("ballast_slow_module")
    assert "ballast_slow_module" not in sys.modules  # nothing imported yet
    try:
        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(lambda _: slow.READY, range(8)))
        assert seen == ["whole"] * 8
        assert slow.IMPORTS == 1
        assert sys.modules["ballast_slow_module"].READY == "whole"
    finally:
        sys.modules.pop("ballast_slow_module", None)


def test_a_missing_attribute_or_module_is_the_usual_error() -> None:
    assert lazy_module("json").dumps([1]) == "[1]"
    with pytest.raises(AttributeError):
        _ = lazy_module("json").no_such_thing
    with pytest.raises(ModuleNotFoundError):
        _ = lazy_module("ballast_no_such_module").anything
