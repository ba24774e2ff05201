"""Where the SQL of a block that reads connected tables runs, and what is sent there.

Two plans, both from sqlglot's syntax tree of the block's DuckDB SQL:

- **push-down** (`plan_pushdown`): the block reads one connection's tables and
  nothing local. The whole query is translated to that database's dialect,
  the connection's name dropped from each table, ``GROUP BY ALL`` spelled out,
  and every ``$name`` turned into the driver's own bound parameter
  (``$1`` for PostgreSQL, ``?1`` for SQLite; DuckDB files keep ``$name``).
- **pull** (`plan_pulls`): anything else. Each connected table is fetched
  once, as ``SELECT <the columns the query uses> FROM schema.table WHERE <the
  filters it is safe to apply there>``, and the block's own text runs in the
  board's DuckDB with each table reference replaced by the fetched relation
  (``wh.public.orders`` becomes ``__remote_1 AS orders``; the rest of the text
  is kept as written).

A filter is pushed only when sqlglot shows it is safe: a conjunct of the WHERE
of the table's own SELECT, the table not on the null side of an outer join nor
read twice, made only of comparisons of one of its columns with literals or
bound values of a matching type (no ordering of text, whose collation may
differ; no floats, no time zones). The local query keeps every filter, so a
pushed one only ever removes rows the query would remove anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from ballast_tui.engine.errors import InvalidRequest
from ballast_tui.engine.remote.drivers import TableInfo
from ballast_tui.engine.remote.filters import remote_filter
from ballast_tui.engine.sql import locate_tables
from ballast_tui.engine.sql_rewrite import quote_identifier, splice

DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite", "duckdb": "duckdb"}
RELATION_PREFIX = "__remote_"
Lookup = Callable[[str, str, str], TableInfo | None]


class Untranslatable(Exception):
    """sqlglot cannot write this query in the connection's dialect."""


@dataclass(frozen=True)
class RemoteRef:
    """A connected table as a block names it: ``connection.schema.table``."""

    connection: str
    schema: str
    table: str

    @property
    def name(self) -> str:
        return f"{self.connection}.{self.schema}.{self.table}"


@dataclass
class RemoteQuery:
    """One query for one connection: its text, and the ``$names`` its placeholders bind, in order."""

    connection: str
    driver: str
    mode: str  # "pushdown" or "pull"
    sql: str
    params: list[str]
    table: str | None = None
    columns: list[str] | None = None
    filters: int = 0


@dataclass
class PullPlan:
    """Each connected table's query, by relation name, and the block's SQL rewritten onto them."""

    pulls: dict[str, RemoteQuery] = field(default_factory=dict)
    local_sql: str = ""
    pruned: bool = False


def split_name(dotted: str) -> RemoteRef | None:
    """``wh.public.orders`` as a reference, or None when the name has not three parts."""
    parts = dotted.split(".")
    return RemoteRef(*parts) if len(parts) == 3 else None


# --- push-down ----------------------------------------------------------------------------


def plan_pushdown(sql: str, connection: str, driver: str) -> RemoteQuery:
    """The whole query in the dialect of `driver`, reading `connection`'s tables by schema.table."""
    located = locate_tables(sql)
    tree = located.tree
    for name, node, _span in located.tables:
        ref = split_name(name)
        if ref is None or ref.connection != connection:
            raise Untranslatable(f"{name} is not a table of {connection}")
        node.set("catalog", None)
    if driver != "duckdb":
        _spell_out_all(tree)
    params = _bind_placeholders(tree, driver)
    return RemoteQuery(connection, driver, "pushdown", _generate(tree, driver), params)


def _spell_out_all(tree: exp.Expr) -> None:
    """DuckDB's ``GROUP BY ALL`` and ``ORDER BY ALL`` as select-list positions other databases know."""
    _spell_out_group_by_all(tree)
    for select in tree.find_all(exp.Select):
        order = select.args.get("order")
        if not isinstance(order, exp.Order):
            continue
        for ordered in list(order.expressions):
            if not (isinstance(ordered.this, exp.Var) and ordered.this.name.upper() == "ALL"):
                continue
            if any(isinstance(p, exp.Star) or isinstance(p.this, exp.Star) for p in select.expressions):
                raise Untranslatable("ORDER BY ALL over * cannot be spelled out without the columns")
            positions = [
                exp.Ordered(
                    this=exp.Literal.number(index),
                    desc=ordered.args.get("desc"),
                    nulls_first=ordered.args.get("nulls_first"),
                )
                for index in range(1, len(select.expressions) + 1)
            ]
            order.set("expressions", positions)
            break


