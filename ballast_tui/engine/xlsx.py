"""Excel workbooks (``.xlsx``) read into Arrow with python-calamine, one sheet at a time.

A sheet's first row names its columns (an empty header cell becomes
``column_N``, a repeated one gets ``_2``, ``_3``…); the rows below are its data.
Each column keeps the type its cells have (numbers, text, dates, booleans);
a column whose cells mix types becomes text. Empty cells are nulls.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from ballast_tui.engine.errors import InvalidRequest


def _workbook(path: Path, shown: str) -> Any:
    """The workbook, read from its content (whatever its file is called: a staged copy may not end in
    .xlsx)."""
    from python_calamine import CalamineWorkbook

    try:
        with open(path, "rb") as file:
            return CalamineWorkbook.from_filelike(file)
    except Exception as error:  # calamine raises its own errors (zip, XML, not a workbook)
        text = " ".join(str(error).replace(str(path), shown).split())
        raise InvalidRequest(f"{shown} is not an Excel workbook (.xlsx) that can be read: {text}") from None


def sheet_names(path: Path, shown: str | None = None, *, with_data: bool = False) -> list[str]:
    """The names of the workbook's sheets, in order (`shown`: how errors name the file); `with_data`:
    only those with at least one cell (a workbook's blank ``Sheet2`` is no table)."""
    with _workbook(path, shown or path.name) as book:
        names = list(book.sheet_names)
        if with_data:
            names = [name for name in names if book.get_sheet_by_name(name).height > 0]
        return names


def _column_names(header: list[Any]) -> list[str]:
    names: list[str] = []
    for position, cell in enumerate(header, start=1):
        base = _text(cell).strip() or f"column_{position}"
        name, count = base, 1
        while name in names:
            count += 1
            name = f"{base}_{count}"
        names.append(name)
    return names


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _column(values: list[Any]) -> pa.Array:
    cells = [None if value == "" else value for value in values]
    try:
        return pa.array(cells)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if cell is None else _text(cell) for cell in cells], pa.string())


def read_sheet(path: Path, sheet: str | None, shown: str | None = None) -> pa.Table:
    """Sheet `sheet` of the workbook at `path` (None: the first) as an Arrow table; `InvalidRequest`,
    naming the file as `shown`, for a file that is not a workbook, a missing sheet or an empty one."""
    shown = shown or path.name
    with _workbook(path, shown) as book:
        names = list(book.sheet_names)
        if not names:
            raise InvalidRequest(f"{shown} has no sheets")
        name = names[0] if sheet is None else sheet
        if name not in names:
            raise InvalidRequest(
                f"{shown} has no sheet {name!r}; its sheets are {', '.join(map(repr, names))}"
            )
        try:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=True)
        except Exception as error:
            raise InvalidRequest(f"cannot read sheet {name!r} of {shown}: {error}") from None
    rows = [row for row in rows if any(cell not in ("", None) for cell in row)]
    if not rows:
        raise InvalidRequest(f"sheet {name!r} of {shown} is empty")
    header, body = rows[0], rows[1:]
    width = max(len(row) for row in rows)
    header = list(header) + [""] * (width - len(header))
    columns = [[row[i] if i < len(row) else "" for row in body] for i in range(width)]
    return pa.table(dict(zip(_column_names(header), (_column(c) for c in columns), strict=True)))
