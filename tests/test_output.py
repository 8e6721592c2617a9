"""flags.csv / households.csv / xlsx / parquet writers and ID masking."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import duckdb
import fastexcel
import pyarrow.parquet as pq
import pytest

from relief_match.output import (
    FLAGS_COLUMNS,
    HOUSEHOLDS_COLUMNS,
    RESOLVED_COLUMNS,
    SUPPRESSED_COLUMNS,
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
    "排名,疑点编号,变化,家庭编号,规则名称,规则编号,风险分值,风险金额,金额性质,成员姓名,成员身份证号,"
    "匹配方式,匹配概率,原因,证据来源,证据行号,区县,区县代码,救助类型"
)
REVIEW_HEADERS = ["上次核查结果", "核查结果", "追回金额", "核查人", "核查日期", "核查说明"]


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
    assert spouse["风险金额"] == "" and spouse["金额性质"] == "不计金额"
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
        "resolved.csv",
        "suppressed.csv",
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
    for name, columns in (
        ("resolved.csv", RESOLVED_COLUMNS),
        ("suppressed.csv", SUPPRESSED_COLUMNS),
    ):
        raw = (tmp_path / "empty" / name).read_bytes()
        assert raw.startswith(BOM)
        assert raw.decode("utf-8-sig").strip() == ",".join(c.zh for c in columns)
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


# --------------------------------------------------------------------------- review and caseworker columns


def test_review_columns_are_there_and_empty_before_the_review_stages_ran(out: Path) -> None:
    rows = _csv_rows(out / "flags.csv")
    header = list(rows[0])
    assert header[-len(REVIEW_HEADERS) :] == REVIEW_HEADERS
    assert header.index("规则名称") < header.index("规则编号")
    for r in rows:
        assert all(r[h] == "" for h in REVIEW_HEADERS)
        assert r["疑点编号"] == "" and r["变化"] == ""


def test_district_names_come_from_the_shipped_code_table(out: Path) -> None:
    from relief_match.output.districts import districts_path, load_districts

    table = load_districts()
    assert {table[c] for c in ("441302", "441303", "441322", "441323", "441324")} == {
        "惠城区",
        "惠阳区",
        "博罗县",
        "惠东县",
        "龙门县",
    }
    head = districts_path().read_text(encoding="utf-8").splitlines()[:3]
    assert any("GB/T 2260" in line for line in head)
    for r in _csv_rows(out / "flags.csv") + _csv_rows(out / "households.csv"):
        assert r["区县"] == table.get(r["区县代码"], "")


def _annotate(con: duckdb.DuckDBPyConnection) -> None:
    """Add what the identity/outcome/history stages would add."""
    con.execute("CREATE TABLE _rm_run (key VARCHAR, value VARCHAR)")
    con.execute("INSERT INTO _rm_run VALUES ('as_of', '2026-11-28')")
    for col in ("finding_id", "change", "review_outcome", "earlier_outcome"):
        con.execute(f"ALTER TABLE _rm_flags ADD COLUMN IF NOT EXISTS {col} VARCHAR")
    con.execute("ALTER TABLE _rm_households ADD COLUMN IF NOT EXISTS change VARCHAR")
    con.execute(
        """
        UPDATE _rm_flags SET finding_id = 'F' || lpad(CAST(rank AS VARCHAR), 12, '0'),
            change = CASE WHEN rank % 2 = 0 THEN 'new' ELSE 'open' END,
            review_outcome = CASE WHEN rank = 1 THEN 'in_progress' END,
            earlier_outcome = CASE WHEN rank = 2 THEN 'explained' END,
            district_code = '441302'
        """
    )
    con.execute("UPDATE _rm_households SET change = 'open', district_code = '441324'")
    con.execute(
        """
        CREATE TABLE _rm_resolved AS SELECT 'F0000000000AA' AS finding_id, 'K1' AS finding_key,
            'H99' AS household_id, 'VEHICLE' AS rule_id, '拥有机动车' AS rule_title_zh,
            '张三' AS member_name, '441302199001011234' AS member_id_no,
            'R1' AS previous_run_id, 'household_exited' AS reason, '家庭已退出' AS reason_zh
        """
    )
    con.execute(
        """
        CREATE TABLE _rm_suppressed AS SELECT *, 'F0000000000BB' AS finding_id,
            'false_positive' AS review_outcome, DATE '2026-11-20' AS review_date,
            '李四' AS reviewer, '车辆已过户' AS review_note
        FROM _rm_findings LIMIT 1
        """
    )


@pytest.fixture(scope="module")
def annotated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    con = _ranked_db("DECEASED", "VEHICLE", "UNDECLARED_SPOUSE")
    _annotate(con)
    out_dir = tmp_path_factory.mktemp("annotated")
    write_outputs(con, out_dir)
    return out_dir


def test_finding_id_change_and_earlier_outcome_are_shown_in_chinese(annotated: Path) -> None:
    rows = _csv_rows(annotated / "flags.csv")
    assert rows[0]["疑点编号"] == "F000000000001" and rows[0]["变化"] == "持续"
    assert rows[0]["上次核查结果"] == "核查中"
    assert rows[1]["变化"] == "新增" and rows[1]["上次核查结果"] == "有合理解释（证据已变化）"
    assert all(r["上次核查结果"] == "" for r in rows[2:])
    assert all(r["区县"] == "惠城区" and r["区县代码"] == "441302" for r in rows)
    assert all(r["数据日期"] == "2026-11-28" for r in rows)
    assert all(r[h] == "" for r in rows for h in REVIEW_HEADERS[1:])
    households = _csv_rows(annotated / "households.csv")
    assert all(h["变化"] == "持续" and h["区县"] == "龙门县" for h in households)


def test_resolved_and_suppressed_csv_list_their_tables_with_masked_ids(annotated: Path) -> None:
    resolved = _csv_rows(annotated / "resolved.csv")
    assert resolved == [
        {
            "疑点编号": "F0000000000AA",
            "变化": "已消失",
            "家庭编号": "H99",
            "规则名称": "拥有机动车",
            "规则编号": "VEHICLE",
            "成员姓名": "张三",
            "成员身份证号": "441302********1234",
            "消失原因": "家庭已退出",
            "原因代码": "household_exited",
            "上次运行": "R1",
            "数据日期": "2026-11-28",
        }
    ]
    (suppressed,) = _csv_rows(annotated / "suppressed.csv")
    assert suppressed["疑点编号"] == "F0000000000BB" and suppressed["核查结果"] == "不属实"
    assert suppressed["核查日期"] == "2026-11-20" and suppressed["核查人"] == "李四"
    assert suppressed["规则名称"] and "********" in suppressed["成员身份证号"]
    assert not any(ch.isdigit() for ch in suppressed["成员身份证号"][6:14])


def _xlsx_parts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")}


def test_flags_xlsx_has_the_drop_down_the_dated_sheet_and_the_legend(annotated: Path) -> None:
    reader = fastexcel.read_excel(str(annotated / "flags.xlsx"))
    assert reader.sheet_names == ["2026-11-28疑点清单", "说明"]
    parts = _xlsx_parts(annotated / "flags.xlsx")
    sheet1 = parts["xl/worksheets/sheet1.xml"]
    col = [c.zh for c in FLAGS_COLUMNS].index("核查结果")
    letter = chr(ord("A") + col) if col < 26 else "A" + chr(ord("A") + col - 26)
    validation = re.search(
        r"<dataValidation [^>]*sqref=\"([A-Z]+)2:[A-Z]+\d+\"[^>]*>(.*?)</dataValidation>", sheet1
    )
    assert validation is not None and validation.group(1) == letter
    assert "属实,不属实,有合理解释,核查中" in validation.group(2)
    legend = reader.load_sheet("说明", header_row=None).to_polars()
    explained = dict(zip(legend[:, 0].to_list(), legend[:, 1].to_list(), strict=True))
    for c in FLAGS_COLUMNS:
        assert explained.get(c.zh), f"column {c.zh} is not explained in the legend"
    assert "估算" in explained["估算与精确"] and "精确" in explained["估算与精确"]
    assert "不计金额" in explained["金额性质"] and "log10" in explained["风险分值"]
    assert explained["本清单数据日期"] == "2026-11-28"
    styles = parts["xl/styles.xml"]
    assert "FFF2CC" in styles.upper()  # the fill-in columns' header colour


def test_households_xlsx_sheet_carries_the_as_of_date(annotated: Path) -> None:
    assert fastexcel.read_excel(str(annotated / "households.xlsx")).sheet_names == [
        "2026-11-28疑点家庭"
    ]
