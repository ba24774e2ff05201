"""The contract's access table (sections 5 and 10), walked tool by tool for every kind of caller.

Every registered tool × every caller (anonymous, a user with no role, a viewer,
an editor, the owner, an administrator with no grant) × the board's own ids and
another board's ids. What each may do comes from `CONTRACT` below, written from
the contract, not from the code: a tool whose declared role disagrees with it,
or a tool the table does not know, fails `test_every_tool_declares_the_role_the_contract_gives_it`.

The other board belongs to the same owner, so any refusal there is about the
id, never about the caller's role on it: another board's block, run or source
answers 404 `not_found`, changes nothing, and nothing of the other board
appears in any answer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.context import Context
from ballast_tui.engine.errors import Forbidden, InvalidRequest, NotFound, ToolError, Unauthorized
from ballast_tui.engine.users import User
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import Args, Registry, load_registry

CALLERS = ("anonymous", "none", "viewer", "editor", "owner", "admin")
RANK = {"none": 0, "viewer": 1, "editor": 2, "owner": 3}

# The least role each tool needs, as the contract words it. `link`: anyone with a published
# board's URL; `user`: any account; `admin`: an administrator (no role on any board by that).
CONTRACT: dict[str, str] = {
    "conversation_create": "user",
    "dashboard_create": "user",
    "dashboard_list": "user",
    "dashboard_get": "viewer",
    "dashboard_get_refresh": "viewer",
    "dashboard_block_data": "viewer",
    "dashboard_runs": "viewer",
    "dashboard_compare_runs": "viewer",
    "dashboard_audit": "viewer",
    "catalog_list": "viewer",
    "dashboard_presence": "viewer",
    "dashboard_clone": "viewer",
    "block_close": "viewer",
    "dashboard_save_conversation": "viewer",
    "export_block": "viewer",
    "dashboard_render": "viewer",
    "dashboard_versions": "viewer",
    "dashboard_version_diff": "viewer",
    "dashboard_restore": "editor",
    "dashboard_run_block": "viewer|editor",  # overrides alone: viewer; a recorded run: editor
    "dashboard_add_block": "editor",
    "dashboard_update_block": "editor",
    "dashboard_delete_block": "editor",
    "dashboard_set_displayed": "editor",
    "dashboard_set_layout": "editor",
    "dashboard_move_block": "editor",
    "dashboard_resize_block": "editor",
    "dashboard_set_control": "editor",
    "dashboard_refresh": "editor",
    "dashboard_set_refresh": "editor",
    "block_open": "editor",
    "catalog_import": "editor",
    "catalog_push": "editor",
    "catalog_rename": "editor",
    "conversation_add_message": "editor",
    "dashboard_set_visibility": "owner",
    "dashboard_publish": "owner",
    "dashboard_unpublish": "owner",
    "dashboard_set_public_options": "owner",
    "dashboard_grant": "owner",
    "dashboard_transfer": "owner",
    "dashboard_delete": "owner",
    "connection_add": "admin",
    "connection_list": "admin",
    "connection_remove": "admin",
    "connection_grant": "admin",
    "connection_revoke": "admin",
    "user_list": "admin",
    "user_add": "admin",
    "user_remove": "admin",
    "workspace_audit": "admin",
    "user_tokens": "user",
    "user_token_create": "user",
    "user_token_revoke": "user",
    "public_dashboard": "link",
    "public_answer_key": "link",
    "public_page": "link",
    "public_unlock": "link",
    "public_board_view": "link",
    "public_block_data": "link",
    "public_block_csv": "link",
}


@dataclass
class World:
    """A published board with a source, a control, a SQL block reading both (shown), a markdown
    leaf, two runs of the SQL block; and a conversation."""

    board: str
    conv: str
    region: str
    q: str
    note: str
    runs: tuple[str, str]
    slug: str
    source: str


Args_ = Callable[[World], dict[str, Any]]
CSV = base64.b64encode(b"day,amount\n2024-01-01,3\n").decode()


def on(**extra: Any) -> Args_:
    """Arguments naming the world's board, with values (or functions of the world) for the rest."""
    return lambda w: {"dashboard_id": w.board, **{k: v(w) if callable(v) else v for k, v in extra.items()}}


