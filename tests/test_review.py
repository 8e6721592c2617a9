"""Review outcomes: the store, importing returned lists, suppression, hit rates, the blend.

The library tests run the bundled sample once, give its findings finding ids
(computed here, standing in for :mod:`relief_match.review.identity`), publish
them as a completed run's ``flags.parquet`` under a fresh ``OUT/runs/`` and
then import returned files written the way Excel and WPS write them. The last
test runs the whole job end to end and needs the finding ids of the real
pipeline (skipped while the run's flags.parquet has none).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
import xlsxwriter
from typer.testing import CliRunner

from relief_match import api
from relief_match.cli import app
from relief_match.config import resolve
from relief_match.errors import EXIT_OK, EXIT_UNUSABLE_INPUT, UnusableInputError
from relief_match.rank.score import blend_weight, rank_findings
from relief_match.review.hitrate import hit_rates, wilson
from relief_match.review.importer import import_outcomes, parse_date, parse_money
from relief_match.review.outcomes import apply_outcomes
from relief_match.review.store import open_store, store_path
from relief_match.runs.rundir import prune

AS_OF = date(2026, 11, 28)
TODAY = date(2026, 11, 30)
RUN_ID = "2026-11-28T020000-aaaaaa"
runner = CliRunner()


def _ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Test stand-ins for finding_key / finding_id (household|check|member, + evidence)."""

    def h(text: str) -> str:
        return "F" + hashlib.sha256(text.encode()).hexdigest()[:12].upper()

    rows = frame.to_dicts()
    keys = [f"{r['household_id']}|{r['rule_id']}|{r['person_id'] or ''}" for r in rows]
    ids = [
        h(f"{k}|{r['evidence_extract']}|{r['evidence_row']}")
        for k, r in zip(keys, rows, strict=True)
    ]
    return frame.with_columns(finding_key=pl.Series(keys), finding_id=pl.Series(ids))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The bundled sample's _rm_findings (with finding ids) and _rm_checks."""
    out = tmp_path_factory.mktemp("sample")
    api.run(resolve(out=out, as_of=AS_OF.isoformat()))
    with duckdb.connect(str(out / "latest" / "relief_match.duckdb"), read_only=True) as con:
        frame = _ids(con.sql("SELECT * FROM _rm_findings").pl())
        checks = con.sql("SELECT * FROM _rm_checks").pl()
    assert frame["finding_id"].n_unique() == frame.height > 100
    return frame, checks