def _spell_out_group_by_all(tree: exp.Expr) -> None:
    """DuckDB's ``GROUP BY ALL`` as the positions of the non-aggregate select expressions."""
    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        if not isinstance(group, exp.Group) or not group.args.get("all"):
            continue
        positions = [
            exp.Literal.number(index)
            for index, projection in enumerate(select.expressions, start=1)
            if projection.find(exp.AggFunc) is None and projection.find(exp.Window) is None
        ]
        select.set("group", exp.Group(expressions=positions) if positions else None)


def _bind_placeholders(tree: exp.Expr, driver: str) -> list[str]:
    """Replace ``$name`` by the driver's placeholder; the names in placeholder-number order."""
    order: list[str] = []
    for placeholder in list(tree.find_all(exp.Placeholder)):
        name = placeholder.name.lower()
        if name not in order:
            order.append(name)
        if driver == "duckdb":
            continue
        mark = "$" if driver == "postgresql" else "?"
        placeholder.replace(exp.Var(this=f"{mark}{order.index(name) + 1}"))
    return order


def _generate(tree: exp.Expr, driver: str) -> str:
    try:
        return tree.sql(dialect=DIALECTS[driver], unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as error:
        raise Untranslatable(str(error).splitlines()[0]) from None


# --- pulls -------------------------------------------------------------------------------------


def plan_pulls(
    sql: str,
    drivers: Mapping[str, str],
    lookup: Lookup,
    local_columns: Mapping[str, Sequence[str]],
    bound: Mapping[str, Any],
    prune: bool = True,
) -> PullPlan:
    """Fetch each connected table once (pruned and filtered where safe); run the rest locally.

    `drivers`: the driver of each connection the query may read; `lookup`
    finds a connected table's columns (None when unknown); `local_columns`:
    the columns of the blocks and sources the query reads.
    """
    located = locate_tables(sql)
    relations: dict[str, str] = {}  # dotted name -> relation
    infos: dict[str, TableInfo | None] = {}
    refs: dict[str, RemoteRef] = {}
    uses: dict[str, int] = {}
    replacements: list[tuple[tuple[int, int], str]] = []
    for name, node, span in located.tables:
        ref = split_name(name)
        if ref is None or ref.connection not in drivers:
            continue
        relation = relations.setdefault(name, f"{RELATION_PREFIX}{len(relations) + 1}")
        refs[name] = ref
        uses[name] = uses.get(name, 0) + 1
        infos[name] = lookup(ref.connection, _written(node, "db"), _written(node, "this"))
        alias = "" if node.alias else f" AS {quote_identifier(node.name)}"
        replacements.append((span, relation + alias))
    for span, name in located.qualifiers:
        if name in relations:
            replacements.append((span, quote_identifier(name.split(".")[-1])))
    if any(span[0] < 0 for span, _ in replacements):
        raise Untranslatable("could not locate every connected table in the SQL")
    local_sql = splice(sql, replacements)
    analysis = _analyse(local_sql, relations, infos, local_columns) if prune else None
    plan = PullPlan(local_sql=local_sql, pruned=analysis is not None)
    for name, relation in relations.items():
        ref, info = refs[name], infos[name]
        node = next(node for n, node, _ in located.tables if n == name)
        used = analysis.columns.get(relation) if analysis else None
        conjuncts = analysis.filters.get(relation, []) if analysis and uses[name] == 1 else []
        plan.pulls[relation] = _pull_query(ref, node, drivers[ref.connection], info, used, conjuncts, bound)
    return plan


def _written(node: exp.Table, part: str) -> str:
    identifier = node.args.get(part)
    return identifier.name if isinstance(identifier, exp.Identifier) else ""


@dataclass
class _Analysis:
    columns: dict[str, set[str]]  # relation -> lower-case column names the query uses
    filters: dict[str, list[exp.Expr]]  # relation -> WHERE conjuncts on it alone (qualified tree)


def _analyse(
    local_sql: str,
    relations: Mapping[str, str],
    infos: Mapping[str, TableInfo | None],
    local_columns: Mapping[str, Sequence[str]],
) -> _Analysis | None:
    """Which columns of each relation the query uses, and its WHERE conjuncts on each; None if unsure."""
    schema: dict[str, object] = {
        name: {column: "VARCHAR" for column in columns} for name, columns in local_columns.items()
    }
    for name, relation in relations.items():
        info = infos[name]
        if info is None or not info.columns:
            return None
        schema[relation] = {column["name"]: "VARCHAR" for column in info.columns}
    try:
        tree = qualify(
            locate_tables(local_sql).tree.copy(),
            schema=schema,
            dialect="duckdb",
            validate_qualify_columns=True,
            quote_identifiers=False,
        )
        scopes = list(traverse_scope(tree))
    except (InvalidRequest, OptimizeError, ParseError, SqlglotError, ValueError, KeyError, RecursionError):
        return None
    wanted = set(relations.values())
    analysis = _Analysis({relation: set() for relation in wanted}, {})
    if tree.find(exp.Columns) is not None:
        return None  # DuckDB's COLUMNS(...) picks columns by pattern: sqlglot cannot tell which
    for scope in scopes:
        if _has_bare_star(scope.expression):
            return None
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table) and source.name in wanted:
                analysis.columns[source.name].add(column.name.lower())
        if isinstance(scope.expression, exp.Select):
            _collect_filters(scope, wanted, analysis)
    return analysis


