"""The city under construction: population, recipient households, cases, table builders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from relief_match.synth import ids as idmod
from relief_match.synth import names as nm
from relief_match.synth.builder import TableBuilder
from relief_match.synth.fmt import days_series, ds, mo, money_series, month_series
from relief_match.synth.people import (
    ROLE_HEAD,
    ROLE_SPOUSE,
    STATUS_NORMAL,
    Population,
)
from relief_match.synth.spec import EXTRACTS, RELATIONS
from relief_match.synth.timeline import (
    date_to_days,
    month_of_date,
    month_of_days,
    month_start,
    standard,
)
from relief_match.text import to_traditional

DIFFICULTIES = ("clean", "messy_id", "fuzzy_typo", "fuzzy_transposed", "fuzzy_no_id", "traditional")

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


@dataclass(frozen=True)
class Ctx:
    """Dates the city is built around."""

    as_of: dt.date
    as_of_days: int
    as_of_m: int
    first_pay_m: int  # first month of payment history kept in the delivery
    last_pay_m: int  # last paid month (the month before as_of)
    win_lo: int  # first month of the recent-months window
    win_hi: int

    @classmethod
    def of(cls, as_of: dt.date, history_months: int = 24, recent_months: int = 6) -> Ctx:
        m = month_of_date(as_of)
        return cls(
            as_of, date_to_days(as_of), m, m - history_months, m - 1, m - recent_months, m - 1
        )


@dataclass
class Member:
    """A row of recipients_members."""

    pidx: int
    relation: int
    id_str: str
    name_str: str
    defects: list[tuple[str, str, str]] = field(default_factory=list)  # (column, kind, expected)
    link_kind: str = "background"
    link_diff: str = "clean"
    tags: list[int] = field(default_factory=list)


@dataclass
class RHouse:
    """A recipient household with its payment schedule."""

    idx: int
    hid: str
    hukou_hh: int
    district: int
    township: str
    address: str
    benefit_type: str
    status: str
    start: int  # days
    end: int | None
    monthly: int  # cents
    declared: int  # cents
    members: list[Member]
    first_m: int
    last_m: int
    protected: bool
    ref_year: int
    # month -> the payments of that month (replaces the regular one)
    override: dict[int, list[int]] = field(default_factory=dict)
    pay_tag: tuple[int, int, int] | None = None  # (month, payment index, case_id)

    @property
    def size(self) -> int:
        return len(self.members)

    def amount_for_year(self, year: int) -> int:
        """Regular monthly payment (cents) in a calendar year: lower before the standard rose."""
        ref = standard(self.district, self.ref_year)
        now = standard(self.district, year)
        if now >= ref:
            return self.monthly
        return round(self.monthly * now / ref / 100.0) * 100

    def regular(self, m: int) -> int:
        """Cents regularly paid for month m (0 outside the schedule)."""
        if m < self.first_m or m > self.last_m:
            return 0
        return self.amount_for_year(m // 12)

    def payments(self, m: int) -> list[int]:
        """The payments (cents) of month m."""
        if m in self.override:
            return self.override[m]
        r = self.regular(m)
        return [r] if r else []

    def paid(self, m: int) -> int:
        """All cents paid for month m."""
        return sum(self.payments(m))

    def paid_months(self) -> list[int]:
        ms_ = set(range(self.first_m, self.last_m + 1)) | set(self.override)
        return sorted(m for m in ms_ if self.paid(m) > 0)

    def paid_between(self, lo: int, hi: int) -> int:
        """Cents paid for months lo..hi inclusive."""
        return sum(self.paid(m) for m in self.paid_months() if lo <= m <= hi)

    def recompute_amount(self) -> None:
        """Re-derive monthly_amount (低保: gap to the standard) after size/income changed."""
        std = standard(self.district, self.ref_year)
        if self.benefit_type == "低保":
            gap = int(self.size * std * 100 - self.declared)
            self.monthly = max(gap, int(std * 30)) // 100 * 100
        elif self.benefit_type == "低保边缘":
            self.monthly = round(self.size * std * 0.3) * 100


@dataclass
class Case:
    """One answer-key row."""

    case_id: int
    kind: str  # planted | decoy
    rule_id: str
    house: RHouse
    pidx: int
    difficulty: str
    note: str
    amount: int | None = None  # cents, exact checks only
    evidence_extract: str = ""


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

    def namesake_of(self, p: int) -> int:
        """Rename a non-recipient of the same sex and another birth date to ``p``'s name."""
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
        return q

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

    # ------------------------------------------------------------ recipients tables
    def build_recipient_tables(self) -> None:
        """recipients_households, recipients_members and benefit_payments from the houses."""
        th = self.tables["recipients_households"]
        tm = self.tables["recipients_members"]
        tp = self.tables["benefit_payments"]
        houses = self.houses
        hh_rows = pl.DataFrame(
            {
                "household_id": [h.hid for h in houses],
                "benefit_type": [h.benefit_type for h in houses],
                "district_code": [str(h.district) for h in houses],
                "township": [h.township for h in houses],
                "address": [h.address for h in houses],
                "status": [h.status for h in houses],
                "start_date": [ds(h.start) for h in houses],
                "end_date": [ds(h.end) for h in houses],
                "monthly_amount": [mo(h.monthly) for h in houses],
                "declared_monthly_income": [mo(h.declared) for h in houses],
                "member_count": [str(h.size) for h in houses],
            }
        )
        th.add_frame(hh_rows, protected=np.array([h.protected for h in houses]))

        # members
        pop = self.pop
        rows_hid, rows_p, rows_rel, rows_id, rows_name, prot = [], [], [], [], [], []
        for h in houses:
            for m in h.members:
                rows_hid.append(h.hid)
                rows_p.append(m.pidx)
                rows_rel.append(RELATIONS[m.relation])
                rows_id.append(m.id_str)
                rows_name.append(m.name_str)
                prot.append(h.protected)
        p_arr = np.array(rows_p, dtype=np.int64)
        df = pl.DataFrame(
            {
                "household_id": rows_hid,
                "id_no": rows_id,
                "name": rows_name,
                "sex": np.where(pop.male[p_arr], "男", "女"),
                "birth_date": days_series(pop.birth[p_arr]),
                "relation": rows_rel,
            }
        )
        uids = tm.add_frame(df, protected=np.array(prot))
        k = 0
        for h in houses:
            for m in h.members:
                uid = int(uids[k])
                k += 1
                for col, kind, exp in m.defects:
                    tm.defect(uid, col, kind, exp)
                tm.link(uid, "member", self.pid(m.pidx), m.link_kind, m.link_diff)
                for t in m.tags:
                    tm.tag(t, uid)

        # payments: regular schedule, vectorised; overridden months added row by row
        first = np.array([h.first_m for h in houses])
        last = np.array([h.last_m for h in houses])
        n_m = np.maximum(last - first + 1, 0)
        hidx = np.repeat(np.arange(len(houses)), n_m)
        offs = np.arange(int(n_m.sum())) - np.repeat(np.cumsum(n_m) - n_m, n_m)
        month = first[hidx] + offs
        cents = np.zeros(len(month), dtype=np.int64)
        for y in np.unique(month // 12).tolist():
            sel = month // 12 == y
            by_house = np.array([h.amount_for_year(int(y)) for h in houses], dtype=np.int64)
            cents[sel] = by_house[hidx[sel]]
        head_id = []
        for h in houses:
            head = next((m for m in h.members if m.relation == ROLE_HEAD), h.members[0])
            head_id.append(self.pid(head.pidx))
        head_s = pl.Series(head_id, dtype=pl.String)
        hid_s = pl.Series([h.hid for h in houses], dtype=pl.String)
        prot_h = np.array([h.protected for h in houses])
        drop = np.zeros(len(month), dtype=bool)
        over_idx = [h.idx for h in houses if h.override or h.pay_tag]
        row_of: dict[tuple[int, int], int] = {}
        if over_idx:
            sel = np.flatnonzero(np.isin(hidx, np.array(over_idx)))
            row_of = {(int(hidx[i]), int(month[i])): int(i) for i in sel}
            for hi in over_idx:
                for mo_ in houses[hi].override:
                    if (hi, mo_) in row_of:
                        drop[row_of[(hi, mo_)]] = True
        keep = ~drop
        reg = pl.DataFrame(
            {
                "household_id": hid_s.gather(hidx[keep]),
                "pay_month": month_series(month[keep]),
                "amount": money_series(cents[keep]),
                "payee_id_no": head_s.gather(hidx[keep]),
            }
        )
        uids = tp.add_frame(reg, protected=prot_h[hidx[keep]])
        tp.link_many(uids, "payee", head_s.gather(hidx[keep]), "background")
        kept_uid = np.full(len(month), -1)
        kept_uid[keep] = uids
        for h in houses:
            tagged = False
            for pm in sorted(h.override):
                for j, c in enumerate(h.override[pm]):
                    uid = tp.add_row(
                        {
                            "household_id": h.hid,
                            "pay_month": f"{pm // 12:04d}-{pm % 12 + 1:02d}",
                            "amount": mo(c),
                            "payee_id_no": head_id[h.idx],
                        },
                        protected=h.protected,
                    )
                    tp.link(uid, "payee", head_id[h.idx], "background", "clean")
                    if h.pay_tag and h.pay_tag[:2] == (pm, j):
                        tp.tag(h.pay_tag[2], uid)
                        tagged = True
            if h.pay_tag and not tagged:
                tm_, _, cid = h.pay_tag
                tp.tag(cid, int(kept_uid[row_of[(h.idx, tm_)]]))