@pytest.fixture(scope="module")
def findings(sample: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    return sample[0]


@pytest.fixture(scope="module")
def checks(sample: tuple[pl.DataFrame, pl.DataFrame]) -> pl.DataFrame:
    return sample[1]


@pytest.fixture()
def out(tmp_path: Path, findings: pl.DataFrame) -> Path:
    """An output folder with one completed run whose flags.parquet has the finding ids."""
    run = tmp_path / "out" / "runs" / RUN_ID
    run.mkdir(parents=True)
    findings.write_parquet(run / "flags.parquet")
    (run / "run_summary.json").write_text(
        json.dumps({"command": "run", "status": "completed", "started_at": "2000-01-01T00:00:00"})
    )
    return tmp_path / "out"


def _db(findings: pl.DataFrame, checks: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    for name, frame in (("_rm_findings", findings), ("_rm_checks", checks)):
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
    return con


def _pick(findings: pl.DataFrame) -> dict[str, str]:
    """One finding id per role, from different checks."""
    first = findings.sort("finding_id").unique("rule_id", keep="first", maintain_order=True)
    roles = ["fp", "explained", "confirmed", "in_progress", "fp_csv", "explained_csv", "deleted"]
    return dict(zip(roles, first["finding_id"].to_list(), strict=False))


def _xlsx(path: Path, rows: list[dict[str, Any]]) -> None:
    """A returned flags.xlsx: a legend sheet first, a title row above the header, date cells."""
    book = xlsxwriter.Workbook(path)
    book.add_worksheet("说明").write(0, 0, "各列说明")
    sheet = book.add_worksheet("疑点清单")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write(0, 0, "核查清单 2026-11-28")
    header = [
        "排名",
        "疑点编号",
        "家庭编号",
        "规则编号",
        "核查结果",
        "追回金额",
        "核查人",
        "核查日期",
        "核查说明",
    ]
    sheet.write_row(1, 0, header)
    for i, r in enumerate(rows, start=2):
        for j, name in enumerate(header):
            value = r.get(name)
            if isinstance(value, datetime):
                sheet.write_datetime(i, j, value, day)
            elif value is not None:
                sheet.write(i, j, value)
    book.close()


def _gb18030_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """A flags.csv as re-saved by Excel: GB18030, CRLF, columns moved, an extra column."""
    header = [
        "核查说明",
        "核查日期",
        "核查结果",
        "备注",
        "疑点编号",
        "核查人",
        "追回金额",
        "规则编号",
    ]
    lines = [",".join(header)]
    lines += [",".join(str(r.get(h, "")) for h in header) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))


def _returned(tmp: Path, ids: dict[str, str], bad: bool = True) -> tuple[Path, Path]:
    serial = (date(2026, 11, 29) - date(1899, 12, 30)).days
    xlsx_rows: list[dict[str, Any]] = [
        {
            "疑点编号": ids["fp"],
            "核查结果": "不属实",
            "核查人": "张三",
            "核查日期": datetime(2026, 11, 29),
            "核查说明": "车辆已过户",
        },
        {"疑点编号": ids["explained"], "核查结果": "有合理解释", "核查日期": serial},
        {
            "疑点编号": ids["confirmed"],
            "核查结果": "属实",
            "追回金额": "1,234.50",
            "核查日期": "2026/11/29",
        },
        {"疑点编号": ids["in_progress"], "核查结果": "核查中"},
        {"疑点编号": ids["deleted"]},  # not reviewed yet: skipped
    ]
    csv_rows: list[dict[str, Any]] = [
        {
            "疑点编号": ids["explained_csv"],
            "核查结果": "explained",
            "核查日期": "20261129",
            "备注": "x",
        },
        {
            "疑点编号": ids["fp_csv"],
            "核查结果": "false_positive",
            "追回金额": "0元",
            "核查人": "李四",
            "核查说明": "已核实无误",
        },
    ]
    if bad:
        xlsx_rows.append({"疑点编号": "F000000000000", "核查结果": "不属实"})
        csv_rows += [
            {"疑点编号": ids["deleted"], "核查结果": "对的", "核查人": "王五"},
            {"疑点编号": ids["deleted"], "核查结果": "属实", "核查日期": "上周三"},
            {"疑点编号": ids["deleted"], "核查结果": "属实", "追回金额": "about 300"},
        ]
    _xlsx(tmp / "flags.xlsx", xlsx_rows)
    _gb18030_csv(tmp / "flags_returned.csv", csv_rows)
    return tmp / "flags.xlsx", tmp / "flags_returned.csv"


def _flags(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    cur = con.execute("SELECT * FROM _rm_flags ORDER BY rank")
    cols = [d[0] for d in cur.description or []]
    return pl.DataFrame(cur.fetchall(), schema=cols, orient="row")


def _count(out: Path) -> int:
    with open_store(out, read_only=True) as con:
        row = con.execute("SELECT count(*) FROM outcomes").fetchone()
    return int(row[0]) if row else 0


def test_import_reads_excel_and_gb18030_rejects_bad_rows_and_is_idempotent(
    out: Path, findings: pl.DataFrame
) -> None:
    ids = _pick(findings)
    files = _returned(out.parent, ids)
    rep = import_outcomes(files, out, today=TODAY)
    assert [(f.valid, f.blank, f.rejected) for f in rep.files] == [(4, 1, 1), (2, 0, 3)]
    where = {(r.file, r.row, r.column) for r in rep.rejections}
    assert where == {
        ("flags.xlsx", 8, "疑点编号"),  # title row, header row, 5 rows, then the bad one
        ("flags_returned.csv", 4, "核查结果"),
        ("flags_returned.csv", 5, "核查日期"),
        ("flags_returned.csv", 6, "追回金额"),
    }
    text = json.dumps(rep.asdict(), ensure_ascii=False)
    assert "王五" not in text and "上周三" not in text and "about 300" not in text
    assert rep.appended == 6 and _count(out) == 6
    with open_store(out, read_only=True) as con:
        stored = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT finding_id, outcome, recovered_amount, review_date, reviewer, source_row"
                " FROM outcomes"
            ).fetchall()
        }
    assert stored[ids["fp"]] == ("false_positive", None, date(2026, 11, 29), "张三", 3)
    assert stored[ids["explained"]][0:3] == ("explained", None, date(2026, 11, 29))
    assert stored[ids["confirmed"]][0:3] == ("confirmed", Decimal("1234.50"), date(2026, 11, 29))
    assert stored[ids["explained_csv"]][2] == date(2026, 11, 29)
    assert stored[ids["fp_csv"]][0:2] == ("false_positive", Decimal("0.00"))
    # the same files again, and the CSV re-saved as UTF-8 with BOM, tab-separated: nothing new
    again = import_outcomes(files, out, today=TODAY)
    assert again.appended == 0 and again.valid == 6
    tsv = out.parent / "again.csv"
    text_csv = files[1].read_bytes().decode("gb18030").replace(",", "\t")
    tsv.write_bytes(b"\xef\xbb\xbf" + text_csv.encode("utf-8"))
    assert import_outcomes([tsv], out, today=TODAY).appended == 0
    assert _count(out) == 6


