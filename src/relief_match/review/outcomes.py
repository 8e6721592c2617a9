"""Outcomes shape the next runs: suppress reviewed findings, annotate the rest.

:func:`apply_outcomes` runs between the checks (with finding ids assigned by
:mod:`relief_match.review.identity`) and the ranking. With the latest outcome
of each ``finding_id`` in the store (:mod:`relief_match.review.store`):

* a finding whose latest outcome is 不属实 (``false_positive``) or 有合理解释
  (``explained``) moves from ``_rm_findings`` to ``_rm_suppressed`` (all its
  columns plus the review columns): its evidence is unchanged, since the id is;
* every other finding stays, annotated with ``review_outcome``, ``review_date``,
  ``reviewer``, ``review_note`` (its own latest outcome, or NULL: 属实 and
  核查中 stay listed with their outcome) and ``earlier_outcome``: the latest
  outcome recorded for the same ``finding_key`` under another ``finding_id``
  (the evidence changed since that review; the finding is back as new).

The store is only read (attached read-only for the moment of the copy).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from relief_match.errors import InternalError
from relief_match.review.store import SUPPRESSING, latest_sql, store_path

#: Columns added to ``_rm_findings`` (and, but for earlier_outcome, to ``_rm_suppressed``).
REVIEW_COLUMNS: dict[str, str] = {
    "review_outcome": "VARCHAR",
    "review_date": "DATE",
    "reviewer": "VARCHAR",
    "review_note": "VARCHAR",
}
EARLIER_COLUMN = "earlier_outcome"


@dataclass(frozen=True)
class OutcomesReport:
    """What the stored outcomes did to tonight's findings."""

    store: str | None  # None: no outcome imported yet
    stored_findings: int  # findings with an outcome in the store
    suppressed: dict[str, int] = field(default_factory=dict)  # rule_id -> findings taken off
    listed_with_outcome: dict[str, dict[str, int]] = field(default_factory=dict)
    came_back: dict[str, int] = field(default_factory=dict)  # rule_id -> evidence changed

    def asdict(self) -> dict[str, Any]:
        """JSON-ready (for run_summary.json)."""
        return {
            "store": self.store,
            "stored_findings": self.stored_findings,
            "suppressed": dict(self.suppressed),
            "suppressed_total": sum(self.suppressed.values()),
            "listed_with_outcome": {k: dict(v) for k, v in self.listed_with_outcome.items()},
            "came_back_with_changed_evidence": dict(self.came_back),
        }

    def asstr(self) -> str:
        """One line for people."""
        if self.store is None:
            return "review: no outcomes imported yet"
        listed = sum(sum(v.values()) for v in self.listed_with_outcome.values())
        per = ", ".join(f"{k} {n}" for k, n in sorted(self.suppressed.items()))
        return (
            f"review: {sum(self.suppressed.values())} reviewed findings suppressed"
            + (f" ({per})" if per else "")
            + f", {listed} listed with their outcome,"
            f" {sum(self.came_back.values())} back with changed evidence"
        )


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    try:
        return [d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description or []]
    except duckdb.CatalogException as exc:
        raise InternalError(f"{table} not found: run the checks before applying outcomes") from exc


def _load_latest(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """``_rm_review_latest``: the store's latest outcome per finding_id (empty without a store)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _rm_review_latest (finding_id VARCHAR, finding_key VARCHAR,"
        " outcome VARCHAR, review_date DATE, reviewer VARCHAR, note VARCHAR,"
        " effective_date DATE, imported_at TIMESTAMP, seq BIGINT)"
    )
    if not path.is_file():
        return
    con.execute(f"ATTACH '{_quote(path)}' AS _rm_store (READ_ONLY)")
    try:
        con.execute(
            "INSERT INTO _rm_review_latest SELECT finding_id, finding_key, outcome, review_date,"
            " reviewer, note, effective_date, imported_at, seq"
            f" FROM ({latest_sql('_rm_store.outcomes')})"
        )
    finally:
        con.execute("DETACH _rm_store")


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def apply_outcomes(con: duckdb.DuckDBPyConnection, out_dir: Path) -> OutcomesReport:
    """Suppress and annotate ``_rm_findings`` from ``out_dir``'s outcome store.

    Args:
        con: the run's connection; ``_rm_findings`` has ``finding_id`` and ``finding_key``.
        out_dir: the output folder (``OUT``, not the run folder) holding ``review/``.

    Returns:
        An :class:`OutcomesReport` (per-check suppressed counts for the run summary).

    Raises:
        InternalError: ``_rm_findings`` is missing or has no finding ids.
    """
    cols = _columns(con, "_rm_findings")
    if not {"finding_id", "finding_key"} <= set(cols):
        raise InternalError("_rm_findings has no finding_id/finding_key: assign finding ids first")
    path = store_path(out_dir)
    _load_latest(con, path)
    keep = ", ".join(f'f."{c}"' for c in cols if c not in REVIEW_COLUMNS and c != EARLIER_COLUMN)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _rm_reviewed AS
        WITH earlier AS (
            SELECT f.finding_id, l.outcome
            FROM (SELECT DISTINCT finding_id, finding_key FROM _rm_findings) AS f
            JOIN _rm_review_latest AS l
              ON l.finding_key = f.finding_key AND l.finding_id <> f.finding_id
            QUALIFY row_number() OVER (
                PARTITION BY f.finding_id
                ORDER BY l.effective_date DESC, l.imported_at DESC, l.seq DESC) = 1
        )
        SELECT {keep}, l.outcome AS review_outcome, l.review_date, l.reviewer,
               l.note AS review_note, e.outcome AS {EARLIER_COLUMN}
        FROM _rm_findings AS f
        LEFT JOIN _rm_review_latest AS l ON l.finding_id = f.finding_id
        LEFT JOIN earlier AS e ON e.finding_id = f.finding_id
        ORDER BY f.rowid
        """
    )
    gone = "review_outcome IN (" + ", ".join(f"'{o}'" for o in SUPPRESSING) + ")"
    con.execute(
        f"CREATE OR REPLACE TABLE _rm_suppressed AS"
        f" SELECT * EXCLUDE ({EARLIER_COLUMN}) FROM _rm_reviewed WHERE {gone}"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE _rm_findings AS"
        f" SELECT * FROM _rm_reviewed WHERE review_outcome IS NULL OR NOT {gone}"
    )
    con.execute("DROP TABLE _rm_reviewed")
    suppressed = Counter(r[0] for r in con.execute("SELECT rule_id FROM _rm_suppressed").fetchall())
    listed: dict[str, Counter[str]] = defaultdict(Counter)
    came_back: Counter[str] = Counter()
    for rule, outcome, earlier in con.execute(
        f"SELECT rule_id, review_outcome, {EARLIER_COLUMN} FROM _rm_findings"
        f" WHERE review_outcome IS NOT NULL OR {EARLIER_COLUMN} IS NOT NULL"
    ).fetchall():
        if outcome is not None:
            listed[rule][outcome] += 1
        if earlier is not None and outcome is None:
            came_back[rule] += 1
    row = con.execute("SELECT count(*) FROM _rm_review_latest").fetchone()
    con.execute("DROP TABLE _rm_review_latest")
    return OutcomesReport(
        store=str(path) if path.is_file() else None,
        stored_findings=int(row[0]) if row else 0,
        suppressed=dict(sorted(suppressed.items())),
        listed_with_outcome={k: dict(sorted(v.items())) for k, v in sorted(listed.items())},
        came_back=dict(sorted(came_back.items())),
    )
