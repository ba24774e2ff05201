"""The one-statement check: is this text exactly one read-only query, and what are its tokens and tree?

sqlglot (DuckDB dialect) gives the syntax tree and token offsets; DuckDB's own
parser is asked as well whether the text is a single SELECT, since sqlglot
accepts some statements leniently. Every refusal is an `InvalidRequest` whose
message a person can act on.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import duckdb
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from ballast_tui.engine.errors import InvalidRequest

DIALECT = Dialect.get_or_raise("duckdb")
_QUERY_KINDS = "SELECT, WITH … SELECT, FROM …, VALUES, or a UNION/INTERSECT/EXCEPT of those"


def parse_single_query(sql: str) -> tuple[exp.Expr, list[Token]]:
    """The syntax tree of the one query in ``sql`` and its tokens, or `InvalidRequest`.

    DuckDB's verdict on the statement count and type comes before sqlglot's
    parse, so that statements sqlglot only knows as opaque commands (LOAD,
    EXPLAIN, CALL) are refused by name; sqlglot's stricter view then catches
    what DuckDB files under SELECT (DESCRIBE, SHOW, SUMMARIZE).
    """
    duckdb_kinds, duckdb_error = _duckdb_statement_kinds(sql)
    tokens = _tokenize(sql, duckdb_error)
    if all(token.token_type == TokenType.SEMICOLON for token in tokens):
        raise InvalidRequest("the SQL is empty: write a query such as SELECT * FROM some_table")
    _refuse_positional_tokens(tokens)
    if duckdb_kinds is not None:
        _require_one_select(duckdb_kinds, tokens)
    statements = _parse_statements(sql, tokens, duckdb_error)
    if duckdb_error is not None:
        raise InvalidRequest(f"could not parse the SQL: {duckdb_error}")
    if len(statements) != 1:
        raise _statement_count_error(len(statements))
    tree = statements[0]
    _require_query(tree)
    _refuse_positional_placeholders(tree)
    return tree, tokens


_local = threading.local()
_database: duckdb.DuckDBPyConnection | None = None
_database_lock = threading.Lock()


def _parser() -> duckdb.DuckDBPyConnection:
    """This thread's own cursor for parsing, on one in-memory database made once (making a database
    takes about 30 ms; a cursor, microseconds; the module-level default connection is shared)."""
    global _database
    con: duckdb.DuckDBPyConnection | None = getattr(_local, "con", None)
    if con is None:
        with _database_lock:
            if _database is None:
                _database = duckdb.connect(
                    ":memory:", config={"enable_external_access": False, "autoload_known_extensions": False}
                )
            con = _local.con = _database.cursor()
    return con


def _duckdb_statement_kinds(sql: str) -> tuple[list[str] | None, str | None]:
    """The type of each statement DuckDB's parser finds in ``sql``, or its error message."""
    try:
        statements = _parser().extract_statements(sql)
    except duckdb.Error as error:
        lines = str(error).strip().splitlines()
        first = lines[0] if lines else type(error).__name__
        return None, first.removeprefix("Parser Error: ")
    return [statement.type.name for statement in statements], None


def _require_one_select(kinds: Sequence[str], tokens: Sequence[Token]) -> None:
    if len(kinds) != 1:
        raise _statement_count_error(len(kinds))
    if kinds[0] != duckdb.StatementType.SELECT.name:
        raise _not_a_query_error(_leading_keyword(tokens) or kinds[0])


def _leading_keyword(tokens: Sequence[Token]) -> str | None:
    """The statement's first word, which names it better than DuckDB's types (MULTI, EXTENSION)."""
    words = (token for token in tokens if token.token_type != TokenType.L_PAREN)
    first = next(words, None)
    if first is None or first.token_type in (TokenType.WITH, TokenType.STRING, TokenType.IDENTIFIER):
        return None
    return first.text.upper()


def _statement_count_error(count: int) -> InvalidRequest:
    return InvalidRequest(f"the SQL holds {count} statements; a block runs exactly one query")


def _not_a_query_error(kind: str) -> InvalidRequest:
    return InvalidRequest(
        f"{kind} is not allowed here: a block runs a single read-only query ({_QUERY_KINDS})"
    )


def _tokenize(sql: str, duckdb_error: str | None) -> list[Token]:
    try:
        return DIALECT.tokenize(sql)
    except TokenError as error:
        # DuckDB names the problem ("unterminated quoted string"); sqlglot only says where.
        raise InvalidRequest(f"could not parse the SQL: {duckdb_error or error}") from None


def _parse_statements(sql: str, tokens: list[Token], duckdb_error: str | None) -> list[exp.Expr]:
    """The non-empty statements of ``sql`` (a lone trailing ``;`` or comment is not one).

    When both parsers fail, DuckDB's message is the one given: it is the engine
    that runs the query, and says "syntax error at or near …" where sqlglot
    names its own classes.
    """
    try:
        parsed = DIALECT.parser().parse(tokens, sql)
    except ParseError as error:
        message = duckdb_error or _describe_parse_error(error)
        raise InvalidRequest(f"could not parse the SQL: {message}") from None
    except RecursionError:
        raise InvalidRequest("could not parse the SQL: it is nested too deeply") from None
    return [node for node in parsed if node is not None and not isinstance(node, exp.Semicolon)]


def _describe_parse_error(error: ParseError) -> str:
    if not error.errors:
        return str(error).splitlines()[0]
    first = error.errors[0]
    description = _TOKEN_REPR.sub(_describe_token, str(first["description"]))
    return f"{description} (line {first['line']}, column {first['col']})"


# sqlglot's messages embed token reprs: "Expected table name but got <Token token_type: ...>".
_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: \d+, col: .*?\]>")


def _describe_token(match: re.Match[str]) -> str:
    return "the end of the SQL" if match[1] == "SENTINEL" else repr(match[2])


def _require_query(tree: exp.Expr) -> None:
    node = tree
    while isinstance(node, exp.Subquery):
        node = node.this
    if not isinstance(node, (exp.Select, exp.SetOperation, exp.Values)):
        raise _not_a_query_error(_statement_kind(node))
    if tree.find(exp.Into) is not None:
        raise InvalidRequest("SELECT … INTO writes a table; a block may only read")


def _statement_kind(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.Pivot):
        return "UNPIVOT" if node.args.get("unpivot") else "PIVOT"
    return node.key.upper()


def _refuse_positional_tokens(tokens: Sequence[Token]) -> None:
    """Refuse ``?``, ``?1`` and ``$1`` before parsing, since sqlglot cannot parse ``?1``."""
    for index, token in enumerate(tokens):
        if token.token_type not in (TokenType.PLACEHOLDER, TokenType.PARAMETER):
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        number = (
            following
            if following is not None
            and following.token_type == TokenType.NUMBER
            and following.start == token.end + 1
            else None
        )
        if token.token_type == TokenType.PLACEHOLDER or number is not None:
            text = token.text + (number.text if number is not None else "")
            raise _positional_error(text, token.line, token.col - len(token.text) + 1)


def _refuse_positional_placeholders(tree: exp.Expr) -> None:
    for placeholder in tree.find_all(exp.Placeholder):
        name = placeholder.name
        if not name or name.isdigit():
            raise _positional_error(f"${name}" if name else "?", None, None)


def _positional_error(text: str, line: int | None, col: int | None) -> InvalidRequest:
    where = f" at line {line}, column {col}" if line is not None else ""
    return InvalidRequest(
        f"positional parameter {text}{where} is not supported; use named parameters like $start_date"
    )
