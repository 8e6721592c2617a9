"""Exact duplicate rows within one delivered extract, across its chunks and files."""

from __future__ import annotations

import numpy as np
import polars as pl


class DuplicateTracker:
    """Remembers the rows of an extract already seen, across its chunks and files.

    Rows are compared by a 128-bit hash of their delivered cells (two
    independent 64-bit hashes): the chance that two different rows of a
    50 M-row delivery collide is below 10^-23, so "same hash" is "same row".

    The hashes seen are kept as sorted runs (numpy arrays sorted by the first
    hash, the second alongside), merged like a binary counter: a chunk is
    looked up with a binary search per run, so the cost of a chunk grows with
    the logarithm of what came before, not linearly (a 27 M-row extract read
    in 40 chunks would otherwise rebuild a hash table of everything seen 40
    times).
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

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
        repeat_here = candidates.join(first, on="__i", how="anti")["__i"].to_numpy()
        h1 = first["__h1"].to_numpy()
        h2 = first["__h2"].to_numpy()
        before = self._seen(h1, h2)
        earlier = first["__i"].to_numpy()[before]
        self._remember(h1[~before], h2[~before])
        dups = np.concatenate([repeat_here, earlier])
        if not len(dups):
            return frame
        flag = np.zeros(frame.height, dtype=bool)
        flag[dups] = True
        return frame.with_columns(
            pl.when(pl.Series(flag))
            .then(pl.lit("duplicate_row"))
            .otherwise(pl.col("_row_reason"))
            .alias("_row_reason")
        )

    def _seen(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Which (h1, h2) pairs were remembered before."""
        order = np.argsort(h1)  # sorted needles: each binary search starts where the last ended
        h1, h2 = h1[order], h2[order]
        seen_sorted = np.zeros(len(h1), dtype=bool)
        self._lookup(h1, h2, seen_sorted)
        seen = np.empty_like(seen_sorted)
        seen[order] = seen_sorted
        return seen

    def _lookup(self, h1: np.ndarray, h2: np.ndarray, seen: np.ndarray) -> None:
        for r1, r2 in self._runs:
            lo = np.searchsorted(r1, h1, side="left")
            hi = np.searchsorted(r1, h1, side="right")
            one = hi - lo == 1  # the first hash found once: compare the second
            seen[one] |= r2[lo[one]] == h2[one]
            for i in np.flatnonzero(hi - lo > 1):  # a first hash seen twice: astronomically rare
                seen[i] |= bool((r2[lo[i] : hi[i]] == h2[i]).any())

    def _remember(self, h1: np.ndarray, h2: np.ndarray) -> None:
        order = np.argsort(h1, kind="stable")
        self._runs.append((h1[order], h2[order]))
        # binary-counter merging: never two runs where the older is not bigger
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (a1, a2), (b1, b2) = self._runs[-2], self._runs.pop()
            at = np.searchsorted(a1, b1)  # a linear merge of two sorted runs
            self._runs[-1] = (np.insert(a1, at, b1), np.insert(a2, at, b2))


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
