"""Canonical string forms of values (what a clean extract would hold)."""

from __future__ import annotations

import numpy as np
import polars as pl

from relief_match.synth.timeline import days_to_date

NO_DATE = -(10**7)  # int-days sentinel for an empty date


def ds(days: int | None) -> str | None:
    """``YYYY-MM-DD`` of int days; None and :data:`NO_DATE` give None."""
    return None if days is None or days <= NO_DATE else days_to_date(int(days)).isoformat()


def ms(m: int) -> str:
    """``YYYY-MM`` of a month index."""
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def mo(cents: int) -> str:
    """Money with two decimals from int cents."""
    return f"{cents // 100}.{cents % 100:02d}"


def days_series(days: np.ndarray) -> pl.Series:
    """Vectorised :func:`ds`; :data:`NO_DATE` becomes null."""
    s = pl.Series(np.asarray(days, dtype=np.int64))
    return (
        pl.select(pl.when(s > NO_DATE).then(s.cast(pl.Int32).cast(pl.Date).cast(pl.String)))
        .to_series()
        .alias("d")
    )


def month_series(m: np.ndarray) -> pl.Series:
    """Vectorised :func:`ms`."""
    m = np.asarray(m, dtype=np.int64)
    y = pl.Series(m // 12).cast(pl.String)
    mm = pl.Series(m % 12 + 1).cast(pl.String).str.zfill(2)
    return y + "-" + mm


def money_series(cents: np.ndarray) -> pl.Series:
    """Vectorised :func:`mo`."""
    c = np.asarray(cents, dtype=np.int64)
    return (
        pl.Series(c // 100).cast(pl.String) + "." + pl.Series(c % 100).cast(pl.String).str.zfill(2)
    )


def float_series(x: np.ndarray, decimals: int) -> pl.Series:
    """Fixed-decimals string of floats."""
    scale = 10**decimals
    v = np.round(np.asarray(x, dtype=np.float64) * scale).astype(np.int64)
    if decimals == 0:
        return pl.Series(v).cast(pl.String)
    return (
        pl.Series(v // scale).cast(pl.String)
        + "."
        + pl.Series(v % scale).cast(pl.String).str.zfill(decimals)
    )
