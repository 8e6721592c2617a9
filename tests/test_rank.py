"""Scoring, deterministic ranking and the household roll-up."""

from __future__ import annotations

import math
import random
from typing import Any

import duckdb
import pytest

from relief_match.rank import AMOUNT_CAP, amount_factor, rank_findings, score
from relief_match.rank.score import FLAGS_COLUMNS, HOUSEHOLDS_COLUMNS
from relief_match.rules import CHECKS_COLUMNS, FINDINGS_COLUMNS
from relief_match.rules.schema import create_empty_table

CHECKS = [
    # rule_id, title_zh, weight, amount_kind
    ("DECEASED", "死亡人员仍在享受", 1.0, "exact"),
    ("VEHICLE", "拥有机动车", 0.7, "estimate"),
    ("OVERPAID", "超标准发放", 0.6, "exact"),
    ("UNDECLARED_SPOUSE", "未申报配偶", 0.4, "none"),
]


def _db(findings: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    create_empty_table(con, "_rm_checks", CHECKS_COLUMNS)
    create_empty_table(con, "_rm_findings", FINDINGS_COLUMNS)
    for rule_id, title, weight, kind in CHECKS:
        con.execute(
            "INSERT INTO _rm_checks (rule_id, title_zh, title_en, weight, amount_kind, status) "
            "VALUES (?, ?, ?, ?, ?, 'ran')",
            [rule_id, title, rule_id.title(), weight, kind],
        )
    cols = list(FINDINGS_COLUMNS)
    for f in findings:
        con.execute(
            f"INSERT INTO _rm_findings VALUES ({', '.join('?' for _ in cols)})",
            [f.get(c) for c in cols],
        )
    return con


def _finding(
    rule: str, hh: str, member: str | None, amount: float | None, p: float | None = 1.0
) -> dict[str, Any]:
    kind = {r: k for r, _, _, k in CHECKS}[rule]
    return {
        "rule_id": rule,
        "household_id": hh,
        "person_id": member,
        "member_id_no": member,
        "member_name": f"成员{member}",
        "amount_at_risk": amount,
        "amount_is_estimate": None if kind == "none" else kind == "estimate",
        "route": None if p is None else "exact",
        "match_probability": p,
        "evidence_extract": "x",
        "evidence_row": 2,
        "reason_zh": f"{rule} {hh}",
    }


def _ranked(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        "SELECT rank, household_id, rule_id, member_id_no, score FROM _rm_flags ORDER BY rank"
    ).fetchall()


def test_score_formula_reference_points() -> None:
    assert score(1.0, 1.0, None) == 33.3
    assert score(1.0, 1.0, 0.0) == 33.3
    assert score(1.0, 1.0, 3300.0) == 54.4
    assert score(1.0, 1.0, AMOUNT_CAP) == 100.0
    assert score(1.0, 1.0, 10 * AMOUNT_CAP) == 100.0
    assert score(0.5, 0.9, 10_000.0) == round(100 * 0.5 * 0.9 * amount_factor(10_000.0), 1)
    assert score(1.0, None, 0.0) == score(1.0, 1.0, 0.0)


def test_score_grows_with_weight_probability_and_amount() -> None:
    assert score(0.9, 1.0, 5000) > score(0.8, 1.0, 5000)
    assert score(0.8, 1.0, 5000) > score(0.8, 0.92, 5000)
    assert score(0.8, 1.0, 50_000) > score(0.8, 1.0, 5000)
    assert amount_factor(-5.0) == amount_factor(0.0)


def test_sql_scores_equal_the_python_formula() -> None:
    rng = random.Random(7)
    findings = []
    expected = {}
    for i in range(200):
        rule, _, weight, kind = CHECKS[i % len(CHECKS)]
        amount = None if kind == "none" else round(rng.uniform(0, 300_000), 2)
        p = round(rng.uniform(0.9, 1.0), 6) if i % 3 else None
        findings.append(_finding(rule, f"H{i:04d}", f"M{i}", amount, p))
        expected[f"H{i:04d}"] = score(weight, p, amount)
    con = _db(findings)
    rank_findings(con)
    got = dict(con.execute("SELECT household_id, score FROM _rm_flags").fetchall())
    for hh, want in expected.items():
        assert math.isclose(got[hh], want, abs_tol=1e-9), (hh, got[hh], want)


def test_ranking_is_deterministic_whatever_the_insertion_order() -> None:
    base = [
        _finding("DECEASED", "H2", "A", 3000.0),
        # same score and amount: household_id breaks the tie
        _finding("DECEASED", "H1", "B", 3000.0),
        _finding("VEHICLE", "H1", "C", 3000.0),
        _finding("OVERPAID", "H3", "D", 5000.0),
        _finding("UNDECLARED_SPOUSE", "H4", "E", None),
        _finding("VEHICLE", "H5", "F", 3000.0),
        # same household, rule and score: the member's ID breaks the tie
        _finding("VEHICLE", "H5", "G", 3000.0),
    ]
    orders = []
    for seed in range(5):
        rows = base[:]
        random.Random(seed).shuffle(rows)
        con = _db(rows)
        rank_findings(con)
        orders.append(_ranked(con))
    assert all(o == orders[0] for o in orders)
    ranked = [(hh, rule, m) for _, hh, rule, m, _ in orders[0]]
    assert ranked[:2] == [("H1", "DECEASED", "B"), ("H2", "DECEASED", "A")]
    assert ranked.index(("H5", "VEHICLE", "F")) + 1 == ranked.index(("H5", "VEHICLE", "G"))
    assert [r for r, *_ in orders[0]] == list(range(1, len(base) + 1))


def test_equal_scores_are_ordered_by_amount_first() -> None:
    # 0.6 x A(a) vs 0.7 x A(b) chosen so the rounded scores tie; the larger amount ranks first
    con = _db([_finding("VEHICLE", "H1", "A", 1000.0), _finding("VEHICLE", "H0", "B", 1001.0)])
    rank_findings(con)
    rows = _ranked(con)
    assert rows[0][4] == rows[1][4]
    assert rows[0][1] == "H0"


def test_household_roll_up_sums_scores_and_separates_exact_from_estimated_amounts() -> None:
    con = _db(
        [
            _finding("DECEASED", "H1", "A", 3000.0),
            _finding("VEHICLE", "H1", "A", 12000.0),
            _finding("VEHICLE", "H1", "B", 600.0),
            _finding("UNDECLARED_SPOUSE", "H1", "B", None),
            _finding("OVERPAID", "H2", None, 50.0, None),
        ]
    )
    report = rank_findings(con)
    assert report.n_flags == 5 and report.n_households == 2
    cur = con.execute("SELECT * FROM _rm_households ORDER BY rank")
    cols = [d[0] for d in cur.description]
    assert cols == list(HOUSEHOLDS_COLUMNS)
    rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    h1 = rows[0]
    assert h1["household_id"] == "H1" and h1["rank"] == 1
    assert h1["n_findings"] == 4 and h1["n_checks"] == 3
    assert h1["amount_exact"] == 3000.0 and h1["amount_estimate"] == 12600.0
    scores = [
        r[0]
        for r in con.execute("SELECT score FROM _rm_flags WHERE household_id = 'H1'").fetchall()
    ]
    assert h1["total_score"] == pytest.approx(round(sum(scores), 1))
    assert h1["max_score"] == max(scores)
    assert h1["rule_ids"].split(",")[0] == "DECEASED"  # 53.3 beats VEHICLE 12,000 x 0.7 = 49.3
    assert set(h1["rule_ids"].split(",")) == {"DECEASED", "VEHICLE", "UNDECLARED_SPOUSE"}
    assert "死亡人员仍在享受" in h1["rule_titles_zh"]
    assert h1["member_names"] == "成员A、成员B"
    hr = dict(con.execute("SELECT DISTINCT household_id, household_rank FROM _rm_flags").fetchall())
    assert hr == {"H1": 1, "H2": 2}


def test_flags_table_has_the_documented_columns() -> None:
    con = _db([_finding("DECEASED", "H1", "A", 10.0)])
    rank_findings(con)
    cols = [d[0] for d in con.execute("SELECT * FROM _rm_flags").description]
    assert cols == list(FLAGS_COLUMNS)


def test_no_findings_give_empty_flag_and_household_tables() -> None:
    con = _db([])
    report = rank_findings(con)
    assert report.n_flags == 0 and report.n_households == 0 and report.top_score is None
    assert "0 flags" in report.asstr()
    assert report.asdict()["n_flags"] == 0
