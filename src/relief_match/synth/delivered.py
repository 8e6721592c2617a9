"""Reading a generated delivery back as strings: files, dates, months and amounts
as the defects left them (full-width digits, Excel serial dates, 元 suffixes…)."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import polars as pl

from relief_match.synth.spec import Extract

_FW = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def read_extract(path: Path, ex: Extract) -> pl.DataFrame:
    """Read one delivered file as strings with English column names and ``_row``."""
    raw = path.read_bytes()
    if raw[:2] == b"PK":
        import fastexcel

        df = fastexcel.read_excel(raw).load_sheet(0, dtypes="string").to_polars()
    elif raw[:4] == b"PAR1":
        df = pl.read_parquet(io.BytesIO(raw))
        df = df.select([pl.col(c).cast(pl.String) for c in df.columns])
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        df = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            infer_schema=False,
            truncate_ragged_lines=True,
        )
    names = {c.zh: c.name for c in ex.columns} | {c.name: c.name for c in ex.columns}
    df = df.rename({c: names[c] for c in df.columns if c in names})
    df = df.select([c for c in df.columns if c in ex.col_names])
    return df.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))


def parse_date(v: str | None) -> dt.date | None:
    if v is None:
        return None
    s = v.strip().translate(_FW)
    if not s:
        return None
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?: 00:00:00)?", s)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if re.fullmatch(r"\d{8}", s):
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    if re.fullmatch(r"\d{4,5}(\.0)?", s):
        return _EXCEL_EPOCH + dt.timedelta(days=int(float(s)))
    return None


def parse_month(v: str | None) -> int | None:
    if v is None or not v.strip():
        return None
    s = v.strip()
    m = re.fullmatch(r"(\d{4})[-年]?(\d{1,2})月?", s)
    if not m or not 1 <= int(m[2]) <= 12:
        d = parse_date(s)
        return None if d is None else d.year * 12 + d.month - 1
    return int(m[1]) * 12 + int(m[2]) - 1


def parse_money(v: str | None) -> float | None:
    if v is None or not str(v).strip():
        return None
    s = str(v).strip().translate(_FW).replace(",", "").replace("元", "")
    try:
        return float(s)
    except ValueError:
        return None


def month_index(d: dt.date) -> int:
    return d.year * 12 + d.month - 1
