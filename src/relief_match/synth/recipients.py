"""The recipient side of a synthetic city: households with their members and payments,
planted cases, and the dates (:class:`Ctx`) everything is built around."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from relief_match.synth.timeline import (
    date_to_days,
    month_of_date,
    standard,
)


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
