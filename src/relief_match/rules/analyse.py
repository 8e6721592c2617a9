"""Static analysis of one check: its SQL's shape, tables, parameters and result.

:func:`analyse_check` reads one :class:`~relief_match.rules.spec.CheckSpec`
with sqlglot (one SELECT, nothing but staged extracts, link tables, shared
relations and declared table parameters; every ``$name`` declared; every
department record reached through ``_rm_links`` filtered by probability), then
binds it in DuckDB against empty tables to learn its result columns. The
same SQL must translate to Spark SQL (:func:`~relief_match.rules.dialects.spark_problems`),
so the Spark engine never meets a check it cannot run. Every
problem is appended to a list, so the loader reports all of them at once.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from relief_match.errors import InternalError
from relief_match.rules.binding import check_sql
from relief_match.rules.dialects import spark_problems
from relief_match.rules.dry_run import bind_check
from relief_match.rules.relations import RELATIONS_BY_NAME, relation_inputs, relation_params
from relief_match.rules.schema import PARAM_TABLE_PREFIX, RM_TABLES, Layout
from relief_match.rules.spec import (
    DERIVED_PARAMS,
    REQUIRED_OUTPUT_COLUMNS,
    CheckSpec,
    LoadedCheck,
    ParamSpec,
)

#: Names a ``reason_zh`` template may use besides the SQL's output columns and
#: the scalar parameters: filled in by the engine.
TEMPLATE_EXTRAS: frozenset[str] = frozenset(
    {"member_id_masked", "district_code", "benefit_type", "title_zh", "as_of"}
)

#: Extracts that are the recipients' own records; every other extract is a
#: department register and must be reached through ``_rm_links``.
OWN_EXTRACTS: frozenset[str] = frozenset(
    {"recipients_households", "recipients_members", "benefit_payments"}
)

#: sqlglot expression classes a check may not contain (statements other than
#: a query). Every name must exist in the installed sqlglot: a renamed or
#: removed class stops the loader instead of silently weakening the guard.
FORBIDDEN_STATEMENTS: tuple[str, ...] = (
    "DDL",
    "DML",
    "Command",
    "Copy",
    "Pragma",
    "Attach",
    "Detach",
    "Set",
    "Use",
    "Transaction",
    "Commit",
    "Rollback",
    "Install",
    "LoadData",
    "Kill",
)
_FORBIDDEN_FUNCTION_PREFIXES = (
    "read_",
    "parquet_",
    "glob",
    "getenv",
    "query",
    "sniff_",
    "json_execute",
)
_TABLE_FUNCTIONS = (exp.GenerateSeries, exp.Unnest)
LINK_PARAM = "min_link_probability"

Problem = Callable[[str], None]


def forbidden_statement_classes() -> tuple[type[exp.Expr], ...]:
    """The sqlglot classes of :data:`FORBIDDEN_STATEMENTS`.

    Raises:
        InternalError: a class is missing from the installed sqlglot.
    """
    missing = [n for n in FORBIDDEN_STATEMENTS if not hasattr(exp, n)]
    if missing:
        raise InternalError(
            f"sqlglot {sqlglot.__version__} lacks expression class(es) {missing} that the "
            "check guard forbids",
            hint="update relief_match.rules.analyse.FORBIDDEN_STATEMENTS for this sqlglot",
        )
    return tuple(getattr(exp, n) for n in FORBIDDEN_STATEMENTS)


@dataclass(frozen=True)
class RuleSet:
    """What every check is analysed against.

    Attributes:
        params: all parameters of ``params.yaml``.
        layouts: staged layouts, or ``None`` without a schemas directory.
        known_extracts: the extracts of the contract.
        forbidden: from :func:`forbidden_statement_classes`.
        bind_con: a connection with empty tables for the dry run, or ``None``.
    """

    params: Mapping[str, ParamSpec]
    layouts: Mapping[str, Layout] | None
    known_extracts: set[str]
    forbidden: tuple[type[exp.Expr], ...]
    bind_con: duckdb.DuckDBPyConnection | None


def func_name(node: exp.Expr) -> str:
    """The lower-case name of a SQL function node."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__.lower()


def template_fields(template: str) -> set[str]:
    """The names a ``str.format`` template uses.

    Raises:
        ValueError: a positional field (``{}`` or ``{0}``).
    """
    names: set[str] = set()
    for _, field_name, _, _ in string.Formatter().parse(template):
        if field_name is None:
            continue
        root = field_name.split(".")[0].split("[")[0]
        if not root or root.isdigit():
            raise ValueError("positional fields ({} or {0}) are not allowed; name the column")
        names.add(root)
    return names


