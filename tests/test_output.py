"""flags.csv / households.csv / xlsx / parquet writers and ID masking."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import fastexcel
import pyarrow.parquet as pq
import pytest

from relief_match.output import (
    FLAGS_COLUMNS,
    HOUSEHOLDS_COLUMNS,
    OutputError,
    write_outputs,
)
from relief_match.privacy import mask_id
from relief_match.rank import rank_findings
from relief_match.rules import load_checks, run_checks
from rules_harness import build_case_db, load_case

ROOT = Path(__file__).resolve().parents[1]
BOM = b"\xef\xbb\xbf"
FLAGS_HEADER = (
    "排名,家庭编号,规则编号,规则名称,风险分值,风险金额,金额性质,成员姓名,成员身份证号,"
    "匹配方式,匹配概率,原因,证据来源,证据行号,区县,救助类型"
)


def _ranked_db(*rule_ids: str) -> duckdb.DuckDBPyConnection:
    """A case DB per rule, merged: run the checks, then rank."""
    checks = load_checks(ROOT / "rules", ROOT / "schemas")
    con = duckdb.connect(":memory:")
    first = True
    for rule_id in rule_ids:
        case = load_case(ROOT / "tests" / "rules_cases" / f"{rule_id}.yaml")
        selected = checks.select([rule_id])
        case_con, available = build_case_db(case, selected)
        run_checks(case_con, selected, case.as_of, available)
        for table in ("_rm_findings", "_rm_checks"):
            arrow = case_con.sql(f"SELECT * FROM {table}").to_arrow_table()
            con.register("_batch", arrow)
            if first:
                con.execute(f"CREATE TABLE {table} AS SELECT * FROM _batch")
            else:
                con.execute(f"INSERT INTO {table} SELECT * FROM _batch")
            con.unregister("_batch")
        first = False
        case_con.close()
    rank_findings(con)
    return con


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    con = _ranked_db("DECEASED", "VEHICLE", "OVERPAID", "UNDECLARED_SPOUSE")
    out_dir = tmp_path_factory.mktemp("out")
    report = write_outputs(con, out_dir)
    assert report.files["flags.csv"] == con.execute("SELECT count(*) FROM _rm_flags").fetchone()[0]  # type: ignore[index]
    return out_dir


def _csv_rows(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_flags_csv_starts_with_a_bom_and_chinese_headers(out: Path) -> None:
    raw = (out / "flags.csv").read_bytes()
    assert raw.startswith(BOM)
    first_line = raw[len(BOM) :].split(b"\r\n")[0].decode("utf-8")
    assert first_line.startswith(FLAGS_HEADER)
    assert first_line.split(",") == [c.zh for c in FLAGS_COLUMNS]


def test_flags_csv_masks_ids_and_formats_amounts(out: Path) -> None:
    raw = (out / "flags.csv").read_bytes().decode("utf-8-sig")
    assert "441302196503120119" not in raw  # a member's full ID never appears
    rows = _csv_rows(out / "flags.csv")
    assert [int(r["排名"]) for r in rows] == list(range(1, len(rows) + 1))
    deceased = next(r for r in rows if r["规则编号"] == "DECEASED" and r["家庭编号"] == "H01")
    assert deceased["成员身份证号"] == "441302********0119"
    assert deceased["风险金额"] == "3300.00"
    assert deceased["金额性质"] == "精确"
    assert deceased["匹配方式"] == "身份证号一致"
    assert deceased["匹配概率"] == "1.0000"
    assert deceased["规则名称"] == "死亡人员仍在享受"
    assert "卫健死亡医学证明" in deceased["原因"] and "3,300.00元" in deceased["原因"]
    fuzzy = next(r for r in rows if r["规则编号"] == "DECEASED" and r["家庭编号"] == "H08")
    assert fuzzy["匹配方式"] == "模糊匹配" and fuzzy["匹配概率"] == "0.9500"
    spouse = next(r for r in rows if r["规则编号"] == "UNDECLARED_SPOUSE")
    assert spouse["风险金额"] == "" and spouse["金额性质"] == ""
    overpaid = next(r for r in rows if r["规则编号"] == "OVERPAID")
    assert overpaid["匹配方式"].startswith("家庭记录") and overpaid["匹配概率"] == ""
    assert all(
        r["风险分值"].count(".") == 1 and len(r["风险分值"].split(".")[1]) == 1 for r in rows
    )
    scores = [float(r["风险分值"]) for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_households_csv_has_one_ranked_row_per_household(out: Path) -> None:
    raw = (out / "households.csv").read_bytes()
    assert raw.startswith(BOM)
    rows = _csv_rows(out / "households.csv")
    assert list(rows[0]) == [c.zh for c in HOUSEHOLDS_COLUMNS]
    flagged = {r["家庭编号"] for r in _csv_rows(out / "flags.csv")}
    assert {r["家庭编号"] for r in rows} == flagged
    assert len(rows) == len(flagged)
    totals = [float(r["风险总分"]) for r in rows]
    assert totals == sorted(totals, reverse=True)


@pytest.mark.parametrize(
    ("name", "columns"), [("flags.xlsx", FLAGS_COLUMNS), ("households.xlsx", HOUSEHOLDS_COLUMNS)]
)
def test_xlsx_opens_with_the_chinese_header(out: Path, name: str, columns: tuple) -> None:  # type: ignore[type-arg]
    reader = fastexcel.read_excel(str(out / name))
    sheet = reader.load_sheet(0)
    df = sheet.to_polars()
    assert df.columns == [c.zh for c in columns]
    csv_name = name.replace(".xlsx", ".csv")
    assert df.height == len(_csv_rows(out / csv_name))


def test_flags_xlsx_keeps_numbers_numeric_and_ids_masked(out: Path) -> None:
    df = fastexcel.read_excel(str(out / "flags.xlsx")).load_sheet(0).to_polars()
    assert df["排名"].dtype.is_numeric()
    assert df["风险分值"].dtype.is_numeric()
    assert all("********" in v for v in df["成员身份证号"].drop_nulls())


def test_flags_parquet_has_english_names_and_full_ids(out: Path) -> None:
    table = pq.read_table(out / "flags.parquet")
    cols = table.column_names
    for name in (
        "rank",
        "household_id",
        "rule_id",
        "score",
        "amount_at_risk",
        "member_id_no",
        "member_id_masked",
        "route_zh",
        "reason_zh",
    ):
        assert name in cols
    ids = set(table.column("member_id_no").to_pylist())
    assert "441302196503120119" in ids
    assert table.num_rows == len(_csv_rows(out / "flags.csv"))


def test_empty_findings_still_write_every_file_with_headers(tmp_path: Path) -> None:
    con = duckdb.connect(":memory:")
    from relief_match.rules import CHECKS_COLUMNS, FINDINGS_COLUMNS
    from relief_match.rules.schema import create_empty_table

    create_empty_table(con, "_rm_findings", FINDINGS_COLUMNS)
    create_empty_table(con, "_rm_checks", CHECKS_COLUMNS)
    rank_findings(con)
    report = write_outputs(con, tmp_path / "empty")
    assert set(report.files) == {
        "flags.csv",
        "households.csv",
        "flags.xlsx",
        "households.xlsx",
        "flags.parquet",
    }
    assert all(n == 0 for n in report.files.values())
    raw = (tmp_path / "empty" / "flags.csv").read_bytes()
    assert raw.startswith(BOM) and raw.decode("utf-8-sig").strip() == ",".join(
        c.zh for c in FLAGS_COLUMNS
    )
    df = fastexcel.read_excel(str(tmp_path / "empty" / "flags.xlsx")).load_sheet(0).to_polars()
    assert df.columns == [c.zh for c in FLAGS_COLUMNS] and df.height == 0
    assert pq.read_table(tmp_path / "empty" / "flags.parquet").num_rows == 0
    assert "flags.csv" in report.asstr()


def test_writing_before_ranking_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="rank"):
        write_outputs(duckdb.connect(":memory:"), tmp_path)


def test_text_cells_that_excel_would_run_as_formulas_are_defused(tmp_path: Path) -> None:
    from relief_match.output.writers import write_csv

    rows = [{"rank": 1, "household_id": '=HYPERLINK("x")', "member_name": "-张三"}]
    write_csv(tmp_path / "f.csv", FLAGS_COLUMNS, rows)
    parsed = _csv_rows(tmp_path / "f.csv")[0]
    assert parsed["家庭编号"].startswith("'=")
    assert parsed["成员姓名"] == "'-张三"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("44130219900101123X", "441302********123X"),
        (" 441302199001011234 ", "441302********1234"),
        ("441302900101123", "441302*****1123"),
        ("12345", "*****"),
        ("", None),
        (None, None),
    ],
)
def test_mask_id_keeps_first_six_and_last_four(raw: str | None, masked: str | None) -> None:
    assert mask_id(raw) == masked
