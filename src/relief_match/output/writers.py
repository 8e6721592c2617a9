"""Writers of the caseworker and analyst outputs (design.md §6).

:func:`write_outputs` reads ``_rm_flags`` and ``_rm_households`` (written by
:func:`relief_match.rank.score.rank_findings`) and writes:

* ``flags.csv``: UTF-8 with BOM (Excel opens it), Chinese headers
  (:data:`FLAGS_COLUMNS`), ID numbers masked (``441302********1234``), amounts
  with two decimals, the match route in Chinese;
* ``households.csv``: one row per flagged household (:data:`HOUSEHOLDS_COLUMNS`);
* ``flags.xlsx`` and ``households.xlsx``: the same tables as typed cells, with
  a frozen header row, an autofilter and column widths fitted to CJK text;
* ``flags.parquet``: for analysts, English column names and full ID numbers
  (plus ``member_id_masked`` and ``route_zh``).

Empty results still produce every file, with headers only. Each file is
written under a temporary name and renamed into place (no reader ever sees a
half-written list); ``flags.parquet`` holds full ID numbers and gets mode 0600.

Example:
    >>> report = write_outputs(con, Path("out"))
    >>> print(report.asstr())
"""

from __future__ import annotations

import csv
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter

from relief_match.errors import InternalError
from relief_match.privacy import mask_id
from relief_match.runs.files import PRIVATE, SHARED, atomic_path

#: Match route -> Chinese label shown to caseworkers.
ROUTE_ZH: dict[str | None, str] = {
    "exact": "身份证号一致",
    "repaired_id": "身份证号修复后一致",
    "probabilistic": "模糊匹配",
    None: "家庭记录（无需人员匹配）",
}

#: amount_kind -> Chinese label.
AMOUNT_KIND_ZH: dict[str | None, str] = {"exact": "精确", "estimate": "估算", "none": "", None: ""}


@dataclass(frozen=True)
class Column:
    """One output column: Chinese header, English (parquet) name, cell kind."""

    zh: str
    en: str
    kind: str = "text"  # text | int | score | money | prob


#: flags.csv / flags.xlsx columns, in order (design.md §6, then two additions).
FLAGS_COLUMNS: tuple[Column, ...] = (
    Column("排名", "rank", "int"),
    Column("家庭编号", "household_id"),
    Column("规则编号", "rule_id"),
    Column("规则名称", "rule_title_zh"),
    Column("风险分值", "score", "score"),
    Column("风险金额", "amount_at_risk", "money"),
    Column("金额性质", "amount_kind_zh"),
    Column("成员姓名", "member_name"),
    Column("成员身份证号", "member_id_masked"),
    Column("匹配方式", "route_zh"),
    Column("匹配概率", "match_probability", "prob"),
    Column("原因", "reason_zh"),
    Column("证据来源", "evidence_extract"),
    Column("证据行号", "evidence_row", "int"),
    Column("区县", "district_code"),
    Column("救助类型", "benefit_type"),
    Column("证据文件", "evidence_file"),
    Column("匹配依据", "match_evidence"),
)

#: households.csv / households.xlsx columns, in order.
HOUSEHOLDS_COLUMNS: tuple[Column, ...] = (
    Column("排名", "rank", "int"),
    Column("家庭编号", "household_id"),
    Column("区县", "district_code"),
    Column("救助类型", "benefit_type"),
    Column("风险总分", "total_score", "score"),
    Column("最高单项分值", "max_score", "score"),
    Column("问题数", "n_findings", "int"),
    Column("规则数", "n_checks", "int"),
    Column("规则编号", "rule_ids"),
    Column("规则名称", "rule_titles_zh"),
    Column("确定金额合计", "amount_exact", "money"),
    Column("估算金额合计", "amount_estimate", "money"),
    Column("涉及成员", "member_names"),
)

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class OutputError(InternalError):
    """The tables the writers read are missing (the rank stage has not run)."""


@dataclass(frozen=True)
class OutputReport:
    """Files written: name -> number of data rows."""

    out_dir: Path
    files: dict[str, int] = field(default_factory=dict)

    def asdict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {"out_dir": str(self.out_dir), "files": dict(self.files)}

    def asstr(self) -> str:
        """One line per file, for people."""
        lines = [f"outputs in {self.out_dir}:"]
        lines += [f"  {name:<18} {n:>7} rows" for name, n in self.files.items()]
        return "\n".join(lines)


def _fetch(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    try:
        cur = con.execute(f'SELECT * FROM "{table}" ORDER BY rank')
    except duckdb.CatalogException as exc:
        raise OutputError(f"{table} not found: run the rank stage before writing outputs") from exc
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _flag_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "member_id_masked": mask_id(row.get("member_id_no")),
        "route_zh": ROUTE_ZH.get(row.get("route"), str(row.get("route"))),
        "amount_kind_zh": AMOUNT_KIND_ZH.get(row.get("amount_kind"), ""),
    }