def _parse_query(sql: str, bad: Problem) -> exp.Query | None:
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        bad(f"sql does not parse: {str(exc).splitlines()[0]}")
        return None
    if len(statements) != 1:
        bad(f"sql must be exactly one statement, found {len(statements)}")
        return None
    stmt = statements[0]
    if not isinstance(stmt, exp.Query):
        bad(f"sql must be a SELECT, found {type(stmt).__name__}")
        return None
    return stmt


def _check_forbidden(stmt: exp.Query, forbidden: tuple[type[exp.Expr], ...], bad: Problem) -> None:
    for node in stmt.walk():
        if isinstance(node, forbidden):
            bad(f"sql contains a forbidden statement: {type(node).__name__}")
        if isinstance(node, exp.Func):
            fname = func_name(node)
            if fname.startswith(_FORBIDDEN_FUNCTION_PREFIXES):
                bad(f"sql calls a forbidden function {fname!r} (checks read staged tables only)")


def _read_tables(
    stmt: exp.Query, spec: CheckSpec, rules: RuleSet, bad: Problem
) -> tuple[set[str], int]:
    """The tables the SQL names (CTEs excluded) and how often it names ``_rm_links``."""
    cte_names = {cte.alias_or_name for cte in stmt.find_all(exp.CTE)}
    table_params = {p for p in spec.params if p in rules.params and rules.params[p].is_table}
    allowed = (
        set(spec.extracts)
        | set(RM_TABLES)
        | set(RELATIONS_BY_NAME)
        | {PARAM_TABLE_PREFIX + p for p in table_params}
    )
    tables: set[str] = set()
    n_link_refs = 0
    for t in stmt.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier):
            if not isinstance(t.this, _TABLE_FUNCTIONS):
                bad(f"sql reads from a table function {func_name(t.this)!r}; not allowed")
            continue
        if t.args.get("db") is not None or t.args.get("catalog") is not None:
            bad(f"sql names a qualified table {t.sql(dialect='duckdb')!r}; use the bare table name")
            continue
        name = t.name
        if name in cte_names:
            continue
        n_link_refs += name == "_rm_links"
        tables.add(name)
        if name in allowed:
            continue
        if name in rules.known_extracts:
            bad(f"sql reads {name!r}, which is not declared in requires/requires_any/optional")
        elif name.startswith(PARAM_TABLE_PREFIX):
            param = name[len(PARAM_TABLE_PREFIX) :]
            bad(f"sql reads {name!r}, but {param!r} is not a declared table parameter")
        else:
            known = sorted(RM_TABLES) + sorted(RELATIONS_BY_NAME)
            bad(f"sql reads unknown table {name!r} (allowed: staged extracts and {known})")
    for p in table_params:
        if PARAM_TABLE_PREFIX + p not in tables:
            bad(f"declares table parameter {p!r} but the sql never reads {PARAM_TABLE_PREFIX + p}")
    return tables, n_link_refs


def _check_relations(spec: CheckSpec, tables: set[str], rules: RuleSet, bad: Problem) -> set[str]:
    """Check the shared relations read; return the tables they read in turn."""
    through: set[str] = set()
    for name in sorted(tables & set(RELATIONS_BY_NAME)):
        inputs = relation_inputs(name)
        through |= inputs
        for source in sorted(inputs):
            if source in rules.known_extracts and source not in spec.requires:
                bad(f"reads {name}, built from {source!r}; add {source!r} to requires")
        for p in sorted(relation_params(name)):
            if p not in spec.params:
                bad(f"reads {name}, which uses ${p}; add {p!r} to params")
    return through


def _collect_placeholders(stmt: exp.Query, bad: Problem) -> tuple[set[str], int]:
    placeholders: set[str] = set()
    n_link_params = 0
    for ph in stmt.find_all(exp.Placeholder):
        ph_name = ph.this if isinstance(ph.this, str) else None
        if not ph_name or ph_name.isdigit():
            bad("sql uses a positional parameter (? or $1); use $name")
            continue
        placeholders.add(ph_name)
        n_link_params += ph_name == LINK_PARAM
    return placeholders, n_link_params