def linked(**extra: Any) -> Args_:
    return lambda w: {"slug": w.slug, **{k: v(w) if callable(v) else v for k, v in extra.items()}}


@dataclass(frozen=True)
class Case:
    """One call: the tool, its arguments with the board's own ids, whether a success changes the
    board, the role it needs (for a tool whose need depends on its arguments), and the same call with
    another board's block, run or source in place of the board's own (None: it names none)."""

    tool: str
    own: Args_
    mutates: bool = False
    needs: str | None = None
    other: Callable[[World, World], dict[str, Any]] | None = None

    @property
    def least(self) -> str:
        return self.needs or CONTRACT[self.tool]

    @property
    def id(self) -> str:
        return f"{self.tool}[{self.needs}]" if self.needs else self.tool


def swap(own: Args_, **other_ids: Callable[[World], Any]) -> Callable[[World, World], dict[str, Any]]:
    """`own`'s arguments on this board, with some ids taken from the other board."""
    return lambda w, o: {**own(w), **{key: pick(o) for key, pick in other_ids.items()}}


CASES: list[Case] = [
    Case("conversation_create", lambda w: {"title": "mine"}),
    Case("dashboard_create", lambda w: {"title": "mine"}),
    Case("dashboard_list", lambda w: {}),
    Case("dashboard_get", on()),
    Case("dashboard_get_refresh", on()),
    Case(
        "dashboard_block_data",
        on(block_id=lambda w: w.q),
        other=lambda w, o: {**on(block_id=lambda w: w.q)(w), "run_id": o.runs[0]},
    ),
    Case(
        "dashboard_runs",
        on(block_id=lambda w: w.q),
        other=swap(on(block_id=lambda w: w.q), block_id=lambda o: o.q),
    ),
    Case(
        "dashboard_compare_runs",
        on(run_id=lambda w: w.runs[0], other_run_id=lambda w: w.runs[1]),
        other=lambda w, o: {"dashboard_id": w.board, "run_id": o.runs[0], "other_run_id": o.runs[1]},
    ),
    Case("dashboard_audit", on()),
    Case("catalog_list", on()),
    Case("dashboard_presence", on()),
    Case("dashboard_clone", on()),
    Case(
        "dashboard_run_block",
        on(block_id=lambda w: w.q, filter_overrides=lambda w: {w.region: "b"}),
        needs="viewer",
        other=swap(on(block_id=lambda w: w.q, filter_overrides={}), block_id=lambda o: o.q),
    ),
    Case(
        "block_close",
        on(block_id=lambda w: w.note),
        other=swap(on(block_id=lambda w: w.note), block_id=lambda o: o.note),
    ),
    Case(
        "dashboard_save_conversation", lambda w: {"conversation_id": w.conv, "title": "Saved"}, mutates=True
    ),
    Case(
        "export_block",
        on(block_id=lambda w: w.q),
        other=swap(on(block_id=lambda w: w.q), block_id=lambda o: o.q),
    ),
    Case(
        "dashboard_render",
        on(block_id=lambda w: w.note, width=40, height=5),
        other=swap(on(block_id=lambda w: w.note), block_id=lambda o: o.note),
    ),
    Case(
        "dashboard_run_block",
        on(block_id=lambda w: w.q),
        mutates=True,
        needs="editor",
        other=swap(on(block_id=lambda w: w.q), block_id=lambda o: o.q),
    ),
    Case("dashboard_add_block", on(type="markdown", config={"text": "new"}), mutates=True),
    Case("dashboard_versions", on()),
    Case("dashboard_version_diff", on(version=1, other_version=2)),
    Case("dashboard_restore", on(version=2), mutates=True),
    Case(
        "dashboard_update_block",
        on(block_id=lambda w: w.note, config={"text": "changed"}),
        mutates=True,
        other=swap(on(block_id=lambda w: w.note, config={"text": "changed"}), block_id=lambda o: o.note),
    ),
    Case(
        "dashboard_delete_block",
        on(block_id=lambda w: w.note),
        mutates=True,
        other=swap(on(block_id=lambda w: w.note), block_id=lambda o: o.note),
    ),
    Case(
        "dashboard_set_displayed",
        on(block_id=lambda w: w.note, displayed=True),
        mutates=True,
        other=swap(on(block_id=lambda w: w.note, displayed=True), block_id=lambda o: o.note),
    ),
    Case(
        "dashboard_set_layout", on(rows=lambda w: [{"blocks": [w.q, w.region], "height": 400}]), mutates=True
    ),
    Case(
        "dashboard_move_block",
        on(block_id=lambda w: w.q, row=1),
        mutates=True,
        other=swap(on(block_id=lambda w: w.q, row=1), block_id=lambda o: o.q),
    ),
    Case(
        "dashboard_resize_block",
        on(block_id=lambda w: w.q, height=400),
        mutates=True,
        other=swap(on(block_id=lambda w: w.q, height=400), block_id=lambda o: o.q),
    ),
    Case(
        "dashboard_set_control",
        on(block_id=lambda w: w.region, value="b"),
        mutates=True,
        other=swap(on(block_id=lambda w: w.region, value="b"), block_id=lambda o: o.region),
    ),
    Case("dashboard_refresh", on(), mutates=True),
    Case("dashboard_set_refresh", on(refreshEnabled=True, refreshInterval=900), mutates=True),
    Case(
        "block_open",
        on(block_id=lambda w: w.note),
        mutates=True,
        other=swap(on(block_id=lambda w: w.note), block_id=lambda o: o.note),
    ),
    Case("catalog_import", on(name="daily", format="csv", content=CSV), mutates=True),
    Case("catalog_push", on(name="sales", rows=[{"region": "a", "v": 5}], mode="append"), mutates=True),
    Case(
        "catalog_rename",
        on(name="sales", new_name="orders"),
        mutates=True,
        other=swap(on(name="sales", new_name="orders"), name=lambda o: o.source),
    ),
    Case(
        "conversation_add_message",
        lambda w: {"conversation_id": w.conv, "role": "user", "content": "hello"},
        mutates=True,
    ),
    Case("dashboard_set_visibility", on(visibility="private"), mutates=True),
    Case("dashboard_publish", on(password="s3cret"), mutates=True),
    Case("dashboard_unpublish", on(), mutates=True),
    Case(
        "dashboard_set_public_options",
        on(downloads=False, embed_origins=["https://wiki.example.com"]),
        mutates=True,
    ),
    Case("dashboard_grant", on(user="nora", role="viewer"), mutates=True),
    Case("dashboard_transfer", on(user="ed"), mutates=True),
    Case("dashboard_delete", on(), mutates=True),
    Case("connection_list", lambda w: {}),
    Case("connection_add", lambda w: {"name": "added", "url": "sqlite:///nowhere/app.db", "check": False}),
    Case("connection_remove", lambda w: {"name": "doomed"}),
    Case("connection_grant", lambda w: {"connection": "kept", "user": "*"}),
    Case("connection_revoke", lambda w: {"connection": "kept", "user": "*"}),
    Case("user_list", lambda w: {}),
    Case("user_add", lambda w: {"name": f"new_{w.board[-8:]}"}, mutates=True),
    Case("user_remove", lambda w: {"user": f"gone_{w.board[-8:]}"}, mutates=True),
    Case("workspace_audit", lambda w: {}),
    Case("user_tokens", lambda w: {}),
    Case("user_token_create", lambda w: {"user": ME, "name": "spare"}),
    Case("user_token_revoke", lambda w: {"user": ME}, mutates=True),
    Case("public_dashboard", linked()),
    Case("public_answer_key", linked()),
    Case("public_page", linked()),
    Case("public_unlock", linked(password="anything")),
    Case("public_board_view", linked()),
    Case(
        "public_block_data",
        linked(block_id=lambda w: w.q),
        other=swap(linked(block_id=lambda w: w.q), block_id=lambda o: o.q),
    ),
    Case(
        "public_block_csv",
        linked(block_id=lambda w: w.q, choices={"region": "b"}),
        other=swap(linked(block_id=lambda w: w.q), block_id=lambda o: o.q),
    ),
]
OTHER_CASES = [case for case in CASES if case.other is not None]
ME = "$me"
"""In a case's arguments: the calling user's own name (a user manages their own tokens)."""
NAMES = {"editor": "ed", "viewer": "vi", "none": "nora", "admin": "ada", "owner": "olivia"}


