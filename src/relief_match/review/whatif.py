"""Policy what-if: rerun the checks of the latest published run with other parameters.

:func:`run_whatif` copies the published run's ``relief_match.duckdb`` to a
private temporary folder (the run folder is only read), loads the checks with
the parameters of an ``ALT.yaml`` in place of the configured ones, reruns the
checks on the staged and linked tables already in the database (no re-ingest,
no re-linking, the run's own as-of date) and compares the findings with the
published list (``_rm_flags``):

* a finding is the same finding when household, check and person agree
  (several findings with that key are paired in evidence order);
* ``added``: produced with the new parameters, not in the published list;
  ``removed``: listed, no longer produced; ``changed``: both, but with another
  evidence record or an amount differing by more than 0.005 yuan;
* findings the published run had suppressed after a review (``_rm_suppressed``)
  are left out of the new set too, so they do not come back as added;
* a household is added/removed when it has findings on one side only, changed
  when its checks, number of findings or total amount differ.

It never touches the outcome store, the run folder or ``OUT/latest``.

``ALT.yaml``::

    params:                                  # or the names at the top level
      exempt_vehicles_per_household: 1
      income_standard_basis: minimum_wage
      minimum_wage:                          # a table parameter: its rows
        - {district_code: "441302", year: 2026, monthly_amount: 1900.0}
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from relief_match.db import table_exists
from relief_match.errors import ConfigError, UsageError
from relief_match.rules import CheckSet, run_checks
from relief_match.rules.spec import ParamSpec

DB_NAME = "relief_match.duckdb"

#: Change labels in whatif.csv.
WHATIF_ZH = {"added": "新增", "removed": "移除", "changed": "变化"}


@dataclass(frozen=True)
class CheckDelta:
    """One check's findings in the published run and with the new parameters."""

    rule_id: str
    rule_title_zh: str | None
    published: int
    whatif: int
    added: int
    removed: int
    changed: int
    published_amount: float
    whatif_amount: float


@dataclass
class WhatIfReport:
    """What changed; ``rows`` are the finding and household rows of whatif.csv."""

    run_dir: Path
    as_of: str
    overrides: dict[str, Any]
    checks: list[CheckDelta] = field(default_factory=list)
    households: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    out_dir: Path | None = None

    def asdict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the rows)."""
        return {
            "run_dir": str(self.run_dir),
            "as_of": self.as_of,
            "overrides": self.overrides,
            "checks": [c.__dict__ for c in self.checks],
            "households": dict(self.households),
            "out_dir": None if self.out_dir is None else str(self.out_dir),
        }

    def asstr(self) -> str:
        """Per check: findings before -> after, added/removed/changed, amounts."""
        lines = [f"what-if on {self.run_dir.name} (as of {self.as_of}): {self.overrides}"]
        for c in self.checks:
            lines.append(
                f"  {c.rule_id:<24} {c.published:>6} -> {c.whatif:<6} +{c.added} -{c.removed}"
                f" ~{c.changed}  amount {c.published_amount:,.2f} -> {c.whatif_amount:,.2f}"
            )
        h = self.households
        lines.append(
            f"  households {h.get('published', 0)} -> {h.get('whatif', 0)}"
            f" +{h.get('added', 0)} -{h.get('removed', 0)} ~{h.get('changed', 0)}"
        )
        if self.out_dir is not None:
            lines.append(f"written to {self.out_dir}")
        return "\n".join(lines)


def load_overrides(path: Path, known: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """The parameters of ``ALT.yaml``: name -> value (a table parameter: its rows).

    Raises:
        UsageError: the file is missing or is not a mapping.
        ConfigError: a name that is not a parameter, or a value of the wrong shape.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read the what-if parameters {path}: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("params"), dict):
        data = data["params"]
    if not isinstance(data, dict) or not data:
        raise UsageError(f"{path}: expected a mapping of parameter names to values")
    overrides: dict[str, Any] = {}
    problems: list[tuple[Path | str, str]] = []
    for name, value in data.items():
        if isinstance(value, dict):
            value = value.get("table", value.get("value"))
        spec = known.get(name)
        if spec is None:
            problems.append((path, f"{name}: not a parameter of params.yaml"))
        elif spec.is_table != (isinstance(value, list) and all(isinstance(r, dict) for r in value)):
            shape = "a list of rows" if spec.is_table else "a value or a list"
            problems.append((path, f"{name}: expected {shape}"))
        else:
            overrides[name] = value
    if problems:
        raise ConfigError(problems, hint="use the parameter names of rules/params.yaml")
    return overrides


