"""What an agent reads about Ballast as a whole: the MCP server's instructions.

What it reads about each tool (what it does, when to use it, what it returns, one example) is
declared with the tool, at registration (`Tool.for_agents`).
"""

from __future__ import annotations

INSTRUCTIONS = """\
Ballast is a reactive dashboard tool shared by people and agents. A board is a dashboard (dash_...)
or a conversation (conv_...): a draft board you build up while you chat, then save as a dashboard.
A board holds blocks wired into a graph: sql blocks read sources and other blocks by name, charts,
tables and metrics show a block or source, controls (filter-daterange, param-enum) bind $values in
SQL. Changing a block, a control or a source re-runs it and everything downstream, and everyone in
the board sees the change live.

Working here:
- You work in a conversation of your own unless you name a board: leave `dashboard_id` (or
  `conversation_id`) out and the session's working board is used (a conversation, created when first
  needed). Naming a board, or creating one, makes it the working board. Owner-only tools (delete,
  publish, unpublish, visibility, grant, transfer) always need the board named.
- Typical build: catalog_push (data) -> dashboard_add_block type sql -> type chart/table/metric ->
  controls -> dashboard_set_displayed for each block to show -> dashboard_set_layout ->
  conversation_add_message to record the chat -> dashboard_save_conversation.
- Before you change something, dashboard_get's `explain` says which displayed blocks it reaches.
  dashboard_run_block with filter_overrides tries control values without storing anything.
- dashboard_render draws a board (or one block, with block_id) as text, as people see it: use it to
  look at a chart or table you just made.
- People work beside you. block_open before a longer edit takes the block's lock; block_close when
  done. An error `locked` names who holds a block: wait or work elsewhere, do not retry at once.
- Answers are compact: rows are cut to a few with `row_count` the total; page with
  dashboard_block_data limit/offset. Errors say which `field` was wrong and what is `accepted`.
"""

BOARD_DEFAULT_NOTE = (
    "Optional over MCP: left out, this session's working board is used (its own conversation, "
    "created when first needed, or the board it last named or created)."
)
