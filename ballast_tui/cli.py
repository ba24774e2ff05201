"""The `ballast` command: argument parsing only; the work happens in the parts it calls."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ballast_tui import __version__
from ballast_tui.commands import connection_errors, fail, workspace_of
from ballast_tui.commands.parsing import HelpFormatter, Parser, command_parser, completes
from ballast_tui.commands.settings import add_setting_flags, add_settings_command, settings_of
from ballast_tui.commands.workspaces import WorkspaceRefused, check_workspace, explicit_workspace
from ballast_tui.engine.errors import ToolError
from ballast_tui.engine.import_files import ACCEPTED
from ballast_tui.setting_keys import SettingsError
from ballast_tui.startup import resume_collector
from ballast_tui.storage.private import restrict_umask

TOKEN_COMMANDS = frozenset(
    {None, "open", "connect", "tool", "import", "export", "show", "list", "user", "connection", "mcp"}
)
"""The commands that act as a user: `--token` (else `$BALLAST_TOKEN`, else the local OS user) is theirs."""
NO_WORKSPACE = frozenset({"connect", "completion", "restore"})
"""The commands that use no workspace of this machine (`restore` makes the one it is given)."""
CREATES_WORKSPACE = frozenset({"demo", "init"})
"""The commands that may create a workspace (and `ballast` alone on the default one)."""


def _parser() -> argparse.ArgumentParser:
    import shtab

    workspace_option = Parser(add_help=False)
    # SUPPRESS: a subcommand's copy of the option must not reset a value given before it.
    completes(
        workspace_option.add_argument(
            "--workspace",
            metavar="DIR",
            default=argparse.SUPPRESS,
            help="workspace directory (default: $BALLAST_WORKSPACE, else the platform's user data dir)",
        ),
        shtab.DIRECTORY,
    )
    token_option = Parser(add_help=False)
    token_option.add_argument(
        "--token",
        default=argparse.SUPPRESS,
        help="act as this API token's user (default: $BALLAST_TOKEN, else the local OS user)",
    )
    common: list[Parser] = [workspace_option, token_option]
    local: list[Parser] = [workspace_option]
    parser = Parser(
        prog="ballast",
        parents=common,
        formatter_class=HelpFormatter,
        description="Terminal-native, reactive, collaborative dashboards. Alone, `ballast` opens the app "
        "on the workspace (creating the default one on first use).",
    )
    parser.add_argument("--version", action="version", version=f"ballast {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def command(name: str, parents: Sequence[Parser], **kwargs: Any) -> argparse.ArgumentParser:
        return commands.add_parser(name, parents=list(parents), formatter_class=HelpFormatter, **kwargs)

    init = command(
        "init",
        local,
        help="create an empty workspace, the current OS user its administrator",
        description="DIR (default: --workspace, else $BALLAST_WORKSPACE, else the platform's user data dir) "
        "must be new or empty.",
    )
    completes(init.add_argument("dir", metavar="DIR", nargs="?", help="the new workspace"), shtab.DIRECTORY)

    demo = command("demo", local, help="create a demo dashboard and open it")
    demo.add_argument("--rows", type=int, default=300_000, help=argparse.SUPPRESS)
    demo.add_argument("--no-tui", action="store_true", help="build it and print it, not opening the app")

    open_ = command("open", common, help="the app, straight on one dashboard")
    open_.add_argument("dashboard_id", help="the dashboard (`ballast list` shows the ids)")

    connect = command("connect", [token_option], help="the app against a server elsewhere")
    connect.add_argument("url", help="the server's address, e.g. https://ballast.example.com")

    command("serve", local, help="run the server alone")  # its flags: add_setting_flags
    add_settings_command(commands, local)

    user = command("user", common, help="manage users").add_subparsers(
        dest="user_command", metavar="ACTION", required=True, parser_class=Parser
    )
    add = user.add_parser(
        formatter_class=HelpFormatter,
        name="add",
        parents=common,
        help="create a user and print its API token",
    )
    add.add_argument("name")
    add.add_argument("--agent", action="store_true", help="the user is an agent")
    add.add_argument("--admin", action="store_true", help="the user administers the workspace")
    user.add_parser(
        formatter_class=HelpFormatter,
        name="list",
        parents=common,
        help="users, their kind, admin, live tokens (never secrets)",
    )
    token = user.add_parser(
        formatter_class=HelpFormatter,
        name="token",
        parents=common,
        help="a new API token for a user, on the last line",
    )
    token.add_argument("name", help="the user (yourself, or anyone for an administrator)")
    token.add_argument("--label", metavar="TEXT", help="a name for the token (e.g. the machine it is for)")
    revoke = user.add_parser(
        formatter_class=HelpFormatter,
        name="revoke",
        parents=common,
        help="revoke a user's tokens (all, or one)",
    )
    revoke.add_argument("name")
    revoke.add_argument("--token-id", metavar="ID", help="revoke this token only")
    remove = user.add_parser(
        formatter_class=HelpFormatter,
        name="remove",
        parents=common,
        help="remove a user (its tokens stop working)",
    )
    remove.add_argument("name")

    command("list", common, help="the dashboards you may see: id, title, role, visibility, last refresh")

    connection = command(
        "connection", common, help="connect warehouses and app databases (administrators)"
    ).add_subparsers(dest="connection_command", metavar="ACTION", required=True, parser_class=Parser)
    connection_add = connection.add_parser(
        formatter_class=HelpFormatter,
        name="add",
        parents=common,
        help="connect a database to every dashboard's catalog",
        description="URL: postgresql://USER:PASSWORD@HOST:PORT/DATABASE, sqlite:PATH or duckdb:PATH. "
        "Give '-' (or nothing) to read it from standard input, keeping the password out of the "
        "process list and the shell history. It is stored encrypted and never shown again.",
    )
    connection_add.add_argument("name", help="the name SQL uses: NAME.schema.table")
    connection_add.add_argument("url", nargs="?", default="-", help="the database URL, or '-' for stdin")
    connection_add.add_argument(
        "--no-check", action="store_true", help="add it even if the database does not answer now"
    )
    connection_add.add_argument(
        "--grant", metavar="USER", action="append", default=[], help="let USER's boards read it (repeatable)"
    )
    connection_add.add_argument("--all", action="store_true", help="let every user's boards read it")
    connection.add_parser(
        formatter_class=HelpFormatter,
        name="list",
        parents=common,
        help="the connections (never their passwords)",
    )
    for action, what in (("grant", "let USER's boards read connection NAME"), ("revoke", "take it back")):
        granting = connection.add_parser(
            formatter_class=HelpFormatter, name=action, parents=common, help=what
        )
        granting.add_argument("name", help="the connection")
        granting.add_argument("user", nargs="?", help="the user (or --all)")
        granting.add_argument("--all", action="store_true", help="every user")
    connection_remove = connection.add_parser(
        formatter_class=HelpFormatter, name="remove", parents=common, help="remove a connection"
    )
    connection_remove.add_argument("name")

    imp = command(
        "import",
        common,
        help="import a CSV/TSV (also .gz), Parquet, JSON/JSONL or Excel file as a source",
        description=f"Accepted: {ACCEPTED}. The source is named after the file (lower-case; other "
        "characters become '_'; a leading digit gets a '_': 2026-sales.csv is _2026_sales), or --name. "
        "Each sheet of a workbook becomes its own source (NAME_SHEET), or only --sheet. A source of the "
        "same name is replaced, and the command says so.",
    )
    completes(imp.add_argument("path", help="the file to import"), shtab.FILE)
    imp.add_argument("--dashboard", required=True, metavar="ID", help="the dashboard whose catalog gets it")
    imp.add_argument("--name", metavar="N", help="source name (default: made from the file's name)")
    imp.add_argument("--sheet", metavar="S", help="import only this sheet of an Excel workbook")

    export = command(
        "export",
        common,
        help="export a block's whole output, or the dashboard drawn as an SVG",
        description="With --block: the block's whole current output as CSV (default), Parquet or JSON. "
        "Without --block (or with --format svg): the dashboard drawn as the terminal draws it, as an SVG.",
    )
    export.add_argument("dashboard_id")
    export.add_argument("--block", metavar="NAME", help="the block whose output to export (name or id)")
    export.add_argument(
        "--format",
        choices=("csv", "parquet", "json", "svg"),
        help="csv, parquet or json for a block (default csv); "
        "svg for the whole dashboard (the default without --block)",
    )
    export.add_argument(
        "--size",
        metavar="COLSxROWS",
        default="120x40",
        help="terminal size the dashboard is drawn at, for svg (default 120x40)",
    )
    completes(
        export.add_argument(
            "-o", "--output", metavar="FILE", help="file to write (default: standard output)"
        ),
        shtab.FILE,
    )

    show = command(
        "show",
        common,
        help="print a dashboard, or one block, drawn as the terminal draws it",
        description="The dashboard's displayed blocks in their layout (or, with --block, one block, "
        "shown or hidden) drawn as the terminal draws them, printed as text: with ANSI colours when "
        "standard output is a terminal, plain otherwise. The `dashboard_render` tool answers the same.",
    )
    show.add_argument("dashboard_id")
    show.add_argument("--block", metavar="NAME", help="draw this block alone (name or id)")
    show.add_argument(
        "--width",
        metavar="N",
        help="columns, 20-400 (default: the terminal's width, or 120 when not a terminal)",
    )
    show.add_argument(
        "--height",
        metavar="N",
        help="rows, 3-600 (default: as tall as the board; a block's chart redraws to fill them)",
    )

    command(
        "mcp",
        common,
        help="serve the tools to an AI agent over MCP (stdio)",
        description="An MCP server over stdin/stdout for an agent (any MCP client), acting as the user of "
        "--token or $BALLAST_TOKEN, else the local OS user. When the workspace's server is running it acts "
        "through it, so its presence and locks are shared with people; otherwise it runs the engine itself.",
    )

    backup = command(
        "backup",
        local,
        help="a consistent copy of the workspace, taken while its server runs",
        description="Copies the workspace's database with SQLite's online backup API (what is still in "
        "the WAL included), then the Parquet files its rows name and the key files, into the new "
        "directory DEST, outside the workspace. A failed backup leaves nothing at DEST.",
    )
    completes(
        backup.add_argument("dest", metavar="DEST", help="a new directory, outside the workspace"),
        shtab.DIRECTORY,
    )
    restore = command(
        "restore",
        [],
        help="a workspace brought back from a backup",
        description="Checks every file of the backup SRC against its manifest, copies them into DIR "
        "(new, or an empty directory), checks the database's integrity and opens it once as a workspace.",
    )
    completes(
        restore.add_argument("src", metavar="SRC", help="a directory `ballast backup` made"), shtab.DIRECTORY
    )
    completes(
        restore.add_argument("dir", metavar="DIR", help="the new workspace: a new or empty directory"),
        shtab.DIRECTORY,
    )

    tool = command("tool", common, help="run one tool with JSON arguments")
    tool.add_argument("name", help="a tool's name; `help` lists them, `help NAME` describes one")
    tool.add_argument("arguments", nargs="?", default="{}", help="a JSON object")

    completion = command(
        "completion",
        [],
        help="print a shell completion script (bash, zsh or fish)",
        description="bash: `ballast completion bash > ~/.local/share/bash-completion/completions/ballast`; "
        "zsh: `ballast completion zsh > ~/.zfunc/_ballast` (with ~/.zfunc in $fpath); "
        "fish: `ballast completion fish > ~/.config/fish/completions/ballast.fish`.",
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"), help="the shell")
    add_setting_flags(parser, commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ballast` console script. Whatever goes wrong ends as one line on standard
    error and a non-zero status (2 for a command line it does not understand, 1 for the rest); a
    traceback is shown only with ``$BALLAST_DEBUG`` set."""
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    # Whatever a library writes on its own in the workspace is owner-only too (our own files
    # set their modes explicitly; this is the safety net).
    restrict_umask()
    try:
        misplaced = _misplaced_option(args)
        if misplaced is not None:
            return fail(misplaced, 2)
        if args.command not in NO_WORKSPACE:
            settings_of(args)  # an invalid setting stops every command before it starts anything
        _check_workspace(args)
        return _dispatch(args)
    except (WorkspaceRefused, SettingsError) as refused:
        return fail(str(refused))
    except ToolError as error:
        return fail(f"{error.code}: {error.message}")
    except connection_errors() as error:
        if isinstance(error, BrokenPipeError):
            # The reader went away (`ballast export … | head`): not an error worth a traceback.
            sys.stderr.close()
            return 0
        return fail(" ".join(str(error).split()))
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if os.environ.get("BALLAST_DEBUG"):
            raise
        text = " ".join(str(error).split()) or "no message"
        return fail(f"unexpected {type(error).__name__}: {text} (BALLAST_DEBUG=1 shows the traceback)")