def test_strict_import_stores_nothing_and_cli_exit_codes(out: Path, findings: pl.DataFrame) -> None:
    files = [str(p) for p in _returned(out.parent, _pick(findings))]
    res = runner.invoke(app, ["review", "import", *files, "--out", str(out), "--strict"])
    assert res.exit_code == EXIT_UNUSABLE_INPUT, res.output
    assert not store_path(out).exists() or _count(out) == 0
    res = runner.invoke(app, ["review", "import", *files, "--out", str(out)])
    assert res.exit_code == EXIT_OK, res.output
    assert "rejected" in res.output and "unknown outcome" in res.output
    res = runner.invoke(app, ["review", "status", "--out", str(out), "--json"])
    assert res.exit_code == EXIT_OK, res.output
    checks = json.loads(res.output)["checks"]
    assert sum(c["reviewed"] for c in checks) == 5 and sum(c["in_progress"] for c in checks) == 1
    res = runner.invoke(app, ["review", "status", "--out", str(out)])
    assert res.exit_code == EXIT_OK and "confirmed [95% CI]" in res.output


def test_a_file_without_the_review_columns_is_unusable(out: Path) -> None:
    other = out.parent / "other.csv"
    other.write_text("家庭编号,成员姓名\r\nH1,x\r\n", encoding="utf-8-sig")
    with pytest.raises(UnusableInputError):
        import_outcomes([other], out, today=TODAY)
    assert not store_path(out).exists()


def test_dates_and_money_as_caseworkers_write_them() -> None:
    for text in (
        "2026-11-01",
        "2026/11/1",
        "20261101",
        "2026.11.1",
        "2026年11月1日",
        "2026-11-01 00:00:00",
    ):
        assert parse_date(text, xlsx=False, today=TODAY) == date(2026, 11, 1), text
    assert parse_date("46327", xlsx=True, today=TODAY) == date(2026, 11, 1)
    for text in ("46327", "2026-13-01", "明天", "2027-01-01", "1999-12-31"):
        with pytest.raises(ValueError):
            parse_date(text, xlsx=False, today=TODAY)
    assert parse_money("1,234.50") == Decimal("1234.50")
    assert parse_money("1234.5元") == Decimal("1234.50")
    assert parse_money("¥300") == Decimal("300.00")
    for text in ("-5", "1.234", "12,34", "1e3", "abc", "1 234,5"):
        with pytest.raises(ValueError):
            parse_money(text)


def test_outcomes_suppress_annotate_and_come_back_when_evidence_changes(
    out: Path, findings: pl.DataFrame, checks: pl.DataFrame
) -> None:
    ids = _pick(findings)
    import_outcomes(_returned(out.parent, ids, bad=False), out, today=TODAY)
    con = _db(findings, checks)
    rep = apply_outcomes(con, out)
    gone = {
        r[0]: r[1]
        for r in con.execute("SELECT finding_id, review_outcome FROM _rm_suppressed").fetchall()
    }
    assert gone == {
        ids["fp"]: "false_positive",
        ids["explained"]: "explained",
        ids["fp_csv"]: "false_positive",
        ids["explained_csv"]: "explained",
    }
    listed = dict(con.execute("SELECT finding_id, review_outcome FROM _rm_findings").fetchall())
    assert len(listed) == findings.height - 4
    assert listed[ids["confirmed"]] == "confirmed" and listed[ids["in_progress"]] == "in_progress"
    assert sum(v is not None for v in listed.values()) == 2
    assert sum(rep.suppressed.values()) == 4 and rep.asdict()["suppressed_total"] == 4
    by_id = findings.filter(pl.col("finding_id") == ids["fp"])
    assert rep.suppressed[by_id["rule_id"][0]] == 1
    rank_findings(con)  # the annotated findings rank as before
    # the evidence of the 不属实 finding changes: a new id under the same key
    changed = findings.with_columns(
        finding_id=pl.when(pl.col("finding_id") == ids["fp"])
        .then(pl.lit("FNEWEVIDENCE0"))
        .otherwise(pl.col("finding_id"))
    )
    con = _db(changed, checks)
    rep = apply_outcomes(con, out)
    back = con.execute(
        "SELECT review_outcome, earlier_outcome FROM _rm_findings WHERE finding_id = 'FNEWEVIDENCE0'"
    ).fetchall()
    assert back == [(None, "false_positive")]
    assert sum(rep.suppressed.values()) == 3 and sum(rep.came_back.values()) == 1


