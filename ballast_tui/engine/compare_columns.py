"""The two compared files and the columns they share, as SQL.

A common column is compared as its own type, or as VARCHAR when the sides
disagree on it; only non-floating, non-nested columns may serve in a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from ballast_tui.engine.errors import InvalidRequest

_FLOATING_TYPES = frozenset({"FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8"})
_NESTED_PREFIXES = ("STRUCT(", "MAP(", "UNION(")


@dataclass(frozen=True)
class Column:
    """A column present on both sides, with its DuckDB type on each."""

    name: str
    left_type: str
    right_type: str

    @property
    def retyped(self) -> bool:
        """Whether the two sides disagree on the column's type."""
        return self.left_type != self.right_type

    @property
    def compared_type(self) -> str:
        """The type the column is compared as: its own, or VARCHAR when the sides disagree."""
        return "VARCHAR" if self.retyped else self.left_type

    def compared(self, alias: str) -> str:
        """SQL for this column of table ``alias`` as it is compared."""
        ref = f"{alias}.{ident(self.name)}"
        return f"CAST({ref} AS VARCHAR)" if self.retyped else ref

    def distinct(self) -> str:
        """SQL: true when this column differs between ``l`` and ``r`` (NULL equals NULL)."""
        return f"{self.compared('l')} IS DISTINCT FROM {self.compared('r')}"

    @property
    def key_eligible(self) -> bool:
        """Whether the column may be part of the key on both sides."""
        return key_eligible(self.left_type) and key_eligible(self.right_type)


@dataclass(frozen=True)
class Sources:
    """The two files as SQL table expressions."""

    left: str
    right: str

    def side(self, side: str) -> str:
        """The table expression of ``side`` ("left" or "right")."""
        return self.left if side == "left" else self.right


def key_eligible(type_name: str) -> bool:
    """Whether a column of this DuckDB type may be part of a key: not floating, not nested."""
    upper = type_name.upper()
    # LIST and ARRAY types print as "T[]" / "T[n]".
    nested = upper.endswith("]") or upper.startswith(_NESTED_PREFIXES)
    return not nested and upper not in _FLOATING_TYPES


def parquet_source(path: str) -> str:
    """SQL reading the Parquet file at ``path``; `InvalidRequest` when ``path`` is not a path."""
    if not isinstance(path, str) or not path:
        raise InvalidRequest(f"a run's output must be given as a file path, not {path!r}")
    return f"read_parquet({_literal(path)})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
