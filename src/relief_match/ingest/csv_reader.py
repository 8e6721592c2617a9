"""Read a delivered CSV file in chunks, never failing the file for one record.

Encodings: UTF-8 with BOM, UTF-8, else GB18030 (a superset of GBK and
GB2312), decided by strict decoding and, when a UTF-8 file holds a few
invalid lines, by a vote of its lines. polars cannot read GB18030 itself, so
such chunks are decoded to UTF-8 on the fly: no temporary file is written.

Each chunk (whole records, about ``chunk_bytes``) is parsed by polars (fast
path). A chunk polars rejects, or whose records do not match its lines (a
stray quote), or that does not decode, goes to the record-level path of
:mod:`relief_match.ingest.tolerant`, which keeps every good record and
quarantines each bad one. polars' exception texts embed the data: they are
never shown.

Line endings LF, CRLF and CR; the delimiter (comma, tab, semicolon) and the
header row (a title or note may sit above it) are found by matching the first
lines against the schema's headers.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from relief_match.ingest import tolerant
from relief_match.ingest.table import (
    FIELDS_COL,
    HEADER_SEARCH_LINES,
    ROW_COL,
    RawTable,
    ReadHints,
    UnreadableFileError,
    dedupe_headers,
)

_CHUNK = 16 * 1024 * 1024
_DELIMITERS = (",", "\t", ";")
_DELIM_NAMES = {",": "comma", "\t": "tab", ";": "semicolon"}
#: Bytes the fast path may use as a "never splits" separator to read whole lines.
_LINE_SEPARATORS = (b"\x1f", b"\x1e", b"\x1d", b"\x1c", b"\x01", b"\x02")
#: How far back from a chunk's end a record boundary is looked for.
_MAX_WALK_LINES = 1000
_VOTE_BYTES = 4 * 1024 * 1024

# No field size limit a legitimate field can hit (the csv module's default is 128 KB).
csv.field_size_limit(2**31 - 1)


def detect_encoding(path: Path) -> str:
    """Return ``utf-8-sig``, ``utf-8`` or ``gb18030`` for a text file.

    The first ``_VOTE_BYTES`` from the first non-ASCII byte on decide: valid
    UTF-8 there makes the file UTF-8 (a few GB18030 lines further on are
    decoded on their own, as a repair). Otherwise the lines vote: lines with
    non-ASCII text that are valid UTF-8 against lines that are not (in the
    first 4 MB and around the first invalid byte). ASCII is skipped at memory
    speed, so a 700 MB register is not decoded twice.
    """
    with path.open("rb") as fh:
        if fh.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        fh.seek(0)
        dec = codecs.getincrementaldecoder("utf-8")("strict")
        offset = checked = 0
        try:
            while checked < _VOTE_BYTES and (chunk := fh.read(_CHUNK)):
                if checked or not chunk.isascii():
                    dec.decode(chunk)
                    checked += len(chunk)
                offset += len(chunk)
            dec.decode(b"", final=checked < _VOTE_BYTES)
            return "utf-8"
        except UnicodeDecodeError as exc:
            bad_at = max(0, offset + exc.start)
        fh.seek(0)
        sample = fh.read(_VOTE_BYTES)
        if bad_at > len(sample):
            fh.seek(max(0, bad_at - _VOTE_BYTES // 4))
            sample += b"\n" + fh.read(_VOTE_BYTES // 2)
    utf8 = bad = 0
    for line in sample.split(b"\n")[:-1]:
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            bad += 1
    return "utf-8" if utf8 > bad else "gb18030"


def _line_ending(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(1024 * 1024)
    return "cr" if b"\n" not in head and b"\r" in head else "lf"


def _record_cut(buf: bytes) -> int:
    """Length of the longest prefix of ``buf`` made of whole CSV records.

    A record ends at a newline outside quotes; with RFC 4180 escaping (``""``)
    a newline is outside quotes exactly when the quotes before it are even. A
    stray quote breaks that rule: after ``_MAX_WALK_LINES`` lines back the cut
    is made at the last newline (the record-level path sorts it out).
    """
    last = buf.rfind(b"\n")
    if last < 0:
        return 0
    odd = buf.count(b'"', 0, last) % 2
    cut, walked = last, 0
    while odd and cut >= 0 and walked < _MAX_WALK_LINES:
        prev = buf.rfind(b"\n", 0, cut)
        odd ^= buf.count(b'"', prev + 1, cut) % 2
        cut, walked = prev, walked + 1
    if odd or cut < 0:
        return last + 1
    return cut + 1


def _iter_raw_chunks(path: Path, encoding: str, cr_only: bool, size: int) -> Iterator[bytes]:
    """The file's bytes (not decoded, BOM removed) in chunks of whole lines."""
    buf = b""
    with path.open("rb") as fh:
        if encoding == "utf-8-sig":
            fh.read(3)
        while True:
            data = fh.read(size)
            if cr_only:
                data = data.replace(b"\r", b"\n")
            buf += data
            if not data:
                if buf:
                    yield buf if buf.endswith(b"\n") else buf + b"\n"
                return
            cut = _record_cut(buf)
            if cut > 0:
                yield buf[:cut]
                buf = buf[cut:]