class Env:
    """One workspace for the module: its first user (an administrator) owns nothing here; Olivia
    owns the boards, Ed edits them, Vi views them, Nora has no role, Ada administers without a
    grant."""

    def __init__(self, root: Path) -> None:
        self.ws = Workspace(root)
        self.registry = load_registry()
        self.ws.users.local()  # the workspace's first user: an administrator, no part of this
        self.users: dict[str, User] = {}
        for caller, name in NAMES.items():
            self.users[caller] = self.ws.users.create(name, admin=caller == "admin")[0]
        for name in ("doomed", "kept"):
            self.call("admin", "connection_add", name=name, url="sqlite:///nowhere/app.db", check=False)
        self.shared = self.fresh()
        self.other = self.fresh()

    def context(self, caller: str) -> Context:
        if caller == "anonymous":
            return Context.anonymous(self.ws)
        return Context(self.ws, self.users[caller])

    def call(self, caller: str, tool: str, **arguments: Any) -> dict[str, Any]:
        mine = {k: NAMES.get(caller, "nobody") if v == ME else v for k, v in arguments.items()}
        return self.registry.call(self.context(caller), tool, mine)

    def fresh(self, kind: str = "dashboard") -> World:
        owner = lambda tool, **args: self.call("owner", tool, **args)  # noqa: E731
        if kind == "dashboard":
            board = owner("dashboard_create", title="Sales")["dashboard"]["id"]
        else:
            board = owner("conversation_create", title="Sales chat")["conversation"]["id"]
        source = f"sales_{board[-6:]}"
        for name in ("sales", source):
            owner(
                "catalog_push",
                dashboard_id=board,
                name=name,
                rows=[{"region": "a", "v": 1}, {"region": "b", "v": 2}],
            )
        region = owner(
            "dashboard_add_block",
            dashboard_id=board,
            type="param-enum",
            name="region",
            config={"options": ["a", "b"]},
        )["block"]["id"]
        q = owner(
            "dashboard_add_block",
            dashboard_id=board,
            type="sql",
            name="q",
            config={"sql": "SELECT * FROM sales WHERE region = $region", "inputs": ["region"]},
        )["block"]["id"]
        note = owner(
            "dashboard_add_block", dashboard_id=board, type="markdown", name="note", config={"text": "hi"}
        )["block"]["id"]
        for block in (region, q):
            owner("dashboard_set_displayed", dashboard_id=board, block_id=block, displayed=True)
        owner("dashboard_run_block", dashboard_id=board, block_id=q)
        runs = owner("dashboard_runs", dashboard_id=board, block_id=q)["runs"]
        slug = owner("dashboard_publish", dashboard_id=board)["slug"]
        owner("dashboard_set_public_options", dashboard_id=board, downloads=True)
        conv = owner("conversation_create", title="Chat")["conversation"]["id"]
        for target in (board, conv):
            owner("dashboard_grant", dashboard_id=target, user="ed", role="editor")
            owner("dashboard_grant", dashboard_id=target, user="vi", role="viewer")
        self.ws.users.create(f"gone_{board[-8:]}")
        return World(board, conv, region, q, note, (runs[0]["id"], runs[1]["id"]), slug, source)

    def snapshot(self, world: World) -> tuple[Any, ...]:
        """What a refused call must leave alone: the board as its owner sees it (minus presence),
        its conversation, its runs and audit, and its sources."""
        board = self.call("owner", "dashboard_get", dashboard_id=world.board)["dashboard"]
        board.pop("locks", None)
        conv = self.call("owner", "dashboard_get", dashboard_id=world.conv)["dashboard"]
        runs = self.call("owner", "dashboard_runs", dashboard_id=world.board, block_id=world.q)["runs"]
        audit = self.call("owner", "dashboard_audit", dashboard_id=world.board)["events"]
        sources = self.call("owner", "catalog_list", dashboard_id=world.board)["sources"]
        return board, conv, runs, audit, sources


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    environment = Env(tmp_path_factory.mktemp("roles") / "ws")
    yield environment
    environment.ws.close()


