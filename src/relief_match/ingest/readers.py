"""Read one delivered file into all-string polars frames.

The readers return the header as delivered, the cells as strings, and for
every record the physical line (CSV) or sheet row where it starts (header on
line 1 gives the first record line 2) and, for text files, its field count
so that ragged rows can be quarantined. Records the reader itself cannot use
(an unparsable or undecodable line, two headers that disagree) come back as
:class:`Reject` entries, to be quarantined with their line.

What a file *is* is decided by its first bytes, not its extension (a
department's ``.xlsx`` that is really a CSV export is read as CSV, and the
mismatch reported). CSV: :mod:`relief_match.ingest.csv_reader`; xlsx and
parquet: :mod:`relief_match.ingest.columnar`. Given :class:`ReadHints` (the
schema's headers) the readers find the header row, the delimiter and the
worksheet; without them the first row is the header.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

from relief_match.ingest.columnar import iter_parquet, read_xlsx
from relief_match.ingest.csv_reader import detect_encoding, iter_csv
from relief_match.ingest.table import (
    FIELDS_COL,
    ROW_COL,
    Format,
    RawTable,
    ReadHints,
    Reject,
    UnreadableFileError,
)

_XLSX_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls (BIFF) containers


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


def count_data_lines(path: Path) -> int | None:
    """Data rows of a file that could not be read: its lines after the first
    (text files), ``None`` for a binary container whose rows are unknown."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if head.startswith((_XLSX_MAGIC, _PARQUET_MAGIC, _OLE_MAGIC)):
                return None
            fh.seek(0)
            lines, last = 0, b""
            while block := fh.read(16 * 1024 * 1024):
                lines += block.count(b"\n") or block.count(b"\r")
                last = block[-1:]
    except OSError:
        return None
    if last and last not in (b"\n", b"\r"):
        lines += 1
    return max(0, lines - 1)


def resolve_duplicate_columns(table: RawTable, hints: ReadHints) -> RawTable:
    """Two headers naming one contract column (``姓名`` and ``name``): one column.

    Where both cells are filled and differ, the row is rejected
    (``conflicting_columns``); otherwise the filled one is used.
    """
    by_canon: dict[str, list[str]] = {}
    for h in table.headers:
        canon = hints.canonical(h)
        if canon is not None:
            by_canon.setdefault(canon, []).append(h)
    frame = table.frame
    for canon, hs in by_canon.items():
        keep = hs[0]
        for other in hs[1:]:
            a, b = pl.col(keep).str.strip_chars(), pl.col(other).str.strip_chars()
            differ = (a.is_not_null() & b.is_not_null() & (a != b)).fill_null(False)
            bad = frame.filter(differ)[ROW_COL].to_list()
            detail = f"headers {keep!r} and {other!r} both name column {canon} and differ here"
            table.rejects.extend(
                Reject(r, "conflicting_columns", detail, column=canon) for r in bad
            )
            width, n = len(table.headers), pl.col(FIELDS_COL)
            frame = (
                frame.filter(~differ)
                .with_columns(
                    pl.coalesce(pl.col(keep), pl.col(other)).alias(keep),
                    # a whole record stays whole; a ragged one stays ragged
                    pl.when(n == width)
                    .then(width - 1)
                    .when(n == width - 1)
                    .then(n + 1)
                    .otherwise(n)
                    .cast(pl.Int32)
                    .alias(FIELDS_COL),
                )
                .drop(other)
            )
            table.headers.remove(other)
            table.notes.append(
                f"headers {keep!r} and {other!r} both name column {canon}: read as one"
                + (f"; {len(bad)} row(s) where they differ quarantined" if bad else "")
            )
    table.frame = frame
    return table


def iter_any(
    path: Path, chunk_bytes: int = 256 * 1024 * 1024, hints: ReadHints | None = None
) -> Iterator[RawTable]:
    """Read a delivered file, whatever its extension claims, in chunks of records.

    CSV and parquet are streamed in chunks of about ``chunk_bytes``; xlsx (at
    most ~1 M rows by the format's own limit) comes as one table.

    Raises:
        UnreadableFileError: the file is empty, binary garbage, or a format
            the contract does not allow.
    """
    hints = hints or ReadHints()
    if path.stat().st_size == 0:
        raise UnreadableFileError("empty file (0 bytes)")
    fmt = sniff_format(path)
    claimed = path.suffix.lower().lstrip(".")
    mismatch = [f"extension .{claimed} but the content is {fmt}"] if claimed != fmt else []
    if fmt == "csv":
        tables = iter_csv(path, chunk_bytes, hints)
    elif fmt == "parquet":
        tables = iter_parquet(path, chunk_bytes, hints)
    else:
        tables = iter([read_xlsx(path, hints)])
    for i, t in enumerate(tables):
        if i == 0:
            t.notes.extend(mismatch)
        yield resolve_duplicate_columns(t, hints)


def read_any(path: Path, hints: ReadHints | None = None) -> RawTable:
    """Read a whole delivered file into one table (see :func:`iter_any`)."""
    parts = list(iter_any(path, hints=hints))
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    frame = pl.concat([p.frame for p in parts])
    rejects = [r for p in parts for r in p.rejects]
    notes = [n for p in parts for n in p.notes]
    repairs: dict[str, int] = {}
    for p in parts:
        for k, n in p.repairs.items():
            repairs[k] = repairs.get(k, 0) + n
    return RawTable(frame, first.headers, first.format, first.encoding, notes, rejects, repairs)


__all__ = [
    "FIELDS_COL",
    "ROW_COL",
    "RawTable",
    "ReadHints",
    "Reject",
    "UnreadableFileError",
    "count_data_lines",
    "detect_encoding",
    "iter_any",
    "iter_csv",
    "read_any",
    "read_xlsx",
    "resolve_duplicate_columns",
    "sniff_format",
]
