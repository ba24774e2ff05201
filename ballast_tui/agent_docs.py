"""What an agent reads about each tool: what it does, when to use it, what it returns, one example.

The registry's own one-line descriptions serve people (`GET /api/v1/tools`, the OpenAPI document);
these are written for a model choosing among tools, and MCP publishes them. A test checks that
every tool of the registry has one.
"""

# ruff: noqa: E501  (each example is one JSON line, as a model would send it)

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
- People work beside you. block_open before a longer edit takes the block's lock; block_close when
  done. An error `locked` names who holds a block: wait or work elsewhere, do not retry at once.
- Answers are compact: rows are cut to a few with `row_count` the total; page with
  dashboard_block_data limit/offset. Errors say which `field` was wrong and what is `accepted`.
"""

BOARD_DEFAULT_NOTE = (
    "Optional over MCP: left out, this session's working board is used (its own conversation, "
    "created when first needed, or the board it last named or created)."
)

DESCRIPTIONS: dict[str, str] = {
    "conversation_create": """\
Start a new conversation: a draft board (conv_...) that you build with blocks while you chat, and
that becomes a dashboard when saved. Use it to start a fresh piece of work; it becomes this
session's conversation and working board. You rarely need it: a conversation is created for you on
the first call that needs a board.
Returns `conversation` (id, title, kind "conversation", messages []).
Example: {"title": "Q3 revenue by region"}""",
    "conversation_add_message": """\
Record one message of the chat in a conversation's log (who said what), so the people who open the
conversation or the dashboard saved from it can follow how it was built. Use it for the user's
request and your answer, not for tool calls.
Returns `message` (id, role, content, author, created_at).
Example: {"role": "assistant", "content": "Added a daily revenue chart with a region filter."}""",
    "dashboard_list": """\
List the dashboards you may see, with id, title, your role, visibility and refresh settings. Use it
to find an existing dashboard before building a new one. Conversations are left out unless
`include_conversations` is true.
Returns `dashboards` (a list).
Example: {"include_conversations": true}""",
    "dashboard_create": """\
Create an empty private dashboard that you own, and make it this session's working board. Prefer
building in a conversation and saving it (dashboard_save_conversation); create a dashboard directly
when the user asks for one by name.
Returns `dashboard` (id, title, ...).
Example: {"title": "Sales overview"}""",
    "dashboard_save_conversation": """\
Save a conversation as a new dashboard: its blocks, layout, sources and current outputs are copied;
the conversation stays, with `saved_as` pointing to the dashboard, and the dashboard's `origin`
names the conversation. Use it when the user is happy with what you built.
Returns `dashboard` (id, title, origin).
Example: {"title": "Q3 revenue dashboard"}""",
    "dashboard_clone": """\
Copy a board (blocks, layout, sources, outputs) into a new private one that you own. Use it to
experiment on someone's dashboard without touching theirs.
Returns `dashboard` (the copy: id, title "... (Copy)", origin).
Example: {"dashboard_id": "dash_k3j9x0a1b2c3"}""",
    "dashboard_publish": """\
Publish a board as a read-only link anyone can open (displayed blocks only, no SQL), optionally
behind a password. Only the owner may. Use it when the user asks to share a link.
Returns `slug` and `publicUrl`.
Example: {"dashboard_id": "dash_k3j9x0a1b2c3", "password": "optional-secret"}""",
    "dashboard_unpublish": """\
Take a published link down: the board becomes private and the old link answers 404. Owner only.
Returns `slug` null and `publicUrl` null.
Example: {"dashboard_id": "dash_k3j9x0a1b2c3"}""",
    "dashboard_get_refresh": """\
Read a board's auto-refresh settings. Use it before changing them.
Returns `refreshEnabled`, `refreshInterval` (seconds) and `lastRefreshedAt`.
Example: {"dashboard_id": "dash_k3j9x0a1b2c3"}""",
    "dashboard_set_refresh": """\
