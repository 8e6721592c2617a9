"""The city under construction: population, recipient households, cases, table builders."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import polars as pl

from relief_match.synth import ids as idmod
from relief_match.synth import names as nm
from relief_match.synth.builder import TableBuilder
from relief_match.synth.people import (
    ROLE_HEAD,
    ROLE_SPOUSE,
    STATUS_NORMAL,
    Population,
)
from relief_match.synth.recipients import Case, Ctx, Member, RHouse
from relief_match.synth.spec import EXTRACTS
from relief_match.synth.timeline import (
    month_of_days,
    month_start,
    standard,
)
from relief_match.text import to_traditional

# How each deliberate ID/name damage is expected to be handled by the job.
EXPECTED: dict[str, str] = {
    "id_15digit": "repaired",
    "id_fullwidth": "repaired",
    "id_lower_x": "repaired",
    "id_space": "repaired",
    "id_hyphen": "repaired",
    "id_tab": "repaired",
    "id_typo": "kept",
    "id_transposed": "kept",
    "id_empty": "kept",
    "id_placeholder": "kept",
    "id_birth_conflict": "kept",
    "name_traditional": "repaired",
}


class City:
    """Mutable state of one generation run."""

    def __init__(self, pop: Population, ctx: Ctx, rng: np.random.Generator) -> None:
        self.pop = pop
        self.ctx = ctx
        self.rng = rng
        self.tables: dict[str, TableBuilder] = {e.name: TableBuilder(e) for e in EXTRACTS}
        self.houses: list[RHouse] = []
        self.cases: list[Case] = []
        self.used = np.zeros(len(pop.hh_start), dtype=bool)
        self.renames: dict[int, str] = {}
        self.hukou_refs: dict[int, tuple[str, str]] = {}  # pidx -> (difficulty, link kind)
        self.hukou_tags: dict[int, int] = {}  # pidx -> case_id of the hukou row
        self.protected_people: set[int] = set()
        self.serial = 0
        self._age = pop.age(ctx.as_of_days)
        st_ok = (pop.status == STATUS_NORMAL).astype(np.int64)
        all_ok = np.minimum.reduceat(st_ok, pop.hh_start) == 1
        self.pool = np.flatnonzero(all_ok & (pop.hh_size <= 6))
        # (name, sex, birth, district) keys shared by more than one person
        key = pl.DataFrame(
            {"n": pop.name, "s": pop.male, "b": pop.birth, "d": pop.district}
        ).select(pl.struct("n", "s", "b", "d").is_duplicated())
        self.ambiguous = key.to_series().to_numpy()
        self.spouse_in_hh = np.zeros(len(pop.hh_start), dtype=bool)
        self.spouse_in_hh[pop.hh[pop.role == ROLE_SPOUSE]] = True
        self._hid_seq = 0
        self._ids: set[str] | None = None  # every ID, built when first needed

    # ------------------------------------------------------------ helpers
    def next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def age(self, p: int) -> int:
        return int(self._age[p])

    def pid(self, p: int) -> str:
        return str(self.pop.id_no[p])

    def pname(self, p: int) -> str:
        return self.renames.get(p) or str(self.pop.name[p])

    def sex(self, p: int) -> str:
        return "男" if self.pop.male[p] else "女"

    def members_of(self, h: int) -> range:
        s = int(self.pop.hh_start[h])
        return range(s, s + int(self.pop.hh_size[h]))

    def trad_ok(self, p: int) -> bool:
        return nm.has_traditional_form(self.pname(p))

    # ------------------------------------------------------------ allocation
    def alloc(
        self,
        member_ok: Callable[[int], bool] | None = None,
        house_ok: Callable[[int], bool] | None = None,
        tries: int = 4000,
    ) -> tuple[int, int]:
        """Reserve an unused hukou household that has a member satisfying ``member_ok``."""
        pool = self.pool
        for _ in range(tries):
            h = int(pool[int(self.rng.integers(0, len(pool)))])
            if self.used[h] or (house_ok is not None and not house_ok(h)):
                continue
            cands = [p for p in self.members_of(h) if member_ok is None or member_ok(p)]
            if not cands:
                continue
            self.used[h] = True
            return h, cands[int(self.rng.integers(0, len(cands)))]
        raise RuntimeError(
            "population too small for the requested planted cases; use a larger population"
        )

    def outsider(
        self, ok: Callable[[int], bool] | None = None, *, mark_used: bool = True, tries: int = 4000
    ) -> int:
        """A non-recipient person (status 正常) from an unused household; the household is blocked."""
        n = self.pop.n
        for _ in range(tries):
            p = int(self.rng.integers(0, n))
            h = int(self.pop.hh[p])
            if self.used[h] or self.pop.status[p] != STATUS_NORMAL or p in self.renames:
                continue
            if ok is not None and not ok(p):
                continue
            if mark_used:
                self.used[h] = True
            self.protected_people.add(p)
            return p
        raise RuntimeError("population too small: no suitable outsider")

    def namesake_of(self, p: int, *, same_birth: bool = False) -> int:
        """Rename a non-recipient of the same sex and another birth date to ``p``'s name.

        With ``same_birth`` the namesake is also given ``p``'s birth date and
        ID region (a new ID: ``p``'s first 14 digits, the namesake's own
        sequence number), so that only the sequence digits tell them apart.
        """
        male = bool(self.pop.male[p])
        birth = int(self.pop.birth[p])
        q = self.outsider(
            lambda q: (
                bool(self.pop.male[q]) == male
                and int(self.pop.birth[q]) != birth
                and 22 <= self.age(q) <= 75
                and not self.pop.minority[q]
            )
        )
        self.renames[q] = self.pname(p)
        if same_birth:
            self._give_birth_of(q, p)
        return q

    def _give_birth_of(self, q: int, p: int) -> None:
        """Give ``q`` the birth date and ID region of ``p`` (a new, unused ID)."""
        if self._ids is None:
            self._ids = set(self.pop.id_no.to_list())
        head, seq = self.pid(p)[:14], int(self.pid(q)[14:17])
        for k in range(500):
            body = f"{head}{(seq + 2 * k) % 1000:03d}"
            new = body + idmod.id_check_char(body)
            if new not in self._ids:
                break
        else:  # pragma: no cover - 500 sequence numbers per sex and day
            raise RuntimeError("no free ID for a same-birth namesake")
        self._ids.discard(self.pid(q))
        self._ids.add(new)
        self.pop.id_no.scatter(q, new)
        self.pop.birth[q] = self.pop.birth[p]
        self._age[q] = self._age[p]

    def new_house(self, h: int, *, status: str = "在保", protected: bool = True) -> RHouse:
        """Make hukou household ``h`` a recipient household with a full payment history."""
        pop, ctx, rng = self.pop, self.ctx, self.rng
        members = [
            Member(p, int(pop.role[p]), self.pid(p), self.pname(p)) for p in self.members_of(h)
        ]
        if any(m.relation == ROLE_HEAD for m in members) is False:
            members[0].relation = ROLE_HEAD
        district = int(pop.hh_district[h])
        n = len(members)
        std = standard(district, ctx.as_of.year)
        old = all(self.age(m.pidx) >= 60 for m in members)
        if n == 1 and old and rng.random() < 0.7:
            btype, declared = "特困", 0
            monthly = round(std * 1.3) * 100
        else:
            btype = "低保边缘" if rng.random() < 0.1 else "低保"
            declared = (
                0 if rng.random() < 0.55 else int(rng.uniform(0.1, 0.6) * n * std / 10) * 1000
            )
            if btype == "低保":
                monthly = max(int(n * std * 100 - declared), int(std * 30))
                monthly = monthly // 100 * 100
            else:
                monthly = round(n * std * 0.3) * 100
        if protected:
            start = ctx.as_of_days - int(rng.integers(26 * 31, 9 * 365))
        else:
            start = ctx.as_of_days - int(rng.integers(60, 9 * 365))
        first_m = max(int(month_of_days(np.array([start]))[0]), ctx.first_pay_m)
        self._hid_seq += 1
        hid = f"DB{district}{self._hid_seq * 7 % 1000003:07d}"
        house = RHouse(
            idx=len(self.houses),
            hid=hid,
            hukou_hh=h,
            district=district,
            township=pop.hh_township[h],
            address=str(pop.hh_address[h]),
            benefit_type=btype,
            status=status,
            start=start,
            end=None,
            monthly=monthly,
            declared=declared,
            members=members,
            first_m=first_m,
            last_m=ctx.last_pay_m,
            protected=protected,
            ref_year=ctx.as_of.year,
        )
        self.houses.append(house)
        if protected:
            self.protected_people.update(m.pidx for m in members)
        return house

    def set_exit(self, house: RHouse, end_m: int, *, status: str = "退出") -> None:
        """Household left at a day in month ``end_m``; payments run through that month."""
        house.status = status
        house.end = int(month_start(end_m) + self.rng.integers(0, 28))
        house.last_m = end_m

    def set_start(self, house: RHouse, start_m: int) -> None:
        """Household enrolled in month ``start_m`` (first payment that month)."""
        house.start = int(month_start(start_m) + self.rng.integers(0, 20))
        house.first_m = max(start_m, self.ctx.first_pay_m)

    # ------------------------------------------------------------ references
    def ref(
        self, p: int, difficulty: str, *, id_col: str, name_col: str | None
    ) -> tuple[str, str, list[tuple[str, str, str]]]:
        """ID and name strings of person ``p`` as an extract shows them at a link difficulty.

        Returns (id string, name string, defects as (column, kind, expected)).
        """
        rng = self.rng
        pid, name = self.pid(p), self.pname(p)
        defects: list[tuple[str, str, str]] = []
        if difficulty == "traditional":
            t = to_traditional(name)
            if t != name and name_col is not None:
                name = t
                defects.append((name_col, "name_traditional", "repaired"))
            difficulty = "messy_id" if rng.random() < 0.5 else "clean"
        if difficulty == "clean":
            return pid, name, defects
        if difficulty == "messy_id":
            kinds = ["id_fullwidth", "id_space", "id_hyphen"]
            if idmod.to_fifteen(pid) is not None:
                kinds += ["id_15digit", "id_15digit"]
            if pid.endswith("X"):
                kinds = ["id_lower_x"] * 4 + kinds
            kind = kinds[int(rng.integers(0, len(kinds)))]
            if kind == "id_15digit":
                s = idmod.to_fifteen(pid)
                assert s is not None
            elif kind == "id_fullwidth":
                s = idmod.to_fullwidth(pid)
            elif kind == "id_lower_x":
                s = pid[:-1] + "x"
            elif kind == "id_space":
                s = idmod.with_separators(pid, " ")
            else:
                s = idmod.with_separators(pid, "-")
        elif difficulty == "fuzzy_typo":
            kind, s = "id_typo", idmod.mistype_digit(pid, rng)
        elif difficulty == "two_typos":
            kind, s = "id_typo", idmod.mistype_two_digits(pid, rng)
        elif difficulty == "legacy_typo":
            legacy = idmod.legacy_with_typo(pid, rng)
            assert legacy is not None, "legacy_typo needs a person born before 2000"
            kind, s = "id_typo", legacy
        elif difficulty in ("name_swapped", "name_homophone"):
            damaged = (
                nm.swap_given_name(name)
                if difficulty == "name_swapped"
                else nm.homophone_of(name, rng)
            )
            assert damaged is not None, f"{difficulty} needs a name that allows it"
            if name_col is not None:
                name = damaged
                if difficulty == "name_homophone":
                    defects.append((name_col, "name_homophone", "kept"))
            kind, s = "id_typo", idmod.mistype_digit(pid, rng)
        elif difficulty == "fuzzy_transposed":
            kind, s = "id_transposed", idmod.transpose_digits(pid, rng)
        elif difficulty == "fuzzy_no_id":
            kind, s = "id_empty", ""
        else:
            raise ValueError(difficulty)
        defects.append((id_col, kind, EXPECTED[kind]))
        return s, name, defects

    def add_ref_row(
        self,
        extract: str,
        values: Mapping[str, str | None],
        refs: Sequence[tuple[int, str, str, str | None, str, str]],
        *,
        case: Case | None = None,
    ) -> int:
        """Add an evidence row whose person references are given as
        (person, difficulty, id column, name column, role, link kind)."""
        tb = self.tables[extract]
        row: dict[str, str | None] = dict(values)
        defects: list[tuple[str, str, str]] = []
        links: list[tuple[str, str, str, str]] = []
        for p, diff, id_col, name_col, role, kind in refs:
            s, n, d = self.ref(p, diff, id_col=id_col, name_col=name_col)
            row[id_col] = s
            if name_col is not None:
                row[name_col] = n
            defects += d
            if kind:
                links.append((role, self.pid(p), kind, diff))
        uid = tb.add_row(row, protected=True)
        for col, kind, exp in defects:
            tb.defect(uid, col, kind, exp)
        for role, tid, kind, diff in links:
            tb.link(uid, role, tid, kind, diff)
        if case is not None:
            tb.tag(case.case_id, uid)
            case.evidence_extract = extract
        return uid

    def add_case(
        self,
        kind: str,
        rule_id: str,
        house: RHouse,
        pidx: int,
        difficulty: str,
        note: str,
        amount: int | None = None,
    ) -> Case:
        c = Case(len(self.cases) + 1, kind, rule_id, house, pidx, difficulty, note, amount)
        self.cases.append(c)
        return c
