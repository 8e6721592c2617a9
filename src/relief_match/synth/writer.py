"""Turns a finished table into a delivered file: shuffle, defects, format, encoding.

Also maps every uid to its spreadsheet-style row number in the written file
(header = row 1, first record = row 2), which the answer key uses.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl

from relief_match.synth.builder import TableBuilder
from relief_match.synth.defects import TYPED_IN_PARQUET, expected_of, inject
from relief_match.synth.spec import TOTALS_COLUMN

XLSX_MAX_ROWS = 60_000
CSV_CHUNK = 400_000
PARQUET_CHUNK = 1_000_000
FIXED_CREATED = dt.datetime(2026, 1, 1, 8, 0, 0)
_CANON_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CANON_NUM = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass
class FilePlan:
    """How one extract is delivered."""

    extract: str
    department: str
    fmt: str  # csv | xlsx | parquet (the content)
    encoding: str | None = None  # csv: utf-8 | utf-8-sig | gb18030
    typed: bool = False  # parquet: typed columns; xlsx: real dates and numbers
    header: str = "en"  # en | zh
    shuffle_columns: bool = False
    extra_column: str | None = None
    wrong_extension: bool = False  # csv content in a .xlsx file
    line_end: str = "\n"
    empty: bool = False
    totals_row: bool = False
    blank_row: bool = False
    ragged_rows: int = 0
    duplicate_rows: int = 0

    @property
    def filename(self) -> str:
        ext = "xlsx" if self.wrong_extension else self.fmt
        return f"{self.department}/{self.extract}.{ext}"

    def describe(self) -> dict[str, object]:
        d = asdict(self)
        d["file"] = self.filename
        d["line_end"] = "CRLF" if self.line_end == "\r\n" else "LF"
        return d


@dataclass
class Written:
    """What the answer key needs to know about a written file."""

    plan: FilePlan
    row_of_uid: np.ndarray  # uid -> row number (0 when the file is empty)
    defects: list[tuple[int, str, str, str]]  # row, column, kind, expected
    id_defect_by_uid: dict[tuple[int, str], str]  # (uid, column) -> injected kind
    records: int  # data records in the file, defect rows included


def write_table(
    tb: TableBuilder,
    plan: FilePlan,
    delivery: Path,
    rate: float,
    rng: np.random.Generator,
    *,
    must_cover: bool,
) -> Written:
    """Write one extract and return its row mapping and defects."""
    ex = tb.extract
    df, prot = tb.finish()
    n = df.height
    defects: list[tuple[int, str, str, str]] = []
    if plan.empty:
        df = df.head(0)
        n = 0
        prot = prot[:0]
    # value defects, chosen at random among unprotected rows (positions are uids)
    df, inj = inject(
        df,
        ex,
        prot,
        rate,
        rng,
        typed_parquet=plan.fmt == "parquet" and plan.typed,
        xlsx=plan.fmt == "xlsx",
        must_cover=must_cover,
    )
    hit = np.zeros(n, dtype=bool)
    hit[inj.uids] = True
    # shuffle, and put a copy of each duplicated row right after the original
    perm = rng.permutation(n)  # position -> uid
    pos_of_uid = np.empty(n, dtype=np.int64)
    pos_of_uid[perm] = np.arange(n)
    free = np.flatnonzero(~prot & ~hit)
    ndup = min(plan.duplicate_rows, len(free))
    dup_uid = np.sort(rng.choice(free, size=ndup, replace=False)) if ndup else np.zeros(0, np.int64)
    keys = np.concatenate([np.arange(n, dtype=np.float64), pos_of_uid[dup_uid] + 0.5])
    sorter = np.argsort(keys, kind="stable")
    src_uid = np.concatenate([perm, dup_uid])[sorter]
    is_first = sorter < n
    final_of_uid = np.empty(n, dtype=np.int64)
    final_of_uid[src_uid[is_first]] = np.flatnonzero(is_first)
    for r in np.flatnonzero(~is_first).tolist():
        defects.append((int(r) + 2, "", "duplicate_row", expected_of("duplicate_row")))
    out = df[src_uid] if n else df
    del df
    serial_final = {(int(final_of_uid[u]), c) for u, c in inj.serial_cells}
    for u, c, k in zip(inj.uids, inj.columns, inj.kinds, strict=True):
        defects.append((int(final_of_uid[u]) + 2, c, k, expected_of(k)))
    # ragged rows (csv only): unprotected, otherwise clean originals
    ragged: list[int] = []
    if plan.ragged_rows and plan.fmt == "csv" and n:
        cand = np.flatnonzero(~prot & ~hit)
        cand = cand[~np.isin(cand, dup_uid)]
        nr = min(plan.ragged_rows, len(cand))
        for u in np.sort(rng.choice(cand, size=nr, replace=False)).tolist() if nr else []:
            fr = int(final_of_uid[u])
            ragged.append(fr)
            defects.append((fr + 2, "", "ragged_row", expected_of("ragged_row")))
    # whole-file trailers
    cols = ex.col_names
    written_cols = list(cols)
    if plan.shuffle_columns:
        written_cols = [cols[i] for i in rng.permutation(len(cols))]
    ctypes = {c.name: c.type for c in ex.columns}
    extra_rows: list[dict[str, str | None]] = []
    if plan.totals_row:
        first_str = next(
            (c for c in written_cols if ctypes[c] not in TYPED_IN_PARQUET), written_cols[0]
        )
        row: dict[str, str | None] = dict.fromkeys(cols)
        row[first_str] = "合计"
        tc = TOTALS_COLUMN.get(ex.name)
        if tc and out.height:
            total = out[tc].cast(pl.Float64, strict=False).sum()
            row[tc] = f"{total:.2f}"
        extra_rows.append(row)
        defects.append(
            (out.height + len(extra_rows) + 1, "", "totals_row", expected_of("totals_row"))
        )
    if plan.blank_row and plan.fmt != "xlsx":
        extra_rows.append(dict.fromkeys(cols))
        defects.append(
            (out.height + len(extra_rows) + 1, "", "blank_row", expected_of("blank_row"))
        )
    if extra_rows:
        out = pl.concat([out, pl.DataFrame(extra_rows, schema={c: pl.String for c in cols})])
    out = out.select(written_cols)
    if plan.extra_column:
        notes = np.array(["", "", "", "", "系统导入", "已核实", "补录", "2024年普查"])
        vals = notes[rng.integers(0, len(notes), out.height)]
        out = out.with_columns(pl.Series(plan.extra_column, vals).replace("", None))
    zh = {c.name: c.zh for c in ex.columns}
    header = [zh.get(c, c) if plan.header == "zh" else c for c in out.columns]
    path = delivery / plan.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    if plan.fmt == "csv":
        _write_csv(out, header, path, plan, set(ragged), rng)
    elif plan.fmt == "xlsx":
        _write_xlsx(out, header, path, plan, ctypes, serial_final, ex.title_zh)
    else:
        _write_parquet(out, header, path, plan, ctypes)
    if plan.wrong_extension:
        defects.append((0, "", "wrong_extension", expected_of("wrong_extension")))
    if plan.empty:
        defects.append((0, "", "empty_file", expected_of("empty_file")))
    row_of_uid = (final_of_uid + 2) if n else np.zeros(tb.n, dtype=np.int64)
    id_def = {(int(u), c): k for u, c, k in zip(inj.uids, inj.columns, inj.kinds, strict=True)}
    return Written(plan, row_of_uid, defects, id_def, out.height)


def _write_csv(
    df: pl.DataFrame,
    header: list[str],
    path: Path,
    plan: FilePlan,
    ragged: set[int],
    rng: np.random.Generator,
) -> None:
    enc = plan.encoding or "utf-8"
    le = plan.line_end
    head = pl.DataFrame(schema={h: pl.String for h in header}).write_csv(line_terminator=le)
    with open(path, "wb") as f:
        f.write(head.encode(enc))
        for start in range(0, df.height, CSV_CHUNK):
            chunk = df.slice(start, CSV_CHUNK)
            text = chunk.write_csv(
                include_header=False, line_terminator=le, null_value="", quote_style="necessary"
            )
            todo = [r - start for r in ragged if start <= r < start + chunk.height]
            if todo:
                lines = text.split(le)
                for i in todo:
                    line = lines[i]
                    if rng.random() < 0.5 or line.endswith('"'):
                        lines[i] = line + ",多余字段"
                    else:
                        lines[i] = line.rsplit(",", 1)[0]
                text = le.join(lines)
            f.write(text.encode("gb18030" if enc == "gb18030" else "utf-8"))


def _write_xlsx(
    df: pl.DataFrame,
    header: list[str],
    path: Path,
    plan: FilePlan,
    ctypes: dict[str, str],
    serial_cells: set[tuple[int, str]],
    sheet: str,
) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": FIXED_CREATED, "author": "", "title": sheet})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet(sheet)
    ws.write_row(0, 0, header)
    cols = df.columns
    kinds = [ctypes.get(c, "str") for c in cols]
    for r, row in enumerate(df.iter_rows()):
        for j, v in enumerate(row):
            if v is None:
                continue
            k = kinds[j]
            if (r, cols[j]) in serial_cells:
                ws.write_number(r + 1, j, int(v))
            elif plan.typed and k == "date" and _CANON_DATE.match(v):
                try:
                    d = dt.datetime.strptime(v, "%Y-%m-%d")
                except ValueError:
                    ws.write_string(r + 1, j, v)
                else:
                    ws.write_datetime(r + 1, j, d, date_fmt)
            elif plan.typed and k in ("money", "wan", "float", "int") and _CANON_NUM.match(v):
                ws.write_number(r + 1, j, float(v))
            else:
                ws.write_string(r + 1, j, v)
    wb.close()


def _write_parquet(
    df: pl.DataFrame, header: list[str], path: Path, plan: FilePlan, ctypes: dict[str, str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if plan.typed:
        exprs = []
        for c in df.columns:
            k = ctypes.get(c, "str")
            if k == "date":
                exprs.append(pl.col(c).str.to_date("%Y-%m-%d", strict=False))
            elif k in ("money", "wan", "float"):
                exprs.append(pl.col(c).cast(pl.Float64, strict=False))
            elif k == "int":
                exprs.append(pl.col(c).cast(pl.Int64, strict=False))
            else:
                exprs.append(pl.col(c))
        df = df.select(exprs)

    def arrow_type(dtype: pl.DataType) -> pa.DataType:
        if dtype == pl.Date:
            return pa.date32()
        if dtype == pl.Float64:
            return pa.float64()
        if dtype == pl.Int64:
            return pa.int64()
        return pa.string()

    schema = pa.schema([pa.field(h, arrow_type(t)) for h, t in zip(header, df.dtypes, strict=True)])
    with pq.ParquetWriter(str(path), schema, compression="zstd") as w:
        for start in range(0, max(df.height, 1), PARQUET_CHUNK):
            chunk = df.slice(start, PARQUET_CHUNK).to_arrow()
            arrays = [col.cast(f.type) for col, f in zip(chunk.columns, schema, strict=True)]
            w.write_table(pa.Table.from_arrays(arrays, schema=schema))
