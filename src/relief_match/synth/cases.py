"""Planted cases and decoys for the 14 checks (design.md section 8).

Every planted case gets its own recipient household so that it triggers
exactly the findings recorded for it; decoys are the near misses of section 8.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from relief_match.synth import entities as ent
from relief_match.synth.city import Case, City, Member, RHouse
from relief_match.synth.fmt import ds, mo, ms
from relief_match.synth.people import (
    ROLE_HEAD,
    ROLE_OTHER,
    ROLE_PARENT,
    ROLE_SIBLING,
    ROLE_SPOUSE,
    STATUS_CANCELLED,
    STATUS_DEAD,
    STATUS_MOVED,
)
from relief_match.synth.timeline import (
    DISTRICTS,
    days_to_date,
    month_start,
    random_day_in_month,
    standard,
)

RULES = (
    "DECEASED",
    "DUPLICATE_ENROLLMENT",
    "PAID_AFTER_EXIT",
    "OVERPAID",
    "VEHICLE",
    "REAL_ESTATE",
    "ENTERPRISE",
    "INDIVIDUAL_BUSINESS",
    "PUBLIC_EMPLOYEE",
    "INCOME_OVER_STANDARD",
    "UNDECLARED_EMPLOYMENT",
    "INCARCERATED",
    "HUKOU_MOVED",
    "UNDECLARED_SPOUSE",
)
EXACT_RULES = ("DECEASED", "PAID_AFTER_EXIT", "OVERPAID")
_PERSON_DIFFS = ("clean", "messy_id", "fuzzy_typo", "fuzzy_transposed", "traditional")
RULE_DIFFICULTIES: dict[str, tuple[str, ...]] = {
    "DECEASED": (*_PERSON_DIFFS, "fuzzy_no_id"),
    "DUPLICATE_ENROLLMENT": _PERSON_DIFFS,
    "PAID_AFTER_EXIT": ("clean",),
    "OVERPAID": ("clean",),
    "HUKOU_MOVED": ("clean", "messy_id", "traditional"),
    **{
        r: _PERSON_DIFFS
        for r in (
            "VEHICLE",
            "REAL_ESTATE",
            "ENTERPRISE",
            "INDIVIDUAL_BUSINESS",
            "PUBLIC_EMPLOYEE",
            "INCOME_OVER_STANDARD",
            "UNDECLARED_EMPLOYMENT",
            "INCARCERATED",
            "UNDECLARED_SPOUSE",
        )
    },
}
# household-level checks get more cases, as they have a single difficulty
HOUSEHOLD_MULTIPLIER = {"PAID_AFTER_EXIT": 3, "OVERPAID": 3}

NAMESAKE_RULES = (
    "DECEASED",
    "VEHICLE",
    "REAL_ESTATE",
    "ENTERPRISE",
    "INDIVIDUAL_BUSINESS",
    "PUBLIC_EMPLOYEE",
    "INCOME_OVER_STANDARD",
    "UNDECLARED_EMPLOYMENT",
    "INCARCERATED",
    "HUKOU_MOVED",
    "UNDECLARED_SPOUSE",
)
# decoy kind -> rule it would be wrongly flagged under
DECOY_KINDS: dict[str, str] = {
    "exempt_vehicle": "VEHICLE",
    "vehicle_cancelled": "VEHICLE",
    "property_cancelled": "REAL_ESTATE",
    "single_residence": "REAL_ESTATE",
    "parking_or_homestead": "REAL_ESTATE",
    "enterprise_closed": "ENTERPRISE",
    "legal_person_shareholder": "ENTERPRISE",
    "business_closed": "INDIVIDUAL_BUSINESS",
    "state_owned_employer": "PUBLIC_EMPLOYEE",
    "employment_ended_before_benefits": "PUBLIC_EMPLOYEE",
    "income_at_or_below_standard": "INCOME_OVER_STANDARD",
    "resident_pension_only": "UNDECLARED_EMPLOYMENT",
    "contributions_stopped_before_window": "UNDECLARED_EMPLOYMENT",
    "death_after_last_payment": "DECEASED",
    "payment_in_exit_month": "PAID_AFTER_EXIT",
    "split_payment_equal_to_amount": "OVERPAID",
    "detention_before_benefits": "INCARCERATED",
    "marriage_then_divorce": "UNDECLARED_SPOUSE",
    "spouse_in_household": "UNDECLARED_SPOUSE",
    "exited_and_active_household": "DUPLICATE_ENROLLMENT",
}


class Planter:
    """Adds the planted cases and decoys to a :class:`City`."""

    def __init__(self, city: City) -> None:
        self.c = city
        self.rng = city.rng
        self.ctx = city.ctx

    # ------------------------------------------------------------ predicates
    def ok(self, base: Callable[[int], bool], diff: str) -> Callable[[int], bool]:
        c = self.c

        def f(p: int) -> bool:
            if not base(p):
                return False
            if diff == "traditional" and not c.trad_ok(p):
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

    # ------------------------------------------------------------ planted
    def plant_all(self, per_cell: int) -> None:
        for rule in RULES:
            fn = getattr(self, f"p_{rule.lower()}")
            mult = HOUSEHOLD_MULTIPLIER.get(rule, 1)
            for diff in RULE_DIFFICULTIES[rule]:
                for i in range(per_cell * mult):
                    fn(diff, i)

    def p_deceased(self, diff: str, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(lambda p: c.age(p) >= 30, diff)
        k = 1 + i % 6
        dm = ctx.last_pay_m - k
        death = self.day_in(dm)
        amount = house.paid_between(dm + 1, ctx.last_pay_m)
        via_hukou = diff == "clean" and i % 3 == 2
        note = f"died {ds(death)}; {k} paid month(s) after the death month"
        case = c.add_case("planted", "DECEASED", house, p, diff, note, amount)
        if via_hukou or (diff == "clean" and i % 3 == 1):
            c.pop.status[p] = STATUS_DEAD
            c.pop.status_date[p] = death
        if via_hukou:
            case.note += "; hukou status 死亡 only (no death certificate)"
            c.hukou_tags[p] = case.case_id
            c.hukou_refs[p] = ("clean", "planted")
            case.evidence_extract = "hukou_registry"
            return
        self.death_cert(p, death, diff, "planted", case)

    def death_cert(self, p: int, death: int, diff: str, kind: str, case: Case | None) -> int:
        c = self.c
        district = int(c.pop.district[p])
        row = {
            "certificate_no": f"{district}{days_to_date(death).year}{9 * 10**5 + self.serial():07d}",
            "sex": c.sex(p),
            "birth_date": ds(int(c.pop.birth[p])),
            "death_date": ds(death),
            "district_code": str(district),
        }
        return c.add_ref_row(
            "death_certificates", row, [(p, diff, "id_no", "name", "deceased", kind)], case=case
        )

    def p_duplicate_enrollment(self, diff: str, i: int) -> None:
        c = self.c
        a, p = self.house_for(lambda p: 18 <= c.age(p) <= 85, diff)
        b, _ = self.house_for(lambda p: True)
        s, n, defects = c.ref(p, diff, id_col="id_no", name_col="name")
        rel = (ROLE_OTHER, ROLE_SIBLING, ROLE_PARENT)[i % 3]
        mb = Member(p, rel, s, n, defects, link_kind="planted", link_diff=diff)
        b.members.append(mb)
        b.recompute_amount()
        note = f"enrolled in {a.hid} and {b.hid}"
        ca = c.add_case("planted", "DUPLICATE_ENROLLMENT", a, p, diff, note)
        cb = c.add_case("planted", "DUPLICATE_ENROLLMENT", b, p, diff, note)
        ma = next(m for m in a.members if m.pidx == p)
        ma.link_kind, ma.link_diff = "planted", "clean"
        ma.tags.append(ca.case_id)
        mb.tags.append(cb.case_id)
        ca.evidence_extract = cb.evidence_extract = "recipients_members"

    def p_paid_after_exit(self, diff: str, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(self.is_head)
        if i % 3 != 2:
            end_m = ctx.last_pay_m - (2 + i % 9)
            k = min(1 + i % 4, ctx.last_pay_m - end_m)
            c.set_exit(house, end_m, status="退出" if i % 2 == 0 else "停保")
            house.last_m = end_m + k
            amount = house.paid_between(end_m + 1, end_m + k)
            note = f"exit {ds(house.end)}, {k} payment(s) after the exit month"
            house.pay_tag = (end_m + 1, 0, len(c.cases) + 1)
        else:
            house.status = "停保"
            amount = house.paid_between(ctx.win_lo, ctx.win_hi)
            note = "status 停保 without end_date, paid in the recent window"
            house.pay_tag = (ctx.win_lo, 0, len(c.cases) + 1)
        case = c.add_case("planted", "PAID_AFTER_EXIT", house, p, diff, note, amount)
        case.evidence_extract = "benefit_payments"

    def p_overpaid(self, diff: str, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(self.is_head)
        lo = max(house.first_m, ctx.last_pay_m - 9)
        months = sorted({int(m) for m in self.rng.integers(lo, ctx.last_pay_m + 1, 1 + i % 3)})
        amount = 0
        for j, m in enumerate(months):
            base = house.regular(m)
            over = int(self.rng.integers(1, max(2, house.monthly // 200))) * 100
            if i % 4 == 3:
                over += 50  # e.g. 356.50
            extra = house.monthly - base + over
            if extra == base:
                extra += 100
            if i % 2 == 0:
                house.override[m] = [base, extra]  # an extra (补发) payment
                tag = (m, 1)
            else:
                house.override[m] = [base + extra]  # one payment above the amount
                tag = (m, 0)
            amount += house.paid(m) - house.monthly
            if j == 0:
                house.pay_tag = (*tag, len(c.cases) + 1)
        note = f"overpaid in {', '.join(ms(m) for m in months)}"
        case = c.add_case("planted", "OVERPAID", house, p, diff, note, amount)
        case.evidence_extract = "benefit_payments"

    def vehicle_row(
        self, p: int, diff: str, kind: str, case: Case | None, vtype: str, status: str
    ) -> None:
        c = self.c
        use = "货运" if "货车" in vtype else ("营运" if self.rng.random() < 0.15 else "非营运")
        row = {
            "plate_no": str(ent.plates(np.array([40_000_000 + self.serial()]))[0]),
            "vehicle_type": vtype,
            "use_type": use,
            "registration_date": ds(self.past_day(60, 3650)),
            "status": status,
        }
        c.add_ref_row(
            "motor_vehicles",
            row,
            [(p, diff, "owner_id_no", "owner_name", "owner", kind)],
            case=case,
        )

    def p_vehicle(self, diff: str, i: int) -> None:
        house, p = self.house_for(self.adult, diff)
        vtype = ("小型汽车", "小型汽车", "轻型货车", "中型客车", "小型汽车", "大型货车")[i % 6]
        case = self.c.add_case("planted", "VEHICLE", house, p, diff, f"owns a {vtype}")
        self.vehicle_row(p, diff, "planted", case, vtype, "正常")

    def property_row(
        self,
        p: int,
        diff: str,
        kind: str,
        case: Case | None,
        use: str,
        status: str,
        reg_day: int,
    ) -> None:
        c = self.c
        district = int(c.pop.district[p])
        area = {
            "住宅": 95.0,
            "商业": 60.0,
            "办公": 120.0,
            "工业": 800.0,
            "车位": 12.5,
            "宅基地": 120.0,
        }
        row = {
            "certificate_no": str(
                ent.property_cert_nos(
                    np.array([8_000_000 + self.serial()]), np.array([days_to_date(reg_day).year])
                )[0]
            ),
            "property_use": use,
            "area_m2": f"{area[use] * float(self.rng.uniform(0.6, 1.5)):.2f}",
            "location": str(ent.locations(self.rng, np.array([district]))[0]),
            "district_code": str(district),
            "registration_date": ds(reg_day),
            "status": status,
            "share": "1.00",
        }
        c.add_ref_row(
            "real_estate", row, [(p, diff, "owner_id_no", "owner_name", "owner", kind)], case=case
        )

    def p_real_estate(self, diff: str, i: int) -> None:
        house, p = self.house_for(self.adult, diff)
        d1 = self.past_day(400, 5000)
        d2 = self.past_day(30, 700)
        if i % 2 == 0:
            case = self.c.add_case(
                "planted", "REAL_ESTATE", house, p, diff, "two current residences"
            )
            self.property_row(p, "clean", "planted", None, "住宅", "现势", d1)
            self.property_row(p, diff, "planted", case, "住宅", "现势", d2)
        else:
            use = ("商业", "办公", "工业")[i // 2 % 3]
            case = self.c.add_case(
                "planted", "REAL_ESTATE", house, p, diff, f"current {use} property"
            )
            self.property_row(p, diff, "planted", case, use, "现势", d2)

    def enterprise_row(
        self,
        rep: int,
        diff: str,
        kind: str,
        case: Case | None,
        status: str,
        credit: str | None = None,
    ) -> str:
        c = self.c
        district = int(c.pop.district[rep])
        credit = credit or self.credit(district)
        est = self.past_day(200, 6000)
        dereg = None
        if status == "注销":
            dereg = ds(min(est + int(self.rng.integers(300, 3000)), self.ctx.as_of_days - 400))
        row = {
            "credit_code": credit,
            "enterprise_name": self.ent_name(),
            "enterprise_type": "有限责任公司(自然人投资或控股)",
            "registered_capital": f"{int(self.rng.integers(1, 200)) * 5:.2f}",
            "established_date": ds(est),
            "status": status,
            "deregistered_date": dereg,
        }
        refs = [(rep, diff, "legal_rep_id_no", "legal_rep_name", "legal_rep", kind)]
        c.add_ref_row("enterprises", row, refs, case=case)
        return credit

    def shareholder_row(
        self, p: int, diff: str, kind: str, case: Case | None, credit: str, holder_type: str
    ) -> None:
        row = {
            "credit_code": credit,
            "holder_type": holder_type,
            "subscribed_capital": f"{int(self.rng.integers(1, 100)) * 2:.2f}",
        }
        self.c.add_ref_row(
            "shareholders",
            row,
            [(p, diff, "holder_id_no", "holder_name", "shareholder", kind)],
            case=case,
        )

    def p_enterprise(self, diff: str, i: int) -> None:
        c = self.c
        house, p = self.house_for(self.adult, diff)
        status = "存续" if i % 3 else "在业"
        if i % 2 == 0:
            case = c.add_case(
                "planted", "ENTERPRISE", house, p, diff, f"legal representative ({status})"
            )
            self.enterprise_row(p, diff, "planted", case, status)
        else:
            q = c.outsider(self.adult)
            credit = self.enterprise_row(q, "clean", "", None, status)
            case = c.add_case(
                "planted", "ENTERPRISE", house, p, diff, f"natural-person shareholder ({status})"
            )
            self.shareholder_row(p, diff, "planted", case, credit, "自然人")

    def business_row(self, p: int, diff: str, kind: str, case: Case | None, status: str) -> None:
        c = self.c
        district = int(c.pop.district[p])
        row = {
            "credit_code": self.credit(district, "92"),
            "business_name": str(ent.shop_names(self.rng, np.array([district]))[0]),
            "industry": ent.INDUSTRIES[int(self.rng.integers(0, len(ent.INDUSTRIES)))],
            "established_date": ds(self.past_day(100, 5000)),
            "status": status,
        }
        c.add_ref_row(
            "individual_businesses",
            row,
            [(p, diff, "operator_id_no", "operator_name", "operator", kind)],
            case=case,
        )

    def p_individual_business(self, diff: str, i: int) -> None:
        house, p = self.house_for(self.adult, diff)
        case = self.c.add_case(
            "planted", "INDIVIDUAL_BUSINESS", house, p, diff, "operates an active business"
        )
        self.business_row(p, diff, "planted", case, "存续")

    def employee_row(
        self,
        p: int,
        diff: str,
        kind: str,
        case: Case | None,
        etype: str,
        start: int,
        end: int | None,
    ) -> None:
        pool = {"机关": ent.GOV_BODIES, "事业单位": ent.INSTITUTIONS, "国有企业": ent.SOES}[etype]
        row = {
            "employer_name": pool[int(self.rng.integers(0, len(pool)))],
            "employer_type": etype,
            "start_date": ds(start),
            "end_date": ds(end),
        }
        self.c.add_ref_row(
            "public_employees", row, [(p, diff, "id_no", "name", "employee", kind)], case=case
        )

    def p_public_employee(self, diff: str, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(self.working, diff)
        etype = "机关" if i % 2 == 0 else "事业单位"
        start = self.past_day(60, 15 * 365)
        end = None
        if i % 3 == 2:
            end = max(int(month_start(house.first_m)) + 75, start + 30)
            end = min(end, ctx.as_of_days - 10)
        case = c.add_case("planted", "PUBLIC_EMPLOYEE", house, p, diff, f"employed by a {etype}")
        self.employee_row(p, diff, "planted", case, etype, start, end)

    # income helpers -------------------------------------------------------
    def si_rows(
        self,
        p: int,
        diff: str,
        kind: str,
        case: Case | None,
        months: range,
        types: tuple[str, ...],
        wage_cents: int,
        tag_month: int | None,
    ) -> None:
        """Social-insurance rows of one person; the ID is damaged the same way on every row."""
        c = self.c
        s, n, defects = c.ref(p, diff, id_col="id_no", name_col="name")
        district = int(c.pop.district[p])
        employer = self.ent_name()
        credit = self.credit(district)
        tb = c.tables["social_insurance"]
        for m in months:
            for t in types:
                uid = tb.add_row(
                    {
                        "id_no": s,
                        "name": n,
                        "employer_name": employer if t != "城乡居民养老" else "",
                        "employer_credit_code": credit if t != "城乡居民养老" else "",
                        "insurance_type": t,
                        "contribution_month": ms(m),
                        "wage_base": mo(wage_cents),
                    }
                )
                for col, k, e in defects:
                    tb.defect(uid, col, k, e)
                if kind:
                    tb.link(uid, "insured", c.pid(p), kind, diff)
                if case is not None and m == tag_month and t == types[0]:
                    tb.tag(case.case_id, uid)
                    case.evidence_extract = "social_insurance"

    def pension_rows(
        self, p: int, diff: str, kind: str, case: Case | None, ptype: str, cents: int
    ) -> None:
        c, ctx = self.c, self.ctx
        s, n, defects = c.ref(p, diff, id_col="id_no", name_col="name")
        tb = c.tables["pension_payments"]
        for m in range(ctx.as_of_m - 12, ctx.as_of_m):
            uid = tb.add_row(
                {
                    "id_no": s,
                    "name": n,
                    "pension_type": ptype,
                    "pay_month": ms(m),
                    "amount": mo(cents),
                }
            )
            for col, k, e in defects:
                tb.defect(uid, col, k, e)
            if kind:
                tb.link(uid, "pensioner", c.pid(p), kind, diff)
            if case is not None and m == ctx.win_hi:
                tb.tag(case.case_id, uid)
                case.evidence_extract = "pension_payments"

    def provident_row(
        self,
        p: int,
        diff: str,
        kind: str,
        case: Case | None,
        status: str,
        deposit_cents: int,
        last_m: int,
    ) -> None:
        row = {
            "account_no": f"{441300000000 + self.serial()}",
            "employer_name": self.ent_name(),
            "status": status,
            "monthly_deposit": mo(deposit_cents),
            "last_deposit_month": ms(last_m),
            "balance": mo(deposit_cents * int(self.rng.integers(6, 80))),
        }
        self.c.add_ref_row(
            "provident_fund_accounts",
            row,
            [(p, diff, "id_no", "name", "account_holder", kind)],
            case=case,
        )

    def std(self, house: RHouse, *, low: bool = False) -> float:
        """The district standard of the as_of year and the window's years (the highest,
        or with ``low`` the lowest), so a case holds whichever year a rule takes."""
        years = {self.ctx.win_lo // 12, self.ctx.win_hi // 12, self.ctx.as_of.year}
        values = [standard(house.district, y) for y in years]
        return min(values) if low else max(values)

    def p_income_over_standard(self, diff: str, i: int) -> None:
        c, ctx = self.c, self.ctx
        v = i % 4
        if v == 0:  # wage
            house, p = self.house_for(self.working, diff, lambda h: c.pop.hh_size[h] <= 3)
            wage = int(np.ceil(2.2 * house.size * self.std(house) / 100)) * 10000
            house.declared = int(self.rng.integers(3, 9)) * 10000
            house.recompute_amount()
            case = c.add_case(
                "planted", "INCOME_OVER_STANDARD", house, p, diff, f"wage base {wage // 100}"
            )
            self.si_rows(
                p,
                diff,
                "planted",
                case,
                range(ctx.as_of_m - 12, ctx.as_of_m),
                ("职工养老", "职工医疗"),
                wage,
                ctx.win_hi,
            )
        elif v == 1:  # pension
            house, p = self.house_for(
                lambda p: c.age(p) >= 58, diff, lambda h: c.pop.hh_size[h] <= 2
            )
            amt = int(np.ceil(2.2 * house.size * self.std(house) / 10)) * 1000
            ptype = "企业职工" if i % 8 < 4 else "机关事业"
            case = c.add_case(
                "planted", "INCOME_OVER_STANDARD", house, p, diff, f"{ptype} pension {amt // 100}"
            )
            self.pension_rows(p, diff, "planted", case, ptype, amt)
        elif v == 2:  # unemployment benefit, single-person household
            house, p = self.house_for(self.working, diff, lambda h: c.pop.hh_size[h] == 1)
            amt = int(np.ceil(max(1.6 * self.std(house), 1850) / 10)) * 1000
            case = c.add_case(
                "planted",
                "INCOME_OVER_STANDARD",
                house,
                p,
                diff,
                f"unemployment benefit {amt // 100}",
            )
            row = {
                "start_month": ms(ctx.win_lo - int(self.rng.integers(0, 4))),
                "end_month": ms(ctx.win_hi + int(self.rng.integers(0, 8))),
                "monthly_amount": mo(amt),
            }
            c.add_ref_row(
                "unemployment_benefits",
                row,
                [(p, diff, "id_no", "name", "beneficiary", "planted")],
                case=case,
            )
        else:  # provident-fund deposits
            house, p = self.house_for(self.working, diff, lambda h: c.pop.hh_size[h] <= 2)
            dep = int(np.ceil(0.24 * 2.2 * house.size * self.std(house) / 10)) * 1000
            house.declared = int(self.rng.integers(3, 9)) * 10000
            house.recompute_amount()
            case = c.add_case(
                "planted", "INCOME_OVER_STANDARD", house, p, diff, f"provident deposit {dep // 100}"
            )
            self.provident_row(p, diff, "planted", case, "正常", dep, ctx.last_pay_m)

    def p_undeclared_employment(self, diff: str, i: int) -> None:
        c, ctx = self.c, self.ctx
        if i % 2 == 0:  # part-time job: work-injury insurance only, low base
            house, p = self.house_for(self.working, diff, lambda h: c.pop.hh_size[h] >= 4)
            house.declared = 0
            house.recompute_amount()
            types = ("工伤",) if i % 4 == 0 else ("工伤", "失业")
            case = c.add_case(
                "planted",
                "UNDECLARED_EMPLOYMENT",
                house,
                p,
                diff,
                "employee contributions (工伤) in window",
            )
            self.si_rows(
                p,
                diff,
                "planted",
                case,
                range(ctx.win_lo - 2, ctx.win_hi + 1),
                types,
                230000,
                ctx.win_hi,
            )
        else:
            house, p = self.house_for(self.working, diff, lambda h: c.pop.hh_size[h] >= 2)
            house.declared = 0
            house.recompute_amount()
            dep = int(self.rng.integers(20, 31)) * 1000
            last = ctx.win_hi - int(self.rng.integers(0, 3))
            case = c.add_case(
                "planted",
                "UNDECLARED_EMPLOYMENT",
                house,
                p,
                diff,
                f"provident deposits until {ms(last)}",
            )
            self.provident_row(p, diff, "planted", case, "正常", dep, last)

    def detention_row(
        self, p: int, diff: str, kind: str, case: Case | None, start: int, end: int | None
    ) -> None:
        row = {
            "start_date": ds(start),
            "end_date": ds(end),
            "facility": ent.FACILITIES[int(self.rng.integers(0, len(ent.FACILITIES)))],
        }
        self.c.add_ref_row(
            "detentions", row, [(p, diff, "id_no", "name", "detainee", kind)], case=case
        )

    def p_incarcerated(self, diff: str, i: int) -> None:
        c, ctx = self.c, self.ctx
        male_first = i % 5 != 4
        house, p = self.house_for(
            lambda p: 20 <= c.age(p) <= 65 and bool(c.pop.male[p]) == male_first, diff
        )
        sm = int(self.rng.integers(house.first_m + 1, ctx.last_pay_m))
        start = self.day_in(sm)
        end = (
            None if i % 2 == 0 else min(start + int(self.rng.integers(40, 400)), ctx.as_of_days - 1)
        )
        case = c.add_case("planted", "INCARCERATED", house, p, diff, f"detained from {ds(start)}")
        self.detention_row(p, diff, "planted", case, start, end)

    def p_hukou_moved(self, diff: str, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(self.adult, diff)
        st = STATUS_MOVED if i % 3 != 2 else STATUS_CANCELLED
        m = ctx.last_pay_m - 1 - i % 8
        c.pop.status[p] = st
        c.pop.status_date[p] = self.day_in(m)
        label = "迁出" if st == STATUS_MOVED else "注销"
        case = c.add_case(
            "planted",
            "HUKOU_MOVED",
            house,
            p,
            diff,
            f"hukou {label} {ds(int(c.pop.status_date[p]))}",
        )
        c.hukou_refs[p] = (diff, "planted")
        c.hukou_tags[p] = case.case_id
        case.evidence_extract = "hukou_registry"

    def marriage_row(
        self,
        p: int,
        q: int,
        diff: str,
        kind: str,
        case: Case | None,
        reg_type: str,
        day: int,
        q_kind: str = "",
    ) -> None:
        c = self.c
        a, b = (p, q) if c.pop.male[p] else (q, p)
        da, db = (diff, "clean") if a == p else ("clean", diff)
        ka, kb = (kind, q_kind) if a == p else (q_kind, kind)
        row = {"reg_type": reg_type, "reg_date": ds(day)}
        refs = [
            (a, da, "party_a_id_no", "party_a_name", "party_a", ka),
            (b, db, "party_b_id_no", "party_b_name", "party_b", kb),
        ]
        c.add_ref_row("marriage_registrations", row, refs, case=case)

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

    def p_undeclared_spouse(self, diff: str, i: int) -> None:
        c = self.c
        house, p = self.house_for(self.spouse_free, diff)
        male = bool(c.pop.male[p])
        q = c.outsider(lambda q: bool(c.pop.male[q]) != male and 24 <= c.age(q) <= 62)
        case = c.add_case(
            "planted", "UNDECLARED_SPOUSE", house, p, diff, "married to a non-member, no divorce"
        )
        self.marriage_row(p, q, diff, "planted", case, "结婚", self.marriage_day(p, q))

    # ------------------------------------------------------------ decoys
    def decoy_all(self, per_kind: int) -> None:
        for rule in NAMESAKE_RULES:
            for i in range(per_kind):
                self.d_namesake(rule, i)
        for kind in DECOY_KINDS:
            fn = getattr(self, f"d_{kind}")
            for i in range(per_kind):
                fn(i)

    def decoy(self, kind: str, house: RHouse, p: int, note: str, diff: str = "clean") -> Case:
        return self.c.add_case(
            "decoy", DECOY_KINDS.get(kind, kind), house, p, diff, f"near_miss={kind}; {note}"
        )

    def d_namesake(self, rule: str, i: int) -> None:
        c, ctx = self.c, self.ctx
        base = self.working if rule in ("PUBLIC_EMPLOYEE", "UNDECLARED_EMPLOYMENT") else self.adult
        house, p = self.house_for(lambda p: base(p) and not c.pop.minority[p])
        q = c.namesake_of(p)
        case = c.add_case(
            "decoy", rule, house, p, "clean",
            f"near_miss=namesake; the record belongs to {c.pid(q)[:6]}…, born {ds(int(c.pop.birth[q]))}",
        )  # fmt: skip
        if rule == "DECEASED":
            death = self.past_day(40, 600)
            c.pop.status[q] = STATUS_DEAD
            c.pop.status_date[q] = death
            diff = "fuzzy_no_id" if i % 2 else "clean"
            case.difficulty = diff
            self.death_cert(q, death, diff, "decoy", case)
        elif rule == "VEHICLE":
            self.vehicle_row(q, "clean", "decoy", case, "小型汽车", "正常")
        elif rule == "REAL_ESTATE":
            self.property_row(q, "clean", "decoy", case, "商业", "现势", self.past_day(30, 3000))
        elif rule == "ENTERPRISE":
            self.enterprise_row(q, "clean", "decoy", case, "存续")
        elif rule == "INDIVIDUAL_BUSINESS":
            self.business_row(q, "clean", "decoy", case, "存续")
        elif rule == "PUBLIC_EMPLOYEE":
            self.employee_row(q, "clean", "decoy", case, "机关", self.past_day(400, 5000), None)
        elif rule == "INCOME_OVER_STANDARD":
            self.pension_rows(q, "clean", "decoy", case, "机关事业", 680000)
        elif rule == "UNDECLARED_EMPLOYMENT":
            house.declared = 0
            house.recompute_amount()
            self.si_rows(
                q,
                "clean",
                "decoy",
                case,
                range(ctx.win_lo, ctx.win_hi + 1),
                ("职工养老",),
                520000,
                ctx.win_hi,
            )
        elif rule == "INCARCERATED":
            self.detention_row(q, "clean", "decoy", case, self.past_day(30, 300), None)
        elif rule == "HUKOU_MOVED":
            c.pop.status[q] = STATUS_MOVED
            c.pop.status_date[q] = self.past_day(30, 300)
            c.hukou_refs[q] = ("clean", "decoy")
            c.hukou_tags[q] = case.case_id
            case.evidence_extract = "hukou_registry"
        elif rule == "UNDECLARED_SPOUSE":
            male = bool(c.pop.male[q])
            r = c.outsider(lambda r: bool(c.pop.male[r]) != male and 22 <= c.age(r) <= 70)
            self.marriage_row(q, r, "clean", "decoy", case, "结婚", self.marriage_day(q, r))
        else:
            raise ValueError(rule)

    def d_exempt_vehicle(self, i: int) -> None:
        house, p = self.house_for(self.adult)
        vtype = ("摩托车", "低速货车", "三轮汽车", "残疾人专用车")[i % 4]
        case = self.decoy("exempt_vehicle", house, p, f"owns a {vtype} (exempt)")
        self.vehicle_row(p, "clean", "decoy", case, vtype, "正常")

    def d_vehicle_cancelled(self, i: int) -> None:
        house, p = self.house_for(self.adult)
        status = ("注销", "报废")[i % 2]
        case = self.decoy("vehicle_cancelled", house, p, f"小型汽车 status {status}")
        self.vehicle_row(p, "clean", "decoy", case, "小型汽车", status)

    def d_property_cancelled(self, i: int) -> None:
        house, p = self.house_for(self.adult)
        if i % 2 == 0:
            case = self.decoy(
                "property_cancelled", house, p, "one current 住宅 and one cancelled 住宅"
            )
            self.property_row(p, "clean", "decoy", None, "住宅", "现势", self.past_day(1000, 5000))
            self.property_row(p, "clean", "decoy", case, "住宅", "注销", self.past_day(100, 900))
        else:
            case = self.decoy("property_cancelled", house, p, "cancelled 商业 property")
            self.property_row(p, "clean", "decoy", case, "商业", "注销", self.past_day(100, 3000))

    def d_single_residence(self, i: int) -> None:
        house, p = self.house_for(self.adult)
        case = self.decoy("single_residence", house, p, "one current 住宅 only")
        self.property_row(p, "clean", "decoy", case, "住宅", "现势", self.past_day(100, 5000))

    def d_parking_or_homestead(self, i: int) -> None:
        house, p = self.house_for(self.adult)
        use = ("车位", "宅基地")[i % 2]
        case = self.decoy("parking_or_homestead", house, p, f"one 住宅 and a {use}")
        self.property_row(p, "clean", "decoy", None, "住宅", "现势", self.past_day(1000, 5000))
        self.property_row(p, "clean", "decoy", case, use, "现势", self.past_day(100, 900))

    def d_enterprise_closed(self, i: int) -> None:
        house, p = self.house_for(self.adult)
        status = ("注销", "吊销")[i % 2]
        case = self.decoy(
            "enterprise_closed", house, p, f"legal representative of a {status} enterprise"
        )
        self.enterprise_row(p, "clean", "decoy", case, status)

    def d_legal_person_shareholder(self, i: int) -> None:
        c = self.c
        house, p = self.house_for(self.adult)
        q = c.outsider(self.adult)
        credit = self.enterprise_row(q, "clean", "", None, "存续")
        case = self.decoy("legal_person_shareholder", house, p, "shareholder row typed 法人")
        self.shareholder_row(p, "clean", "decoy", case, credit, "法人")

    def d_business_closed(self, i: int) -> None:
        house, p = self.house_for(self.adult)
        status = ("注销", "吊销")[i % 2]
        case = self.decoy("business_closed", house, p, f"individual business {status}")
        self.business_row(p, "clean", "decoy", case, status)

    def d_state_owned_employer(self, i: int) -> None:
        house, p = self.house_for(self.working)
        case = self.decoy("state_owned_employer", house, p, "employed by a 国有企业")
        self.employee_row(p, "clean", "decoy", case, "国有企业", self.past_day(100, 5000), None)

    def d_employment_ended_before_benefits(self, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(self.working)
        c.set_start(house, ctx.last_pay_m - 10)
        first_day = int(month_start(house.first_m))
        end = first_day - int(self.rng.integers(15, 200))
        start = end - int(self.rng.integers(300, 3000))
        etype = ("机关", "事业单位")[i % 2]
        case = self.decoy(
            "employment_ended_before_benefits", house, p, f"{etype} employment ended {ds(end)}"
        )
        self.employee_row(p, "clean", "decoy", case, etype, start, end)

    def d_income_at_or_below_standard(self, i: int) -> None:
        c = self.c
        house, p = self.house_for(
            lambda p: c.age(p) >= 58, house_ok=lambda h: c.pop.hh_size[h] <= 3
        )
        std = self.std(house, low=True)
        exact = i % 2 == 0 and std == self.std(house)
        ratio = 1.0 if exact else float(self.rng.uniform(0.5, 0.8))
        amt = round(house.size * std * ratio) * 100
        note = f"pension {amt // 100} = {ratio:.2f} x standard {std:.0f} x {house.size} member(s)"
        case = self.decoy("income_at_or_below_standard", house, p, note)
        self.pension_rows(p, "clean", "decoy", case, "企业职工", amt)

    def d_resident_pension_only(self, i: int) -> None:
        ctx = self.ctx
        house, p = self.house_for(self.working)
        house.declared = 0
        house.recompute_amount()
        case = self.decoy("resident_pension_only", house, p, "城乡居民养老 contributions only")
        self.si_rows(
            p,
            "clean",
            "decoy",
            case,
            range(ctx.win_lo - 3, ctx.win_hi + 1),
            ("城乡居民养老",),
            20000,
            ctx.win_hi,
        )

    def d_contributions_stopped_before_window(self, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(self.working, house_ok=lambda h: c.pop.hh_size[h] >= 2)
        house.declared = 0
        house.recompute_amount()
        if i % 2 == 0:
            case = self.decoy(
                "contributions_stopped_before_window",
                house,
                p,
                f"employee contributions ended {ms(ctx.win_lo - 1)}",
            )
            self.si_rows(
                p,
                "clean",
                "decoy",
                case,
                range(ctx.win_lo - 9, ctx.win_lo),
                ("职工养老", "职工医疗"),
                450000,
                ctx.win_lo - 1,
            )
        else:
            last = ctx.win_lo - int(self.rng.integers(1, 8))
            case = self.decoy(
                "contributions_stopped_before_window",
                house,
                p,
                f"provident account 封存 since {ms(last)}",
            )
            self.provident_row(p, "clean", "decoy", case, "封存", 20000, last)

    def d_death_after_last_payment(self, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(lambda p: c.age(p) >= 40)
        dm = ctx.last_pay_m - 2 - i % 6
        death = self.day_in(dm)
        # the household leaves at the death (same month) or was already paid for the last time
        c.set_exit(house, dm if i % 2 == 0 else dm - 1)
        if i % 2:
            house.end = death
        if i % 3 == 0:
            c.pop.status[p] = STATUS_DEAD
            c.pop.status_date[p] = death
        when = "in the last paid month" if i % 2 == 0 else "the month after the last payment"
        case = self.decoy("death_after_last_payment", house, p, f"died {ds(death)}, {when}")
        self.death_cert(p, death, "clean", "decoy", case)

    def d_payment_in_exit_month(self, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(self.is_head)
        end_m = ctx.last_pay_m - 1 - i % 8
        c.set_exit(house, end_m, status=("退出", "停保")[i % 2])
        case = self.decoy(
            "payment_in_exit_month", house, p, f"last payment in the exit month {ms(end_m)}"
        )
        house.pay_tag = (end_m, 0, case.case_id)
        case.evidence_extract = "benefit_payments"

    def d_split_payment_equal_to_amount(self, i: int) -> None:
        ctx = self.ctx
        house, p = self.house_for(self.is_head)
        m = max(ctx.last_pay_m - 1 - i % 6, house.first_m)
        a = int(house.monthly * float(self.rng.uniform(0.3, 0.45)))
        house.override[m] = [a, house.monthly - a]
        case = self.decoy(
            "split_payment_equal_to_amount",
            house,
            p,
            f"{ms(m)} paid in two parts summing to the amount",
        )
        house.pay_tag = (m, 1, case.case_id)
        case.evidence_extract = "benefit_payments"

    def d_detention_before_benefits(self, i: int) -> None:
        c, ctx = self.c, self.ctx
        house, p = self.house_for(lambda p: 20 <= c.age(p) <= 65)
        c.set_start(house, ctx.last_pay_m - 10)
        first_day = int(month_start(house.first_m))
        end = first_day - int(self.rng.integers(10, 120))
        start = end - int(self.rng.integers(60, 900))
        case = self.decoy(
            "detention_before_benefits",
            house,
            p,
            f"released {ds(end)}, before the first benefit month",
        )
        self.detention_row(p, "clean", "decoy", case, start, end)

    def d_marriage_then_divorce(self, i: int) -> None:
        c = self.c
        house, p = self.house_for(self.spouse_free)
        male = bool(c.pop.male[p])
        q = c.outsider(lambda q: bool(c.pop.male[q]) != male and 24 <= c.age(q) <= 62)
        d1 = self.marriage_day(p, q)
        d2 = int(self.rng.integers(d1 + 30, self.ctx.as_of_days - 5))
        case = self.decoy("marriage_then_divorce", house, p, f"married {ds(d1)}, divorced {ds(d2)}")
        self.marriage_row(p, q, "clean", "decoy", case, "结婚", d1)
        self.marriage_row(p, q, "clean", "decoy", None, "离婚", d2)

    def d_spouse_in_household(self, i: int) -> None:
        c = self.c
        house, p = self.house_for(
            lambda p: int(c.pop.role[p]) == ROLE_HEAD and c.age(p) >= 24,
            house_ok=lambda h: bool(c.spouse_in_hh[h]),
        )
        q = next(m.pidx for m in house.members if m.relation == ROLE_SPOUSE)
        case = self.decoy("spouse_in_household", house, p, "married to the household's own 配偶")
        self.marriage_row(p, q, "clean", "decoy", case, "结婚", self.marriage_day(p, q), "decoy")

    def d_exited_and_active_household(self, i: int) -> None:
        c, ctx = self.c, self.ctx
        a, p = self.house_for(lambda p: 18 <= c.age(p) <= 85)
        b, _ = self.house_for(lambda p: True)
        mb = Member(p, ROLE_OTHER, c.pid(p), c.pname(p), link_kind="decoy")
        b.members.append(mb)
        b.recompute_amount()
        c.set_exit(b, ctx.last_pay_m - 3 - i % 6)
        note = f"member of active {a.hid} and of {b.hid} (退出 {ds(b.end)})"
        ca = self.decoy("exited_and_active_household", a, p, note)
        cb = self.decoy("exited_and_active_household", b, p, note)
        ma = next(m for m in a.members if m.pidx == p)
        ma.link_kind = "decoy"
        ma.tags.append(ca.case_id)
        mb.tags.append(cb.case_id)
        ca.evidence_extract = cb.evidence_extract = "recipients_members"


def district_std_table(year: int) -> dict[str, float]:
    """The standards used, for the manifest."""
    return {str(d): standard(d, year) for d in DISTRICTS}
