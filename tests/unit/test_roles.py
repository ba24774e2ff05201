"""The contract's access table (section 5), tool by tool and role by role.

One board with a source, a control, a SQL block reading both, a markdown leaf,
two runs and a published link; a conversation beside it. The editor and the
viewer get their roles through `dashboard_grant`; the stranger has none.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ballast_tui.engine.errors import Forbidden, InvalidRequest, NotFound
from ballast_tui.engine.workspace import Workspace
from ballast_tui.tools.registry import load_registry
from tests.conftest import ToolClient

ROLES = ("owner", "editor", "viewer", "stranger")
RANK = {"stranger": 0, "viewer": 1, "editor": 2, "owner": 3}
USER_NAMES = {"editor": "ed", "viewer": "vi", "stranger": "stan"}


@dataclass
class World:
    board: str
    conv: str
    region: str  # a param-enum control
    q: str  # a sql block reading `sales` and binding $region
    note: str  # a markdown leaf
    runs: tuple[str, str]  # two runs of q
    layout: dict[str, Any]


def build_world(owner: ToolClient, kind: str = "dashboard") -> World:
    """The board under test: a dashboard, or a conversation (every dashboard_id takes one)."""
    if kind == "dashboard":
        board = owner("dashboard_create", title="Sales")["dashboard"]["id"]
    else:
        board = owner("conversation_create", title="Sales chat")["conversation"]["id"]
    owner(
        "catalog_push",
        dashboard_id=board,
        name="sales",
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
    layout = owner("dashboard_set_displayed", dashboard_id=board, block_id=q, displayed=True)["layout"]
    owner("dashboard_run_block", dashboard_id=board, block_id=q)
    runs = owner("dashboard_runs", dashboard_id=board, block_id=q)["runs"]
    owner("dashboard_publish", dashboard_id=board)
    conv = owner("conversation_create", title="Chat")["conversation"]["id"]
    for target in (board, conv):
        owner("dashboard_grant", dashboard_id=target, user=USER_NAMES["editor"], role="editor")
        owner("dashboard_grant", dashboard_id=target, user=USER_NAMES["viewer"], role="viewer")
    return World(board, conv, region, q, note, (runs[0]["id"], runs[1]["id"]), layout)


Args = Callable[[World], dict[str, Any]]
CSV = base64.b64encode(b"day,amount\n2024-01-01,3\n").decode()


def on_board(**extra: Any) -> Args:
    return lambda w: {"dashboard_id": w.board, **{k: v(w) if callable(v) else v for k, v in extra.items()}}


# (tool, the least role allowed, whether an allowed call changes the board, arguments).
# "stranger" as the least role: a tool not about an existing board, open to every user.
CASES: list[tuple[str, str, bool, Args]] = [
    ("conversation_create", "stranger", False, lambda w: {"title": "mine"}),
    ("dashboard_create", "stranger", False, lambda w: {"title": "mine"}),
    ("dashboard_list", "stranger", False, lambda w: {}),
    # view: see the board, its SQL, runs, catalog and audit; overrides; clone.
    ("dashboard_get", "viewer", False, on_board()),
    ("dashboard_get_refresh", "viewer", False, on_board()),
    ("dashboard_block_data", "viewer", False, on_board(block_id=lambda w: w.q)),
    ("dashboard_runs", "viewer", False, on_board(block_id=lambda w: w.q)),
    (
        "dashboard_compare_runs",
        "viewer",
        False,
        on_board(run_id=lambda w: w.runs[0], other_run_id=lambda w: w.runs[1]),
    ),
    ("dashboard_audit", "viewer", False, on_board()),
    ("catalog_list", "viewer", False, on_board()),
    ("dashboard_presence", "viewer", False, on_board()),
    ("dashboard_clone", "viewer", False, on_board()),
    (
        "dashboard_run_block",
        "viewer",
        False,
        on_board(block_id=lambda w: w.q, filter_overrides=lambda w: {w.region: "b"}),
    ),
    ("block_close", "viewer", False, on_board(block_id=lambda w: w.note)),
    ("dashboard_save_conversation", "viewer", True, lambda w: {"conversation_id": w.conv, "title": "Saved"}),
    # edit: blocks, layout, control values, sources, runs, refresh and its settings.
    ("dashboard_run_block", "editor", True, on_board(block_id=lambda w: w.q)),
    ("dashboard_add_block", "editor", True, on_board(type="markdown", config={"text": "new"})),
    (
        "dashboard_update_block",
        "editor",
        True,
        on_board(block_id=lambda w: w.note, config={"text": "changed"}),
    ),
    ("dashboard_delete_block", "editor", True, on_board(block_id=lambda w: w.note)),
    ("dashboard_set_displayed", "editor", True, on_board(block_id=lambda w: w.note, displayed=True)),
    (
        "dashboard_set_layout",
        "editor",
        True,
        on_board(rows=lambda w: [{"blocks": [w.q], "height": 400}]),
    ),
    ("dashboard_set_control", "editor", True, on_board(block_id=lambda w: w.region, value="b")),
    ("dashboard_refresh", "editor", True, on_board()),
    ("dashboard_set_refresh", "editor", True, on_board(refreshEnabled=True, refreshInterval=900)),
    ("block_open", "editor", True, on_board(block_id=lambda w: w.note)),
    ("catalog_import", "editor", True, on_board(name="daily", format="csv", content=CSV)),
    ("catalog_push", "editor", True, on_board(name="sales", rows=[{"region": "a", "v": 5}], mode="append")),
    ("catalog_rename", "editor", True, on_board(name="sales", new_name="orders")),
    (
        "conversation_add_message",
        "editor",
        True,
        lambda w: {"conversation_id": w.conv, "role": "user", "content": "hello"},
    ),
    # manage: visibility, publish, unpublish, grants, transfer, delete.
    ("dashboard_set_visibility", "owner", True, on_board(visibility="private")),
    ("dashboard_publish", "owner", True, on_board(password="s3cret")),
    ("dashboard_unpublish", "owner", True, on_board()),
    ("dashboard_grant", "owner", True, on_board(user=USER_NAMES["stranger"], role="viewer")),
    ("dashboard_transfer", "owner", True, on_board(user=USER_NAMES["editor"])),
    ("dashboard_delete", "owner", True, on_board()),
]
BOARD_CASES = [case for case in CASES if case[1] != "stranger"]
# Workspace administration: the workspace's first user (the "owner" here) only, whatever the board.
ADMIN_CASES: list[tuple[str, str, bool, Args]] = [
    ("connection_list", "owner", False, lambda w: {}),
    (
        "connection_add",
        "owner",
        False,
        lambda w: {"name": "added", "url": "sqlite:///nowhere/app.db", "check": False},
    ),
    ("connection_remove", "owner", False, lambda w: {"name": "doomed"}),
]
CASES += ADMIN_CASES


def _case_id(case: tuple[str, str, bool, Args]) -> str:
    tool, least = case[0], case[1]
    if tool == "dashboard_run_block":
        return f"{tool}[{'overrides' if least == 'viewer' else 'stored'}]"
    return tool


class Env:
    """One workspace for the whole module: users are slow to make (scrypt)."""

    def __init__(self, root: Path) -> None:
        self.ws = Workspace(root)
        owner = self.ws.users.local()
        self.clients = {"owner": ToolClient(self.ws, owner)}
        for role, name in USER_NAMES.items():
            user, _token = self.ws.users.create(name)
            self.clients[role] = ToolClient(self.ws, user)
        self.shared = build_world(self.clients["owner"])
        self.clients["owner"]("connection_add", name="doomed", url="sqlite:///nowhere/app.db", check=False)

    def fresh(self, kind: str = "dashboard") -> World:
        return build_world(self.clients["owner"], kind)

    def snapshot(self, world: World) -> tuple[Any, ...]:
        """What a refused call must leave alone: the board as its owner sees it, and its audit."""
        owner = self.clients["owner"]
        board = owner("dashboard_get", dashboard_id=world.board)["dashboard"]
        conv = owner("dashboard_get", dashboard_id=world.conv)["dashboard"]
        audit = owner("dashboard_audit", dashboard_id=world.board)["events"]
        sources = owner("catalog_list", dashboard_id=world.board)["sources"]
        return board, conv, audit, sources, owner("dashboard_list")["dashboards"]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    environment = Env(tmp_path_factory.mktemp("roles") / "ws")
    yield environment
    environment.ws.close()


def test_access_table_covers_every_tool() -> None:
    assert {case[0] for case in CASES} == set(load_registry().names())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("tool", "least", "mutates", "args"), CASES, ids=[_case_id(c) for c in CASES])
def test_access_table(env: Env, role: str, tool: str, least: str, mutates: bool, args: Args) -> None:
    client = env.clients[role]
    if RANK[role] >= RANK[least]:
        world = env.fresh() if mutates else env.shared
        assert client(tool, **args(world))["success"] is True
        return
    world = env.shared
    before = env.snapshot(world)
    with pytest.raises(Forbidden):
        client(tool, **args(world))
    assert env.snapshot(world) == before


NO_SUCH = World(
    board="dash_nosuchboard0000",
    conv="conv_nosuchboard0000",
    region="blk_nosuchblock00000",
    q="blk_nosuchblock00001",
    note="blk_nosuchblock00002",
    runs=("run_nosuchrun0000000", "run_nosuchrun0000001"),
    layout={"rows": []},
)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("tool", "least", "mutates", "args"), BOARD_CASES, ids=[_case_id(c) for c in BOARD_CASES]
)
def test_unknown_board_is_not_found_for_everyone(
    env: Env, role: str, tool: str, least: str, mutates: bool, args: Args
) -> None:
    with pytest.raises(NotFound):
        env.clients[role](tool, **args(NO_SUCH))


def test_owner_of_one_board_is_only_a_viewer_of_another(env: Env) -> None:
    viewer = env.clients["viewer"]
    mine = viewer("dashboard_create", title="Mine")["dashboard"]["id"]
    viewer("dashboard_add_block", dashboard_id=mine, type="markdown", name="own", config={"text": "x"})
    world = env.fresh()

    assert viewer("dashboard_get", dashboard_id=mine)["dashboard"]["role"] == "owner"
    assert viewer("dashboard_get", dashboard_id=world.board)["dashboard"]["role"] == "viewer"
    with pytest.raises(Forbidden):
        viewer("dashboard_update_block", dashboard_id=world.board, block_id=world.note, config={"text": "y"})
    viewer("dashboard_set_visibility", dashboard_id=mine, visibility="link_view")
    roles = {d["id"]: d["role"] for d in viewer("dashboard_list")["dashboards"]}
    assert roles[mine] == "owner"
    assert roles[world.board] == "viewer"


def test_revoked_viewer_loses_access(env: Env) -> None:
    world = env.fresh()
    env.clients["owner"]("dashboard_grant", dashboard_id=world.board, user=USER_NAMES["viewer"], role="none")
    with pytest.raises(Forbidden):
        env.clients["viewer"]("dashboard_get", dashboard_id=world.board)


def test_viewer_override_values_must_be_allowed_by_the_control(env: Env) -> None:
    world = env.shared
    with pytest.raises(InvalidRequest):
        env.clients["viewer"](
            "dashboard_run_block",
            dashboard_id=world.board,
            block_id=world.q,
            filter_overrides={world.region: "zz"},
        )


def test_viewer_override_run_stores_nothing(env: Env) -> None:
    world = env.shared
    before = env.snapshot(world)
    runs_before = env.clients["owner"]("dashboard_runs", dashboard_id=world.board, block_id=world.q)["runs"]
    answer = env.clients["viewer"](
        "dashboard_run_block", dashboard_id=world.board, block_id=world.q, filter_overrides={"region": "b"}
    )
    assert answer["run"]["rows"] == [{"region": "b", "v": 2}]
    assert env.snapshot(world) == before
    runs_after = env.clients["owner"]("dashboard_runs", dashboard_id=world.board, block_id=world.q)["runs"]
    assert runs_after == runs_before


@pytest.mark.parametrize(
    ("tool", "least", "mutates", "args"), BOARD_CASES, ids=[_case_id(c) for c in BOARD_CASES]
)
def test_every_board_tool_takes_a_conversation_id(
    env: Env, tool: str, least: str, mutates: bool, args: Args
) -> None:
    world = env.fresh("conversation")
    assert world.board.startswith("conv_")
    role = "editor" if least != "owner" else "owner"
    assert env.clients[role](tool, **args(world))["success"] is True
