"""The outcome store: ``OUT/review/outcomes.duckdb``, append-only.

One row per outcome a caseworker recorded and :mod:`relief_match.review.importer`
accepted. Rows are never updated or deleted: a later outcome for the same
``finding_id`` supersedes an earlier one (:func:`latest_sql`). The store sits
beside ``OUT/runs/``, not in it, so retention (``relief-match prune``, which only
deletes folders under ``OUT/runs/``) never touches it. The folder is mode 0700
and the file 0600: reviewer names and notes are personal data.

Latest outcome of a finding: the one with the latest ``review_date`` (an
undated outcome counts as reviewed on the day it was imported), then the one
imported last, then the later row of its file.

Example:
    >>> con = open_store(out)                  # creates OUT/review/outcomes.duckdb
    >>> latest = con.sql(latest_sql()).pl()      # one row per finding_id
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from relief_match.runs.files import PRIVATE, PRIVATE_DIR

REVIEW_DIR = "review"
STORE_NAME = "outcomes.duckdb"

#: Outcome code -> the Chinese value caseworkers pick in 核查结果.
OUTCOME_ZH: dict[str, str] = {
    "confirmed": "属实",
    "false_positive": "不属实",
    "explained": "有合理解释",
    "in_progress": "核查中",
}
#: Every accepted 核查结果 value (Chinese or English code) -> outcome code.
OUTCOME_CODES: dict[str, str] = {
    **{code: code for code in OUTCOME_ZH},
    **{zh: code for code, zh in OUTCOME_ZH.items()},
}
#: Outcomes that take a finding off the list while its evidence is unchanged.
SUPPRESSING = ("false_positive", "explained")

#: Columns of the ``outcomes`` table, in order.
OUTCOME_COLUMNS: dict[str, str] = {
    "seq": "BIGINT",  # order of insertion, 1, 2, ...
    "finding_id": "VARCHAR",
    "finding_key": "VARCHAR",
    "household_id": "VARCHAR",
    "rule_id": "VARCHAR",
    "outcome": "VARCHAR",  # confirmed | false_positive | explained | in_progress
    "recovered_amount": "DECIMAL(14, 2)",
    "reviewer": "VARCHAR",
    "review_date": "DATE",
    "note": "VARCHAR",
    "source_file": "VARCHAR",  # the returned file's name (no folder)
    "source_row": "BIGINT",  # its row as the spreadsheet shows it (header = its own row)
    "file_sha256": "VARCHAR",
    "imported_at": "TIMESTAMP",
    "import_id": "VARCHAR",
}
#: The columns that make two outcomes the same (re-importing one changes nothing).
CONTENT_COLUMNS = (
    "finding_id",
    "outcome",
    "recovered_amount",
    "reviewer",
    "review_date",
    "note",
)


def latest_sql(table: str = "outcomes") -> str:
    """SQL for the latest outcome of every finding_id in ``table`` (see the module docstring);
    ``effective_date`` is its review date, else the day it was imported."""
    return f"""
    SELECT * EXCLUDE (rn) FROM (
        SELECT *, coalesce(review_date, CAST(imported_at AS DATE)) AS effective_date,
               row_number() OVER (
                   PARTITION BY finding_id
                   ORDER BY coalesce(review_date, CAST(imported_at AS DATE)) DESC,
                            imported_at DESC, seq DESC) AS rn
        FROM {table}
    ) WHERE rn = 1
    """


def store_path(out: Path) -> Path:
    """``OUT/review/outcomes.duckdb``."""
    return out / REVIEW_DIR / STORE_NAME


def open_store(out: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store of output folder ``out``; create it (and its table) unless ``read_only``.

    Raises:
        FileNotFoundError: ``read_only`` and there is no store yet.
    """
    path = store_path(out)
    if read_only:
        if not path.is_file():
            raise FileNotFoundError(path)
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    os.chmod(path.parent, PRIVATE_DIR)
    con = duckdb.connect(str(path))
    os.chmod(path, PRIVATE)
    cols = ", ".join(f"{name} {kind}" for name, kind in OUTCOME_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS outcomes ({cols})")
    return con


def append(
    con: duckdb.DuckDBPyConnection,
    rows: list[dict[str, Any]],
    *,
    import_id: str,
    imported_at: datetime,
) -> int:
    """Append the ``rows`` not already in the store (same :data:`CONTENT_COLUMNS`).

    Rows repeated within ``rows`` are appended once. Returns how many were appended.
    """
    if not rows:
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        names = [c for c in OUTCOME_COLUMNS if c not in ("seq", "imported_at", "import_id")]
        types = ", ".join(f"{c} {OUTCOME_COLUMNS[c]}" for c in names)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _incoming (n BIGINT, {types})")
        con.executemany(
            f"INSERT INTO _incoming VALUES ({', '.join('?' for _ in range(len(names) + 1))})",
            [[i, *(r.get(c) for c in names)] for i, r in enumerate(rows)],
        )
        same = " AND ".join(f"o.{c} IS NOT DISTINCT FROM i.{c}" for c in CONTENT_COLUMNS)
        first = ", ".join(CONTENT_COLUMNS)
        before = _count(con)
        con.execute(
            f"""
            INSERT INTO outcomes
            SELECT (SELECT coalesce(max(seq), 0) FROM outcomes) + row_number() OVER (ORDER BY n),
                   {", ".join(names)}, ?, ?
            FROM (SELECT * FROM _incoming
                  QUALIFY row_number() OVER (PARTITION BY {first} ORDER BY n) = 1) AS i
            WHERE NOT EXISTS (SELECT 1 FROM outcomes AS o WHERE {same})
            """,
            [imported_at, import_id],
        )
        con.execute("DROP TABLE _incoming")
        n = _count(con) - before
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return n


def _count(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT count(*) FROM outcomes").fetchone()
    return int(row[0]) if row else 0
