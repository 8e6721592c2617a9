"""The checks' SQL in the other engine's dialect: DuckDB SQL translated to Spark SQL.

Checks and shared relations are written once, in DuckDB's dialect (after the
loader has expanded their fragments). The Spark engine runs them translated by
sqlglot (:func:`to_spark`). sqlglot passes a construct it cannot map through
unchanged, which Spark would only reject on the cluster, so
:func:`spark_problems` holds the translation to what Spark SQL 4 has: no
construct sqlglot refuses to generate, SQL that Spark's parser reads back, only
Spark's built-in functions (:data:`~relief_match.rules.spark_functions.SPARK_FUNCTIONS`),
Spark types, no ASOF/POSITIONAL joins, ``SIMILAR TO`` or list comprehensions.
Where sqlglot's translation would run but mean something else, the AST is
rewritten first (:func:`_rewrite`): ``FROM generate_series(...) AS g(c)`` becomes
``explode(sequence(...))``, ``format('{:,.Nf}', x)`` becomes ``format_number(x, N)``
and ``round(x, N)`` rounds ``x * 10^N`` like DuckDB does (Spark rounds the
shortest decimal text of a double, DuckDB its binary value: 2.675 → 2.67).
The loader runs it for every check, so a check that cannot be translated is a
configuration error naming its file and the construct, before anything runs.

Example:
    >>> to_spark("SELECT list_contains($statuses, status) AS a FROM t")
    'SELECT ARRAY_CONTAINS(:statuses, status) AS a FROM t'
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, UnsupportedError

from relief_match.rules.spark_functions import SPARK_FUNCTIONS

#: Function-call forms of Spark SQL that ``SHOW FUNCTIONS`` does not list.
_SPARK_FORMS = frozenset({"cast", "try_cast", "extract", "struct", "array", "map", "exists"})
#: The data types Spark SQL has (sqlglot's names for them).
_SPARK_TYPES = frozenset(
    {
        "TEXT",
        "VARCHAR",
        "CHAR",
        "BOOLEAN",
        "TINYINT",
        "SMALLINT",
        "INT",
        "BIGINT",
        "FLOAT",
        "DOUBLE",
        "DECIMAL",
        "DATE",
        "TIMESTAMP",
        "TIMESTAMPNTZ",
        "TIMESTAMPLTZ",
        "BINARY",
        "INTERVAL",
        "ARRAY",
        "MAP",
        "STRUCT",
        "NULL",
    }
)
#: Join methods of DuckDB that Spark lacks.
_DUCKDB_JOINS = frozenset({"ASOF", "POSITIONAL"})
#: Expression classes of DuckDB (as sqlglot reads them) that Spark SQL lacks.
_DUCKDB_ONLY: tuple[tuple[type[exp.Expr], str], ...] = (
    (exp.SimilarTo, "SIMILAR TO"),
    (exp.Comprehension, "a list comprehension [... FOR x IN ...]"),
    (exp.Columns, "COLUMNS(...)"),
)
_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(")


class UntranslatableError(ValueError):
    """A check's SQL has a construct that Spark SQL lacks (the message names it)."""


def to_spark(sql: str) -> str:
    """``sql`` (one DuckDB statement, ``$name`` parameters) as Spark SQL (``:name``).

    Raises:
        UntranslatableError: naming the first construct Spark SQL lacks.
    """
    try:
        stmt = sqlglot.parse_one(sql, read="duckdb")
    except ParseError as exc:
        raise UntranslatableError(f"does not parse: {str(exc).splitlines()[0]}") from exc
    problems = spark_problems(stmt)
    if problems:
        raise UntranslatableError(problems[0])
    return _generate(_rewrite(stmt, []))


def _generate(stmt: exp.Expr) -> str:
    return stmt.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)


_FORMAT_FIXED = re.compile(r"\{:,\.(\d)f\}")


