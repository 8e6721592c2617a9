"""Small helpers around DuckDB."""

from __future__ import annotations

import duckdb


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table or view ``name`` exists in the main schema."""
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    return bool(rows and rows[0][0])
