"""Parameter binding: every ``$name`` in a check's SQL is bound as a value.

Scalars and lists come from ``params.yaml`` (lists become DuckDB lists, used
with ``list_contains``); table parameters become the temp table
``_rm_param_<name>``; ``$as_of``, ``$as_of_month`` and ``$window_start`` are
derived from the run date (see :data:`~relief_match.rules.spec.DERIVED_PARAMS`).
Nothing is ever spliced into the SQL text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from relief_match.rules.schema import PARAM_TABLE_PREFIX, Layout, create_empty_table
from relief_match.rules.spec import CheckSpec, ParamSpec
from relief_match.sqlident import quote_ident


def param_table_layout(spec: ParamSpec) -> Layout:
    """The DuckDB types of a table parameter's columns, inferred from its values."""
    assert spec.table is not None
    types: Layout = {}
    for col in spec.table[0]:
        values = [row[col] for row in spec.table]
        if all(isinstance(v, bool) for v in values):
            types[col] = "BOOLEAN"
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            types[col] = "BIGINT"
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            types[col] = "DOUBLE"
        elif all(isinstance(v, dt.date) for v in values):
            types[col] = "DATE"
        else:
            types[col] = "VARCHAR"
    return types


def register_param_table(con: duckdb.DuckDBPyConnection, name: str, spec: ParamSpec) -> None:
    """Create the temp table ``_rm_param_<name>`` holding a table parameter's rows."""
    assert spec.table is not None
    types = param_table_layout(spec)
    table = PARAM_TABLE_PREFIX + name
    create_empty_table(con, table, types, temp=True)
    cols = list(types)
    placeholders = ", ".join("?" for _ in cols)
    rows = [[str(r[c]) if types[c] == "VARCHAR" else r[c] for c in cols] for r in spec.table]
    con.executemany(f"INSERT INTO {quote_ident(table)} VALUES ({placeholders})", rows)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def bind_values(spec: CheckSpec, params: Mapping[str, ParamSpec], as_of: dt.date) -> dict[str, Any]:
    """The values bound to a check's ``$name`` placeholders for a run on ``as_of``.

    Args:
        spec: the check.
        params: all parameters.
        as_of: the run date.

    Returns:
        name -> value for every scalar/list parameter the check declares, plus
        the derived ``as_of``, ``as_of_month`` and ``window_start``. Only names
        that occur in the SQL are kept (DuckDB rejects unused named parameters).
    """
    as_of_month = as_of.replace(day=1)
    values: dict[str, Any] = {"as_of": as_of, "as_of_month": as_of_month}
    recent = params.get("recent_months")
    if recent is not None and isinstance(recent.value, int):
        values["window_start"] = _add_months(as_of_month, -recent.value)
    for name in spec.params:
        p = params.get(name)
        if p is not None and not p.is_table:
            values[name] = list(p.value) if isinstance(p.value, list) else p.value
    used = sql_placeholders(spec.sql)
    return {k: v for k, v in values.items() if k in used}


def check_sql(sql: str) -> str:
    """A check's SQL as run: stripped of blanks and a trailing semicolon."""
    return sql.strip().rstrip(";").strip()


def sql_placeholders(sql: str) -> set[str]:
    """The ``$name`` placeholders of one SQL statement (empty when it does not parse)."""
    try:
        stmt = sqlglot.parse_one(check_sql(sql), read="duckdb")
    except ParseError:
        return set()
    return {ph.this for ph in stmt.find_all(exp.Placeholder) if isinstance(ph.this, str)}
