"""A module imported on its first use, for the few heavy ones a first paint does not need.

Drawing a board from kept answers reads no Parquet, so pyarrow (about 25 ms to
import) loads when the engine first touches an Arrow table, not with the
engine's modules. A module that uses one writes::

    if TYPE_CHECKING:
        import pyarrow as pa
    else:
        pa = lazy_module("pyarrow")

so type checking sees the real module. Unlike `importlib.util.LazyLoader`
(not thread-safe before Python 3.12), the first use from any thread goes
through the import system's own lock.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _LazyModule:
    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_module(name: str) -> Any:
    """The module `name`, imported when one of its attributes is first read."""
    return _LazyModule(name)
