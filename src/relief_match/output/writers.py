"""Writers of the caseworker and analyst outputs (design.md §6).

:func:`write_outputs` reads ``_rm_flags`` and ``_rm_households`` (written by
:func:`relief_match.rank.score.rank_findings`) and writes:

* ``flags.csv``: UTF-8 with BOM (Excel opens it), Chinese headers
  (:data:`~relief_match.output.columns.FLAGS_COLUMNS`), ID numbers masked
  (``441302********1234``), amounts with two decimals, the match route, the
  district name and the change since the last run in Chinese, the run's as-of
  date (数据日期), and the empty review columns 核查结果 … 核查说明;
* ``households.csv``: one row per flagged household (``HOUSEHOLDS_COLUMNS``);
* ``flags.xlsx`` and ``households.xlsx``: the same tables as typed cells, with
  a frozen header row, an autofilter and column widths fitted to CJK text, in
  a sheet named after the as-of date (``2026-11-28疑点清单``); flags.xlsx has
  a drop-down on 核查结果, yellow headers on the fill-in columns and a legend
  sheet 说明;
* ``resolved.csv`` (``_rm_resolved``) and ``suppressed.csv`` (``_rm_suppressed``):
  headers only when those tables were not built;
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
from relief_match.output.columns import (
    AMOUNT_KIND_ZH,
    CHANGE_ZH,
    EVIDENCE_CHANGED_ZH,
    FLAGS_COLUMNS,
    HOUSEHOLDS_COLUMNS,
    OUTCOME_ZH,
    RESOLVED_COLUMNS,
    ROUTE_ZH,
    SUPPRESSED_COLUMNS,
    Column,
    legend_rows,
)
from relief_match.output.districts import load_districts
from relief_match.privacy import mask_id
from relief_match.runs.files import PRIVATE, SHARED, atomic_path

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
    return _dicts(cur)


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def _fetch_optional(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    """The rows of a table another stage may not have built (none when absent),
    with the check's Chinese title, in a content order (household, check, member, id)."""
    try:
        cur = con.execute(
            f"""
            SELECT t.*, c.title_zh AS _title_zh FROM "{table}" AS t
            LEFT JOIN (SELECT rule_id, any_value(title_zh) AS title_zh
                       FROM _rm_checks GROUP BY rule_id) AS c USING (rule_id)
            """
        )
    except duckdb.CatalogException:
        return []
    rows = _dicts(cur)
    for r in rows:
        title = r.pop("_title_zh")
        r["rule_title_zh"] = r.get("rule_title_zh") or title
    order = ("household_id", "rule_id", "member_id_no", "finding_id", "evidence_row")
    return sorted(rows, key=lambda r: tuple(str(r.get(k) or "") for k in order))


def run_as_of(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run's as-of date (``_rm_run``), or ``None`` when the table is missing."""
    try:
        row = con.execute("SELECT value FROM _rm_run WHERE key = 'as_of'").fetchone()
    except duckdb.CatalogException:
        return None
    return None if row is None else str(row[0])


def outcome_zh(review_outcome: str | None, earlier_outcome: str | None = None) -> str:
    """上次核查结果: the finding's latest outcome, else the outcome recorded before its
    evidence changed (marked （证据已变化）), else empty."""
    if review_outcome:
        return OUTCOME_ZH.get(review_outcome, review_outcome)
    if earlier_outcome:
        return OUTCOME_ZH.get(earlier_outcome, earlier_outcome) + EVIDENCE_CHANGED_ZH
    return ""


def _view(row: dict[str, Any], districts: dict[str, str], as_of: str | None) -> dict[str, Any]:
    """The display values every caseworker file shares."""
    code = row.get("district_code")
    return {
        **row,
        "member_id_masked": mask_id(row.get("member_id_no")),
        "change_zh": CHANGE_ZH.get(row.get("change"), str(row.get("change"))),
        "district_name": districts.get(str(code), "") if code is not None else "",
        "as_of": as_of,
    }


def _flag_view(row: dict[str, Any], districts: dict[str, str], as_of: str | None) -> dict[str, Any]:
    fills = {c.en: None for c in FLAGS_COLUMNS if c.fill}
    return {
        **_view(row, districts, as_of),
        "route_zh": ROUTE_ZH.get(row.get("route"), str(row.get("route"))),
        "amount_kind_zh": AMOUNT_KIND_ZH.get(row.get("amount_kind"), ""),
        "last_outcome_zh": outcome_zh(row.get("review_outcome"), row.get("earlier_outcome")),
        **fills,
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


#: Header of the fill-in columns (yellow: "fill this in").
_FILL_HEADER = {"bg_color": "#FFF2CC"}


def write_xlsx(
    path: Path,
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    sheet_name: str,
    legend: Sequence[tuple[str, str]] = (),
) -> int:
    """Write an xlsx sheet: bold frozen header, autofilter, typed cells, fitted widths.

    Fill-in columns get a yellow header, a column with ``choices`` a drop-down
    of them, and ``legend`` (column, meaning) rows a second sheet 说明.
    """
    workbook = xlsxwriter.Workbook(
        str(path),
        {"default_format_properties": {"font_name": "Microsoft YaHei", "font_size": 10}},
    )
    try:
        sheet = workbook.add_worksheet(sheet_name)
        base = {"bold": True, "bg_color": "#DDEBF7", "border": 1}
        base |= {"font_name": "Microsoft YaHei", "font_size": 10}
        header = workbook.add_format(base)
        fill_header = workbook.add_format(base | _FILL_HEADER)
        formats = {
            "money": workbook.add_format({"num_format": "#,##0.00"}),
            "score": workbook.add_format({"num_format": "0.0"}),
            "prob": workbook.add_format({"num_format": "0.0000"}),
            "int": workbook.add_format({"num_format": "0"}),
        }
        widths = [_display_width(c.zh) + 2 for c in columns]
        for c_idx, col in enumerate(columns):
            sheet.write_string(0, c_idx, col.zh, fill_header if col.fill else header)
            if col.fill:
                widths[c_idx] = max(widths[c_idx], 12)
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
            if columns[c_idx].choices:
                sheet.data_validation(
                    1,
                    c_idx,
                    max(len(rows), 1),
                    c_idx,
                    {
                        "validate": "list",
                        "source": list(columns[c_idx].choices),
                        "error_message": "请选择：" + "、".join(columns[c_idx].choices),
                    },
                )
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(rows), 0), len(columns) - 1)
        if legend:
            _write_legend(workbook, legend, header)
    finally:
        workbook.close()
    return len(rows)


