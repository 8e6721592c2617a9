"""Turning a check's result rows into findings: ``_rm_findings``.

Each row a check returns is held to the findings contract (a household, a
known link route, a link at least as probable as ``min_link_probability``),
its ``reason_zh`` template is filled in, the columns beyond the contract go
into the ``evidence`` JSON, and after all checks ran the district, benefit
type and evidence file are added from the staged tables.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import string
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from relief_match.privacy import mask_id
from relief_match.rules.relations import RELATIONS_BY_NAME, build_relation
from relief_match.rules.spec import REQUIRED_OUTPUT_COLUMNS, CheckSet, LoadedCheck
from relief_match.sqlident import quote_ident

#: Columns of ``_rm_findings`` and their DuckDB types.
FINDINGS_COLUMNS: dict[str, str] = {
    "rule_id": "VARCHAR",
    "household_id": "VARCHAR",
    "person_id": "VARCHAR",
    "member_id_no": "VARCHAR",
    "member_name": "VARCHAR",
    "amount_at_risk": "DOUBLE",
    "amount_is_estimate": "BOOLEAN",
    "route": "VARCHAR",
    "match_probability": "DOUBLE",
    "match_evidence": "VARCHAR",
    "evidence_extract": "VARCHAR",
    "evidence_row": "BIGINT",
    "evidence_file": "VARCHAR",
    "reason_zh": "VARCHAR",
    "evidence": "VARCHAR",
    "district_code": "VARCHAR",
    "benefit_type": "VARCHAR",
}

#: Link routes a finding may carry (``None``: the finding rests on no person link).
ROUTES: frozenset[str] = frozenset({"exact", "repaired_id", "probabilistic"})


class _ReasonFormatter(string.Formatter):
    """str.format that renders missing values as '—' and dates without a time."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if isinstance(value, dt.datetime) and value.time() == dt.time(0):
            value = value.date()
        if isinstance(value, Decimal):
            value = float(value)
        return super().format_field(value, format_spec)


_FORMATTER = _ReasonFormatter()


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


class FindingError(Exception):
    """A check returned a row that breaks the findings contract."""


def to_findings(
    check: LoadedCheck,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    checks: CheckSet,
    as_of: dt.date,
    min_link: float,
) -> list[dict[str, Any]]:
    """Hold a check's result rows to the findings contract and shape them as findings.

    Raises:
        FindingError: a row breaks the contract; the check fails.
    """
    spec = check.spec
    missing = [c for c in REQUIRED_OUTPUT_COLUMNS if c not in columns]
    if missing:
        raise FindingError(f"result lacks required column(s) {missing}")
    scalars = {
        name: p.value for name, p in checks.params.items() if name in spec.params and not p.is_table
    }
    out: list[dict[str, Any]] = []
    for values in rows:
        row = dict(zip(columns, values, strict=True))
        if row["household_id"] is None:
            raise FindingError("a finding has no household_id")
        prob = _link_probability(row, min_link)
        amount = row["amount_at_risk"]
        if spec.amount_kind == "none":
            amount = None
        elif amount is not None:
            amount = round(float(amount), 2)
        row["amount_at_risk"] = amount
        reason = _reason(check, row, {**scalars, "as_of": as_of})
        extra = {k: v for k, v in row.items() if k not in FINDINGS_COLUMNS}
        out.append(
            {
                "rule_id": spec.id,
                "household_id": str(row["household_id"]),
                "person_id": _text(row["person_id"]),
                "member_id_no": _text(row["member_id_no"]),
                "member_name": _text(row["member_name"]),
                "amount_at_risk": amount,
                "amount_is_estimate": None
                if spec.amount_kind == "none"
                else spec.amount_kind == "estimate",
                "route": row["route"],
                "match_probability": prob,
                "match_evidence": row.get("match_evidence"),
                "evidence_extract": row["evidence_extract"],
                "evidence_row": None if row["evidence_row"] is None else int(row["evidence_row"]),
                "evidence_file": None,
                "reason_zh": reason,
                "evidence": json.dumps(
                    extra, ensure_ascii=False, default=_json_default, sort_keys=True
                ),
                "district_code": row.get("district_code"),
                "benefit_type": row.get("benefit_type"),
            }
        )
    return out


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _link_probability(row: dict[str, Any], min_link: float) -> float | None:
    """The row's link probability, after checking its route and threshold."""
    route = row["route"]
    prob = row["match_probability"]
    if route is not None and route not in ROUTES:
        raise FindingError(f"unknown route {route!r}")
    if prob is None:
        return None
    prob = float(prob)
    if route is not None and prob < min_link - 1e-9:
        raise FindingError(
            f"finding for household {row['household_id']} rests on a link with "
            f"probability {prob} < {min_link}"
        )
    return prob


def _reason(check: LoadedCheck, row: dict[str, Any], values: dict[str, Any]) -> str:
    """Fill in the check's ``reason_zh`` template for one row."""
    context = {
        **values,
        "title_zh": check.spec.title_zh,
        "member_id_masked": mask_id(row["member_id_no"]),
        "district_code": row.get("district_code"),
        "benefit_type": row.get("benefit_type"),
        **row,
    }
    try:
        return _FORMATTER.vformat(check.spec.reason_zh, (), context)
    except (KeyError, ValueError, IndexError, AttributeError, TypeError) as exc:
        raise FindingError(f"reason_zh cannot be formatted: {exc!r}") from exc


_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "BIGINT": pa.int64(),
}


def insert_findings(con: duckdb.DuckDBPyConnection, findings: list[dict[str, Any]]) -> None:
    """Append findings to ``_rm_findings``."""
    if not findings:
        return
    schema = pa.schema([(c, _ARROW_TYPES[t]) for c, t in FINDINGS_COLUMNS.items()])
    batch = pa.Table.from_pylist(findings, schema=schema)
    con.register("_rm_findings_batch", batch)
    try:
        con.execute("INSERT INTO _rm_findings SELECT * FROM _rm_findings_batch")
    finally:
        con.unregister("_rm_findings_batch")


def fill_context(con: duckdb.DuckDBPyConnection, existing: set[str]) -> None:
    """Add district, benefit type and the evidence file to the findings.

    The evidence file comes from any staged table named by ``evidence_extract``
    that has ``_row`` and ``_file`` columns.
    """
    if "recipients_households" in existing:
        build_relation(con, RELATIONS_BY_NAME["_rm_household"], {})
        con.execute(
            """
            UPDATE _rm_findings AS f
            SET district_code = coalesce(f.district_code, h.district_code),
                benefit_type = coalesce(f.benefit_type, h.benefit_type)
            FROM _rm_household AS h
            WHERE h.household_id = f.household_id
            """
        )
    extracts = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT evidence_extract FROM _rm_findings WHERE evidence_extract IS NOT NULL"
        ).fetchall()
    ]
    for name in extracts:
        if name not in existing:
            continue
        cols = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
            ).fetchall()
        }
        if not {"_row", "_file"} <= cols:
            continue
        con.execute(
            f"""
            UPDATE _rm_findings AS f SET evidence_file = t._file
            FROM {quote_ident(name)} AS t
            WHERE f.evidence_extract = ? AND t._row = f.evidence_row
            """,
            [name],
        )