def _check_params(
    spec: CheckSpec, placeholders: set[str], tables: set[str], rules: RuleSet, bad: Problem
) -> None:
    params = rules.params
    for name in spec.params:
        if name not in params:
            bad(f"params: {name!r} is not defined in params.yaml")
    for name in sorted(placeholders):
        if name in DERIVED_PARAMS:
            base = DERIVED_PARAMS[name]
            if base is not None and base not in spec.params:
                bad(f"sql uses ${name}, derived from {base!r}; add {base!r} to params")
        elif name not in spec.params:
            bad(f"sql uses ${name} but params does not declare it")
        elif name in params and params[name].is_table:
            bad(f"${name} is a table parameter; read it as {PARAM_TABLE_PREFIX + name}")
    used = set(placeholders)
    for name in tables & set(RELATIONS_BY_NAME):
        used |= relation_params(name)
    for name in spec.params:
        if name in params and not params[name].is_table and name not in used:
            base_of = [d for d, b in DERIVED_PARAMS.items() if b == name]
            if not any(d in used for d in base_of):
                bad(f"declares parameter {name!r} but the sql never uses ${name}")


def _check_extracts_read(spec: CheckSpec, reads: set[str], rules: RuleSet, bad: Problem) -> None:
    for name in spec.extracts:
        if name not in rules.known_extracts:
            bad(f"requires unknown extract {name!r}")
        elif name not in reads:
            bad(f"declares extract {name!r} but the sql never reads it")


def _check_links(
    spec: CheckSpec, tables: set[str], n_refs: int, n_filters: int, rules: RuleSet, bad: Problem
) -> None:
    """Department records only through ``_rm_links``, each reference filtered by probability.

    ``tables`` includes what the shared relations read: ``_rm_person_link`` and
    ``_rm_member_link`` are ``_rm_links`` already filtered by probability.
    """
    dept = sorted(t for t in tables if t in rules.known_extracts and t not in OWN_EXTRACTS)
    if dept and "_rm_links" not in tables:
        bad(f"reads department extract(s) {dept} without going through _rm_links")
    if not n_refs:
        return
    if LINK_PARAM not in spec.params:
        bad(f"reads _rm_links but does not declare the {LINK_PARAM!r} parameter")
    if n_filters < n_refs:
        bad(
            f"reads _rm_links {n_refs} time(s) but filters on ${LINK_PARAM} only "
            f"{n_filters} time(s); filter every link reference"
        )


def _check_output(
    spec: CheckSpec, columns: tuple[str, ...], fields: set[str], rules: RuleSet, bad: Problem
) -> None:
    missing = [c for c in REQUIRED_OUTPUT_COLUMNS if c not in columns]
    if missing:
        bad(f"sql result lacks required column(s) {missing}")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        bad(f"sql result has duplicate column name(s) {dupes}")
    scalars = {p for p in spec.params if p in rules.params and not rules.params[p].is_table}
    unknown = fields - set(columns) - TEMPLATE_EXTRAS - scalars
    if unknown:
        bad(f"reason_zh uses {sorted(unknown)}, which the sql does not return")


def analyse_check(
    spec: CheckSpec, path: Path, rules: RuleSet, problems: list[tuple[Path, str]]
) -> LoadedCheck | None:
    """Check one spec against params, schemas and its own SQL.

    Returns:
        The :class:`LoadedCheck`, or ``None`` when a problem was appended.
    """
    n_before = len(problems)

    def bad(message: str) -> None:
        problems.append((path, message))

    sql = check_sql(spec.sql)
    stmt = _parse_query(sql, bad)
    if stmt is None:
        return None
    _check_forbidden(stmt, rules.forbidden, bad)
    for message in spark_problems(stmt):
        bad(f"sql cannot run on the Spark engine: {message}")
    tables, n_link_refs = _read_tables(stmt, spec, rules, bad)
    through = _check_relations(spec, tables, rules, bad)
    placeholders, n_link_params = _collect_placeholders(stmt, bad)
    _check_params(spec, placeholders, tables | through, rules, bad)
    _check_extracts_read(spec, tables | through, rules, bad)
    _check_links(spec, tables | through, n_link_refs, n_link_params, rules, bad)
    try:
        fields = template_fields(spec.reason_zh)
    except ValueError as exc:
        bad(f"reason_zh is not a valid template: {exc}")
        fields = set()

    output_columns: tuple[str, ...] | None = None
    if rules.layouts is not None and rules.bind_con is not None and len(problems) == n_before:
        output_columns = bind_check(
            spec, stmt, tables, rules.params, rules.layouts, bad, rules.bind_con
        )
        if output_columns is not None:
            _check_output(spec, output_columns, fields, rules, bad)

    if len(problems) != n_before:
        return None
    return LoadedCheck(
        spec=spec,
        path=path,
        tables=frozenset(tables | through),
        output_columns=output_columns,
    )
