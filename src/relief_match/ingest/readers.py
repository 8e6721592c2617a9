"""Read one delivered file into an all-string polars frame.

The readers know nothing about the contract's columns: they return the
header as delivered, the cells as strings, and for every record its
spreadsheet-style row number (header = row 1, first record = row 2) and,
for text files, its field count so that ragged rows can be quarantined.

What a file *is* is decided by its first bytes, not its extension (a
department's ``.xlsx`` that is really a CSV export is read as CSV, and the
mismatch reported). CSV encodings: UTF-8 with BOM, UTF-8, else GB18030
(a superset of GBK and GB2312), decided by strict decoding; GB18030 files are
transcoded to a temporary UTF-8 file in streaming fashion, because DuckDB and
polars cannot read GB18030 offline.
"""

from __future__ import annotations

import codecs
import csv
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import polars as pl

Format = Literal["csv", "xlsx", "parquet"]

_CHUNK = 16 * 1024 * 1024
_XLSX_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (BIFF) containers
ROW_COL = "_row"
FIELDS_COL = "_nfields"


class UnreadableFileError(Exception):
    """The file cannot be read at all (the message says why)."""


@dataclass
class RawTable:
    """A delivered file as strings.

    Attributes:
        frame: one column per delivered header (all ``pl.String``), plus
            ``_row`` (spreadsheet row number) and ``_nfields`` (fields found on
            the record; equals the header width except for ragged rows).
        headers: the header cells as delivered, in file order.
        format: what the file really is.
        encoding: for CSV, the detected encoding; otherwise ``None``.
        notes: facts worth reporting (extension mismatch, transcoding...).
    """

    frame: pl.DataFrame
    headers: list[str]
    format: Format
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


def sniff_format(path: Path) -> Format:
    """Decide what a file is from its first bytes."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(_XLSX_MAGIC):
        return "xlsx"
    if head.startswith(_PARQUET_MAGIC):
        return "parquet"
    if head.startswith(_OLE_MAGIC):
        raise UnreadableFileError(
            "legacy Excel .xls (BIFF) format is not supported: ask the department for .xlsx or .csv"
        )
    return "csv"


def detect_encoding(path: Path) -> str:
    """Return ``utf-8-sig``, ``utf-8`` or ``gb18030`` for a text file.

    UTF-8 is tried strictly over the whole file (streamed, so large files cost
    no memory); any invalid sequence means the file is GB18030. Nothing in a
    file says which, and a GBK file of pure ASCII is also valid UTF-8, which is
    then the right answer.
    """
    with path.open("rb") as fh:
        first = fh.read(3)
        if first == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        dec = codecs.getincrementaldecoder("utf-8")("strict")
        try:
            while chunk := fh.read(_CHUNK):
                dec.decode(chunk)
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _transcode_to_utf8(path: Path, encoding: str, tmp_dir: Path | None) -> Path:
    """Stream ``path`` from ``encoding`` to a temporary UTF-8 file."""
    fd, tmp = tempfile.mkstemp(prefix="rm_", suffix=".csv", dir=tmp_dir)
    dec = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(dec.decode(chunk).encode("utf-8"))
            dst.write(dec.decode(b"", final=True).encode("utf-8"))
    except UnicodeDecodeError as exc:
        os.unlink(tmp)
        raise UnreadableFileError(
            f"neither UTF-8 nor GB18030 text (byte offset {exc.start}): not a CSV file?"
        ) from exc
    return Path(tmp)


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def _read_csv_utf8(path: Path) -> tuple[pl.DataFrame, list[str]]:
    """Parse a UTF-8 CSV into strings, with row numbers and field counts."""
    lines = pl.read_csv(
        path,
        has_header=False,
        separator="\x1f",
        quote_char=None,
        new_columns=["line"],
        infer_schema=False,
        encoding="utf8-lossy",
    )["line"].str.strip_suffix("\r")
    if lines.len() == 0:
        raise UnreadableFileError("empty file (not even a header row)")
    header_line = _strip_bom(lines[0] or "")
    headers = next(csv.reader([header_line]))
    if not any(h.strip() for h in headers):
        raise UnreadableFileError("the first row is blank: no header")
    headers = _dedupe_headers(headers)
    has_quotes = lines.str.contains('"', literal=True).any()
    if has_quotes:
        # Quoted fields may hold separators or newlines: let the csv module,
        # which follows RFC 4180, decide records and field counts.
        return _read_csv_python(path, headers)
    body = lines.slice(1)
    nfields = (
        pl.when(body.is_null() | (body == ""))
        .then(0)
        .otherwise(body.str.count_matches(",", literal=True) + 1)
    )
    frame = pl.read_csv(
        path,
        has_header=True,
        new_columns=headers,
        infer_schema=False,
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
        quote_char=None,
    )
    if frame.height != body.len():  # pragma: no cover - defensive: fall back to csv module
        return _read_csv_python(path, headers)
    frame = frame.with_columns(
        pl.Series(FIELDS_COL, pl.select(nfields).to_series(), dtype=pl.Int32),
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias(ROW_COL),
    )
    frame = frame.with_columns(
        pl.when(pl.col(h) == "").then(None).otherwise(pl.col(h)).alias(h) for h in headers
    )
    return frame.select([*headers, ROW_COL, FIELDS_COL]), headers


def _read_csv_python(path: Path, headers: list[str]) -> tuple[pl.DataFrame, list[str]]:
    width = len(headers)
    cols: list[list[str | None]] = [[] for _ in range(width)]
    nfields: list[int] = []
    with path.open("r", encoding="utf-8-sig", newline="", errors="replace") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for rec in reader:
            n = len(rec) if any(rec) else 0
            nfields.append(n)
            for i in range(width):
                v = rec[i] if i < len(rec) else None
                cols[i].append(v if v != "" else None)
    data: dict[str, pl.Series] = {
        h: pl.Series(h, cols[i], dtype=pl.String) for i, h in enumerate(headers)
    }
    n = len(nfields)
    data[ROW_COL] = pl.Series(ROW_COL, range(2, n + 2), dtype=pl.Int64)
    data[FIELDS_COL] = pl.Series(FIELDS_COL, nfields, dtype=pl.Int32)
    return pl.DataFrame(data), headers


def _dedupe_headers(headers: list[str]) -> list[str]:
    """Make header names unique (``x``, ``x__2``) and give blanks a name."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        h = h.strip() or f"__blank_{i + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}__{seen[h]}"
        else:
            seen[h] = 1
        out.append(h)
    return out


