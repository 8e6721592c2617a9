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
        row = pl.struct(cols)
        frame = frame.with_columns(row.hash(seed=0).alias("__h1"), row.hash(seed=1).alias("__h2"))
        ok = pl.col("_row_reason").is_null()
        candidates = frame.with_row_index("__i").filter(ok).select("__i", "__h1", "__h2")
        first = pl.struct("__h1", "__h2").is_first_distinct()
        repeat_here = candidates.filter(~first)["__i"]
        earlier = candidates.join(self._seen, on=["__h1", "__h2"], how="semi")["__i"]
        dups = pl.concat([repeat_here, earlier]).unique()
        self._seen = pl.concat(
            [self._seen, candidates.filter(first).select("__h1", "__h2")], how="vertical"
        )
        return frame.drop("__h1", "__h2").with_columns(
            pl.when(pl.int_range(pl.len(), dtype=pl.UInt32).is_in(dups.implode()))
            .then(pl.lit("duplicate_row"))
            .otherwise(pl.col("_row_reason"))
            .alias("_row_reason")
        )
