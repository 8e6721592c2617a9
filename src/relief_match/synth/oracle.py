"""Reference findings of a generated city, computed from its delivery and true links.

An independent, deliberately simple implementation of design.md section 8 that
uses the answer key's ``links.csv`` instead of record linkage. The tests use
it to prove that the answer key is complete: the findings it derives from the
delivered files are exactly the planted cases. Meant for small cities.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from relief_match.synth.delivered import (
    month_index,
    parse_date,
    parse_money,
    parse_month,
    read_extract,
)
from relief_match.synth.spec import EXTRACTS

HOUSEHOLD_LEVEL = ("PAID_AFTER_EXIT", "OVERPAID", "REAL_ESTATE", "INCOME_OVER_STANDARD")
EMPLOYEE_TYPES = ("职工养老", "职工医疗", "失业", "工伤")
EXEMPT_VEHICLES = ("摩托车", "低速货车", "三轮汽车", "残疾人专用车")
Row = dict[str, str | None]


@dataclass
class _City:
    """A generated city as the oracle sees it: delivered rows (quarantined ones
    dropped), true links, recipient households, members and payments."""

    as_of: dt.date
    window: set[int]
    manifest: dict[str, Any]
    data: dict[str, list[Row]]
    link: dict[tuple[str, int, str], str]
    hh: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    households_of: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    head: dict[str, str] = field(default_factory=dict)
    pay: dict[str, dict[int, float]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(float))
    )
    out: list[tuple[str, str, str, float | None]] = field(default_factory=list)

    def who(self, ex: str, r: Row, role: str) -> str | None:
        """The true person of row ``r``'s ``role`` reference."""
        return self.link.get((ex, int(r["_row"]), role))  # type: ignore[arg-type]

    def add(self, rule: str, hid: str, p: str, amount: float | None = None) -> None:
        """Record a finding (no member for household-level checks)."""
        self.out.append((rule, hid, "" if rule in HOUSEHOLD_LEVEL else p, amount))

    def overlaps(self, hid: str, lo: dt.date, hi: dt.date | None) -> bool:
        """Whether household ``hid`` was paid for a month overlapping ``[lo, hi]``."""
        for m in self.pay[hid]:
            ms = dt.date(m // 12, m % 12 + 1, 1)
            me = dt.date((m + 1) // 12, (m + 1) % 12 + 1, 1) - dt.timedelta(days=1)
            if lo <= me and (hi is None or hi >= ms):
                return True
        return False

    def person_rows(self, ex: str, role: str) -> list[tuple[str, Row]]:
        """Rows of ``ex`` whose ``role`` is a recipient member, with that member."""
        res = []
        for r in self.data[ex]:
            p = self.who(ex, r, role)
            if p is not None and p in self.households_of:
                res.append((p, r))
        return res


def _load_city(out_dir: Path) -> _City:
    key = out_dir / "answer_key"
    manifest = json.loads((key / "manifest.json").read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(manifest["as_of"])
    as_of_m = month_index(as_of)
    defects = pl.read_csv(key / "defects.csv", infer_schema=False)
    quarantined = {
        (e, int(r))
        for e, r, x in defects.select("extract", "row", "expected").iter_rows()
        if x == "quarantined" and r
    }
    links = pl.read_csv(key / "links.csv", infer_schema=False)
    link: dict[tuple[str, int, str], str] = {
        (e, int(r), role): t
        for e, r, role, t in links.select("extract", "row", "role", "true_id_no").iter_rows()
    }
    data: dict[str, list[Row]] = {}
    for ex in EXTRACTS:
        f = manifest["files"][ex.name]["file"]
        df = read_extract(out_dir / "delivery" / f, ex)
        rows = [r for r in df.iter_rows(named=True) if (ex.name, r["_row"]) not in quarantined]
        data[ex.name] = rows
    c = _City(as_of, set(range(as_of_m - 6, as_of_m)), manifest, data, link)
    for r in data["recipients_households"]:
        hid = (r["household_id"] or "").strip()
        c.hh[hid] = {
            "status": (r["status"] or "").strip(),
            "end": parse_date(r["end_date"]),
            "monthly": parse_money(r["monthly_amount"]) or 0.0,
            "declared": parse_money(r["declared_monthly_income"]),
            "n": int(float(r["member_count"] or 1)),
            "district": (r["district_code"] or "").strip(),
        }
    for r in data["recipients_members"]:
        p = c.who("recipients_members", r, "member")
        hid = (r["household_id"] or "").strip()
        if p is None or hid not in c.hh:
            continue
        c.members[hid].add(p)
        c.households_of[p].add(hid)
        if (r["relation"] or "").strip() == "户主":
            c.head[hid] = p
    for r in data["benefit_payments"]:
        m, a = parse_month(r["pay_month"]), parse_money(r["amount"])
        if m is not None and a is not None:
            c.pay[(r["household_id"] or "").strip()][m] += a
    return c


def _deceased(c: _City) -> None:
    death: dict[str, int] = {}
    for r in c.data["death_certificates"]:
        p, d = c.who("death_certificates", r, "deceased"), parse_date(r["death_date"])
        if p and d:
            death[p] = min(death.get(p, 10**9), month_index(d))
    for r in c.data["hukou_registry"]:
        p, d = c.who("hukou_registry", r, "resident"), parse_date(r["status_date"])
        if p and d and (r["status"] or "").strip() == "死亡":
            death[p] = min(death.get(p, 10**9), month_index(d))
    for p, dm in death.items():
        for hid in c.households_of.get(p, ()):
            after = sum(a for m, a in c.pay[hid].items() if m > dm)
            if after > 0:
                c.add("DECEASED", hid, p, after)


def _duplicate_enrollment(c: _City) -> None:
    for p, hids in c.households_of.items():
        active = [h for h in hids if c.hh[h]["status"] == "在保"]
        if len(active) >= 2:
            for h in active:
                c.add("DUPLICATE_ENROLLMENT", h, p)


def _payments(c: _City) -> None:
    """PAID_AFTER_EXIT and OVERPAID."""
    for hid, info in c.hh.items():
        end = info["end"]
        if isinstance(end, dt.date):
            amt = sum(a for m, a in c.pay[hid].items() if m > month_index(end))
            if amt > 0:
                c.add("PAID_AFTER_EXIT", hid, c.head.get(hid, ""), amt)
        elif info["status"] in ("停保", "退出"):
            amt = sum(a for m, a in c.pay[hid].items() if m in c.window)
            if amt > 0:
                c.add("PAID_AFTER_EXIT", hid, c.head.get(hid, ""), amt)
        monthly = float(info["monthly"])
        excess = sum(a - monthly for a in c.pay[hid].values() if a > monthly + 0.005)
        if excess > 0:
            c.add("OVERPAID", hid, c.head.get(hid, ""), excess)


def _assets(c: _City) -> None:
    """VEHICLE, REAL_ESTATE, ENTERPRISE and INDIVIDUAL_BUSINESS."""
    for p, r in c.person_rows("motor_vehicles", "owner"):
        if (r["status"] or "").strip() == "正常" and (
            r["vehicle_type"] or ""
        ).strip() not in EXEMPT_VEHICLES:
            for h in c.households_of[p]:
                c.add("VEHICLE", h, p)
    homes: dict[str, int] = defaultdict(int)
    commercial: set[str] = set()
    for p, r in c.person_rows("real_estate", "owner"):
        d = parse_date(r["registration_date"])
        if (r["status"] or "").strip() != "现势" or d is None or d > c.as_of:
            continue
        use = (r["property_use"] or "").strip()
        for h in c.households_of[p]:
            if use == "住宅":
                homes[h] += 1
            elif use in ("商业", "办公", "工业"):
                commercial.add(h)
    for h in set(commercial) | {h for h, k in homes.items() if k >= 2}:
        c.add("REAL_ESTATE", h, "")
    ent_status = {
        (r["credit_code"] or "").replace(" ", "").upper(): (r["status"] or "").strip()
        for r in c.data["enterprises"]
    }
    for p, r in c.person_rows("enterprises", "legal_rep"):
        if (r["status"] or "").strip() in ("存续", "在业"):
            for h in c.households_of[p]:
                c.add("ENTERPRISE", h, p)
    for p, r in c.person_rows("shareholders", "shareholder"):
        cc = (r["credit_code"] or "").replace(" ", "").upper()
        if (r["holder_type"] or "").strip() == "自然人" and ent_status.get(cc) in ("存续", "在业"):
            for h in c.households_of[p]:
                c.add("ENTERPRISE", h, p)
    for p, r in c.person_rows("individual_businesses", "operator"):
        if (r["status"] or "").strip() == "存续":
            for h in c.households_of[p]:
                c.add("INDIVIDUAL_BUSINESS", h, p)


def _person_status(c: _City) -> None:
    """PUBLIC_EMPLOYEE, INCARCERATED and HUKOU_MOVED."""
    for p, r in c.person_rows("public_employees", "employee"):
        s = parse_date(r["start_date"])
        if (r["employer_type"] or "").strip() in ("机关", "事业单位") and s is not None:
            for h in c.households_of[p]:
                if c.overlaps(h, s, parse_date(r["end_date"])):
                    c.add("PUBLIC_EMPLOYEE", h, p)
    for p, r in c.person_rows("detentions", "detainee"):
        s = parse_date(r["start_date"])
        if s is not None:
            for h in c.households_of[p]:
                if c.overlaps(h, s, parse_date(r["end_date"])):
                    c.add("INCARCERATED", h, p)
    for p, r in c.person_rows("hukou_registry", "resident"):
        d = parse_date(r["status_date"])
        if (r["status"] or "").strip() in ("迁出", "注销") and d is not None and d <= c.as_of:
            for h in c.households_of[p]:
                if c.hh[h]["status"] == "在保":
                    c.add("HUKOU_MOVED", h, p)


def _income_and_employment(c: _City) -> None:
    """INCOME_OVER_STANDARD and UNDECLARED_EMPLOYMENT."""
    ratio = float(c.manifest["provident_to_wage_ratio"])
    std = c.manifest["low_income_standard"]
    wage: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    employee_months: dict[str, set[int]] = defaultdict(set)
    for p, r in c.person_rows("social_insurance", "insured"):
        m, w = parse_month(r["contribution_month"]), parse_money(r["wage_base"])
        if m is None or (r["insurance_type"] or "").strip() not in EMPLOYEE_TYPES:
            continue
        employee_months[p].add(m)
        wage[p][m] = max(wage[p][m], w or 0.0)
    provident: dict[str, list[tuple[str, float, int | None]]] = defaultdict(list)
    for p, r in c.person_rows("provident_fund_accounts", "account_holder"):
        provident[p].append(
            (
                (r["status"] or "").strip(),
                parse_money(r["monthly_deposit"]) or 0.0,
                parse_month(r["last_deposit_month"]),
            )
        )
    pension: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for p, r in c.person_rows("pension_payments", "pensioner"):
        m = parse_month(r["pay_month"])
        if m is not None:
            pension[p][m] += parse_money(r["amount"]) or 0.0
    unemp: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    for p, r in c.person_rows("unemployment_benefits", "beneficiary"):
        a, b = parse_month(r["start_month"]), parse_month(r["end_month"])
        if a is not None and b is not None:
            unemp[p].append((a, b, parse_money(r["monthly_amount"]) or 0.0))

    def income(p: str, m: int) -> float:
        total = wage[p].get(m, 0.0)
        if total == 0.0:
            total = sum(
                d / ratio
                for st, d, last in provident[p]
                if st == "正常" and last is not None and last >= m
            )
        total += pension[p].get(m, 0.0)
        total += sum(x for a, b, x in unemp[p] if a <= m <= b)
        return total

    win = c.window
    for hid, info in c.hh.items():
        ps = c.members[hid]
        monthly_income = sum(sum(income(p, m) for m in win) / len(win) for p in ps)
        per_head = monthly_income / max(int(info["n"]), 1)
        # the as_of year's standard (nearest known year), as rules/params.yaml says
        years = sorted(std, key=int)
        year = max((y for y in years if int(y) <= c.as_of.year), default=years[0], key=int)
        standard = float(std[year][info["district"]])
        if per_head > standard:
            c.add("INCOME_OVER_STANDARD", hid, "")
        if not info["declared"]:
            for p in ps:
                if employee_months[p] & win or any(
                    st == "正常" and last in win for st, _, last in provident[p]
                ):
                    c.add("UNDECLARED_EMPLOYMENT", hid, p)


def _undeclared_spouse(c: _City) -> None:
    def party(r: Row, side: str) -> str:
        p = c.who("marriage_registrations", r, f"party_{side}")
        if p is not None:
            return p
        return (r[f"party_{side}_id_no"] or "").strip().upper()

    events: dict[tuple[str, str], list[tuple[dt.date, str]]] = defaultdict(list)
    for r in c.data["marriage_registrations"]:
        d = parse_date(r["reg_date"])
        if d is not None:
            events[(party(r, "a"), party(r, "b"))].append((d, (r["reg_type"] or "").strip()))
    for (pa, pb), evs in events.items():
        evs.sort()
        last_marriage = max((d for d, t in evs if t == "结婚"), default=None)
        if last_marriage is None or any(t == "离婚" and d > last_marriage for d, t in evs):
            continue
        for p, other in ((pa, pb), (pb, pa)):
            for h in c.households_of.get(p, ()):
                if c.hh[h]["status"] == "在保" and other not in c.members[h]:
                    c.add("UNDECLARED_SPOUSE", h, p)


#: The check families, in the order their findings are listed.
_FAMILIES = (
    _deceased,
    _duplicate_enrollment,
    _payments,
    _assets,
    _person_status,
    _income_and_employment,
    _undeclared_spouse,
)


def findings(out_dir: Path) -> pl.DataFrame:
    """Findings implied by design.md section 8 for a generated city.

    Returns a frame with ``rule_id, household_id, member_id_no, amount_at_risk``
    (member empty for household-level checks, amount only for exact checks).
    """
    city = _load_city(Path(out_dir))
    for family in _FAMILIES:
        family(city)
    df = pl.DataFrame(
        city.out,
        schema={
            "rule_id": pl.String,
            "household_id": pl.String,
            "member_id_no": pl.String,
            "amount_at_risk": pl.Float64,
        },
        orient="row",
    )
    return df.unique(["rule_id", "household_id", "member_id_no"], keep="first", maintain_order=True)