def read_csv(path: Path, tmp_dir: Path | None = None) -> RawTable:
    """Read a CSV file of unknown encoding (UTF-8, UTF-8 BOM, GB18030)."""
    encoding = detect_encoding(path)
    notes: list[str] = []
    source = path
    if encoding == "gb18030":
        source = _transcode_to_utf8(path, encoding, tmp_dir)
        notes.append("transcoded from GB18030")
    try:
        frame, headers = _read_csv_utf8(source)
    finally:
        if source != path:
            source.unlink(missing_ok=True)
    return RawTable(frame, headers, "csv", encoding, notes)


def read_xlsx(path: Path) -> RawTable:
    """Read the first worksheet of an ``.xlsx`` file as strings."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        frame = sheet.to_polars()
    except Exception as exc:  # fastexcel raises its own hierarchy
        raise UnreadableFileError(f"not a readable .xlsx workbook: {exc}") from exc
    notes = []
    if len(reader.sheet_names) > 1:
        notes.append(f"read sheet {reader.sheet_names[0]!r}; other sheets ignored")
    if frame.height == 0:
        raise UnreadableFileError("empty workbook (not even a header row)")
    first = frame.row(0)
    headers = _dedupe_headers(["" if v is None else str(v) for v in first])
    body = frame.slice(1)
    body.columns = headers
    body = body.with_columns(
        pl.when(pl.col(h).str.strip_chars() == "").then(None).otherwise(pl.col(h)).alias(h)
        for h in headers
    )
    nonnull = pl.sum_horizontal(pl.col(h).is_not_null().cast(pl.Int32) for h in headers)
    body = body.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias(ROW_COL),
        pl.when(nonnull == 0).then(0).otherwise(len(headers)).cast(pl.Int32).alias(FIELDS_COL),
    )
    return RawTable(body, headers, "xlsx", None, notes)


def read_parquet(path: Path) -> RawTable:
    """Read a parquet file; typed columns are rendered back to strings."""
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars raises ComputeError and friends
        raise UnreadableFileError(f"not a readable parquet file: {exc}") from exc
    headers = _dedupe_headers([str(c) for c in frame.columns])
    frame.columns = headers
    exprs = []
    for h, dtype in frame.schema.items():
        if dtype == pl.String:
            exprs.append(pl.col(h))
        elif dtype.is_temporal():
            exprs.append(pl.col(h).dt.to_string("%Y-%m-%d").alias(h))
        else:
            exprs.append(pl.col(h).cast(pl.String).alias(h))
    body = frame.select(exprs)
    nonnull = pl.sum_horizontal(pl.col(h).is_not_null().cast(pl.Int32) for h in headers)
    body = body.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias(ROW_COL),
        pl.when(nonnull == 0).then(0).otherwise(len(headers)).cast(pl.Int32).alias(FIELDS_COL),
    )
    return RawTable(body, headers, "parquet", None, [])


def read_any(path: Path, tmp_dir: Path | None = None) -> RawTable:
    """Read a delivered file whatever its extension claims.

    Raises:
        UnreadableFileError: the file is empty, binary garbage, or a format
            the contract does not allow.
    """
    if path.stat().st_size == 0:
        raise UnreadableFileError("empty file (0 bytes)")
    fmt = sniff_format(path)
    claimed = path.suffix.lower().lstrip(".")
    if fmt == "xlsx":
        table = read_xlsx(path)
    elif fmt == "parquet":
        table = read_parquet(path)
    else:
        table = read_csv(path, tmp_dir)
    if claimed != fmt:
        table.notes.append(f"extension .{claimed} but the content is {fmt}")
    return table


def read_bytes_csv(data: bytes) -> RawTable:
    """Read CSV content held in memory (tests and small inputs)."""
    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as fh:
        fh.write(data)
        name = fh.name
    try:
        return read_csv(Path(name))
    finally:
        os.unlink(name)


__all__ = [
    "FIELDS_COL",
    "ROW_COL",
    "RawTable",
    "UnreadableFileError",
    "detect_encoding",
    "read_any",
    "read_bytes_csv",
    "read_csv",
    "read_parquet",
    "read_xlsx",
    "sniff_format",
]