def test_without_a_store_nothing_is_suppressed(
    tmp_path: Path, findings: pl.DataFrame, checks: pl.DataFrame
) -> None:
    con = _db(findings, checks)
    rep = apply_outcomes(con, tmp_path)
    assert rep.store is None and rep.suppressed == {}
    assert con.execute("SELECT count(*) FROM _rm_suppressed").fetchone() == (0,)
    assert con.execute(
        "SELECT count(*) FROM _rm_findings WHERE review_outcome IS NULL AND earlier_outcome IS NULL"
    ).fetchone() == (findings.height,)


def test_a_later_review_supersedes_and_an_old_file_does_not(
    out: Path, findings: pl.DataFrame
) -> None:
    fid = _pick(findings)["in_progress"]
    for day, outcome in (("2026-11-20", "核查中"), ("2026-11-27", "属实")):
        f = out.parent / f"{day}.csv"
        f.write_text(f"疑点编号,核查结果,核查日期\n{fid},{outcome},{day}\n", encoding="utf-8")
    import_outcomes([out.parent / "2026-11-27.csv"], out, today=TODAY)
    import_outcomes([out.parent / "2026-11-20.csv"], out, today=TODAY)  # an older list, late
    checks = hit_rates(out).checks
    assert [(c.confirmed, c.in_progress) for c in checks] == [(1, 0)]


def test_hit_rate_interval_and_the_weight_blend(
    out: Path, findings: pl.DataFrame, checks: pl.DataFrame
) -> None:
    assert wilson(0, 0) is None
    lo, hi = wilson(1, 3) or (0, 0)
    assert round(lo, 4) == 0.0615 and round(hi, 4) == 0.7923
    assert wilson(10, 10) is not None and round((wilson(10, 10) or (0, 0))[1], 9) == 1.0
    assert blend_weight(0.7, 0, 0) == 0.7
    assert blend_weight(0.7, 1, 10) == 0.4
    assert blend_weight(0.7, 30, 30) == 0.925
    import_outcomes(_returned(out.parent, _pick(findings), bad=False), out, today=TODAY)
    rep = hit_rates(out)
    assert sum(c.recovered for c in rep.checks) == 1234.5
    observed = rep.observed()
    con = _db(findings, checks)
    baseline = (rank_findings(con), _flags(con))
    assert baseline[0].weights is None and "hit_rate_weights" not in baseline[0].asdict()
    none_reviewed = rank_findings(con, observed={})
    assert _flags(con).equals(baseline[1])
    assert all(d == b for d, b in (none_reviewed.weights or {}).values())
    blended = rank_findings(con, observed=observed)
    weights = blended.weights or {}
    for rule, (confirmed, reviewed) in observed.items():
        declared, new = weights[rule]
        assert new == blend_weight(declared, confirmed, reviewed)
        assert con.execute(
            "SELECT DISTINCT weight FROM _rm_flags WHERE rule_id = ?", [rule]
        ).fetchall() == [(new,)]


def test_prune_never_touches_the_outcome_store(out: Path, findings: pl.DataFrame) -> None:
    import_outcomes(_returned(out.parent, _pick(findings), bad=False), out, today=TODAY)
    assert prune(out, 0) == [RUN_ID]
    assert store_path(out).is_file() and _count(out) == 6
    assert oct(store_path(out).stat().st_mode & 0o777) == "0o600"


def test_a_caseworkers_week_end_to_end(tmp_path: Path) -> None:
    """Tonight's list, outcomes filled in Excel, imported, tomorrow's list (needs finding ids)."""
    out = tmp_path / "out"
    args = ["run", "--out", str(out), "--as-of", AS_OF.isoformat()]
    assert runner.invoke(app, args).exit_code == EXIT_OK
    flags = pl.read_parquet(out / "latest" / "flags.parquet")
    if "finding_id" not in flags.columns:
        pytest.skip("this branch's runs have no finding ids yet (review.identity not wired)")
    ids = _pick(flags)
    files = [str(p) for p in _returned(tmp_path, ids, bad=False)]
    res = runner.invoke(app, ["review", "import", *files, "--out", str(out)])
    assert res.exit_code == EXIT_OK, res.output
    assert runner.invoke(app, args).exit_code == EXIT_OK
    summary = json.loads((out / "latest" / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["review"]["suppressed_total"] == 4
    assert sum(c["reviewed"] for c in summary["hit_rate"]["checks"]) == 5
    tomorrow = pl.read_parquet(out / "latest" / "flags.parquet")
    assert tomorrow.height == flags.height - 4
    outcome = dict(zip(tomorrow["finding_id"], tomorrow["review_outcome"], strict=True))
    assert outcome[ids["confirmed"]] == "confirmed" and outcome[ids["in_progress"]] == "in_progress"