@dataclass(frozen=True)
class _Layout:
    header_index: int  # 0-based line of the header within the file
    delimiter: str
    headers: list[str]


def _split_header(line: str, delim: str) -> list[str]:
    return tolerant.split_fields(line.lstrip("\ufeff").rstrip("\r"), delim)


def _find_layout(lines: tolerant.DecodedLines, hints: ReadHints) -> _Layout:
    """The header line and delimiter: the candidate naming most schema columns."""
    best: tuple[int, int, int] = (0, 0, 0)  # (matches, -line, -delimiter rank)
    texts = lines.texts[:HEADER_SEARCH_LINES]
    for i, text in enumerate(texts):
        for rank, d in enumerate(_DELIMITERS):
            if text is None:
                continue
            score = (hints.matches(_split_header(text or "", d)), -i, -rank)
            best = max(best, score)
    if best[0] == 0:  # nothing recognised: the first non-empty line, commonest delimiter
        i = next((k for k, t in enumerate(texts) if t), 0)
        first = texts[i] if texts else ""
        d = max(_DELIMITERS, key=lambda c: ((first or "").count(c), c == ","))
        best = (0, -i, -_DELIMITERS.index(d))
    i, d = -best[1], _DELIMITERS[-best[2]]
    headers = _split_header(texts[i] or "", d) if texts else []
    if not any(h.strip() for h in headers):
        raise UnreadableFileError("no header row found (the first lines are blank)")
    return _Layout(i, d, dedupe_headers(headers))


def _decode_fast(data: bytes, encoding: str) -> bytes | None:
    """The chunk as UTF-8 bytes, or ``None`` when a line needs decoding on its own."""
    if encoding != "gb18030":
        return data  # polars checks UTF-8 itself (strictly) while parsing
    try:
        return data.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError:
        return None


def _parse_fast(data: bytes, headers: list[str], delim: str, first_row: int) -> pl.DataFrame | None:
    """polars' parse of whole lines, or ``None`` when it fails or merges lines."""
    if not data:
        return pl.DataFrame(
            schema={**{h: pl.String for h in headers}, ROW_COL: pl.Int64, FIELDS_COL: pl.Int32}
        )
    sep = next((s for s in _LINE_SEPARATORS if s not in data), None)
    if sep is None:
        return None
    has_quotes = b'"' in data
    try:
        lines = pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            separator=sep.decode(),
            quote_char=None,
            new_columns=["line"],
            infer_schema=False,
            encoding="utf8",
        )["line"].str.strip_suffix("\r")
        frame = pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            separator=delim,
            schema={h: pl.String for h in headers},
            truncate_ragged_lines=True,
            missing_columns="insert",
            quote_char='"' if has_quotes else None,
            encoding="utf8",
        )
    except Exception:  # polars' message quotes the data: never shown
        return None
    if frame.height != lines.len():
        return None  # a quoted field spans lines, or a stray quote merged some
    nfields = pl.select(
        pl.when(lines.is_null() | (lines == ""))
        .then(0)
        .otherwise(lines.str.count_matches(delim, literal=True) + 1)
        .cast(pl.Int32)
    ).to_series()
    if has_quotes:
        quoted = lines.str.contains('"', literal=True).fill_null(False)
        idx = quoted.arg_true().to_list()
        try:
            counted = [len(r) for r in csv.reader(lines.filter(quoted).to_list(), delimiter=delim)]
        except csv.Error:  # e.g. a lone CR inside a line: record by record instead
            return None
        if len(counted) != len(idx):
            return None
        nfields = nfields.scatter(idx, counted) if idx else nfields
    frame = frame.with_columns(
        pl.Series(FIELDS_COL, nfields, dtype=pl.Int32),
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).alias(ROW_COL),
    )
    frame = frame.with_columns(
        pl.when(pl.col(h) == "").then(None).otherwise(pl.col(h)).alias(h) for h in headers
    )
    return frame.select([*headers, ROW_COL, FIELDS_COL])