def expected(caller: str, least: str) -> type[ToolError] | None:
    """The refusal the contract gives `caller` for a tool needing `least` (None: allowed)."""
    if least == "link":
        return None
    if caller == "anonymous":
        return Unauthorized
    if least == "user":
        return None
    if least == "admin":
        return None if caller == "admin" else Forbidden
    return None if RANK.get(caller, 0) >= RANK[least] else Forbidden


def test_every_tool_declares_the_role_the_contract_gives_it() -> None:
    registry = load_registry()
    assert set(CONTRACT) == set(registry.names()), "a tool the contract table does not know, or the reverse"
    for tool in registry.tools():
        assert sorted(tool.roles()) == sorted(CONTRACT[tool.name].split("|")), tool.name
        assert tool.read_only != tool.writes


def test_a_tool_cannot_be_registered_without_a_role() -> None:
    class Nothing(Args):
        dashboard_id: str

    registry = Registry()
    with pytest.raises(TypeError):
        registry.tool("no_role", Nothing, writes=False)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        registry.tool("bad_role", Nothing, role="superuser", writes=False)


def test_the_matrix_covers_every_tool() -> None:
    assert {case.tool for case in CASES} == set(load_registry().names())


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_caller_gets_what_the_contract_gives_them(env: Env, caller: str, case: Case) -> None:
    refusal = expected(caller, case.least)
    if refusal is None:
        world = env.fresh() if case.mutates else env.shared
        answer = env.call(caller, case.tool, **case.own(world))
        assert answer["success"] is True
        if case.tool == "dashboard_list":
            return  # it lists every board the caller may see: the other one too
        text = json.dumps(answer, default=str)
        for foreign in (env.other.board, env.other.q, env.other.runs[0], env.other.source, env.other.slug):
            assert foreign not in text, f"{case.tool} showed {caller} something of another board"
        return
    before = env.snapshot(env.shared)
    with pytest.raises(refusal):
        env.call(caller, case.tool, **case.own(env.shared))
    assert env.snapshot(env.shared) == before


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", OTHER_CASES, ids=[c.id for c in OTHER_CASES])
def test_another_boards_ids_are_not_found_whoever_asks(env: Env, caller: str, case: Case) -> None:
    assert case.other is not None
    arguments = case.other(env.shared, env.other)
    befores = env.snapshot(env.shared), env.snapshot(env.other)
    refusal = expected(caller, case.least) or NotFound
    with pytest.raises(refusal) as refused:
        env.call(caller, case.tool, **arguments)
    assert (env.snapshot(env.shared), env.snapshot(env.other)) == befores
    if refusal is NotFound:
        assert env.other.board not in refused.value.message


