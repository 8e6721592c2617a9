"""The synthetic city: coverage of cases, decoys, defects and formats; determinism;
a complete and correct answer key."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest

from relief_match.synth import generate
from relief_match.synth.cases import DECOY_KINDS, EXACT_RULES, RULES
from relief_match.synth.defects import ALL_KINDS
from relief_match.synth.delivered import read_extract
from relief_match.synth.ids import id_check_char, id_is_valid, make_credit_codes
from relief_match.synth.oracle import HOUSEHOLD_LEVEL, findings
from relief_match.synth.spec import BY_NAME, EXTRACTS

AS_OF = dt.date(2026, 11, 28)
POP = 3000


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate(POP, 11, AS_OF, out)
    return out


def _cases(city: Path) -> pl.DataFrame:
    return pl.read_csv(city / "answer_key" / "cases.csv", infer_schema=False)


def _manifest(city: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((city / "answer_key" / "manifest.json").read_text(encoding="utf-8"))


def _read(city: Path, extract: str) -> pl.DataFrame:
    f = _manifest(city)["files"][extract]["file"]
    return read_extract(city / "delivery" / f, BY_NAME[extract])


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_every_check_has_planted_cases(city: Path) -> None:
    planted = _cases(city).filter(pl.col("kind") == "planted")
    counts = dict(planted.group_by("rule_id").len().iter_rows())
    assert set(counts) == set(RULES)
    assert all(n >= 3 for n in counts.values())


def test_person_checks_cover_every_link_difficulty(city: Path) -> None:
    planted = _cases(city).filter(pl.col("kind") == "planted")
    vehicle = set(planted.filter(pl.col("rule_id") == "VEHICLE")["link_difficulty"].to_list())
    assert vehicle == {
        "clean",
        "messy_id",
        "fuzzy_typo",
        "fuzzy_transposed",
        "traditional",
        "two_typos",
        "legacy_typo",
        "name_swapped",
        "name_homophone",
    }
    deceased = set(planted.filter(pl.col("rule_id") == "DECEASED")["link_difficulty"].to_list())
    assert "fuzzy_no_id" in deceased


def test_every_decoy_kind_exists(city: Path) -> None:
    decoys = _cases(city).filter(pl.col("kind") == "decoy")
    kinds = {n.split(";")[0].removeprefix("near_miss=") for n in decoys["note"].to_list()}
    assert kinds == {"namesake", "namesake_id_typo", *DECOY_KINDS}


def test_all_17_extracts_are_written(city: Path) -> None:
    files = _manifest(city)["files"]
    assert set(files) == {e.name for e in EXTRACTS}
    for ex in EXTRACTS:
        path = city / "delivery" / files[ex.name]["file"]
        assert path.parent.name == ex.department
        assert path.stat().st_size > 0
        assert _read(city, ex.name).height > 0


def test_every_format_encoding_and_defect_kind_occurs(city: Path) -> None:
    files = _manifest(city)["files"].values()
    combos = {(f["fmt"], f["encoding"], f["typed"]) for f in files}
    for combo in [
        ("csv", "utf-8", False),
        ("csv", "utf-8-sig", False),
        ("csv", "gb18030", False),
        ("xlsx", None, True),
        ("xlsx", None, False),
        ("parquet", None, True),
        ("parquet", None, False),
    ]:
        assert combo in combos
    assert sum(f["wrong_extension"] for f in files) == 1
    defects = pl.read_csv(city / "answer_key" / "defects.csv", infer_schema=False)
    assert set(defects["defect"].to_list()) == set(ALL_KINDS) - {"empty_file"}
    assert set(defects["expected"].to_list()) == {"repaired", "quarantined", "kept"}


def test_same_seed_gives_byte_identical_files(tmp_path: Path, city: Path) -> None:
    generate(POP, 11, AS_OF, tmp_path)
    assert _hashes(tmp_path) == _hashes(city)


def test_another_seed_gives_another_city(tmp_path: Path, city: Path) -> None:
    generate(POP, 12, AS_OF, tmp_path)
    assert _hashes(tmp_path)["answer_key/cases.csv"] != _hashes(city)["answer_key/cases.csv"]


def test_background_ids_are_valid_and_agree_with_birth_date_and_sex(city: Path) -> None:
    df = _read(city, "hukou_registry")
    assert df.height >= POP
    defects = pl.read_csv(city / "answer_key" / "defects.csv", infer_schema=False)
    damaged = {
        int(r)
        for r in defects.filter(pl.col("extract") == "hukou_registry")["row"].drop_nulls().to_list()
    }
    clean = df.filter(~pl.col("_row").is_in(list(damaged)))
    assert clean.height > 0.9 * POP
    for id_no, sex, birth in clean.select("id_no", "sex", "birth_date").iter_rows():
        assert id_is_valid(id_no), id_no
        assert birth[:10].replace("-", "") == id_no[6:14]
        assert (int(id_no[16]) % 2 == 1) == (sex == "男")


def test_id_and_credit_code_checksums() -> None:
    assert id_check_char("11010519491231002") == "X"
    assert id_is_valid("11010519491231002X")
    assert make_credit_codes(
        __import__("numpy").array([0]), __import__("numpy").array([441302]), "91"
    )[0].startswith("91441302")


def test_answer_key_is_complete_and_amounts_are_exact(city: Path) -> None:
    """The findings section 8 implies for the delivered files are exactly the planted cases."""
    found = findings(city)
    planted = _cases(city).filter(pl.col("kind") == "planted")
    planted = planted.with_columns(
        pl.when(pl.col("rule_id").is_in(HOUSEHOLD_LEVEL))
        .then(pl.lit(""))
        .otherwise(pl.col("member_id_no"))
        .alias("member_id_no")
    )
    want = set(planted.select("rule_id", "household_id", "member_id_no").iter_rows())
    got = set(found.select("rule_id", "household_id", "member_id_no").iter_rows())
    assert got - want == set(), "findings not in the answer key"
    assert want - got == set(), "planted cases that are not findings"
    amounts = {
        (r, h, m): float(a)
        for r, h, m, a in planted.select(
            "rule_id", "household_id", "member_id_no", "amount_at_risk"
        ).iter_rows()
        if r in EXACT_RULES
    }
    for r, h, m, a in found.iter_rows():
        if r in EXACT_RULES:
            assert abs(amounts[(r, h, m)] - a) < 0.01


def test_evidence_rows_and_links_point_at_the_right_records(city: Path) -> None:
    links = pl.read_csv(city / "answer_key" / "links.csv", infer_schema=False)
    cases = _cases(city).filter(~pl.col("rule_id").is_in(["PAID_AFTER_EXIT", "OVERPAID"]))
    linked = set(links.select("extract", "row", "true_id_no").iter_rows())
    for ex, row, member, kind, note in cases.select(
        "evidence_extract", "evidence_row", "member_id_no", "kind", "note"
    ).iter_rows():
        if "namesake" in note:
            continue
        assert (ex, row, member) in linked, (ex, row, member, kind)
    # a clean link's row carries the true ID
    for ex in ("motor_vehicles", "recipients_members", "hukou_registry", "social_insurance"):
        df = _read(city, ex)
        id_col = next(c for c, _, _ in BY_NAME[ex].refs)
        ids = dict(df.select("_row", id_col).iter_rows())
        sub = links.filter((pl.col("extract") == ex) & (pl.col("link_difficulty") == "clean"))
        for row, true_id in sub.select("row", "true_id_no").iter_rows():
            assert ids[int(row)] == true_id


def test_defects_sit_where_the_key_says(city: Path) -> None:
    defects = pl.read_csv(city / "answer_key" / "defects.csv", infer_schema=False)
    checks = {
        "id_fullwidth": lambda v: any("０" <= ch <= "９" for ch in v),
        "id_15digit": lambda v: len(v) == 15,
        "month_compact": lambda v: v.isdigit() and len(v) == 6,
        "date_cjk": lambda v: "年" in v and "日" in v,
        "money_thousands": lambda v: "," in v,
        "enum_spaces": lambda v: v != v.strip(),
    }
    seen = set()
    for ex in EXTRACTS:
        sub = defects.filter((pl.col("extract") == ex.name) & pl.col("defect").is_in(list(checks)))
        if sub.height == 0:
            continue
        df = _read(city, ex.name)
        if _manifest(city)["files"][ex.name]["fmt"] == "xlsx":
            continue  # fastexcel trims cell whitespace differently; covered by csv/parquet files
        by_row = {r["_row"]: r for r in df.iter_rows(named=True)}
        for row, col, kind in sub.select("row", "column", "defect").iter_rows():
            v = by_row[int(row)][col]
            assert v is not None and checks[kind](v), (ex.name, row, col, kind, v)
            seen.add(kind)
    assert seen == set(checks)
    totals = defects.filter(pl.col("defect") == "totals_row")
    for ex, row in totals.select("extract", "row").iter_rows():
        df = _read(city, ex)
        values = [v for v in df.filter(pl.col("_row") == int(row)).row(0)[1:] if v]
        assert "合计" in values


def test_empty_extract_is_header_only_and_its_cases_are_dropped(tmp_path: Path) -> None:
    generate(2500, 3, AS_OF, tmp_path, empty_extracts=("detentions",))
    df = _read(tmp_path, "detentions")
    assert df.height == 0
    cases = _cases(tmp_path)
    assert cases.filter(pl.col("rule_id") == "INCARCERATED").height == 0
    defects = pl.read_csv(tmp_path / "answer_key" / "defects.csv", infer_schema=False)
    assert "empty_file" in defects["defect"].to_list()


def test_single_format_deliveries(tmp_path: Path) -> None:
    generate(2500, 4, AS_OF, tmp_path, formats="parquet", defect_rate=0.0)
    files = _manifest(tmp_path)["files"].values()
    assert {f["fmt"] for f in files} == {"parquet"}
    defects = pl.read_csv(tmp_path / "answer_key" / "defects.csv", infer_schema=False)
    # only the deliberate link-difficulty damage of planted cases remains
    assert set(defects["defect"].to_list()) <= {
        "id_15digit", "id_fullwidth", "id_lower_x", "id_space", "id_hyphen",
        "id_typo", "id_transposed", "id_empty", "name_traditional", "name_homophone",
    }  # fmt: skip


def test_unknown_format_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(1000, 1, AS_OF, tmp_path, formats="dbf")
