"""Files people import: which extensions mean which format, and the one rule for a source's name.

The command line, the terminal app and the `catalog_import` tool all use these,
so a file gets the same format and the same source name whichever door it came
through.

The name rule (`source_name`): lower-case the text, turn every run of
characters other than ``a-z``, ``0-9`` into one ``_``, trim ``_`` at both ends,
put ``_`` before a leading digit (``2026-sales.csv`` is source ``_2026_sales``),
and keep at most 63 characters; text with no letter or digit at all gives
``data``. A name that is already valid is left as it is.
"""

from __future__ import annotations

import re
from pathlib import Path

from ballast_tui.engine.blocks import MAX_NAME_LENGTH

IMPORT_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "tsv",
    ".tsv.gz": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".xlsx": "xlsx",
}
"""Every extension an import accepts (case-insensitive), and the format it is read as."""

FORMATS = ("csv", "tsv", "parquet", "json", "xlsx")
"""The formats `catalog_import` reads."""

ACCEPTED = ", ".join(IMPORT_FORMATS)
"""The accepted extensions, as an error message lists them."""

FALLBACK_NAME = "data"


def import_suffix(path: Path | str) -> str:
    """The file's import extension: the last one, or the last two for a gzipped file (``.csv.gz``)."""
    name = Path(path).name.lower()
    for suffix in sorted(IMPORT_FORMATS, key=len, reverse=True):
        if name.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return "".join(Path(name).suffixes[-2:]) if name.endswith(".gz") else Path(name).suffix


def format_for(path: Path | str) -> str | None:
    """The format a file is imported as, from its extension; None when no import accepts it."""
    return IMPORT_FORMATS.get(import_suffix(path))


def unsupported(path: Path | str) -> str:
    """The error for a file whose extension no import accepts: it names the file and every accepted one."""
    return f"cannot import {Path(path).name}: the file must end in one of {ACCEPTED}"


def stem_of(path: Path | str) -> str:
    """The file's name without its import extension (``2026-sales.csv.gz`` -> ``2026-sales``)."""
    name = Path(path).name
    suffix = import_suffix(name)
    return name[: -len(suffix)] if suffix and name.lower().endswith(suffix) else Path(name).stem


def source_name(text: str, fallback: str = FALLBACK_NAME) -> str:
    """`text` made a source name by the rule in this module's doc (``[a-z_][a-z0-9_]*``)."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if re.fullmatch(r"[a-z_][a-z0-9_]*", text) and len(text) <= MAX_NAME_LENGTH:
        name = text  # already a name: kept, underscores and all
    if not name:
        return fallback
    if name[0].isdigit():
        name = "_" + name
    return name[:MAX_NAME_LENGTH]


def source_name_for(path: Path | str, sheet: str | None = None) -> str:
    """The source name a file (or one sheet of a workbook) is imported as by default."""
    stem = stem_of(path)
    return source_name(f"{stem}_{sheet}" if sheet else stem)
