"""What a reader hands over: a delivered file as strings, plus its rejected records.

Shared by the CSV, xlsx and parquet readers (:mod:`relief_match.ingest.readers`
is the entry point).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from relief_match.catalog import header_key
from relief_match.privacy import mask_ids_in_text

Format = Literal["csv", "xlsx", "parquet"]

ROW_COL = "_row"
FIELDS_COL = "_nfields"

#: How many lines (or sheet rows) above the header a title/note block may take.
HEADER_SEARCH_LINES = 10


class UnreadableFileError(Exception):
    """The file cannot be read at all (the message says why, never what it holds)."""


@dataclass(frozen=True)
class ReadHints:
    """What a reader may know of the extract it reads (all optional).

    Attributes:
        header_map: accepted header (normalised by :func:`header_key`) ->
            canonical column; used to find the header row, the delimiter and
            the worksheet, and to spot two headers naming one column.
        text_columns: canonical columns that hold identifiers or text
            (``id_no``, ``credit_code``, ``str``): a parquet file storing them
            as floating-point numbers cannot be trusted.
    """

    header_map: Mapping[str, str] = field(default_factory=dict)
    text_columns: frozenset[str] = frozenset()

    def canonical(self, header: str) -> str | None:
        return self.header_map.get(header_key(header))

    def matches(self, cells: list[str]) -> int:
        """How many distinct schema columns a candidate header row names."""
        return len({c for c in (self.canonical(h) for h in cells) if c is not None})


@dataclass(frozen=True)
class Reject:
    """A record the reader could not turn into a row: quarantined as it is.

    ``row`` is the physical line (CSV) or sheet row where the record starts;
    ``None`` when the file could not be split into rows at all, then ``count``
    says how many rows the entry stands for. ``detail`` never quotes the data.
    """

    row: int | None
    reason: str
    detail: str
    count: int = 1
    column: str | None = None


@dataclass
class RawTable:
    """A delivered file (or a chunk of it) as strings.

    Attributes:
        frame: one column per delivered header (all ``pl.String``), plus
            ``_row`` (the physical line or sheet row of the record) and
            ``_nfields`` (fields found on the record; equals the header width
            except for ragged rows).
        headers: the header cells as delivered, in file order.
        format: what the file really is.
        encoding: for CSV, the detected encoding; otherwise ``None``.
        notes: facts worth reporting (extension mismatch, transcoding...).
        rejects: records quarantined by the reader (not in ``frame``).
        repairs: file-level repairs by kind (e.g. ``line_encoding``).
    """

    frame: pl.DataFrame
    headers: list[str]
    format: Format
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    repairs: dict[str, int] = field(default_factory=dict)


def dedupe_headers(headers: list[str]) -> list[str]:
    """Make header names unique (``x``, ``x__2``), give blanks a name and mask
    ID-shaped digits (a data row taken for a header must not leak into notes)."""
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(headers):
        h = mask_ids_in_text(h.strip())[:100] or f"__blank_{i + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}__{seen[h]}"
        else:
            seen[h] = 1
        out.append(h)
    return out


def with_row_numbers(
    body: pl.DataFrame, headers: list[str], first_row: int, *, blank_to_null: bool = True
) -> pl.DataFrame:
    """Blank cells to null, ``_row`` from ``first_row``, ``_nfields`` (0 for an empty row)."""
    if blank_to_null:
        body = body.with_columns(
            pl.when(pl.col(h).str.strip_chars() == "").then(None).otherwise(pl.col(h)).alias(h)
            for h in headers
        )
    nonnull = pl.sum_horizontal(pl.col(h).is_not_null().cast(pl.Int32) for h in headers)
    return body.with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_row).alias(ROW_COL),
        pl.when(nonnull == 0).then(0).otherwise(len(headers)).cast(pl.Int32).alias(FIELDS_COL),
    )


#: Suffix given to a column kept aside (never mapped to a contract column).
ASIDE_SUFFIX = "__aside"
