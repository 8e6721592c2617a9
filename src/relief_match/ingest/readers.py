"""Read one delivered file into an all-string polars frame.

The readers know nothing about the contract's columns: they return the
header as delivered, the cells as strings, and for every record its
spreadsheet-style row number (header = row 1, first record = row 2) and,
for text files, its field count so that ragged rows can be quarantined.

What a file *is* is decided by its first bytes, not its extension (a
department's ``.xlsx`` that is really a CSV export is read as CSV, and the
mismatch reported). CSV encodings: UTF-8 with BOM, UTF-8, else GB18030
(a superset of GBK and GB2312), decided by strict decoding. polars cannot read
GB18030 itself, so such files are decoded to UTF-8 on the fly, chunk by chunk,
while they are read: no temporary file is written.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
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


def _record_cut(buf: bytes) -> int:
    """Length of the longest prefix of ``buf`` made of whole CSV records.

    A record ends at a newline outside quotes; with RFC 4180 escaping (``""``)
    a newline is outside quotes exactly when the quotes before it are even.
    """
    cut = buf.rfind(b"\n")
    while cut >= 0 and buf.count(b'"', 0, cut) % 2:
        cut = buf.rfind(b"\n", 0, cut)
    return cut + 1


def _iter_utf8_chunks(path: Path, encoding: str, chunk_bytes: int) -> Iterator[bytes]:
    """Yield the file as UTF-8 byte chunks that end on record boundaries.

    GB18030 is decoded on the fly (Python's incremental decoder, ~100 MB/s);
    no temporary file is written and memory stays at a few chunks.
    """
    dec = codecs.getincrementaldecoder(encoding)("strict") if encoding == "gb18030" else None
    buf = b""
    offset = 0
    with path.open("rb") as fh:
        if encoding == "utf-8-sig":
            fh.read(3)
        while True:
            data = fh.read(chunk_bytes)
            final = not data
            if dec is not None:
                try:
                    data = dec.decode(data, final=final).encode("utf-8")
                except UnicodeDecodeError as exc:
                    raise UnreadableFileError(
                        "neither UTF-8 nor GB18030 text"
                        f" (byte offset {offset + exc.start}): not a CSV file?"
                    ) from exc
            offset += chunk_bytes
            buf += data
            if final:
                if buf:
                    yield buf if buf.endswith(b"\n") else buf + b"\n"
                return
            cut = _record_cut(buf)
            if cut > 0:
                yield buf[:cut]
                buf = buf[cut:]


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def _parse_header(first: bytes) -> tuple[list[str], bytes]:
    """Split the header record off the first chunk."""
    end = first.find(b"\n")
    line = first[: end if end >= 0 else len(first)].decode("utf-8", "replace").rstrip("\r")
    headers = next(csv.reader([_strip_bom(line)]), [])
    if not any(h.strip() for h in headers):
        raise UnreadableFileError("the first row is blank: no header")
    return _dedupe_headers(headers), first[end + 1 :] if end >= 0 else b""


def _parse_chunk(data: bytes, headers: list[str], first_row: int) -> pl.DataFrame:
    """Parse whole CSV records (UTF-8, no header) into strings + row numbers + field counts."""
    lines = (
        pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            separator="\x1f",
            quote_char=None,
            new_columns=["line"],
            infer_schema=False,
            encoding="utf8-lossy",
        )["line"].str.strip_suffix("\r")
        if data
        else pl.Series("line", [], dtype=pl.String)
    )
    has_quotes = b'"' in data
    schema = {h: pl.String for h in headers}
    frame = (
        pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            schema=schema,
            truncate_ragged_lines=True,
            missing_columns="insert",
            quote_char='"' if has_quotes else None,
            encoding="utf8-lossy",
        )
        if data
        else pl.DataFrame(schema=schema)
    )
    if frame.height != lines.len():
        # a quoted field spans lines: let the csv module decide the records
        return _parse_chunk_python(data, headers, first_row)
    nfields = pl.select(
        pl.when(lines.is_null() | (lines == ""))
        .then(0)
        .otherwise(lines.str.count_matches(",", literal=True) + 1)
        .cast(pl.Int32)
    ).to_series()
    if has_quotes:
        quoted = lines.str.contains('"', literal=True).fill_null(False)
        idx = quoted.arg_true().to_list()
        counted = [len(rec) for rec in csv.reader(lines.filter(quoted).to_list())]
        nfields = nfields.scatter(idx, counted) if idx else nfields
    frame = frame.with_columns(
        pl.Series(FIELDS_COL, nfields, dtype=pl.Int32),
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).alias(ROW_COL),
    )
    frame = frame.with_columns(
        pl.when(pl.col(h) == "").then(None).otherwise(pl.col(h)).alias(h) for h in headers
    )
    return frame.select([*headers, ROW_COL, FIELDS_COL])


def _parse_chunk_python(data: bytes, headers: list[str], first_row: int) -> pl.DataFrame:
    width = len(headers)
    cols: list[list[str | None]] = [[] for _ in range(width)]
    nfields: list[int] = []
    reader = csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline=""))
    for rec in reader:
        n = len(rec) if any(rec) else 0
        nfields.append(n)
        for i in range(width):
            v = rec[i] if i < len(rec) else None
            cols[i].append(v if v != "" else None)
    out: dict[str, pl.Series] = {
        h: pl.Series(h, cols[i], dtype=pl.String) for i, h in enumerate(headers)
    }
    n = len(nfields)
    out[ROW_COL] = pl.Series(ROW_COL, range(first_row, first_row + n), dtype=pl.Int64)
    out[FIELDS_COL] = pl.Series(FIELDS_COL, nfields, dtype=pl.Int32)
    return pl.DataFrame(out)


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


def iter_csv(path: Path, chunk_bytes: int = _CHUNK) -> Iterator[RawTable]:
    """Read a CSV file of unknown encoding (UTF-8, UTF-8 BOM, GB18030) in chunks.

    Each yielded :class:`RawTable` holds whole records; row numbers continue
    across chunks. The first chunk carries the notes.
    """
    encoding = detect_encoding(path)
    notes = ["transcoded from GB18030"] if encoding == "gb18030" else []
    headers: list[str] | None = None
    next_row = 2
    for chunk in _iter_utf8_chunks(path, encoding, chunk_bytes):
        if headers is None:
            headers, chunk = _parse_header(chunk)
        frame = _parse_chunk(chunk, headers, next_row)
        next_row += frame.height
        yield RawTable(frame, headers, "csv", encoding, notes)
        notes = []
    if headers is None:
        raise UnreadableFileError("empty file (not even a header row)")


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


def iter_any(path: Path, chunk_bytes: int = 256 * 1024 * 1024) -> Iterator[RawTable]:
    """Read a delivered file, whatever its extension claims, in chunks of records.

    CSV is streamed in chunks of about ``chunk_bytes``; xlsx (at most ~1 M rows
    by the format's own limit) and parquet come as one table.

    Raises:
        UnreadableFileError: the file is empty, binary garbage, or a format
            the contract does not allow.
    """
    if path.stat().st_size == 0:
        raise UnreadableFileError("empty file (0 bytes)")
    fmt = sniff_format(path)
    claimed = path.suffix.lower().lstrip(".")
    mismatch = [f"extension .{claimed} but the content is {fmt}"] if claimed != fmt else []
    if fmt == "csv":
        for i, t in enumerate(iter_csv(path, chunk_bytes)):
            if i == 0:
                t.notes.extend(mismatch)
            yield t
        return
    table = read_xlsx(path) if fmt == "xlsx" else read_parquet(path)
    table.notes.extend(mismatch)
    yield table


def read_any(path: Path) -> RawTable:
    """Read a whole delivered file into one table (see :func:`iter_any`)."""
    parts = list(iter_any(path))
    if len(parts) == 1:
        return parts[0]
    frame = pl.concat([p.frame for p in parts])
    return RawTable(frame, parts[0].headers, parts[0].format, parts[0].encoding, parts[0].notes)


__all__ = [
    "FIELDS_COL",
    "ROW_COL",
    "RawTable",
    "UnreadableFileError",
    "detect_encoding",
    "iter_any",
    "iter_csv",
    "read_any",
    "read_parquet",
    "read_xlsx",
    "sniff_format",
]