def _write_legend(
    workbook: xlsxwriter.Workbook, legend: Sequence[tuple[str, str]], header: Any
) -> None:
    sheet = workbook.add_worksheet("说明")
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet.write_string(0, 0, "列名 / 项目", header)
    sheet.write_string(0, 1, "说明", header)
    for r_idx, (name, text) in enumerate(legend, start=1):
        sheet.write_string(r_idx, 0, name)
        sheet.write_string(r_idx, 1, text, wrap)
    sheet.set_column(0, 0, 16)
    sheet.set_column(1, 1, 100)


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


def _sheet_name(as_of: str | None, name: str) -> str:
    """The sheet's name, led by the run's as-of date when known (2026-11-28疑点清单)."""
    return f"{as_of}{name}" if as_of else name


def write_outputs(
    con: duckdb.DuckDBPyConnection, out_dir: Path, *, rules_dir: Path | None = None
) -> OutputReport:
    """Write the caseworker files, ``flags.parquet``, ``resolved.csv`` and ``suppressed.csv``.

    Columns another stage fills (finding ids, changes since the last run,
    review outcomes) are written empty when that stage did not run, and
    ``resolved.csv`` / ``suppressed.csv`` have headers only when their tables
    (``_rm_resolved``, ``_rm_suppressed``) do not exist.

    Args:
        con: the run's connection, holding ``_rm_flags`` and ``_rm_households``.
        out_dir: created if missing; files in it are overwritten.
        rules_dir: the rules folder whose ``districts.csv`` names the districts
            (default: the shipped table).

    Returns:
        An :class:`OutputReport` with the row count of every file.

    Raises:
        OutputError: when the rank stage's tables are missing.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    as_of = run_as_of(con)
    districts = load_districts(rules_dir)
    raw_flags = _fetch(con, "_rm_flags")
    flags = [_flag_view(r, districts, as_of) for r in raw_flags]
    households = [_view(r, districts, as_of) for r in _fetch(con, "_rm_households")]
    resolved = [
        {**_view(r, districts, as_of), "change_zh": CHANGE_ZH["gone"]}
        for r in _fetch_optional(con, "_rm_resolved")
    ]
    suppressed = [
        {**_view(r, districts, as_of), "outcome_zh": outcome_zh(r.get("review_outcome"))}
        for r in _fetch_optional(con, "_rm_suppressed")
    ]
    files: dict[str, int] = {}
    csvs = {
        "flags.csv": (FLAGS_COLUMNS, flags),
        "households.csv": (HOUSEHOLDS_COLUMNS, households),
        "resolved.csv": (RESOLVED_COLUMNS, resolved),
        "suppressed.csv": (SUPPRESSED_COLUMNS, suppressed),
    }
    for name, (columns, rows) in csvs.items():
        with atomic_path(out_dir / name, SHARED) as tmp:
            files[name] = write_csv(tmp, columns, rows)
    with atomic_path(out_dir / "flags.xlsx", SHARED) as tmp:
        legend = legend_rows(FLAGS_COLUMNS, as_of)
        sheet = _sheet_name(as_of, "疑点清单")
        files["flags.xlsx"] = write_xlsx(tmp, FLAGS_COLUMNS, flags, sheet, legend)
    with atomic_path(out_dir / "households.xlsx", SHARED) as tmp:
        sheet = _sheet_name(as_of, "疑点家庭")
        files["households.xlsx"] = write_xlsx(tmp, HOUSEHOLDS_COLUMNS, households, sheet)
    with atomic_path(out_dir / "flags.parquet", PRIVATE) as tmp:
        files["flags.parquet"] = _write_flags_parquet(tmp, con, flags)
    return OutputReport(out_dir=out_dir, files=files)
