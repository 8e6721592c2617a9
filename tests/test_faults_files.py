"""Fault injection at the file/record level (issue 9): one test per fault.

Each test copies the bundled sample delivery, injects one fault, runs the whole
job and checks: no crash; every extract reconciles; the faulty rows are
quarantined (or repaired) with the expected reason and the others used; no
full ID number in the logs or the CSV outputs; and, where the fault leaves the
data's meaning intact, the same findings as the clean delivery.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter

from relief_match import api
from relief_match.config import resolve
from relief_match.ingest.readers import read_any
from relief_match.resources import default_dir

AS_OF = "2026-11-28"
FULL_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
BP = "civil_affairs/benefit_payments.csv"  # UTF-8 with BOM
MEMBERS = "civil_affairs/recipients_members.csv"  # GB18030
VEHICLES = "public_security/motor_vehicles.csv"  # UTF-8


def sample_delivery() -> Path:
    return default_dir("sample_data") / "delivery"


FINDING_KEY = ("家庭编号", "规则编号", "成员身份证号")


def _outputs(out_dir: Path) -> Path:
    latest = out_dir / "latest"
    return latest if latest.exists() else out_dir


class Run:
    """One run of the job on a (faulty) delivery, and what it left behind."""

    def __init__(self, delivery: Path, out: Path, console: str) -> None:
        self.delivery = delivery
        self.out = _outputs(out)
        self.console = console
        self.summary: dict[str, Any] = json.loads((self.out / "run_summary.json").read_text())

    def extract(self, name: str) -> dict[str, Any]:
        return next(e for e in self.summary["ingest"]["extracts"] if e["extract"] == name)

    def quarantine(self) -> pl.DataFrame:
        return pl.read_csv(self.out / "quarantine.csv", infer_schema=False)

    def findings(self) -> set[tuple[str, ...]]:
        flags = pl.read_csv(self.out / "flags.csv", infer_schema=False)
        return set(flags.select(FINDING_KEY).iter_rows())

    def amount(self) -> float:
        flags = pl.read_csv(self.out / "flags.csv", infer_schema=False)
        return float(flags["风险金额"].cast(pl.Float64).sum())

    def check_status(self, rule_id: str) -> str:
        return next(c for c in self.summary["rules"]["checks"] if c["rule_id"] == rule_id)["status"]


def _run(tmp: Path, inject: Callable[[Path], None] | None, caplog: Any, capsys: Any) -> Run:
    delivery = tmp / "delivery"
    shutil.copytree(sample_delivery(), delivery)
    if inject is not None:
        inject(delivery)
    out = tmp / "out"
    with caplog.at_level(logging.INFO):
        api.run(resolve(delivery, out=out, as_of=AS_OF))
    captured = capsys.readouterr()
    run = Run(delivery, out, captured.out + captured.err + caplog.text)
    _common_assertions(run)
    return run


def _common_assertions(run: Run) -> None:
    for e in run.summary["ingest"]["extracts"]:
        assert e["rows_read"] == e["rows_used"] + e["rows_quarantined"], e["extract"]
    assert run.summary["ingest"]["totals"]["reconciles"]
    texts = {"console": run.console}
    for name in ("run.log", "flags.csv", "households.csv", "quarantine.csv", "run_summary.json"):
        texts[name] = (run.out / name).read_text(encoding="utf-8", errors="replace")
    for name, text in texts.items():
        assert not FULL_ID.search(text), f"a full ID number in {name}"


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("clean")
    delivery = tmp / "delivery"
    shutil.copytree(sample_delivery(), delivery)
    api.run(resolve(delivery, out=tmp / "out", as_of=AS_OF))
    run = Run(delivery, tmp / "out", "")
    _common_assertions(run)
    return run


@pytest.fixture
def run_with(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> Callable[[Callable[[Path], None]], Run]:
    return lambda inject: _run(tmp_path, inject, caplog, capsys)


# ---------------------------------------------------------------- helpers


def _edit_lines(path: Path, encoding: str, edit: Callable[[list[str]], list[str]]) -> None:
    text = path.read_bytes().decode(encoding)
    eol = "\r\n" if "\r\n" in text else "\n"
    path.write_bytes(eol.join(edit(text.split(eol))).encode(encoding))


def _set_field(line: str, index: int, value: str) -> str:
    cells = line.split(",")
    cells[index] = value
    return ",".join(cells)


def _set_cell(rel: str, encoding: str, line_no: int, index: int, value: str) -> Any:
    """An injector: cell ``index`` of physical line ``line_no`` of ``rel`` becomes ``value``."""

    def edit(lines: list[str]) -> list[str]:
        lines[line_no - 1] = _set_field(lines[line_no - 1], index, value)
        return lines

    return lambda d: _edit_lines(d / rel, encoding, edit)


def _reason_rows(run: Run, reason: str) -> list[int]:
    q = run.quarantine().filter(pl.col("reason").str.contains(reason))
    return [int(r) for r in q["row"].drop_nulls().to_list()]


def _rewrite_csv(path: Path, encoding: str, delimiter: str) -> None:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


# ------------------------------------------------------------ the faults


def test_stray_quote_at_field_start(run_with: Any, clean: Run) -> None:
    run = run_with(_set_cell(BP, "utf-8-sig", 100, 4, '"已核实'))
    assert _reason_rows(run, "unparsable_record") == [100]
    bp = run.extract("benefit_payments")
    assert bp["rows_read"] == clean.extract("benefit_payments")["rows_read"]
    assert bp["rows_used"] == clean.extract("benefit_payments")["rows_used"] - 1


def test_quote_inside_a_field_utf8(run_with: Any, clean: Run) -> None:
    run = run_with(_set_cell(BP, "utf-8-sig", 200, 4, '已"核实'))
    assert _reason_rows(run, "unparsable_record") == [200]
    assert run.extract("benefit_payments")["rows_used"] == (
        clean.extract("benefit_payments")["rows_used"] - 1
    )


def test_quote_inside_a_field_gb18030(run_with: Any, clean: Run) -> None:
    run = run_with(_set_cell(MEMBERS, "gb18030", 50, 2, '王"伟'))
    assert _reason_rows(run, "unparsable_record") == [50]
    members = run.extract("recipients_members")
    assert members["rows_used"] == clean.extract("recipients_members")["rows_used"] - 1
    assert members["usable"]


def test_quoted_field_over_128_kb(run_with: Any, clean: Run) -> None:
    big = '"' + "备注" * 70_000 + '"'
    run = run_with(_set_cell(BP, "utf-8-sig", 10, 4, big))
    assert (
        run.extract("benefit_payments")["rows_used"]
        == clean.extract("benefit_payments")["rows_used"]
    )
    assert run.findings() == clean.findings()


def test_unit_separator_control_character(run_with: Any, clean: Run) -> None:
    run = run_with(_set_cell(BP, "utf-8-sig", 10, 4, "已\x1f核实"))
    assert (
        run.extract("benefit_payments")["rows_used"]
        == clean.extract("benefit_payments")["rows_used"]
    )
    assert run.findings() == clean.findings()


def test_cr_only_line_endings(run_with: Any, clean: Run) -> None:
    def inject(d: Path) -> None:
        (d / VEHICLES).write_bytes(
            (d / VEHICLES).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r")
        )

    run = run_with(inject)
    assert (
        run.extract("motor_vehicles")["rows_used"] == clean.extract("motor_vehicles")["rows_used"]
    )
    assert any("CR-only" in n for n in run.extract("motor_vehicles")["notes"])
    assert run.findings() == clean.findings()


def test_tab_delimiter(run_with: Any, clean: Run) -> None:
    run = run_with(lambda d: _rewrite_csv(d / VEHICLES, "utf-8", "\t"))
    assert (
        run.extract("motor_vehicles")["rows_used"] == clean.extract("motor_vehicles")["rows_used"]
    )
    assert run.findings() == clean.findings()


def test_semicolon_delimiter(run_with: Any, clean: Run) -> None:
    run = run_with(lambda d: _rewrite_csv(d / VEHICLES, "utf-8", ";"))
    assert (
        run.extract("motor_vehicles")["rows_used"] == clean.extract("motor_vehicles")["rows_used"]
    )
    assert run.findings() == clean.findings()


def test_title_row_above_the_header(run_with: Any, clean: Run) -> None:
    run = run_with(
        lambda d: _edit_lines(
            d / VEHICLES, "utf-8", lambda ls: ["惠州市机动车登记信息", "导出日期,2026-11-28", *ls]
        )
    )
    assert (
        run.extract("motor_vehicles")["rows_used"] == clean.extract("motor_vehicles")["rows_used"]
    )
    assert any("header found on line 3" in n for n in run.extract("motor_vehicles")["notes"])
    assert run.findings() == clean.findings()


def _add_name_column(conflict_line: int | None) -> Callable[[Path], None]:
    def edit(lines: list[str]) -> list[str]:
        out = [lines[0] + ",name"]
        for i, line in enumerate(lines[1:], start=2):
            if not line:
                out.append(line)
                continue
            name = line.split(",")[2]
            out.append(f"{line},{'李四' if i == conflict_line else name}")
        return out

    return lambda d: _edit_lines(d / MEMBERS, "gb18030", edit)


def test_two_headers_for_one_column_agreeing(run_with: Any, clean: Run) -> None:
    run = run_with(_add_name_column(None))
    members = run.extract("recipients_members")
    assert members["rows_used"] == clean.extract("recipients_members")["rows_used"]
    assert any("both name column name" in n for n in members["notes"])
    assert run.findings() == clean.findings()


def test_two_headers_for_one_column_conflicting(run_with: Any, clean: Run) -> None:
    run = run_with(_add_name_column(30))
    assert _reason_rows(run, "conflicting_columns") == [30]
    q = run.quarantine().filter(pl.col("reason") == "conflicting_columns")
    assert "'姓名' and 'name'" in q["message"][0]
    members = run.extract("recipients_members")
    assert members["rows_used"] == clean.extract("recipients_members")["rows_used"] - 1


def _gb_line_in(path: Path, encoding: str, line_no: int) -> None:
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    lines = raw[3 if bom else 0 :].split(b"\n")
    lines[line_no - 1] = lines[line_no - 1].decode("utf-8").encode("gb18030")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + b"\n".join(lines))


def test_gb18030_line_in_utf8_file(run_with: Any, clean: Run) -> None:
    run = run_with(lambda d: _gb_line_in(d / VEHICLES, "utf-8", 40))
    mv = run.extract("motor_vehicles")
    assert mv["rows_used"] == clean.extract("motor_vehicles")["rows_used"]
    assert mv["repairs"].get("_line:line_encoding") == 1
    assert run.findings() == clean.findings()


def test_gb18030_line_in_utf8_bom_file(run_with: Any, clean: Run) -> None:
    run = run_with(lambda d: _gb_line_in(d / "human_resources/pension_payments.csv", "utf-8", 12))
    pp = run.extract("pension_payments")
    assert pp["rows_used"] == clean.extract("pension_payments")["rows_used"]
    assert pp["repairs"].get("_line:line_encoding") == 1
    assert run.findings() == clean.findings()


def test_undecodable_line(run_with: Any, clean: Run) -> None:
    def inject(d: Path) -> None:
        lines = (d / VEHICLES).read_bytes().split(b"\n")
        lines[20] = lines[20] + b"\xff\xfe\xff"
        (d / VEHICLES).write_bytes(b"\n".join(lines))

    run = run_with(inject)
    assert _reason_rows(run, "undecodable_line") == [21]
    assert run.extract("motor_vehicles")["rows_used"] == (
        clean.extract("motor_vehicles")["rows_used"] - 1
    )


def test_xlsx_cover_sheet_first(run_with: Any, clean: Run) -> None:
    def inject(d: Path) -> None:
        path = d / "civil_affairs/recipients_households.xlsx"
        table = read_any(path)
        rows = [table.headers, *table.frame.select(table.headers).iter_rows()]
        book = xlsxwriter.Workbook(str(path))
        cover = book.add_worksheet("封面")
        cover.write(0, 0, "救助对象家庭 导出说明")
        cover.write(1, 0, "本文件由民政系统导出")
        sheet = book.add_worksheet("数据")
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if v is not None:
                    sheet.write_string(r, c, str(v))
        book.close()

    run = run_with(inject)
    rh = run.extract("recipients_households")
    assert rh["rows_used"] == clean.extract("recipients_households")["rows_used"]
    assert run.findings() == clean.findings()


def _edit_parquet(
    rel: str, change: Callable[[pl.DataFrame], pl.DataFrame]
) -> Callable[[Path], None]:
    def inject(d: Path) -> None:
        path = d / rel
        change(pl.read_parquet(path)).write_parquet(path)

    return inject


def test_parquet_list_column(run_with: Any, clean: Run) -> None:
    run = run_with(
        _edit_parquet(
            "human_resources/public_employees.parquet",
            lambda f: f.with_columns(pl.concat_list(pl.col("name"), pl.col("id_no")).alias("tags")),
        )
    )
    pe = run.extract("public_employees")
    assert pe["rows_used"] == clean.extract("public_employees")["rows_used"]
    assert any("nested" in n for n in pe["notes"])
    assert run.findings() == clean.findings()


RE = "natural_resources/real_estate.parquet"
_DIGITS = pl.col("owner_id_no").str.contains(r"^[1-9][0-9]{17}$")


def test_parquet_int64_ids_read_exactly(run_with: Any, clean: Run) -> None:
    run = run_with(
        _edit_parquet(
            RE,
            lambda f: f.filter(_DIGITS).with_columns(pl.col("owner_id_no").cast(pl.Int64)),
        )
    )
    original = pl.read_parquet(sample_delivery() / RE).filter(_DIGITS)["owner_id_no"]
    staged = read_any(run.delivery / RE).frame["owner_id_no"]
    assert staged.to_list() == original.to_list()
    assert run.extract("real_estate")["rows_read"] == original.len()


def test_parquet_float64_ids_rejected(run_with: Any, clean: Run) -> None:
    run = run_with(
        _edit_parquet(
            RE, lambda f: f.filter(_DIGITS).with_columns(pl.col("owner_id_no").cast(pl.Float64))
        )
    )
    re_ = run.extract("real_estate")
    assert any("ID numbers stored as Float64 lose digits" in n for n in re_["notes"])
    assert "e+17" not in (run.out / "quarantine.csv").read_text(encoding="utf-8")


def test_header_only_file(run_with: Any, clean: Run) -> None:
    run = run_with(lambda d: _edit_lines(d / VEHICLES, "utf-8", lambda ls: [ls[0], ""]))
    mv = run.extract("motor_vehicles")
    assert (mv["usable"], mv["unusable_reason"]) == (False, "header_only")
    assert run.check_status("VEHICLE") != "ran"


def test_missing_required_column(run_with: Any, clean: Run) -> None:
    def inject(d: Path) -> None:
        rows = list(csv.reader(io.StringIO((d / VEHICLES).read_text(encoding="utf-8"))))
        drop = rows[0].index("所有人身份证号") if "所有人身份证号" in rows[0] else 1
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([r[:drop] + r[drop + 1 :] for r in rows])
        (d / VEHICLES).write_text(buf.getvalue(), encoding="utf-8")

    run = run_with(inject)
    mv = run.extract("motor_vehicles")
    assert (mv["usable"], mv["unusable_reason"]) == (False, "missing_required_column")
    assert mv["rows_quarantined"] == mv["rows_read"] > 0
    assert run.check_status("VEHICLE") != "ran"


def test_resent_duplicate_file(run_with: Any, clean: Run) -> None:
    run = run_with(
        lambda d: shutil.copy(d / BP, d / "civil_affairs/benefit_payments.2026-11-27.csv")
    )
    bp, bp0 = run.extract("benefit_payments"), clean.extract("benefit_payments")
    assert bp["rows_used"] == bp0["rows_used"]
    assert bp["rows_read"] == 2 * bp0["rows_read"]
    assert any("parts of one delivery" in n for n in bp["notes"])
    assert run.findings() == clean.findings()
    assert run.amount() == pytest.approx(clean.amount())


def test_symlink_to_outside_is_not_followed(run_with: Any, clean: Run, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")

    def inject(d: Path) -> None:
        (d / "civil_affairs/benefit_payments.2026-11-27.csv").symlink_to(secret)
        (d / "health/passwd").symlink_to("/etc/passwd")

    run = run_with(inject)
    notes = run.summary["ingest"]["notes"]
    assert "skipped symlink civil_affairs/benefit_payments.2026-11-27.csv" in notes
    assert "skipped symlink health/passwd" in notes
    dumped = json.dumps(run.summary, ensure_ascii=False) + run.console
    assert "root:x" not in dumped
    assert run.findings() == clean.findings()