Turn auto-refresh on or off, and set its interval: 300, 900, 3600 or 86400 seconds only. A refresh
re-reads sources and re-runs what the displayed blocks depend on.
Returns the settings: `refreshEnabled`, `refreshInterval`, `lastRefreshedAt`.
Example: {"refreshEnabled": true, "refreshInterval": 3600}""",
    "dashboard_refresh": """\
Refresh now: every displayed block and everything it depends on runs again, reading sources anew.
Use it after the data behind a connected source changed.
Returns `cascade` ({ran, reused, failed, upstream_error}: block ids) and `lastRefreshedAt`.
Example: {}""",
    "dashboard_get": """\
Read a whole board: its blocks (id, name, type, config, displayed, version, state, error, and
upstream/downstream ids; controls carry their `value`), `layout`, your `role`, visibility, `locks`
(who holds which block), a conversation's `messages`, the board's `origin`, and `explain`: for each
displayed block what it depends on, and under `affects`, for every block and source, which displayed
blocks a change to it would re-run. Use it first, and before any edit to weigh its effects.
Returns `dashboard`.
Example: {"dashboard_id": "dash_k3j9x0a1b2c3"}""",
    "dashboard_delete": """\
Delete a board for good: its blocks, runs, sources and files (the audit keeps the fact). Owner
only. The board id is always required here. Use it only when the user asks.
Returns `deleted` (the id).
Example: {"dashboard_id": "conv_k3j9x0a1b2c3"}""",
    "dashboard_add_block": """\
Add a block; it runs at once and stays hidden until dashboard_set_displayed shows it. `name` (SQL
uses it, [a-z_][a-z0-9_]*, unique in the board) defaults to e.g. sql_1. Configs by type:
sql {sql: one SELECT/WITH/FROM query reading blocks and sources by name, inputs: [control names]
whose $name it binds; a filter-daterange p also binds $p_start and $p_end as DATEs};
chart {source, kind: line|bar|scatter|area|histogram, x, y (a column or a list), title?};
table {source, columns?}; metric {source, column, format?}; markdown {text};
filter-daterange {default: "7d"|"today"|{start, end}}; param-enum {options: [...], default?}.
Returns `block` (id, name, version, state, error) and `cascade`.
Example: {"type": "sql", "name": "daily", "config": {"sql": "SELECT day, sum(amount) AS revenue FROM sales WHERE region = $region GROUP BY day ORDER BY day", "inputs": ["region"]}}""",
    "dashboard_update_block": """\
Change a block's `name` (every reader's SQL is rewritten) and/or its whole `config`; it and
everything downstream re-run. Pass `version` (the block's version you read) to be refused with
`conflict` if someone changed it since. Refused with `locked` while someone else has it open. Check
dashboard_get's `explain.affects` first to see what the change reaches.
Returns `block`, `cascade` and `rewritten` (ids of readers whose SQL changed).
Example: {"block_id": "daily", "config": {"sql": "SELECT day, sum(amount) AS revenue FROM sales GROUP BY day"}, "version": 1}""",
    "dashboard_delete_block": """\
Delete a block that nothing reads any more (refused otherwise, naming its readers); its run history
stays. Refused with `locked` while someone else has it open.
Returns `deleted` (the block id).
Example: {"block_id": "old_chart"}""",
    "dashboard_set_displayed": """\
Show a block on the grid (a new full-width row at the bottom) or hide it (out of its row). Use it
for every block people should see; helper sql blocks usually stay hidden.
Returns `layout`.
Example: {"block_id": "revenue_chart", "displayed": true}""",
    "dashboard_set_layout": """\
Replace the whole layout: `rows` is a list of rows, each {"blocks": [1 to 4 displayed block ids],
"cols": [widths summing to 12]?, "height": pixels?}. Every displayed block must appear exactly once;
hidden or unknown blocks are refused. Idempotent.
Returns `layout`.
Example: {"rows": [{"blocks": ["blk_region0000001", "blk_period0000001"], "cols": [6, 6]}, {"blocks": ["blk_chart00000001"], "height": 300}]}""",
    "dashboard_set_control": """\
Store a control's value for everyone (a param-enum option, or a date range "Nd" | "today" |
{start, end}); everything downstream re-runs. To try a value without storing it, use
dashboard_run_block with filter_overrides instead.
Returns `value` and `cascade`.
Example: {"block_id": "region", "value": "North"}""",
    "dashboard_run_block": """\
