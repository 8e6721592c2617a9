"""Exact duplicate rows within one delivered file, across its chunks."""

from __future__ import annotations

import polars as pl


class DuplicateTracker:
    """Remembers the rows of a file already seen, across the chunks of that file.

    Rows are compared by a 128-bit hash of their delivered cells (two
    independent 64-bit hashes): the chance that two different rows of a
    50 M-row delivery collide is below 10^-23, so "same hash" is "same row".
    """

    def __init__(self) -> None:
        self._seen = pl.DataFrame(schema={"__h1": pl.UInt64, "__h2": pl.UInt64})

    def mark(self, frame: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
        """Set ``_row_reason = duplicate_row`` on each repeat of an earlier row."""
        if not cols:
            return frame
        keys = ["__h1", "__h2"]
        candidates = (
            frame.select(
                _row_hash(cols, 0).alias("__h1"),
                _row_hash(cols, 1).alias("__h2"),
                pl.col("_row_reason").is_null().alias("__ok"),
            )
            .with_row_index("__i")
            .filter("__ok")
            .drop("__ok")
        )
        first = candidates.unique(subset=keys, keep="first", maintain_order=True)
        repeat_here = candidates.join(first, on="__i", how="anti")["__i"]
        earlier = first.join(self._seen, on=keys, how="semi")["__i"]
        dups = pl.concat([repeat_here, earlier])
        self._seen = pl.concat([self._seen, first.select(keys)], how="vertical")
        if not dups.len():
            return frame
        return frame.with_columns(
            pl.when(pl.int_range(pl.len(), dtype=pl.UInt32).is_in(dups.implode()))
            .then(pl.lit("duplicate_row"))
            .otherwise(pl.col("_row_reason"))
            .alias("_row_reason")
        )


#: An odd 64-bit constant (2^64 / golden ratio) that spreads the column hashes.
_MIX = 0x9E3779B97F4A7C15


def _row_hash(cols: list[str], seed: int) -> pl.Expr:
    """A 64-bit hash of a row's cells in ``cols``, order-sensitive: each column
    hashed on its own (fast, vectorised) and combined as ``h * MIX xor next``
    (wrapping arithmetic)."""
    h = pl.col(cols[0]).hash(seed=seed)
    for c in cols[1:]:
        h = (h * pl.lit(_MIX, dtype=pl.UInt64)) ^ pl.col(c).hash(seed=seed)
    return h