def _parse_chunk(
    data: bytes, encoding: str, layout: _Layout, first_row: int, table: RawTable
) -> pl.DataFrame:
    """One chunk of data lines: fast path, else record by record (rejects into ``table``)."""
    utf8 = _decode_fast(data, encoding)
    frame = None if utf8 is None else _parse_fast(utf8, layout.headers, layout.delimiter, first_row)
    if frame is not None:
        return frame
    lines = tolerant.decode_lines(data, encoding)
    _count_line_repairs(lines, encoding, first_row, table)
    records, rejects = tolerant.assemble(lines, layout.delimiter, first_row)
    table.rejects.extend(rejects)
    return tolerant.records_frame(records, layout.headers)


def _count_line_repairs(
    lines: tolerant.DecodedLines, encoding: str, first_row: int, table: RawTable
) -> None:
    if not lines.repaired_lines:
        return
    other = "UTF-8" if encoding == "gb18030" else "GB18030"
    n = len(lines.repaired_lines)
    table.repairs["line_encoding"] = table.repairs.get("line_encoding", 0) + n
    shown = ", ".join(str(first_row + i) for i in lines.repaired_lines[:10])
    more = f" and {n - 10} more" if n > 10 else ""
    table.notes.append(f"{n} line(s) decoded as {other} (line {shown}{more})")


def iter_csv(
    path: Path, chunk_bytes: int = _CHUNK, hints: ReadHints | None = None
) -> Iterator[RawTable]:
    """Read a CSV file of unknown encoding, delimiter and line ending in chunks.

    Each yielded :class:`RawTable` holds whole records with their physical
    line numbers, and the records of that chunk the reader had to reject.
    """
    hints = hints or ReadHints()
    encoding = detect_encoding(path)
    cr_only = _line_ending(path) == "cr"
    notes = ["transcoded from GB18030"] if encoding == "gb18030" else []
    if cr_only:
        notes.append("CR-only line endings")
    layout: _Layout | None = None
    next_line = 1
    for chunk in _iter_raw_chunks(path, encoding, cr_only, chunk_bytes):
        table = RawTable(pl.DataFrame(), [], "csv", encoding, notes)
        if layout is None:
            layout, chunk = _split_off_header(chunk, hints, table)
            next_line = layout.header_index + 2
        table.headers = layout.headers
        table.frame = _parse_chunk(chunk, encoding, layout, next_line, table)
        next_line += chunk.count(b"\n")
        yield table
        notes = []
    if layout is None:
        raise UnreadableFileError("empty file (not even a header row)")


def _split_off_header(chunk: bytes, hints: ReadHints, table: RawTable) -> tuple[_Layout, bytes]:
    """Find the header in the first chunk; return it and the data lines after it."""
    head_end, cut = 0, 0
    for _ in range(HEADER_SEARCH_LINES):
        nl = chunk.find(b"\n", cut)
        if nl < 0:
            break
        cut = nl + 1
    head_end = cut or len(chunk)
    head = tolerant.decode_lines(chunk[:head_end], table.encoding or "utf-8")
    layout = _find_layout(head, hints)
    start = 0
    for _ in range(layout.header_index + 1):
        start = chunk.find(b"\n", start) + 1
    if layout.header_index:
        table.notes.append(
            f"header found on line {layout.header_index + 1}:"
            f" {layout.header_index} title/note line(s) above it skipped"
        )
    if layout.delimiter != ",":
        table.notes.append(f"{_DELIM_NAMES[layout.delimiter]}-delimited")
    return layout, chunk[start:] if start > 0 else b""