def _rewrite(stmt: exp.Expr, problems: list[str]) -> exp.Expr:
    """A copy of ``stmt`` whose DuckDB constructs are spelt so that Spark means the same."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
            node.set("this", exp.Explode(this=node.this.copy()))
        elif isinstance(node, exp.Format):
            pattern = node.this
            m = _FORMAT_FIXED.fullmatch(pattern.name) if pattern.is_string else None
            if m is None or len(node.expressions) != 1:
                problems.append(
                    f"format({pattern.sql(dialect='duckdb')}, ...) has no Spark SQL equivalent"
                    " (only '{:,.Nf}' translates, to format_number)"
                )
                return node
            digits = exp.Literal.number(int(m.group(1)))
            return exp.Anonymous(this="format_number", expressions=[node.expressions[0], digits])
        elif isinstance(node, exp.Round) and node.args.get("decimals") is not None:
            decimals = node.args["decimals"]
            if not (isinstance(decimals, exp.Literal) and decimals.name.isdigit()):
                problems.append("round(x, n) with a non-constant n has no Spark SQL equivalent")
                return node
            scale = exp.cast(exp.Literal.number(10 ** int(decimals.name)), "DOUBLE")
            scaled = exp.Round(
                this=exp.Mul(this=node.this, expression=scale), decimals=exp.Literal.number(0)
            )
            return exp.Paren(this=exp.Div(this=scaled, expression=scale.copy()))
        return node

    rewritten = stmt.copy().transform(fix)
    for select in reversed(list(rewritten.find_all(exp.Select, bfs=False))):
        if select.args.get("qualify") is not None:
            select.replace(_without_qualify(select))
    return rewritten


def _without_qualify(select: exp.Select) -> exp.Select:
    """``SELECT ... QUALIFY cond`` as a filter on a subquery (Spark SQL has no QUALIFY).

    The window functions of ``cond`` become columns ``_rm_qN`` of the subquery,
    left out of the result by ``* EXCEPT``; unlike sqlglot's own rewrite this
    keeps a ``SELECT *`` result free of helper columns.
    """
    inner = select.copy()
    condition = inner.args["qualify"].this.copy()
    inner.set("qualify", None)
    moved = {k: inner.args.get(k) for k in ("order", "limit", "offset")}
    for key in moved:
        inner.set(key, None)
    names = []
    for i, window in enumerate(list(condition.find_all(exp.Window))):
        name = f"_rm_q{i}"
        names.append(exp.to_identifier(name))
        inner.select(window.copy().as_(name), copy=False)
        window.replace(exp.column(name))
    outer = exp.select(exp.Star(except_=[exp.column(n) for n in names])).from_(
        inner.subquery("_rm_q")
    )
    outer = outer.where(condition, copy=False)
    for key, value in moved.items():
        if value is not None:
            outer.set(key, value)
    return outer


def spark_problems(stmt: exp.Expr) -> list[str]:
    """What keeps ``stmt`` (parsed as DuckDB SQL) from running on Spark SQL; empty if nothing."""
    problems = [
        f"{label} has no Spark SQL equivalent"
        for cls, label in _DUCKDB_ONLY
        if any(True for _ in stmt.find_all(cls))
    ]
    for join in stmt.find_all(exp.Join):
        method = join.text("method").upper()
        if method in _DUCKDB_JOINS:
            problems.append(f"{method} JOIN has no Spark SQL equivalent")
    rewritten = _rewrite(stmt, problems)
    if problems:
        return problems
    try:
        translated = _generate(rewritten)
    except UnsupportedError as exc:
        return [f"cannot be translated to Spark SQL: {str(exc).splitlines()[0]}"]
    try:
        back = sqlglot.parse_one(translated, read="spark")
    except ParseError as exc:
        return [f"its Spark SQL translation does not parse: {str(exc).splitlines()[0]}"]
    return _function_problems(back) + _type_problems(back)


def _function_problems(stmt: exp.Expr) -> list[str]:
    found: list[str] = []
    for node in stmt.find_all(exp.Func):
        m = _CALL.match(node.sql(dialect="spark"))
        if m is None:
            continue
        name = m.group(1).lower()
        if name not in SPARK_FUNCTIONS and name not in _SPARK_FORMS and name not in found:
            found.append(name)
    return [f"function {name}() has no Spark SQL equivalent" for name in found]


def _type_problems(stmt: exp.Expr) -> list[str]:
    found = sorted(
        {
            t.this.name
            for t in stmt.find_all(exp.DataType)
            if isinstance(t.this, exp.DataType.Type) and t.this.name not in _SPARK_TYPES
        }
    )
    return [f"type {name} has no Spark SQL equivalent" for name in found]
