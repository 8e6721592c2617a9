"""The dry run: bind a check's SQL against empty tables to learn its result columns.

The loader builds one in-memory DuckDB holding every staged extract, link
table, shared relation and table parameter, all empty
(:func:`bind_connection`); :func:`bind_check` first lets sqlglot resolve every
column the SQL names, then asks DuckDB to bind the SQL (``LIMIT 0``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import duckdb
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify

from relief_match.rules.binding import (
    bind_values,
    check_sql,
    param_table_layout,
    register_param_table,
)
from relief_match.rules.relations import (
    RELATIONS,
    RELATIONS_BY_NAME,
    build_relation,
    relation_params,
)
from relief_match.rules.schema import PARAM_TABLE_PREFIX, RM_TABLES, Layout, create_empty_table
from relief_match.rules.spec import CheckSpec, ParamSpec


def bind_connection(
    layouts: Mapping[str, Layout], params: Mapping[str, ParamSpec]
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every table a check may read, empty.

    A shared relation whose parameters ``params`` lacks is left out: the
    checks reading it are reported for the missing parameter.
    """
    con = duckdb.connect(":memory:")
    for name, layout in {**layouts, **RM_TABLES}.items():
        create_empty_table(con, name, layout)
    for relation in RELATIONS:
        if relation_params(relation.name) <= set(params):
            build_relation(con, relation, params)
    for name, spec in params.items():
        if spec.is_table:
            register_param_table(con, name, spec)
    return con


def _sqlglot_schema(
    tables: set[str], params: Mapping[str, ParamSpec], layouts: Mapping[str, Layout]
) -> dict[str, object]:
    schema: dict[str, object] = {}
    for name in tables:
        if name in layouts:
            schema[name] = dict(layouts[name])
        elif name in RM_TABLES:
            schema[name] = dict(RM_TABLES[name])
        elif name in RELATIONS_BY_NAME:
            schema[name] = dict(RELATIONS_BY_NAME[name].layout)
        elif name.startswith(PARAM_TABLE_PREFIX):
            schema[name] = param_table_layout(params[name[len(PARAM_TABLE_PREFIX) :]])
    return schema


def bind_check(
    spec: CheckSpec,
    stmt: exp.Query,
    tables: set[str],
    params: Mapping[str, ParamSpec],
    layouts: Mapping[str, Layout],
    bad: Callable[[str], None],
    bind_con: duckdb.DuckDBPyConnection,
) -> tuple[str, ...] | None:
    """Column check with sqlglot, then a dry run in DuckDB; return the output columns."""
    try:
        qualify(
            stmt.copy(),
            schema=_sqlglot_schema(tables, params, layouts),
            dialect="duckdb",
            validate_qualify_columns=True,
        )
    except OptimizeError as exc:
        bad(f"sql column check: {exc}")
        return None
    except Exception:
        # sqlglot could not analyse a construct: the DuckDB dry run below decides.
        pass

    sql = check_sql(spec.sql)
    bind = bind_values(spec, params, dt.date.today())
    try:
        cur = bind_con.execute(f"SELECT * FROM ({sql}) AS _rm_q LIMIT 0", bind)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        bad(f"sql does not bind against the staged schemas: {first}")
        return None
    return tuple(d[0] for d in cur.description or [])
