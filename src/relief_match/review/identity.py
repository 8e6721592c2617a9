"""Stable finding ids: ``finding_key`` and ``finding_id`` on ``_rm_findings``.

A caseworker's outcome must stick to "the same finding" night after night, and
let go when the evidence changes. Two ids are added to every finding:

* ``finding_key`` = ``'K'`` + 12 hex digits of SHA-256 over
  ``household_id | rule_id | member``, where *member* is the member's ID
  number when the finding carries one, else its ``person_id``, else its
  ``member_name`` (empty for household-level findings). Stable across nights
  and independent of the evidence: it says *who* and *which check*.
* ``finding_id`` = ``'F'`` + 12 hex digits of SHA-256 over ``finding_key``,
  the evidence extract and the **identity fields** of the finding's
  ``evidence`` (below). It says *who, which check and on what evidence*.

What the id is never derived from: the physical row number of the evidence
record (``evidence_row`` changes when a department re-sorts its file), the run
date or as-of date, the row order of any extract, and the **running figures**
that grow every month while an unchanged situation persists (months paid so
far, the amount paid since the death / the exit / the registration, the
"latest contribution month", the reporting window). A death certificate, a
plate number, a property certificate, a credit code, a registration or death
date are identity fields: a different record or a different date gives a
different id.

Amounts. An amount enters the id only where it is a level rather than a
running total (the income per head of INCOME_OVER_STANDARD, the approved
monthly amount and the amount overpaid of OVERPAID): it enters as its
**tolerance bucket** ``round(ln(a) / ln(1 + AMOUNT_TOLERANCE))`` with
``AMOUNT_TOLERANCE`` = 10 %, i.e. amounts within about 10 % of each other
share an id, and an amount that moved by more than that changes it (a bucket
boundary may split two close amounts: the tolerance is a step of 10 %, not an
exact distance). The running ``amount_at_risk`` of the other checks is left
out on purpose: it grows every month while the condition holds, and an id
that changed every night would resurface every reviewed finding.

The identity fields of each bundled check are listed in :data:`IDENTITY_FIELDS`
(``name~`` means: that text with its months, dates, amounts and counts
removed, and for UNDECLARED_EMPLOYMENT the insurance type "以…参保": the check
picks one of a member's same-month contributions by row number, so the type
it names may change when social insurance re-sorts its file; the employer
identifies the evidence); a check not listed there uses every evidence field except the
running ones (names starting ``n_`` or containing ``month``, ``paid``,
``period``, ``window``, ``overlap``, and ``*_zh`` texts) plus the bucket of
``amount_at_risk``.

When two findings of one run share a ``finding_id`` (the same evidence seen
twice), the second and later ones, in the order of their full evidence and
reason, get ``'#2'``, ``'#3'``… hashed in, so ids stay unique and
deterministic.

Example:
    >>> assign_finding_ids(con)        # after run_checks, before rank_findings
    210
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from typing import Any

import duckdb
import pyarrow as pa

#: Relative step within which an identity amount keeps its id (10 %).
AMOUNT_TOLERANCE = 0.10

#: Identity fields of the bundled checks' ``evidence`` (see the module docstring).
IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "DECEASED": ("death_date", "source_zh"),
    "DUPLICATE_ENROLLMENT": ("other_households",),
    "ENTERPRISE": ("credit_code", "enterprise_status", "established_date", "role_zh"),
    "HUKOU_MOVED": ("hukou_no", "hukou_status", "status_date"),
    "INCARCERATED": ("start_date", "facility", "end_zh"),
    "INCOME_OVER_STANDARD": ("standard_year", "standard", "$per_head"),
    "INDIVIDUAL_BUSINESS": ("credit_code", "business_status", "established_date"),
    "OVERPAID": ("$monthly_amount", "$amount_at_risk"),
    "PAID_AFTER_EXIT": ("status", "end_date", "exit_zh"),
    "PUBLIC_EMPLOYEE": ("employer_name", "employer_type", "start_date", "end_zh"),
    "REAL_ESTATE": ("certificate_no", "property_use", "registration_date"),
    "UNDECLARED_EMPLOYMENT": ("evidence_zh~", "declared_zh"),
    "UNDECLARED_SPOUSE": ("reg_date", "spouse_id_masked", "spouse_name"),
    "VEHICLE": ("plate_no", "registration_date", "vehicle_status", "use_type", "vehicle_type"),
}

_RUNNING = re.compile(r"^n_|month|paid|period|window|overlap|_zh$")
#: Months, dates, money and counts inside a Chinese text (removed by ``name~``).
_VOLATILE = re.compile(
    r"\d{4}-\d{2}(-\d{2})?|[\d,]+(\.\d+)?元|\d+个月|缴费基数[^）)]*|最近缴费月份"
    r"|以[^，,；;]{1,8}参保"
)


def amount_bucket(amount: Any, tolerance: float = AMOUNT_TOLERANCE) -> str:
    """The tolerance bucket of an amount (``''`` when empty, ``'0'`` when ≤ 0)."""
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return ""
    a = float(amount)
    if a <= 0:
        return "0"
    return str(round(math.log(a) / math.log(1.0 + tolerance)))


def _digest(prefix: str, parts: list[str]) -> str:
    text = "\x1f".join(parts)
    return prefix + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def finding_key(household_id: str, rule_id: str, member: str | None) -> str:
    """The evidence-independent key of a finding (see the module docstring)."""
    return _digest("K", [household_id, rule_id, member or ""])


def _field(name: str, evidence: dict[str, Any], amount: Any, tolerance: float) -> str:
    if name.startswith("$"):
        key = name[1:]
        return f"{key}={amount_bucket(amount if key == 'amount_at_risk' else evidence.get(key), tolerance)}"
    if name.endswith("~"):
        key = name[:-1]
        return f"{key}={_VOLATILE.sub('', str(evidence.get(key) or ''))}"
    value = evidence.get(name)
    return f"{name}={'' if value is None else json.dumps(value, ensure_ascii=False)}"


def identity_parts(
    rule_id: str,
    evidence_extract: str | None,
    evidence: dict[str, Any],
    amount: Any,
    tolerance: float = AMOUNT_TOLERANCE,
) -> list[str]:
    """The evidence parts of a finding's id (see the module docstring)."""
    names = IDENTITY_FIELDS.get(rule_id)
    if names is None:
        names = (
            *sorted(k for k in evidence if not _RUNNING.search(k)),
            "$amount_at_risk",
        )
    return [evidence_extract or "", *(_field(n, evidence, amount, tolerance) for n in names)]