def _csv_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money":
        return f"{float(value):.2f}"
    if kind == "score":
        return f"{float(value):.1f}"
    if kind == "prob":
        # floor, so that 0.99996 shows as 0.9999, not as a certain 1.0000
        return f"{math.floor(float(value) * 10_000 + 1e-6) / 10_000:.4f}"
    if kind == "int":
        return str(int(value))
    text = str(value)
    # A cell starting with = + - @ would be run as a formula by Excel.
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text


def write_csv(path: Path, columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> int:
    """Write a UTF-8-with-BOM CSV with Chinese headers; return the number of data rows."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([c.zh for c in columns])
        for row in rows:
            writer.writerow([_csv_cell(row.get(c.en), c.kind) for c in columns])
    return len(rows)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_xlsx(
    path: Path,
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    sheet_name: str,
) -> int:
    """Write an xlsx sheet: bold frozen header, autofilter, typed cells, fitted widths."""
    workbook = xlsxwriter.Workbook(
        str(path),
        {"default_format_properties": {"font_name": "Microsoft YaHei", "font_size": 10}},
    )
    try:
        sheet = workbook.add_worksheet(sheet_name)
        header = workbook.add_format(
            {
                "bold": True,
                "bg_color": "#DDEBF7",
                "border": 1,
                "font_name": "Microsoft YaHei",
                "font_size": 10,
            }
        )
        formats = {
            "money": workbook.add_format({"num_format": "#,##0.00"}),
            "score": workbook.add_format({"num_format": "0.0"}),
            "prob": workbook.add_format({"num_format": "0.0000"}),
            "int": workbook.add_format({"num_format": "0"}),
        }
        widths = [_display_width(c.zh) + 2 for c in columns]
        for c_idx, col in enumerate(columns):
            sheet.write_string(0, c_idx, col.zh, header)
        for r_idx, row in enumerate(rows, start=1):
            for c_idx, col in enumerate(columns):
                value = row.get(col.en)
                if value is None:
                    sheet.write_blank(r_idx, c_idx, None)
                    continue
                if col.kind in formats:
                    shown = _csv_cell(value, col.kind)
                    number = float(shown) if col.kind == "prob" else float(value)
                    sheet.write_number(r_idx, c_idx, number, formats[col.kind])
                else:
                    shown = str(value)
                    sheet.write_string(r_idx, c_idx, shown)
                if r_idx <= 2000:
                    widths[c_idx] = max(widths[c_idx], _display_width(shown) + 2)
        for c_idx, width in enumerate(widths):
            sheet.set_column(
                c_idx, c_idx, min(width, 90 if columns[c_idx].en == "reason_zh" else 50)
            )
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(rows), 0), len(columns) - 1)
    finally:
        workbook.close()
    return len(rows)


def _write_flags_parquet(
    path: Path, con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]
) -> int:
    base = con.sql("SELECT * FROM _rm_flags LIMIT 0").to_arrow_table().schema
    fields = [
        *base,
        pa.field("member_id_masked", pa.string()),
        pa.field("route_zh", pa.string()),
    ]
    table = pa.Table.from_pylist(
        [{f.name: r.get(f.name) for f in fields} for r in rows], schema=pa.schema(fields)
    )
    pq.write_table(table, str(path))
    return len(rows)


def write_outputs(con: duckdb.DuckDBPyConnection, out_dir: Path) -> OutputReport:
    """Write flags.csv, households.csv, flags.xlsx, households.xlsx and flags.parquet.

    Args:
        con: the run's connection, holding ``_rm_flags`` and ``_rm_households``.
        out_dir: created if missing; files in it are overwritten.

    Returns:
        An :class:`OutputReport` with the row count of every file.

    Raises:
        OutputError: when the rank stage's tables are missing.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    flags = [_flag_view(r) for r in _fetch(con, "_rm_flags")]
    households = _fetch(con, "_rm_households")
    files: dict[str, int] = {}
    with atomic_path(out_dir / "flags.csv", SHARED) as tmp:
        files["flags.csv"] = write_csv(tmp, FLAGS_COLUMNS, flags)
    with atomic_path(out_dir / "households.csv", SHARED) as tmp:
        files["households.csv"] = write_csv(tmp, HOUSEHOLDS_COLUMNS, households)
    with atomic_path(out_dir / "flags.xlsx", SHARED) as tmp:
        files["flags.xlsx"] = write_xlsx(tmp, FLAGS_COLUMNS, flags, "疑点清单")
    with atomic_path(out_dir / "households.xlsx", SHARED) as tmp:
        files["households.xlsx"] = write_xlsx(tmp, HOUSEHOLDS_COLUMNS, households, "疑点家庭")
    with atomic_path(out_dir / "flags.parquet", PRIVATE) as tmp:
        files["flags.parquet"] = _write_flags_parquet(tmp, con, flags)
    return OutputReport(out_dir=out_dir, files=files)
