"""Scoring flags against an answer key."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from relief_match.evaluate import evaluate
from relief_match.privacy import mask_id_no as mask_id

CASES = [
    # case_id, kind, rule_id, household_id, member_id_no, difficulty, amount
    ("C1", "planted", "DECEASED", "H1", "441302195001011234", "clean", "3600.00"),
    ("C2", "planted", "VEHICLE", "H2", "441303198002023456", "fuzzy_typo", None),
    ("C3", "planted", "OVERPAID", "H3", "441322196003035678", "clean", "250.50"),
    ("C4", "planted", "VEHICLE", "H4", "44132319700404789X", "traditional", None),
    ("C5", "decoy", "VEHICLE", "H5", "441324198505051111", "clean", None),
    ("C6", "decoy", "OVERPAID", "H6", "441302197706062222", "clean", None),
]


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    d = tmp_path / "answer_key"
    d.mkdir()
    pl.DataFrame(
        [
            {
                "case_id": c,
                "kind": k,
                "rule_id": r,
                "household_id": h,
                "member_id_no": m,
                "member_id_masked": mask_id(m),
                "evidence_extract": "x",
                "evidence_row": 2,
                "link_difficulty": diff,
                "amount_at_risk": a,
                "note": "near_miss=namesake; test" if k == "decoy" else "",
            }
            for c, k, r, h, m, diff, a in CASES
        ]
    ).write_csv(d / "cases.csv")
    rules = list(dict.fromkeys(r for _, _, r, *_ in CASES))
    manifest = {
        "counts": {"planted_by_rule": {r: 0 for r in rules}},
        "exact_amount_rules": ["DECEASED", "PAID_AFTER_EXIT", "OVERPAID"],
    }
    (d / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return d


def _flags_zh(path: Path, rows: list[tuple[str, str, str, float | None]]) -> Path:
    """Write flags.csv the way the job does: UTF-8 BOM, Chinese headers, masked IDs."""
    lines = ["排名,家庭编号,规则编号,成员身份证号,风险金额,成员姓名"]
    for i, (rule, hid, member, amount) in enumerate(rows, start=1):
        a = "" if amount is None else f"{amount:.2f}"
        lines.append(f"{i},{hid},{rule},{mask_id(member)},{a},张三")
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8-sig"))
    return path


def _perfect() -> list[tuple[str, str, str, float | None]]:
    return [
        (r, h, m, None if a is None else float(a))
        for _, k, r, h, m, _, a in CASES
        if k == "planted"
    ]


def test_perfect_flags_score_one(key_dir: Path, tmp_path: Path) -> None:
    rep = evaluate(key_dir, _flags_zh(tmp_path / "flags.csv", _perfect()))
    assert rep.overall.precision == 1.0
    assert rep.overall.recall == 1.0
    assert rep.overall.f1 == 1.0
    assert rep.average_precision == 1.0
    assert rep.decoys_flagged == ()
    amounts = {a.rule_id: a for a in rep.amounts}
    assert amounts["DECEASED"].accuracy == 1.0
    assert amounts["OVERPAID"].accuracy == 1.0
    assert amounts["PAID_AFTER_EXIT"].accuracy is None
    assert "VEHICLE" in rep.asstr()
    assert rep.asdict()["overall"]["recall"] == 1.0


def test_flagged_decoy_is_a_listed_false_positive(key_dir: Path, tmp_path: Path) -> None:
    rows = [*_perfect(), ("VEHICLE", "H5", "441324198505051111", None)]
    rep = evaluate(key_dir, _flags_zh(tmp_path / "flags.csv", rows))
    vehicle = next(s for s in rep.rules if s.rule_id == "VEHICLE")
    assert vehicle.true_positives == 2
    assert vehicle.false_positives == 1
    assert vehicle.decoys_flagged == 1
    assert vehicle.precision == pytest.approx(2 / 3)
    assert [h.case_id for h in rep.decoys_flagged] == ["C5"]
    assert rep.overall.recall == 1.0


def test_missing_case_lowers_recall(key_dir: Path, tmp_path: Path) -> None:
    rows = [r for r in _perfect() if r[1] != "H4"]
    rep = evaluate(key_dir, _flags_zh(tmp_path / "flags.csv", rows))
    vehicle = next(s for s in rep.rules if s.rule_id == "VEHICLE")
    assert vehicle.recall == 0.5
    assert vehicle.precision == 1.0
    assert rep.overall.recall == 0.75
    assert rep.missed_case_ids == ("C4",)
    by_diff = {d.difficulty: d for d in rep.recall_by_difficulty}
    assert by_diff["traditional"].recall == 0.0
    assert by_diff["fuzzy_typo"].recall == 1.0


def test_unknown_flag_is_a_false_positive_and_ranking_counts(key_dir: Path, tmp_path: Path) -> None:
    rows = [("ENTERPRISE", "H9", "441302199909091234", None), *_perfect()]
    rep = evaluate(key_dir, _flags_zh(tmp_path / "flags.csv", rows))
    assert rep.overall.false_positives == 1
    assert rep.overall.precision == pytest.approx(4 / 5)
    # relevant at ranks 2..5: AP = (1/2 + 2/3 + 3/4 + 4/5) / 4
    assert rep.average_precision == pytest.approx((1 / 2 + 2 / 3 + 3 / 4 + 4 / 5) / 4)


def test_wrong_amount_and_duplicates(key_dir: Path, tmp_path: Path) -> None:
    rows = _perfect()
    rows[0] = ("DECEASED", "H1", "441302195001011234", 3000.0)
    rows.append(rows[1])  # the same VEHICLE finding twice
    rep = evaluate(key_dir, _flags_zh(tmp_path / "flags.csv", rows))
    amounts = {a.rule_id: a for a in rep.amounts}
    assert amounts["DECEASED"].accuracy == 0.0
    vehicle = next(s for s in rep.rules if s.rule_id == "VEHICLE")
    assert vehicle.duplicates == 1
    assert vehicle.false_positives == 0


def test_household_level_check_matches_whatever_member_is_named(
    key_dir: Path, tmp_path: Path
) -> None:
    rows = [r for r in _perfect() if r[0] != "OVERPAID"]
    rows.append(("OVERPAID", "H3", "441322200101011111", 250.5))
    rep = evaluate(key_dir, _flags_zh(tmp_path / "flags.csv", rows))
    over = next(s for s in rep.rules if s.rule_id == "OVERPAID")
    assert over.true_positives == 1
    assert over.false_positives == 0


def test_english_headers_and_parquet_with_full_ids(key_dir: Path, tmp_path: Path) -> None:
    rows = _perfect()
    df = pl.DataFrame(
        {
            "rank": list(range(1, len(rows) + 1)),
            "household_id": [r[1] for r in rows],
            "rule_id": [r[0] for r in rows],
            "member_id_no": [r[2] for r in rows],
            "amount_at_risk": [r[3] for r in rows],
        }
    )
    df.write_parquet(tmp_path / "flags.parquet")
    rep = evaluate(key_dir.parent, tmp_path / "flags.parquet")
    assert rep.overall.f1 == 1.0
    csv = tmp_path / "flags_en.csv"
    df.rename({"member_id_no": "member_id_masked"}).with_columns(
        pl.col("member_id_masked").map_elements(mask_id, return_dtype=pl.String)
    ).write_csv(csv)
    assert evaluate(key_dir, csv).overall.f1 == 1.0


def test_flags_without_rule_column_are_rejected(key_dir: Path, tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("排名,家庭编号\n1,H1\n", encoding="utf-8")
    with pytest.raises(ValueError):
        evaluate(key_dir, p)


def test_generated_city_scores_perfectly_with_its_own_planted_cases(tmp_path: Path) -> None:
    """End to end: flags equal to the planted cases of a generated city score 1.0."""
    import datetime as dt

    from relief_match.synth import generate

    generate(2500, 8, dt.date(2026, 11, 28), tmp_path / "city")
    cases = pl.read_csv(tmp_path / "city" / "answer_key" / "cases.csv", infer_schema=False)
    planted = cases.filter(pl.col("kind") == "planted")
    flags = pl.DataFrame(
        {
            "排名": list(range(1, planted.height + 1)),
            "规则编号": planted["rule_id"],
            "家庭编号": planted["household_id"],
            "成员身份证号": planted["member_id_masked"],
            "风险金额": planted["amount_at_risk"],
        }
    )
    path = tmp_path / "flags.csv"
    path.write_bytes(flags.write_csv().encode("utf-8-sig"))
    rep = evaluate(tmp_path / "city", path)
    assert rep.overall.f1 == 1.0
    assert rep.average_precision == 1.0
    assert all(a.accuracy == 1.0 for a in rep.amounts)
    assert {d.difficulty for d in rep.recall_by_difficulty if d.planted} == {
        "clean", "messy_id", "fuzzy_typo", "fuzzy_transposed", "fuzzy_no_id", "traditional",
        "two_typos", "legacy_typo", "name_swapped", "name_homophone",
    }  # fmt: skip
