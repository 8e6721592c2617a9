"""The record-level CSV path: used on a chunk the fast (polars) parser rejects.

Every physical line is decoded on its own (the file's encoding, else the other
one of UTF-8 / GB18030, counted as a ``line_encoding`` repair, else the line is
quarantined as ``undecodable_line``); records are then assembled line by line
with strict RFC 4180 quoting. A record that does not parse (a stray ``"`` at
the start of a field, a ``"`` inside an unquoted field, a quote never closed)
is quarantined as ``unparsable_record`` with its physical line, and reading
goes on at the next line. Nothing here ever quotes the data in a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

from relief_match.ingest.table import FIELDS_COL, ROW_COL, Reject

#: A quoted field may span at most this many physical lines.
MAX_RECORD_LINES = 200

_OTHER_ENCODING = {"utf-8": "gb18030", "utf-8-sig": "gb18030", "gb18030": "utf-8"}


@dataclass
class DecodedLines:
    """Physical lines as text (``None``: undecodable), and what decoding them took."""

    texts: list[str | None]
    repaired_lines: list[int] = field(default_factory=list)


def decode_lines(data: bytes, encoding: str) -> DecodedLines:
    """Decode ``data`` (whole lines, ``\\n``-terminated) line by line."""
    primary = "utf-8" if encoding == "utf-8-sig" else encoding
    other = _OTHER_ENCODING[encoding]
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    out = DecodedLines([])
    for i, raw in enumerate(raw_lines):
        raw = raw.removesuffix(b"\r")
        try:
            out.texts.append(raw.decode(primary))
            continue
        except UnicodeDecodeError:
            pass
        try:
            out.texts.append(raw.decode(other))
            out.repaired_lines.append(i)
        except UnicodeDecodeError:
            out.texts.append(None)
    return out


@lru_cache(maxsize=8)
def _strict_record(delim: str) -> re.Pattern[str]:
    """A whole record under strict quoting: quotes only around whole fields."""
    d = re.escape(delim)
    fld = f'(?:"[^"]*(?:""[^"]*)*"|[^"{d}]*)'
    return re.compile(f"{fld}(?:{d}{fld})*", re.DOTALL)


@lru_cache(maxsize=8)
def _field(delim: str) -> re.Pattern[str]:
    d = re.escape(delim)
    return re.compile(f'"([^"]*(?:""[^"]*)*)"|([^"{d}]*)', re.DOTALL)


def _fields(text: str, delim: str) -> list[str]:
    """The fields of a record that matches :func:`_strict_record`."""
    if '"' not in text:
        return text.split(delim)
    pattern, out, pos = _field(delim), [], 0
    while True:
        m = pattern.match(text, pos)
        if m is None:  # pragma: no cover - the record was checked strictly
            break
        quoted = m.group(1)
        out.append(quoted.replace('""', '"') if quoted is not None else m.group(2))
        pos = m.end() + 1  # skip the delimiter
        if pos > len(text):
            break
    return out


def split_fields(text: str, delim: str) -> list[str]:
    """The fields of one line, leniently (a header, a sniffing candidate)."""
    if _strict_record(delim).fullmatch(text):
        return _fields(text, delim)
    return [c.strip('"') for c in text.split(delim)]


def assemble(
    lines: DecodedLines, delim: str, first_line: int
) -> tuple[list[tuple[int, list[str]]], list[Reject]]:
    """Records ``(physical line, fields)`` and the rejected lines of a chunk."""
    strict = _strict_record(delim)
    texts = lines.texts
    records: list[tuple[int, list[str]]] = []
    rejects: list[Reject] = []
    i, n = 0, len(texts)
    while i < n:
        text, line_no = texts[i], first_line + i
        if text is None:
            rejects.append(
                Reject(line_no, "undecodable_line", "the line is neither UTF-8 nor GB18030 text")
            )
            i += 1
            continue
        if '"' not in text or strict.fullmatch(text):
            records.append((line_no, [] if text == "" else _fields(text, delim)))
            i += 1
            continue
        end = _multiline_end(texts, i, strict) if text.count('"') % 2 else None
        if end is None:
            rejects.append(Reject(line_no, "unparsable_record", _why(text)))
            i += 1
            continue
        joined = "\n".join(t or "" for t in texts[i : end + 1])
        records.append((line_no, _fields(joined, delim)))
        i = end + 1
    return records, rejects


def _multiline_end(texts: list[str | None], start: int, strict: re.Pattern[str]) -> int | None:
    """The last line of a record whose quoted field spans lines, or ``None``."""
    joined = texts[start] or ""
    for j in range(start + 1, min(len(texts), start + MAX_RECORD_LINES)):
        nxt = texts[j]
        if nxt is None:
            return None
        joined += "\n" + nxt
        if nxt.count('"') % 2:
            return j if strict.fullmatch(joined) else None
    return None


def _why(text: str) -> str:
    if text.count('"') % 2:
        return "a quote character opens a field that is never closed (stray quote?)"
    return "a quote character inside a field that is not quoted"


def records_frame(records: list[tuple[int, list[str]]], headers: list[str]) -> pl.DataFrame:
    """The records as the fast path would give them: strings, ``_row``, ``_nfields``."""
    width = len(headers)
    cols: list[list[str | None]] = [[] for _ in range(width)]
    for _, rec in records:
        for k in range(width):
            v = rec[k] if k < len(rec) else ""
            cols[k].append(v if v != "" else None)
    out: dict[str, pl.Series] = {
        h: pl.Series(h, cols[k], dtype=pl.String) for k, h in enumerate(headers)
    }
    out[ROW_COL] = pl.Series(ROW_COL, [r for r, _ in records], dtype=pl.Int64)
    nfields = [0 if not rec or rec == [""] else len(rec) for _, rec in records]
    out[FIELDS_COL] = pl.Series(FIELDS_COL, nfields, dtype=pl.Int32)
    return pl.DataFrame(out)
