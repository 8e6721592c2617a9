"""Since the last run: new, still open and gone findings (``change``, ``_rm_resolved``).

:func:`compare_with_previous` runs after the ranking. It matches tonight's
``_rm_flags`` with the previous published run's ``flags.parquet`` on
``finding_id`` (see :mod:`relief_match.review.identity`) and

* adds ``change`` to ``_rm_flags``: ``'new'`` (新增) for a finding id the
  previous run did not list, ``'open'`` (持续) for one it did; everything is
  ``'new'`` when there is no previous run (or it predates finding ids);
* adds ``change`` to ``_rm_households``: ``'new'`` when none of the
  household's findings was listed by the previous run, else ``'open'``;
* creates ``_rm_resolved`` (:data:`RESOLVED_COLUMNS`), one row per finding of
  the previous run that is no longer listed (已消失), with the reason, first
  that applies:

  - ``suppressed``: reviewed as 不属实/有合理解释 with unchanged evidence, so
    it moved to ``_rm_suppressed`` (``suppressed.csv``);
  - ``household_exited``: the household is no longer active tonight (no row
    of ``recipients_households`` with a status in ``active_statuses``);
  - ``member_left``: the member is no longer in the household's rows of
    ``recipients_members`` (matched on the ID number, else the name);
  - ``evidence_gone``: the evidence left the data (the department record is
    gone or no longer meets the check); when the same household, check and
    member are listed tonight under another id, the Chinese text says the
    evidence changed and the finding is listed again as new.

:func:`diff_runs` makes the same comparison for any two run folders
(``relief-match diff RUN_A RUN_B``); the reasons come from RUN_B's database
when it is still there.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from relief_match.privacy import mask_id_no

log = logging.getLogger("relief_match")

#: Columns of ``_rm_resolved`` (in order).
RESOLVED_COLUMNS: tuple[str, ...] = (
    "finding_id",
    "finding_key",
    "household_id",
    "rule_id",
    "rule_title_zh",
    "member_name",
    "member_id_no",
    "previous_run_id",
    "reason",
    "reason_zh",
)

#: Reason code -> Chinese text for caseworkers.
REASON_ZH: dict[str, str] = {
    "suppressed": "已核查为不属实或有合理解释且证据未变，不再列出（见suppressed.csv）",
    "household_exited": "该户已不在保（本次救助对象名单中已停保、退出或不再出现）",
    "member_left": "该成员已不在该户成员名单中",
    "evidence_gone": "部门数据中已不再有支持该疑点的记录",
}
#: The Chinese text of ``evidence_gone`` when the finding is listed again under a new id.
EVIDENCE_CHANGED_ZH = "证据已变化，本次以新的疑点编号重新列出"
#: ``change`` -> Chinese label (变化).
CHANGE_ZH: dict[str, str] = {"new": "新增", "open": "持续", "gone": "已消失"}

#: Household statuses that count as still receiving assistance (rules/params.yaml
#: ``active_household_statuses``).
ACTIVE_STATUSES: tuple[str, ...] = ("在保",)

_PREVIOUS_COLUMNS = RESOLVED_COLUMNS[:7]
_REASON_CASE = " ".join(f"WHEN reason = '{code}' THEN '{text}'" for code, text in REASON_ZH.items())


def _tables(con: duckdb.DuckDBPyConnection, catalog: str | None = None) -> set[str]:
    sql = "SELECT table_name FROM information_schema.tables"
    if catalog is None:
        return {r[0] for r in con.execute(sql).fetchall()}
    return {r[0] for r in con.execute(sql + " WHERE table_catalog = ?", [catalog]).fetchall()}


def _load_flags(con: duckdb.DuckDBPyConnection, name: str, run_dir: Path | None) -> bool:
    """Create temp table ``name`` from a run's flags.parquet; False when unusable."""
    cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in _PREVIOUS_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols} LIMIT 0")
    if run_dir is None:
        return False
    path = Path(run_dir) / "flags.parquet"
    if not path.is_file():
        log.warning("no flags.parquet in %s: every finding counts as new", run_dir)
        return False
    have = {
        r[0] for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
    }
    if "finding_id" not in have:
        log.warning("%s predates finding ids: every finding counts as new", path)
        return False
    picks = ", ".join(
        c if c in have else f"CAST(NULL AS VARCHAR) AS {c}" for c in _PREVIOUS_COLUMNS
    )
    con.execute(f"INSERT INTO {name} SELECT {picks} FROM read_parquet(?)", [str(path)])
    return True


def run_id(run_dir: Path | None) -> str | None:
    """The run id of a run folder (``OUT/latest`` resolved to ``runs/<id>``)."""
    return None if run_dir is None else Path(run_dir).resolve().name


