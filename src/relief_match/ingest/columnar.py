"""Read ``.xlsx`` and ``.parquet`` deliveries as strings.

xlsx: the worksheet whose header names the most contract columns (a cover
sheet may come first), the header row found below any title rows.
parquet: typed columns are rendered back to exact strings; an ID or text
column stored as floating-point numbers has lost digits and is kept aside
(never used), nested (list/struct) columns are kept aside as JSON text.
Kept-aside columns get the suffix ``__aside`` so no contract column maps to
them; they end up with the unknown extra columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from relief_match.ingest.table import (
    ASIDE_SUFFIX,
    HEADER_SEARCH_LINES,
    RawTable,
    ReadHints,
    UnreadableFileError,
    dedupe_headers,
    with_row_numbers,
)
from relief_match.privacy import mask_ids_in_text


def _cells(row: tuple[object, ...]) -> list[str]:
    return ["" if v is None else str(v) for v in row]


def _pick_sheet(reader: object, hints: ReadHints) -> tuple[int, int]:
    """(sheet index, header row index): the first rows that name most schema columns."""
    best = (0, 0, 0)  # (matches, -sheet, -row)
    if not hints.header_map:
        return 0, 0
    for s in range(len(reader.sheet_names)):  # type: ignore[attr-defined]
        head = reader.load_sheet(  # type: ignore[attr-defined]
            s, header_row=None, dtypes="string", n_rows=HEADER_SEARCH_LINES
        ).to_polars()
        for r in range(head.height):
            best = max(best, (hints.matches(_cells(head.row(r))), -s, -r))
    return -best[1], -best[2]


def read_xlsx(path: Path, hints: ReadHints | None = None) -> RawTable:
    """Read the worksheet of an ``.xlsx`` file whose header matches the schema."""
    import fastexcel

    hints = hints or ReadHints()
    try:
        reader = fastexcel.read_excel(str(path))
        sheet, header_row = _pick_sheet(reader, hints)
        frame = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    except Exception as exc:  # fastexcel's own hierarchy; texts may hold cells
        raise UnreadableFileError(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    notes = []
    names = [mask_ids_in_text(n) for n in reader.sheet_names]
    if len(names) > 1:
        if sheet == 0:
            notes.append(f"read sheet {names[0]!r}; other sheets ignored")
        else:
            notes.append(
                f"read sheet {names[sheet]!r} (its header matches the contract);"
                f" other sheets ignored: {', '.join(repr(n) for i, n in enumerate(names) if i != sheet)}"
            )
    if frame.height <= header_row:
        raise UnreadableFileError("empty workbook (not even a header row)")
    if header_row:
        notes.append(
            f"header found on sheet row {header_row + 1}:"
            f" {header_row} title/note row(s) above it skipped"
        )
    headers = dedupe_headers(_cells(frame.row(header_row)))
    body = frame.slice(header_row + 1)
    body.columns = headers
    return RawTable(with_row_numbers(body, headers, header_row + 2), headers, "xlsx", None, notes)


def iter_parquet(
    path: Path, chunk_bytes: int = 256 * 1024 * 1024, hints: ReadHints | None = None
) -> Iterator[RawTable]:
    """Read a parquet file in chunks of about ``chunk_bytes`` (uncompressed);
    typed columns are rendered back to strings."""
    hints = hints or ReadHints()
    try:
        meta = pq.ParquetFile(path).metadata
        size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        parts = max(1, -(-size // max(1, chunk_bytes)))
        step = max(1, -(-meta.num_rows // parts))
    except Exception as exc:  # pyarrow's messages may quote the data
        raise UnreadableFileError(f"not a readable parquet file ({type(exc).__name__})") from None
    first_row = 2
    for offset in range(0, max(meta.num_rows, 1), step):
        try:
            frame = pl.scan_parquet(path).slice(offset, step).collect()
        except Exception as exc:  # polars' messages may quote the data
            raise UnreadableFileError(
                f"not a readable parquet file ({type(exc).__name__})"
            ) from None
        yield _parquet_table(frame, hints, first_row)
        first_row += frame.height


def _parquet_table(frame: pl.DataFrame, hints: ReadHints, first_row: int) -> RawTable:
    """One chunk of a parquet file as delivered text, ``_row`` from ``first_row``."""
    headers = dedupe_headers([str(c) for c in frame.columns])
    frame.columns = headers
    exprs: list[pl.Expr] = []
    notes: list[str] = []
    out_headers: list[str] = []
    for h, dtype in frame.schema.items():
        text_column = hints.canonical(h) in hints.text_columns
        name = h
        if dtype == pl.String:
            expr = pl.col(h)
        elif dtype.is_nested():
            name = h + ASIDE_SUFFIX
            expr = pl.struct(pl.col(h)).struct.json_encode()
            notes.append(f"column {h!r} is nested ({dtype.base_type()}): kept aside, not used")
        elif text_column and dtype.is_float():
            name = h + ASIDE_SUFFIX
            expr = pl.col(h).cast(pl.String)
            notes.append(
                f"column {h!r}: ID numbers stored as {dtype} lose digits;"
                " the column is not used from this file (ask for text or int64)"
            )
        elif dtype.is_temporal():
            expr = pl.col(h).dt.to_string("%Y-%m-%d")
        else:
            if text_column and dtype.is_integer():
                notes.append(f"column {h!r} stored as {dtype}: read as its exact digits")
            expr = pl.col(h).cast(pl.String, strict=False)
        exprs.append(expr.alias(name))
        out_headers.append(name)
    body = frame.select(exprs)
    return RawTable(
        with_row_numbers(body, out_headers, first_row, blank_to_null=False),
        out_headers,
        "parquet",
        None,
        notes,
    )
