"""What every background register draws from: the city's non-recipients by age group, and the rates."""

from __future__ import annotations

import numpy as np
import polars as pl

from relief_match.synth.city import City
from relief_match.synth.people import STATUS_NORMAL

# rows (or persons) per person in hukou_registry
RATES = {
    "motor_vehicles": 0.42,
    "real_estate": 0.42,
    "enterprises": 0.05,
    "shareholders": 0.10,
    "individual_businesses": 0.067,
    "public_employees": 0.03,
    "si_persons": 0.23,
    "pension_persons": 0.10,
    "provident_fund_accounts": 0.17,
    "unemployment_benefits": 0.004,
    "detentions": 0.0005,
    "marriages": 0.03,
}


def pick_sorted(rng: np.random.Generator, pool: np.ndarray, k: int, *, replace: bool) -> np.ndarray:
    """``k`` members of ``pool`` drawn at random, sorted (none from an empty pool)."""
    if len(pool) == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    if not replace:
        k = min(k, len(pool))
    return np.sort(rng.choice(pool, size=k, replace=replace))


def weighted_choice(
    rng: np.random.Generator, values: tuple[str, ...], p: list[float], n: int
) -> np.ndarray:
    """``n`` of ``values`` drawn with weights ``p``."""
    pr = np.array(p) / np.sum(p)
    return np.array(values)[rng.choice(len(values), size=n, p=pr)]


class BackgroundBase:
    """The people background rows are drawn from (recipients are kept out)."""

    def __init__(self, city: City) -> None:
        self.c = city
        self.rng = city.rng
        self.pop = city.pop
        self.ctx = city.ctx
        pop = city.pop
        recipient = np.zeros(pop.n, dtype=bool)
        for h in city.houses:
            for m in h.members:
                recipient[m.pidx] = True
        self.recipient = recipient
        self.age = pop.age(self.ctx.as_of_days)
        alive = pop.status == STATUS_NORMAL
        nonrec = ~recipient
        self.adults = np.flatnonzero(nonrec & alive & (self.age >= 20) & (self.age <= 80))
        self.working = np.flatnonzero(nonrec & alive & (self.age >= 20) & (self.age <= 60))
        self.elderly = np.flatnonzero(
            nonrec & alive & ((self.age >= 60) | (~pop.male & (self.age >= 55)))
        )
        self.n = pop.n
        self.names = pop.name
        self.enterprise_credit: pl.Series = pl.Series([], dtype=pl.String)
        self.enterprise_name: pl.Series = pl.Series([], dtype=pl.String)

    def k(self, key: str) -> int:
        return round(RATES[key] * self.n)

    def ids(self, p: np.ndarray) -> pl.Series:
        return self.pop.id_no.gather(p)

    def nm(self, p: np.ndarray) -> pl.Series:
        return self.names.gather(p)

    def days_before(self, n: int, lo: int, hi: int) -> np.ndarray:
        return self.ctx.as_of_days - self.rng.integers(lo, hi, n)