def latest_run_dir(out: Path) -> Path:
    """The folder ``OUT/latest`` points to.

    Raises:
        UsageError: no run has been published in ``out``.
    """
    link = out / "latest"
    if not (link / DB_NAME).is_file():
        raise UsageError(
            f"{out} has no published run with a database",
            hint="run `relief-match run --out OUT` first",
        )
    return link.resolve()


def _staged(run_dir: Path, con: duckdb.DuckDBPyConnection) -> tuple[set[str], dict[str, str]]:
    """The extracts the run used and those it could not (from its run_summary.json)."""
    summary_path = run_dir / "run_summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.is_file() else {}
    extracts = (summary.get("ingest") or {}).get("extracts") or []
    available = {e["extract"] for e in extracts if e.get("usable")}
    if not available:
        available = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    unusable = summary.get("unusable_extracts")
    return available, dict(unusable) if isinstance(unusable, dict) else {}


_SIDES_SQL = """
CREATE OR REPLACE TEMP TABLE _whatif_base AS
SELECT household_id, rule_id, rule_title_zh, person_id, member_name, member_id_no,
       amount_at_risk, evidence_extract, evidence_row, reason_zh, district_code
FROM _rm_flags;
CREATE OR REPLACE TEMP TABLE _whatif_titles AS
SELECT rule_id, any_value(title_zh) AS rule_title_zh FROM _rm_checks GROUP BY rule_id;
"""

_ALT_SQL = """
CREATE OR REPLACE TEMP TABLE _whatif_alt AS
SELECT f.household_id, f.rule_id, t.rule_title_zh, f.person_id, f.member_name, f.member_id_no,
       f.amount_at_risk, f.evidence_extract, f.evidence_row, f.reason_zh, f.district_code
FROM _rm_findings AS f LEFT JOIN _whatif_titles AS t USING (rule_id)
WHERE NOT EXISTS (
    SELECT 1 FROM {suppressed} AS s
    WHERE s.household_id = f.household_id AND s.rule_id = f.rule_id
      AND s.person_id IS NOT DISTINCT FROM f.person_id
      AND s.evidence_extract IS NOT DISTINCT FROM f.evidence_extract
      AND s.evidence_row IS NOT DISTINCT FROM f.evidence_row)
"""

_DIFF_SQL = """
CREATE OR REPLACE TEMP TABLE _whatif_diff AS
WITH b AS (
    SELECT *, row_number() OVER (PARTITION BY household_id, rule_id, coalesce(person_id, '')
                                 ORDER BY evidence_extract, evidence_row, reason_zh) AS k
    FROM _whatif_base),
a AS (
    SELECT *, row_number() OVER (PARTITION BY household_id, rule_id, coalesce(person_id, '')
                                 ORDER BY evidence_extract, evidence_row, reason_zh) AS k
    FROM _whatif_alt)
SELECT coalesce(a.household_id, b.household_id) AS household_id,
       coalesce(a.rule_id, b.rule_id) AS rule_id,
       coalesce(a.rule_title_zh, b.rule_title_zh) AS rule_title_zh,
       coalesce(a.person_id, b.person_id) AS person_id,
       coalesce(a.member_name, b.member_name) AS member_name,
       coalesce(a.member_id_no, b.member_id_no) AS member_id_no,
       coalesce(a.district_code, b.district_code) AS district_code,
       b.amount_at_risk AS published_amount, a.amount_at_risk AS whatif_amount,
       coalesce(a.reason_zh, b.reason_zh) AS reason_zh,
       CASE WHEN b.household_id IS NULL THEN 'added'
            WHEN a.household_id IS NULL THEN 'removed'
            WHEN a.evidence_extract IS DISTINCT FROM b.evidence_extract
              OR a.evidence_row IS DISTINCT FROM b.evidence_row
              OR abs(coalesce(a.amount_at_risk, 0) - coalesce(b.amount_at_risk, 0)) > 0.005
            THEN 'changed' ELSE 'same' END AS change
FROM a FULL JOIN b
  ON a.household_id = b.household_id AND a.rule_id = b.rule_id
 AND coalesce(a.person_id, '') = coalesce(b.person_id, '') AND a.k = b.k
"""

