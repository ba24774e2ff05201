"""One form per block type, editing that type's config (CONTRACT §2): `form_for` picks it.

Attributes down: a form is built from the block's config and a `BoardContext`
(the tables it may read, with their columns, and the board's controls).
`config()` reads the draft back as a config dict; what the server's
validation would refuse (a missing field, a bad value) is left to the server,
so its message reaches the person unchanged. Only text that cannot even be
turned into a config (malformed JSON) raises `ValueError` here.

The forms are in `source_forms` (chart, table, metric) and `text_forms` (SQL,
Markdown, the controls), on the base in `form_base`.
"""

from __future__ import annotations

from typing import Any

from ballast_tui.widgets.board_context import BoardContext
from ballast_tui.widgets.form_base import ConfigForm
from ballast_tui.widgets.source_forms import ChartForm, MetricForm, TableForm
from ballast_tui.widgets.text_forms import DateRangeForm, EnumForm, MarkdownForm, SqlForm

FORMS: dict[str, type[ConfigForm]] = {
    form.block_type: form
    for form in (SqlForm, ChartForm, TableForm, MetricForm, MarkdownForm, DateRangeForm, EnumForm)
}


def form_for(block: dict[str, Any], board: BoardContext) -> ConfigForm:
    """The form editing `block`'s config."""
    return FORMS[block["type"]](block["config"], board)
