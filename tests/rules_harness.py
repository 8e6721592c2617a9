"""Test harness: run a check on literal rows, the case files of ``tests/rules_cases/<RULE_ID>.yaml``.

A case file::

    rule_id: VEHICLE
    as_of: 2026-11-15
    tables:                      # staged extracts and _rm_* tables, only the columns needed
      recipients_members:
        - {_row: 2, household_id: H1, id_no: "441302199001011234", name: 陈大文}
      benefit_payments:
        - {household_id: H1, pay_month: 2025-01..2025-12, amount: 600.0}
      motor_vehicles:
        - {_row: 2, plate_no: 粤L12345, vehicle_type: 小型汽车, status: 正常, registration_date: 2025-03-05}
      _rm_links:
        - {extract: motor_vehicles, row: 2, person_id: "441302199001011234"}
    expected:
      - {kind: finding, household_id: H1, person_id: "441302199001011234", amount_at_risk: 6000.0}
      - {kind: near_miss, near_miss: exempt_vehicle, household_id: H2, note: 摩托车}

Conveniences, so that case files stay readable:

* columns left out are NULL (every staged column exists, so the SQL binds);
* ``_row`` is numbered 2, 3, ... per table when not given;
* a ``month``/``date`` value ``"2025-01"`` means 2025-01-01, and ``"2025-01..2025-06"``
  expands the row into one row per month;
* ``_rm_member_person`` and ``_rm_persons`` are derived from ``recipients_members``
  when not given (person_id = the member's valid id_no, else ``M<_row>``);
* ``_rm_links`` rows default to ``route: exact``, ``match_probability: 1.0`` and
  the extract's first person role in its schema (``owner``, ``deceased``, ...);
* the shared relations (``_rm_member``, ...) are built by :func:`run_checks`
  from these tables, exactly as in a run.

Expectations: every finding the check returns must match exactly one
``kind: finding`` entry (on household_id and whichever of person_id,
member_id_no, evidence_extract, evidence_row, amount_at_risk it gives), every
``finding`` entry must be matched, and no finding may touch a ``near_miss``
entry's household (and person, when given).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path
from typing import Any, Literal

import duckdb
import yaml
from pydantic import BaseModel, ConfigDict, Field

from relief_match.catalog import load_catalog
from relief_match.rules import CheckSet, run_checks
from relief_match.rules.schema import RM_TABLES, Layout, create_empty_table
from relief_match.sqlident import quote_ident


def default_roles() -> dict[str, str]:
    """The first person role of each extract (schemas' ``person_refs``): the
    default ``role`` of ``_rm_links`` rows in case files."""
    return {e.extract: e.person_refs[0].role for e in load_catalog() if e.person_refs}


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})$")


class Expectation(BaseModel):
    """One expected finding, or one near miss that must not be found."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["finding", "near_miss"]
    household_id: str
    person_id: str | None = None
    member_id_no: str | None = None
    amount_at_risk: float | None = None
    evidence_extract: str | None = None
    evidence_row: int | None = None
    near_miss: str | None = Field(default=None, description="id of the check's near miss")
    note: str | None = None


class CaseFile(BaseModel):
    """A ``tests/rules_cases/<RULE_ID>.yaml`` file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str
    as_of: dt.date
    description: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]]
    expected: list[Expectation]


def load_case(path: Path) -> CaseFile:
    """Parse a case file.

    Raises:
        pydantic.ValidationError: when the file does not have the case shape.
    """
    return CaseFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _month_start(text: str) -> dt.date | None:
    m = _MONTH.match(text)
    return dt.date(int(m[1]), int(m[2]), 1) if m else None


def _expand(row: dict[str, Any], layout: Layout) -> list[dict[str, Any]]:
    """Expand ``"YYYY-MM..YYYY-MM"`` values of DATE columns into one row per month."""
    for col, value in row.items():
        if layout.get(col) == "DATE" and isinstance(value, str) and (m := _RANGE.match(value)):
            start = int(m[1]) * 12 + int(m[2]) - 1
            end = int(m[3]) * 12 + int(m[4]) - 1
            if "_row" in row:
                raise ValueError(f"row with a month range cannot give _row: {row}")
            out = []
            for i in range(start, end + 1):
                out += _expand({**row, col: dt.date(i // 12, i % 12 + 1, 1)}, layout)
            return out
    fixed = {}
    for col, value in row.items():
        if layout.get(col) == "DATE" and isinstance(value, str):
            value = _month_start(value) or dt.date.fromisoformat(value)
        if layout.get(col) == "VARCHAR" and value is not None and not isinstance(value, str):
            value = str(value)
        fixed[col] = value
    return [fixed]


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    name: str,
    layout: Layout,
    rows: list[dict[str, Any]],
    shuffle: random.Random | None = None,
) -> None:
    """Create table ``name`` with ``layout`` and insert literal rows (missing columns NULL).

    With ``shuffle``, the rows (numbered first) are inserted in a random order.

    Raises:
        ValueError: for a column that is not in the layout.
    """
    create_empty_table(con, name, layout)
    expanded: list[dict[str, Any]] = []
    for row in rows:
        unknown = set(row) - set(layout)
        if unknown:
            raise ValueError(f"{name}: unknown column(s) {sorted(unknown)}")
        expanded += _expand(row, layout)
    if "_row" in layout:
        next_row = max([r["_row"] for r in expanded if r.get("_row") is not None] + [1]) + 1
        for r in expanded:
            if r.get("_row") is None:
                r["_row"] = next_row
                next_row += 1
    if not expanded:
        return
    if shuffle is not None:
        shuffle.shuffle(expanded)
    cols = list(layout)
    con.executemany(
        f"INSERT INTO {quote_ident(name)} VALUES ({', '.join('?' for _ in cols)})",
        [[r.get(c) for c in cols] for r in expanded],
    )


def build_case_db(
    case: CaseFile, checks: CheckSet, shuffle: random.Random | None = None
) -> tuple[duckdb.DuckDBPyConnection, set[str]]:
    """Create an in-memory DuckDB holding the case's tables (with ``shuffle``: in random order).

    Returns:
        ``(con, available)``: the connection and the extracts to treat as
        delivered (those the case gives, plus the check's ``requires`` as empty
        tables when the case omits them).
    """
    if checks.layouts is None:
        raise ValueError("case files need the staged layouts: load_checks(..., schemas_dir)")
    check = checks.get(case.rule_id)
    con = duckdb.connect(":memory:")
    tables = dict(case.tables)
    for name in check.spec.requires:
        tables.setdefault(name, [])
    for name, rows in tables.items():
        if name in RM_TABLES:
            continue
        if name not in checks.layouts:
            raise ValueError(f"unknown table {name!r} in case file")
        insert_rows(con, name, checks.layouts[name], rows, shuffle)
    roles = default_roles()
    links = [
        {
            "route": "exact",
            "match_probability": 1.0,
            "role": roles.get(str(r.get("extract")), "ref"),
            **r,
        }
        for r in tables.get("_rm_links", [])
    ]
    insert_rows(con, "_rm_links", RM_TABLES["_rm_links"], links, shuffle)
    for name in ("_rm_member_person", "_rm_persons"):
        if name in tables:
            insert_rows(con, name, RM_TABLES[name], tables[name], shuffle)
    if "_rm_member_person" not in tables:
        create_empty_table(con, "_rm_member_person", RM_TABLES["_rm_member_person"])
        con.execute(
            """
            INSERT INTO _rm_member_person
            SELECT _row, coalesce(id_no, 'M' || _row), household_id FROM recipients_members
            """
        )
    if "_rm_persons" not in tables:
        create_empty_table(con, "_rm_persons", RM_TABLES["_rm_persons"])
        con.execute(
            """
            INSERT INTO _rm_persons
            SELECT mp.person_id, any_value(m.id_no), any_value(m.name), any_value(m.sex),
                   any_value(m.birth_date), NULL, count(DISTINCT m.household_id)
            FROM _rm_member_person AS mp JOIN recipients_members AS m ON m._row = mp.member_row
            GROUP BY mp.person_id
            """
        )
    available = {t for t in tables if t in checks.layouts}
    return con, available


def run_case(
    case: CaseFile, checks: CheckSet, shuffle: random.Random | None = None
) -> list[dict[str, Any]]:
    """Run the case's check on its tables and return the findings as dicts.

    With ``shuffle``, every input table's rows are inserted in a random order.
    """
    selected = checks.select([case.rule_id]).with_params(case.params)
    con, available = build_case_db(case, selected, shuffle)
    try:
        run_checks(con, selected, case.as_of, available)
        cur = con.execute("SELECT * FROM _rm_findings ORDER BY household_id, person_id")
        cols = [d[0] for d in cur.description or []]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def _matches(exp: Expectation, f: dict[str, Any]) -> bool:
    if f["household_id"] != exp.household_id:
        return False
    for key in ("person_id", "member_id_no", "evidence_extract", "evidence_row"):
        want = getattr(exp, key)
        if want is not None and f[key] != want:
            return False
    return not (
        exp.amount_at_risk is not None
        and (f["amount_at_risk"] is None or abs(f["amount_at_risk"] - exp.amount_at_risk) > 0.005)
    )


def compare(case: CaseFile, findings: list[dict[str, Any]]) -> list[str]:
    """Compare findings with the case's expectations; return the mismatches (empty = pass)."""
    problems: list[str] = []
    wanted = [e for e in case.expected if e.kind == "finding"]
    for e in wanted:
        hits = [f for f in findings if _matches(e, f)]
        if len(hits) != 1:
            problems.append(
                f"expected 1 finding for {e.model_dump(exclude_none=True)}, got {len(hits)}"
            )
    for f in findings:
        if not any(_matches(e, f) for e in wanted):
            brief = {
                k: f[k] for k in ("household_id", "person_id", "amount_at_risk", "evidence_row")
            }
            problems.append(f"unexpected finding {brief}: {f['reason_zh']}")
    for e in case.expected:
        if e.kind != "near_miss":
            continue
        for f in findings:
            if f["household_id"] == e.household_id and (
                e.person_id is None or f["person_id"] == e.person_id
            ):
                problems.append(
                    f"near miss {e.near_miss or ''} ({e.note or ''}) was flagged: {f['reason_zh']}"
                )
    return problems
