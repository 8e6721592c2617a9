"""Small helpers around DuckDB."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl


def query_pl(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> pl.DataFrame:
    """Run ``sql`` (with bound ``params``) and return a polars frame.

    Prefer ``con.sql(sql).pl()`` in new code; this remains for the tests that use it.
    """
    return (con.sql(sql, params=params) if params is not None else con.sql(sql)).pl()


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table or view ``name`` exists in the main schema."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return bool(rows and rows[0][0])