def finding_id(
    key: str,
    rule_id: str,
    evidence_extract: str | None,
    evidence: dict[str, Any],
    amount: Any,
    tolerance: float = AMOUNT_TOLERANCE,
) -> str:
    """The id of a finding: its key and the identity of its evidence."""
    return _digest(
        "F", [key, *identity_parts(rule_id, evidence_extract, evidence, amount, tolerance)]
    )


def assign_finding_ids(
    con: duckdb.DuckDBPyConnection, *, amount_tolerance: float = AMOUNT_TOLERANCE
) -> int:
    """Add ``finding_key`` and ``finding_id`` to ``_rm_findings``; return the row count.

    Run after :func:`relief_match.rules.run_checks`. Idempotent: existing id
    columns are recomputed.
    """
    if amount_tolerance <= 0:
        raise ValueError("amount_tolerance must be positive")
    rows = con.execute(
        """
        SELECT rowid, household_id, rule_id,
               coalesce(member_id_no, person_id, member_name), evidence_extract,
               evidence, amount_at_risk, reason_zh
        FROM _rm_findings
        """
    ).fetchall()
    computed = []
    for rid, household, rule, member, extract, evidence, amount, reason in rows:
        key = finding_key(str(household), str(rule), member)
        parsed = json.loads(evidence) if evidence else {}
        fid = finding_id(key, rule, extract, parsed, amount, amount_tolerance)
        computed.append((fid, evidence or "", reason or "", rid, key))
    ids = _unique(computed)
    table = pa.table(
        {
            "rid": pa.array([r[0] for r in ids], pa.int64()),
            "k": pa.array([r[1] for r in ids], pa.string()),
            "i": pa.array([r[2] for r in ids], pa.string()),
        }
    )
    con.register("_rm_finding_ids", table)
    keep = [
        c
        for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = '_rm_findings'"
            " AND column_name NOT IN ('finding_key', 'finding_id') ORDER BY ordinal_position"
        ).fetchall()
    ]
    cols = ", ".join(f'f."{c}"' for c in keep)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE _rm_findings AS
        SELECT {cols}, i.k AS finding_key, i.i AS finding_id
        FROM _rm_findings AS f JOIN _rm_finding_ids AS i ON i.rid = f.rowid
        ORDER BY f.rowid
        """
    )
    con.unregister("_rm_finding_ids")
    return len(ids)


def _unique(computed: list[tuple[str, str, str, int, str]]) -> list[tuple[int, str, str]]:
    """(rowid, key, id) with repeated ids made unique in a content-determined order."""
    seen: Counter[str] = Counter()
    out = []
    for fid, _evidence, _reason, rid, key in sorted(computed):
        seen[fid] += 1
        n = seen[fid]
        out.append((rid, key, fid if n == 1 else _digest("F", [fid, f"#{n}"])))
    return sorted(out)