def _misplaced_option(args: argparse.Namespace) -> str | None:
    """An option given before a command it means nothing to (`ballast --token T serve`), or None."""
    shown = f"`ballast {args.command}`"
    if hasattr(args, "token") and args.command not in TOKEN_COMMANDS:
        return f"--token does not apply to {shown}: it acts as no user"
    if hasattr(args, "workspace") and args.command in NO_WORKSPACE:
        return f"--workspace does not apply to {shown}"
    return None


def _check_workspace(args: argparse.Namespace) -> None:
    """Refuse a missing directory, a file, or a directory that is not a workspace, before anything is
    done (and anything created): only `demo`, `init` and `ballast` alone on the default workspace make
    one."""
    if args.command in NO_WORKSPACE or args.command == "init":
        return
    if args.command == "tool" and args.name == "help":
        return  # the tools' descriptions need no workspace
    creates = args.command in CREATES_WORKSPACE or (args.command is None and not explicit_workspace(args))
    check_workspace(args, creates=creates)


COMMANDS = {
    "init": "workspaces:run_init",
    "demo": "app:run_demo",
    "mcp": "tool:run_mcp",
    "tool": "tool:run_tool",
    "import": "data:run_import",
    "export": "data:run_export",
    "show": "show:run_show",
    "user": "admin:run_user",
    "list": "admin:run_list",
    "connection": "admin:run_connection",
    "backup": "backup:run_backup",
    "restore": "backup:run_restore",
    "settings": "settings:run_settings",
}
"""Each subcommand's `module:function` under `ballast_tui.commands`, imported only when run: the
app's first paint does not wait for the modules of commands it is not running."""


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in (None, "open", "connect"):
        from ballast_tui.commands import app

        return app.run_tui(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "completion":
        return _completion(args)
    module_name, function = COMMANDS[args.command].split(":")
    module = importlib.import_module(f"ballast_tui.commands.{module_name}")
    run: Callable[[argparse.Namespace], int] = getattr(module, function)
    resume_collector()  # started: the app resumes it at its first screen, every other command here
    return run(args)


def _completion(args: argparse.Namespace) -> int:
    """`ballast completion SHELL`: the completion script, made from this very parser."""
    import shtab

    print(shtab.complete(_parser(), args.shell))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ballast_server.runner import run_server
    from ballast_tui.engine.workspace import Workspace

    resume_collector()

    with Workspace(workspace_of(args), settings_of(args)) as ws:
        run_server(ws)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