_CHECKS_SQL = """
SELECT rule_id, any_value(rule_title_zh),
       count(*) FILTER (WHERE change <> 'added'), count(*) FILTER (WHERE change <> 'removed'),
       count(*) FILTER (WHERE change = 'added'), count(*) FILTER (WHERE change = 'removed'),
       count(*) FILTER (WHERE change = 'changed'),
       round(coalesce(sum(published_amount), 0), 2), round(coalesce(sum(whatif_amount), 0), 2)
FROM _whatif_diff GROUP BY rule_id ORDER BY rule_id
"""

_HOUSEHOLDS_SQL = """
WITH hb AS (SELECT household_id, any_value(district_code) AS district_code,
                   string_agg(DISTINCT rule_id, ',' ORDER BY rule_id) AS rule_ids, count(*) AS n,
                   round(coalesce(sum(amount_at_risk), 0), 2) AS amount
            FROM _whatif_base GROUP BY household_id),
ha AS (SELECT household_id, any_value(district_code) AS district_code,
              string_agg(DISTINCT rule_id, ',' ORDER BY rule_id) AS rule_ids, count(*) AS n,
              round(coalesce(sum(amount_at_risk), 0), 2) AS amount
       FROM _whatif_alt GROUP BY household_id)
SELECT coalesce(ha.household_id, hb.household_id) AS household_id,
       coalesce(ha.district_code, hb.district_code) AS district_code,
       coalesce(ha.rule_ids, hb.rule_ids) AS rule_id,
       hb.amount AS published_amount, ha.amount AS whatif_amount,
       CASE WHEN hb.household_id IS NULL THEN 'added' WHEN ha.household_id IS NULL THEN 'removed'
            WHEN ha.rule_ids <> hb.rule_ids OR ha.n <> hb.n OR ha.amount <> hb.amount
            THEN 'changed' ELSE 'same' END AS change
FROM ha FULL JOIN hb USING (household_id)
ORDER BY change, household_id
"""


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def compare(con: duckdb.DuckDBPyConnection, report: WhatIfReport) -> None:
    """Fill ``report`` from ``_whatif_base`` (published) and ``_whatif_alt`` (new)."""
    con.execute(_DIFF_SQL)
    report.checks = [CheckDelta(*r) for r in con.execute(_CHECKS_SQL).fetchall()]
    findings = _dicts(
        con.execute(
            "SELECT 'finding' AS level, * FROM _whatif_diff WHERE change <> 'same'"
            " ORDER BY rule_id, change, household_id, member_id_no NULLS LAST, person_id"
        )
    )
    households = _dicts(con.execute(_HOUSEHOLDS_SQL))
    report.households = {
        "published": sum(h["change"] != "added" for h in households),
        "whatif": sum(h["change"] != "removed" for h in households),
        **{k: sum(h["change"] == k for h in households) for k in WHATIF_ZH},
    }
    report.rows = findings + [
        {"level": "household", **h} for h in households if h["change"] != "same"
    ]


def run_whatif(out: Path, checks: CheckSet, overrides: dict[str, Any]) -> WhatIfReport:
    """Rerun ``checks`` (already carrying ``overrides``) on the latest published run of ``out``.

    Raises:
        UsageError: ``out`` has no published run.
    """
    run_dir = latest_run_dir(out)
    with tempfile.TemporaryDirectory(prefix=".whatif-", dir=out) as tmp:
        db = Path(tmp) / DB_NAME
        shutil.copyfile(run_dir / DB_NAME, db)
        con = duckdb.connect(str(db))
        try:
            con.execute("SET preserve_insertion_order = true")
            con.execute("SET temp_directory = ?", [str(Path(tmp) / "duckdb_tmp")])
            row = con.execute("SELECT value FROM _rm_run WHERE key = 'as_of'").fetchone()
            assert row is not None, "the run's database has no as_of"
            as_of = dt.date.fromisoformat(str(row[0]))
            con.execute(_SIDES_SQL)
            available, unusable = _staged(run_dir, con)
            run_checks(con, checks, as_of, available, raise_on_failure=True, unusable=unusable)
            suppressed = (
                "_rm_suppressed"
                if table_exists(con, "_rm_suppressed")
                else "(SELECT * FROM _whatif_base LIMIT 0)"
            )
            con.execute(_ALT_SQL.format(suppressed=suppressed))
            report = WhatIfReport(run_dir=run_dir, as_of=as_of.isoformat(), overrides=overrides)
            compare(con, report)
        finally:
            con.close()
    return report