Run one block now and read its output. With `filter_overrides` ({control name or id: value}) the
values are bound for this call alone and nothing is stored: use it to check how a control drives a
block before changing anything. With `config`, a draft config runs instead of the saved one (also
stored nowhere). Without either, a `manual` run is recorded.
Returns `run` (status, error, columns, rows cut to a few, row_count; id null when not persisted).
Example: {"block_id": "daily", "filter_overrides": {"region": "South"}}""",
    "dashboard_block_data": """\
Read a block's current output (or, with `run_id`, an earlier run's): `columns`, `row_count`, and a
page of `rows` by `limit`/`offset` (few rows by default); a chart also answers its x/y `series`
reduced to at most `max_points` points that keep the shape.
Returns `run_id`, `status`, `error`, `columns`, `rows`, `row_count` (and `series`).
Example: {"block_id": "daily", "limit": 10, "offset": 0}""",
    "dashboard_runs": """\
List a block's recorded runs, newest first: status, trigger (edit, control, refresh, schedule,
manual), who ran it, row counts, durations. Use it to find two runs to compare.
Returns `runs`.
Example: {"block_id": "daily", "limit": 5}""",
    "dashboard_compare_runs": """\
Compare two runs of one block: schema changes, row counts, rows only in one, changed values. Use it
to explain what an edit or new data changed.
Returns `comparison`.
Example: {"run_id": "run_a1b2c3d4e5f6", "other_run_id": "run_f6e5d4c3b2a1"}""",
    "dashboard_set_visibility": """\
Make a board `private` or `link_view` (anyone with its link sees the displayed blocks). Owner
only; dashboard_publish is the usual way to share.
Returns `visibility`.
Example: {"dashboard_id": "dash_k3j9x0a1b2c3", "visibility": "private"}""",
    "dashboard_grant": """\
Give a user (name or id) the `editor` or `viewer` role on a board, or `none` to revoke. Owner only.
Returns `grants` (the board's grants now).
Example: {"dashboard_id": "dash_k3j9x0a1b2c3", "user": "alice", "role": "editor"}""",
    "dashboard_transfer": """\
Make another user the owner of a board; you stay on as an editor. Owner only.
Returns `owner`.
Example: {"dashboard_id": "dash_k3j9x0a1b2c3", "user": "alice"}""",
    "dashboard_audit": """\
Read a board's audit trail, newest first: who (people and agents; an agent's entry also names the
person who created it) did what, to which target, when.
Returns `events` (a few by default; more with `limit`).
Example: {"limit": 20}""",
    "dashboard_presence": """\
Who is in a board now: each session's user, kind (human or agent), the block it has open, since
when; and the current `locks`. Use it before editing to avoid blocks others are working on.
Returns `sessions` and `locks`.
Example: {}""",
    "block_open": """\
Open a block for editing: take its lock, so no one else can change it until you close it (or your
session goes quiet for 30 s). Refused with `locked`, naming the holder, when someone else has it.
Returns `lock` (block_id, holder, since).
Example: {"block_id": "daily"}""",
    "block_close": """\
Close a block you opened: release its lock so people can edit it again. Do this when done editing.
Returns `lock` null and `released` (whether you held it).
Example: {"block_id": "daily"}""",
    "catalog_list": """\
