"""Planted cases: one method per check, each giving its case its own recipient household
so that it triggers exactly the findings recorded for it (design.md section 8)."""

from __future__ import annotations

import numpy as np

from relief_match.synth.cases import HOUSEHOLD_MULTIPLIER, RULE_DIFFICULTIES, RULES
from relief_match.synth.evidence_rows import EvidenceRows
from relief_match.synth.fmt import ds, mo, ms
from relief_match.synth.people import (
    ROLE_OTHER,
    ROLE_PARENT,
    ROLE_SIBLING,
    STATUS_CANCELLED,
    STATUS_DEAD,
    STATUS_MOVED,
)
from relief_match.synth.recipients import Member
from relief_match.synth.timeline import (
    month_start,
)


class PlantedCases(EvidenceRows):
    """Plants the cases of every check."""

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

    def p_vehicle(self, diff: str, i: int) -> None:
        house, p = self.house_for(self.adult, diff)
        vtype = ("小型汽车", "小型汽车", "轻型货车", "中型客车", "小型汽车", "大型货车")[i % 6]
        case = self.c.add_case("planted", "VEHICLE", house, p, diff, f"owns a {vtype}")
        self.vehicle_row(p, diff, "planted", case, vtype, "正常")

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

    def p_individual_business(self, diff: str, i: int) -> None:
        house, p = self.house_for(self.adult, diff)
        case = self.c.add_case(
            "planted", "INDIVIDUAL_BUSINESS", house, p, diff, "operates an active business"
        )
        self.business_row(p, diff, "planted", case, "存续")

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

    def p_undeclared_spouse(self, diff: str, i: int) -> None:
        c = self.c
        house, p = self.house_for(self.spouse_free, diff)
        male = bool(c.pop.male[p])
        q = c.outsider(lambda q: bool(c.pop.male[q]) != male and 24 <= c.age(q) <= 62)
        case = c.add_case(
            "planted", "UNDECLARED_SPOUSE", house, p, diff, "married to a non-member, no divorce"
        )
        self.marriage_row(p, q, diff, "planted", case, "结婚", self.marriage_day(p, q))