def _has_bare_star(node: exp.Expr) -> bool:
    """A ``*`` qualify left unexpanded (``t.*`` of an unknown table, COLUMNS(*)) hides which
    columns are used; only ``count(*)`` is harmless."""
    return any(not isinstance(star.parent, exp.Count) for star in node.find_all(exp.Star))


def _collect_filters(scope: Any, wanted: set[str], analysis: _Analysis) -> None:
    select: exp.Select = scope.expression
    where = select.args.get("where")
    if not isinstance(where, exp.Where):
        return
    for _alias, source in scope.sources.items():
        if not isinstance(source, exp.Table) or source.name not in wanted:
            continue
        if not _filter_safe_side(select, source):
            continue
        for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            columns = list(conjunct.find_all(exp.Column))
            if columns and all(scope.sources.get(c.table) is source for c in columns):
                analysis.filters.setdefault(source.name, []).append(conjunct)


def _filter_safe_side(select: exp.Select, source: exp.Table) -> bool:
    """Filtering `source` before the joins of `select` keeps the same rows (it is never null-extended)."""
    joins = select.args.get("joins") or []
    if any(join.args.get("side") in ("RIGHT", "FULL") for join in joins):
        return False
    for join in joins:
        if join.this is source:
            return not join.args.get("side") and join.args.get("kind") in (None, "", "INNER", "CROSS")
    from_ = select.args.get("from_")
    return isinstance(from_, exp.From) and from_.this is source


def _pull_query(
    ref: RemoteRef,
    node: exp.Table,
    driver: str,
    info: TableInfo | None,
    used: set[str] | None,
    conjuncts: list[exp.Expr],
    bound: Mapping[str, Any],
) -> RemoteQuery:
    """``SELECT cols FROM schema.table WHERE pushed`` in the connection's dialect."""
    by_lower = {c["name"].lower(): c for c in info.columns} if info else {}
    if info is not None:
        table = exp.Table(
            this=exp.to_identifier(info.name, quoted=True), db=exp.to_identifier(info.schema, quoted=True)
        )
    else:
        table = exp.Table(this=node.this.copy(), db=node.args["db"].copy())
    columns: list[str] | None = None
    if used is not None and info is not None and all(c in by_lower for c in used):
        # No column at all (e.g. count(*)): one is still needed to carry the row count.
        columns = [c["name"] for c in info.columns if c["name"].lower() in used] or [info.columns[0]["name"]]
    projection = [exp.column(c, quoted=True) for c in columns] if columns else [exp.Star()]
    select = exp.select(*projection).from_(table)
    pushed = [p for p in (remote_filter(c, by_lower, driver, bound) for c in conjuncts) if p is not None]
    if pushed:
        select = select.where(exp.and_(*pushed))
    params = _bind_placeholders(select, driver)
    return RemoteQuery(
        ref.connection, driver, "pull", _generate(select, driver), params, ref.name, columns, len(pushed)
    )
