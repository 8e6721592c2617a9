"""Where validated rows go: one sink that several extract workers share.

Staged rows of an extract are written as parquet parts under the run's
``staged/<extract>/`` folder (polars writes them outside any lock, so two
extracts are validated and written at the same time) and exposed in DuckDB as
a view named after the extract. Without a staging folder (an in-memory
database in tests and tools) they are appended to a DuckDB table instead.
Everything else the ingest records (quarantine, repairs, one row per file,
columns kept aside) is small and appended to DuckDB tables under one lock,
because a DuckDB connection is used by one thread at a time.

Readers never depend on the order in which two extracts' rows arrived in the
shared tables: ``quarantine.csv`` is sorted, and each extract's own rows keep
their order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from relief_match.db import table_exists
from relief_match.sqlident import quote_ident

#: Suffix of the staged table of an extract that is unusable tonight: kept for
#: analysts, never read by a check (the check reports the extract as not usable).
UNUSABLE_SUFFIX = "__unusable"
_PRIVATE = 0o600


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class StageSink:
    """The destination of one delivery's validated rows (thread-safe).

    Args:
        con: the run's DuckDB connection.
        staging_dir: folder for the staged parquet parts; ``None`` stages into
            DuckDB tables.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, staging_dir: Path | None = None) -> None:
        self.con = con
        self.staging_dir = staging_dir
        self._lock = threading.Lock()
        self._parts: dict[str, list[Path]] = {}
        self._schemas: dict[str, pl.Schema] = {}
        self._tables: set[str] = set()
        self._create_meta_tables()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement under the sink's lock."""
        with self._lock:
            self.con.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: list[list[Any]]) -> None:
        """Insert several parameter rows under the sink's lock."""
        if rows:
            with self._lock:
                self.con.executemany(sql, rows)

    def _create_meta_tables(self) -> None:
        self.execute(
            "CREATE OR REPLACE TABLE _rm_quarantine (extract VARCHAR, file VARCHAR, row BIGINT,"
            ' "column" VARCHAR, raw_value VARCHAR, reason VARCHAR, message VARCHAR)'
        )
        self.execute(
            'CREATE OR REPLACE TABLE _rm_repairs (extract VARCHAR, "column" VARCHAR,'
            " kind VARCHAR, n BIGINT)"
        )
        self.execute(
            "CREATE OR REPLACE TABLE _rm_deliveries (extract VARCHAR, department VARCHAR,"
            " file VARCHAR, format VARCHAR, encoding VARCHAR, status VARCHAR, rows_read BIGINT,"
            " rows_used BIGINT, rows_quarantined BIGINT, message VARCHAR)"
        )

    def has_staged(self, extract: str) -> bool:
        """Whether any staged chunk of ``extract`` arrived (even an empty one)."""
        return extract in self._parts or extract in self._tables

    def staged(self, extract: str, frame: pl.DataFrame) -> None:
        """Append one chunk's validated rows of ``extract``."""
        if self.staging_dir is None:
            self.append(extract, frame)
            return
        parts = self._parts.setdefault(extract, [])
        schema = self._schemas.setdefault(extract, frame.schema)
        if parts and not frame.height:
            return
        folder = self.staging_dir / extract
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{len(parts):05d}.parquet"
        frame.cast(schema).write_parquet(path, compression="lz4", statistics=False)
        os.chmod(path, _PRIVATE)
        parts.append(path)

    def append(self, table: str, frame: pl.DataFrame) -> None:
        """Append ``frame`` to the DuckDB table ``table`` (created by its first frame)."""
        arrow = frame.to_arrow()
        with self._lock:
            self.con.register("_rm_tmp_frame", arrow)
            try:
                if table in self._tables or table.startswith("_rm_"):
                    self.con.execute(
                        f"INSERT INTO {quote_ident(table)} BY NAME SELECT * FROM _rm_tmp_frame"
                    ).fetchall()
                else:
                    self.con.execute(
                        f"CREATE OR REPLACE TABLE {quote_ident(table)} AS"
                        " SELECT * FROM _rm_tmp_frame"
                    ).fetchall()
                    self._tables.add(table)
            finally:
                self.con.unregister("_rm_tmp_frame")

    def finish(self, extract: str, usable: bool) -> None:
        """Expose the staged parts of ``extract`` under its name, or set them
        aside as ``<extract>__unusable`` when it is unusable tonight."""
        name = extract if usable else extract + UNUSABLE_SUFFIX
        with self._lock:
            if extract in self._parts:
                _drop(self.con, name)
                files = ", ".join(_sql_str(str(p.resolve())) for p in self._parts[extract])
                self.con.execute(
                    f"CREATE VIEW {quote_ident(name)} AS SELECT * FROM read_parquet([{files}])"
                ).fetchall()
            elif not usable and table_exists(self.con, extract):
                _drop(self.con, name)
                self.con.execute(
                    f"ALTER TABLE {quote_ident(extract)} RENAME TO {quote_ident(name)}"
                ).fetchall()


def _drop(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view ``name`` if there is one."""
    rows = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()
    if rows:
        kind = "VIEW" if rows[0][0] == "VIEW" else "TABLE"
        con.execute(f"DROP {kind} {quote_ident(name)}").fetchall()