List the named tables SQL in this board can read: sources (pushed or imported data, with columns
and row counts), connected tables (NAME.schema.table) and every block's output. Use it before
writing SQL.
Returns `sources`.
Example: {}""",
    "catalog_import": """\
Import a file as a source: `content` (base64 of the file) or `path` (a file in the workspace's
imports directory on the server); `format` csv, parquet or json. Readers re-run.
Returns `source` (name, columns, row_count).
Example: {"name": "sales", "format": "csv", "content": "ZGF5LGFtb3VudAoyMDI2LTAxLTAxLDEwCg=="}""",
    "catalog_push": """\
Push a table as a source: `rows` (a list of objects, one per row, same keys) or `arrow` (base64 IPC
stream); `mode` replace (default) or append (same columns). The easiest way to bring data the user
gave you; blocks that read it re-run.
Returns `source` (name, columns with types, row_count).
Example: {"name": "sales", "rows": [{"day": "2026-01-01", "region": "North", "amount": 120.5}]}""",
    "connection_add": """\
Connect a warehouse or app database to every board's catalog (workspace administrators only):
`url` is postgresql://user:password@host:port/database, sqlite:///absolute/path.db or
duckdb:///absolute/path.duckdb. Its tables then read in SQL as NAME.schema.table. The URL is stored
encrypted and never shown again; with `check` (default true) it is added only once the database
answers. Use it only when the user gives you a connection to add.
Returns `connection` (name, driver, host, database, user; never the password).
Example: {"name": "warehouse", "url": "postgresql://reader:secret@db.internal:5432/analytics"}""",
    "connection_list": """\
List the workspace's connections (administrators only): name, driver, host, port, database, user,
who added it and how many tables it exposes; `refresh` lists the tables again.
Returns `connections`.
Example: {"refresh": false}""",
    "connection_remove": """\
Remove a connection and forget its URL (administrators only). Blocks that read its tables fail,
naming it, until a connection of that name is added again.
Returns `removed` (the name).
Example: {"name": "warehouse"}""",
    "catalog_rename": """\
Rename a source (or a block) and rewrite every block that reads it, in one change.
Returns `source` and `rewritten` (the blocks whose SQL or source changed).
Example: {"name": "sales", "new_name": "orders"}""",
}

READ_ONLY = frozenset(
    {
        "dashboard_list",
        "dashboard_get",
        "dashboard_get_refresh",
        "dashboard_block_data",
        "dashboard_runs",
        "dashboard_compare_runs",
        "dashboard_audit",
        "dashboard_presence",
        "catalog_list",
        "connection_list",
    }
)
"""Tools that change nothing (`dashboard_run_block` without overrides records a run, so it is not one)."""

DESTRUCTIVE = frozenset(
    {
        "dashboard_delete",
        "dashboard_delete_block",
        "dashboard_update_block",
        "dashboard_set_layout",
        "dashboard_set_visibility",
        "dashboard_unpublish",
        "dashboard_grant",
        "dashboard_transfer",
        "catalog_push",
        "catalog_import",
        "catalog_rename",
        "connection_remove",
    }
)
"""Tools that may overwrite or remove what is there (the rest only add)."""

IDEMPOTENT = frozenset(
    {
        "dashboard_set_layout",
        "dashboard_set_displayed",
        "dashboard_set_control",
        "dashboard_set_refresh",
        "dashboard_set_visibility",
        "dashboard_grant",
        "block_open",
        "block_close",
    }
)
"""Tools that, called again with the same arguments, change nothing more."""


EXPLICIT_BOARD = frozenset(
    {
        "dashboard_delete",
        "dashboard_publish",
        "dashboard_unpublish",
        "dashboard_set_visibility",
        "dashboard_grant",
        "dashboard_transfer",
    }
)
"""Owner-only tools whose board must always be named: they never fall back to the working board."""


def description(name: str, fallback: str) -> str:
    """The model-facing description of a tool (the registry's own line when none was written)."""
    return DESCRIPTIONS.get(name, fallback)
