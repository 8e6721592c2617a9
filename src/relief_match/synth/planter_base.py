"""What planting a case needs from the city: predicates on people, houses, days, serials."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from relief_match.synth import entities as ent
from relief_match.synth import names as nm
from relief_match.synth.city import City
from relief_match.synth.people import (
    ROLE_HEAD,
    ROLE_PARENT,
    ROLE_SPOUSE,
)
from relief_match.synth.recipients import RHouse
from relief_match.synth.timeline import (
    random_day_in_month,
    standard,
)


class PlanterBase:
    """Chooses people and houses of a :class:`City` for planted cases and decoys."""

    def __init__(self, city: City) -> None:
        self.c = city
        self.rng = city.rng
        self.ctx = city.ctx

    def ok(self, base: Callable[[int], bool], diff: str) -> Callable[[int], bool]:
        c = self.c

        def f(p: int) -> bool:
            if not base(p):
                return False
            if diff == "traditional" and not c.trad_ok(p):
                return False
            if diff == "legacy_typo" and c.pid(p)[6:8] != "19":
                return False
            if diff == "name_swapped" and nm.swap_given_name(c.pname(p)) is None:
                return False
            if diff == "name_homophone" and nm.homophone_of(c.pname(p), self.rng) is None:
                return False
            return not (diff == "fuzzy_no_id" and c.ambiguous[p])

        return f

    def adult(self, p: int) -> bool:
        return 20 <= self.c.age(p) <= 70

    def working(self, p: int) -> bool:
        return 22 <= self.c.age(p) <= 58

    def is_head(self, p: int) -> bool:
        return int(self.c.pop.role[p]) == ROLE_HEAD

    def house_for(
        self,
        base: Callable[[int], bool],
        diff: str = "clean",
        house_ok: Callable[[int], bool] | None = None,
        status: str = "在保",
    ) -> tuple[RHouse, int]:
        h, p = self.c.alloc(self.ok(base, diff), house_ok)
        return self.c.new_house(h, status=status), p

    def day_in(self, m: int) -> int:
        return int(random_day_in_month(np.array([m]), self.rng)[0])

    def past_day(self, lo_days: int, hi_days: int) -> int:
        """A day between lo and hi days before as_of."""
        return self.ctx.as_of_days - int(self.rng.integers(lo_days, hi_days))

    def serial(self) -> int:
        return self.c.next_serial()

    def credit(self, district: int, kind: str = "91") -> str:
        s = 5 * 10**8 + self.serial()
        return str(ent.credit_codes(np.array([s]), np.array([district]), kind)[0])

    def ent_name(self) -> str:
        return str(ent.enterprise_names(self.rng, 1, np.array([self.serial()]))[0])

    def std(self, house: RHouse, *, low: bool = False) -> float:
        """The district standard of the as_of year and the window's years (the highest,
        or with ``low`` the lowest), so a case holds whichever year a rule takes."""
        years = {self.ctx.win_lo // 12, self.ctx.win_hi // 12, self.ctx.as_of.year}
        values = [standard(house.district, y) for y in years]
        return min(values) if low else max(values)

    def marriage_day(self, p: int, q: int) -> int:
        c = self.c
        adult_from = max(int(c.pop.birth[p]), int(c.pop.birth[q])) + 20 * 366
        hi = self.ctx.as_of_days - 40
        lo = min(max(adult_from, self.ctx.as_of_days - 9 * 365), hi - 1)
        return int(self.rng.integers(lo, hi))

    def spouse_free(self, p: int) -> bool:
        c = self.c
        h = int(c.pop.hh[p])
        r = int(c.pop.role[p])
        if r in (ROLE_SPOUSE, ROLE_PARENT) or not 24 <= c.age(p) <= 60:
            return False
        return not (r == ROLE_HEAD and c.spouse_in_hh[h])