NO_SUCH = "dash_nosuchboard0000"


@pytest.mark.parametrize("caller", [c for c in CALLERS if c != "anonymous"])
@pytest.mark.parametrize(
    "case", [c for c in CASES if CONTRACT[c.tool] not in ("link", "user", "admin")], ids=lambda c: c.id
)
def test_an_unknown_board_is_not_found_for_everyone(env: Env, caller: str, case: Case) -> None:
    arguments = case.own(env.shared)
    key = "conversation_id" if "conversation_id" in arguments else "dashboard_id"
    with pytest.raises(NotFound):
        env.call(caller, case.tool, **{**arguments, key: NO_SUCH})


def test_filter_overrides_of_another_boards_control_are_refused_and_store_nothing(env: Env) -> None:
    before = env.snapshot(env.shared)
    with pytest.raises(InvalidRequest) as refused:
        env.call(
            "viewer",
            "dashboard_run_block",
            dashboard_id=env.shared.board,
            block_id=env.shared.q,
            filter_overrides={env.other.region: "b"},
        )
    assert env.other.board not in refused.value.message
    assert env.snapshot(env.shared) == before


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in CASES
        if CONTRACT[c.tool] not in ("link", "user", "admin") and c.tool != "dashboard_save_conversation"
    ],
    ids=lambda c: c.id,
)
def test_every_board_tool_takes_a_conversation_id(env: Env, case: Case) -> None:
    world = env.fresh("conversation")
    assert world.board.startswith("conv_")
    caller = "owner" if case.least == "owner" else "editor"
    assert env.call(caller, case.tool, **case.own(world))["success"] is True