def _reason_sql(gone: str, current: str, tables: set[str], db: str, statuses: Sequence[str]) -> str:
    """SELECT of the resolved rows of ``gone`` (not in ``current``), reasons from ``db``."""
    whens = []
    if "_rm_suppressed" in tables:
        whens.append(
            f"WHEN g.finding_id IN (SELECT finding_id FROM {db}_rm_suppressed) THEN 'suppressed'"
        )
    if "recipients_households" in tables:
        active = ", ".join("'" + s.replace("'", "''") + "'" for s in statuses) or "NULL"
        whens.append(
            "WHEN g.household_id NOT IN (SELECT household_id FROM"
            f" {db}recipients_households WHERE status IN ({active})"
            " AND household_id IS NOT NULL) THEN 'household_exited'"
        )
    if "recipients_members" in tables:
        whens.append(
            f"""WHEN g.member_id_no IS NOT NULL OR g.member_name IS NOT NULL THEN CASE WHEN
                EXISTS (SELECT 1 FROM {db}recipients_members AS m
                        WHERE m.household_id = g.household_id
                          AND (coalesce(m.id_no, m.id_no_clean, m.id_no_raw) = g.member_id_no
                               OR (g.member_id_no IS NULL
                                   AND coalesce(m.name, m.name_raw) = g.member_name)))
                THEN 'evidence_gone' ELSE 'member_left' END"""
        )
    case = "CASE " + " ".join(whens) + " ELSE 'evidence_gone' END" if whens else "'evidence_gone'"
    return f"""
        WITH r AS (
            SELECT g.*, {case} AS reason,
                   g.finding_key IN (SELECT finding_key FROM {current}
                                     WHERE finding_key IS NOT NULL) AS relisted
            FROM {gone} AS g
            WHERE g.finding_id NOT IN (SELECT finding_id FROM {current}
                                       WHERE finding_id IS NOT NULL)
        )
        SELECT finding_id, finding_key, household_id, rule_id, rule_title_zh, member_name,
               member_id_no, $previous_run_id AS previous_run_id, reason,
               CASE WHEN reason = 'evidence_gone' AND relisted THEN $changed_zh
                    {_REASON_CASE} END AS reason_zh
        FROM r
        ORDER BY household_id, rule_id, member_id_no NULLS LAST, finding_id
    """


def _reason_values(previous_run_id: str | None) -> dict[str, Any]:
    return {"previous_run_id": previous_run_id, "changed_zh": EVIDENCE_CHANGED_ZH}


@dataclass(frozen=True)
class HistoryReport:
    """What :func:`compare_with_previous` found."""

    previous_run_id: str | None
    new: int
    open: int
    resolved: dict[str, int] = field(default_factory=dict)

    def asdict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "previous_run_id": self.previous_run_id,
            "new": self.new,
            "open": self.open,
            "resolved": dict(self.resolved),
        }

    def asstr(self) -> str:
        """One line for people."""
        since = self.previous_run_id or "no previous run"
        gone = sum(self.resolved.values())
        return f"since {since}: {self.new} new, {self.open} still open, {gone} gone"


def compare_with_previous(
    con: duckdb.DuckDBPyConnection,
    previous_run_dir: Path | None,
    *,
    active_statuses: Sequence[str] = ACTIVE_STATUSES,
) -> HistoryReport:
    """Mark ``_rm_flags``/``_rm_households`` new or open; write ``_rm_resolved``.

    Args:
        con: the run's connection, after :func:`relief_match.rank.rank_findings`.
        previous_run_dir: the previous published run's folder (``OUT/latest``
            as it was when this run started), or ``None``.
        active_statuses: household statuses that count as still receiving assistance.
    """
    _load_flags(con, "_rm_previous", previous_run_dir)
    prev_id = run_id(previous_run_dir)
    for table in ("_rm_flags", "_rm_households"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS change VARCHAR")
    con.execute(
        """
        UPDATE _rm_flags SET change = CASE WHEN finding_id IN
            (SELECT finding_id FROM _rm_previous WHERE finding_id IS NOT NULL)
            THEN 'open' ELSE 'new' END
        """
    )
    con.execute(
        """
        UPDATE _rm_households AS h SET change = CASE WHEN EXISTS
            (SELECT 1 FROM _rm_flags AS f WHERE f.household_id = h.household_id
             AND f.change = 'open') THEN 'open' ELSE 'new' END
        """
    )
    sql = _reason_sql("_rm_previous", "_rm_flags", _tables(con), "", active_statuses)
    con.execute(f"CREATE OR REPLACE TABLE _rm_resolved AS {sql}", _reason_values(prev_id))
    con.execute("DROP TABLE _rm_previous")
    counts = dict(con.execute("SELECT change, count(*) FROM _rm_flags GROUP BY change").fetchall())
    resolved = dict(
        con.execute("SELECT reason, count(*) FROM _rm_resolved GROUP BY reason").fetchall()
    )
    report = HistoryReport(
        previous_run_id=prev_id,
        new=int(counts.get("new", 0)),
        open=int(counts.get("open", 0)),
        resolved={k: int(v) for k, v in sorted(resolved.items())},
    )
    log.info(report.asstr())
    return report


@dataclass(frozen=True)
class RunDiff:
    """The findings of run B against run A (``relief-match diff``)."""

    run_a: str
    run_b: str
    new: list[dict[str, Any]]
    open: list[dict[str, Any]]
    gone: list[dict[str, Any]]
    reasons_known: bool

    def per_check(self) -> dict[str, dict[str, int]]:
        """rule_id -> {'new': n, 'open': n, 'gone': n}."""
        out: dict[str, dict[str, int]] = {}
        for change, rows in (("new", self.new), ("open", self.open), ("gone", self.gone)):
            for rule, n in Counter(r["rule_id"] for r in rows).items():
                out.setdefault(rule, {"new": 0, "open": 0, "gone": 0})[change] = n
        return dict(sorted(out.items()))

    def asdict(self) -> dict[str, Any]:
        """A JSON-ready form (ID numbers masked)."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "counts": {"new": len(self.new), "open": len(self.open), "gone": len(self.gone)},
            "per_check": self.per_check(),
            "reasons_known": self.reasons_known,
            "new": self.new,
            "open": self.open,
            "gone": self.gone,
        }

    def asstr(self) -> str:
        """The comparison for people: counts per check, then the lists (IDs masked)."""
        lines = [
            f"{self.run_b} against {self.run_a}: {len(self.new)} new (新增),"
            f" {len(self.open)} still open (持续), {len(self.gone)} gone (已消失)",
            f"{'check':<24}{'new':>6}{'open':>6}{'gone':>6}",
        ]
        for rule, n in self.per_check().items():
            lines.append(f"{rule:<24}{n['new']:>6}{n['open']:>6}{n['gone']:>6}")
        for title, rows in (("new (新增)", self.new), ("gone (已消失)", self.gone)):
            lines.append(f"{title}:")
            for r in rows:
                why = f"  {r['reason']}: {r['reason_zh']}" if r.get("reason") else ""
                who = f"{r['member_name'] or ''} {r['member_id_masked']}".strip()
                lines.append(
                    f"  {r['finding_id']}  {r['household_id']}  {r['rule_id']}  {who}{why}"
                )
        return "\n".join(lines)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, values: Any = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, values)
    cols = [d[0] for d in cur.description]
    out = []
    for values_ in cur.fetchall():
        row = dict(zip(cols, values_, strict=True))
        row["member_id_masked"] = mask_id_no(row.pop("member_id_no", None))
        out.append(row)
    return out


def diff_runs(
    run_a: Path, run_b: Path, *, active_statuses: Sequence[str] = ACTIVE_STATUSES
) -> RunDiff:
    """Compare two run folders' ``flags.parquet`` by ``finding_id``.

    Raises:
        FileNotFoundError: a folder has no ``flags.parquet``.
        ValueError: a run predates finding ids.
    """
    con = duckdb.connect()
    try:
        for name, d in (("_a", run_a), ("_b", run_b)):
            if not (Path(d) / "flags.parquet").is_file():
                raise FileNotFoundError(f"{d} has no flags.parquet (not a completed run folder?)")
            if not _load_flags(con, name, Path(d)):
                raise ValueError(f"{d} predates finding ids: rerun it with this version")
        cols = "finding_id, household_id, rule_id, rule_title_zh, member_name, member_id_no"
        new = _rows(
            con,
            f"SELECT {cols} FROM _b WHERE finding_id NOT IN (SELECT finding_id FROM _a)"
            " ORDER BY household_id, rule_id, finding_id",
        )
        still = _rows(
            con,
            f"SELECT {cols} FROM _b WHERE finding_id IN (SELECT finding_id FROM _a)"
            " ORDER BY household_id, rule_id, finding_id",
        )
        db = Path(run_b) / "relief_match.duckdb"
        known = False
        prefix = ""
        if db.is_file():
            try:
                con.execute("ATTACH ? AS rb (READ_ONLY)", [str(db)])
                known, prefix = True, "rb."
            except duckdb.Error as exc:
                log.warning("cannot read %s (%s): gone findings without reasons", db, exc)
        tables = _tables(con, "rb") if known else set()
        sql = _reason_sql("_a", "_b", tables, prefix, active_statuses)
        gone = _rows(con, sql, _reason_values(run_id(run_a)))
        for row in gone:
            row.pop("finding_key", None)
            row.pop("previous_run_id", None)
            if not known:
                row["reason"] = row["reason_zh"] = None
        return RunDiff(str(run_a), str(run_b), new, still, gone, known)
    finally:
        con.close()
