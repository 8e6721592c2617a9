"""Decoys: the near misses of design.md section 8, which a correct run does not flag."""

from __future__ import annotations

from relief_match.synth.cases import DECOY_KINDS, NAMESAKE_RULES, NAMESAKE_TYPO_DIFFS
from relief_match.synth.evidence_rows import EvidenceRows
from relief_match.synth.fmt import ds, ms
from relief_match.synth.people import (
    ROLE_HEAD,
    ROLE_OTHER,
    ROLE_SPOUSE,
    STATUS_DEAD,
    STATUS_MOVED,
)
from relief_match.synth.recipients import Case, Member, RHouse
from relief_match.synth.timeline import (
    month_start,
)


class Decoys(EvidenceRows):
    """Plants the decoys of every kind."""

    def decoy_all(self, per_kind: int) -> None:
        for rule in NAMESAKE_RULES:
            for i in range(per_kind):
                self.d_namesake(rule, i)
            for i in range(per_kind):
                self.d_namesake(rule, i, typo=True)
        for kind in DECOY_KINDS:
            fn = getattr(self, f"d_{kind}")
            for i in range(per_kind):
                fn(i)

    def decoy(self, kind: str, house: RHouse, p: int, note: str, diff: str = "clean") -> Case:
        return self.c.add_case(
            "decoy", DECOY_KINDS.get(kind, kind), house, p, diff, f"near_miss={kind}; {note}"
        )

    def d_namesake(self, rule: str, i: int, *, typo: bool = False) -> None:
        """A non-recipient namesake's record. With ``typo`` the namesake also
        shares the recipient's birth date and ID region, and the record's ID
        is mistyped (:data:`NAMESAKE_TYPO_DIFFS` in turn), so that the
        recipient is an ID near miss too: only a matcher that knows the whole
        population sees that the record is the namesake's."""
        c, ctx = self.c, self.ctx
        base = self.working if rule in ("PUBLIC_EMPLOYEE", "UNDECLARED_EMPLOYMENT") else self.adult
        # (a hukou row is the namesake's only record there: a mistyped one would
        # leave nothing to tell the two apart)
        typo = typo and rule != "HUKOU_MOVED"
        house, p = self.house_for(
            lambda p: base(p) and not c.pop.minority[p] and (not typo or c.pid(p)[6:8] == "19")
        )
        q = c.namesake_of(p, same_birth=typo)
        diff = NAMESAKE_TYPO_DIFFS[i % len(NAMESAKE_TYPO_DIFFS)] if typo else "clean"
        kind = "namesake_id_typo" if typo else "namesake"
        case = c.add_case(
            "decoy", rule, house, p, diff,
            f"near_miss={kind}; the record belongs to {c.pid(q)[:6]}…, born {ds(int(c.pop.birth[q]))}",
        )  # fmt: skip
        if rule == "DECEASED":
            death = self.past_day(40, 600)
            c.pop.status[q] = STATUS_DEAD
            c.pop.status_date[q] = death
            if not typo:
                diff = "fuzzy_no_id" if i % 2 else "clean"
            case.difficulty = diff
            self.death_cert(q, death, diff, "decoy", case)
        elif rule == "VEHICLE":
            self.vehicle_row(q, diff, "decoy", case, "小型汽车", "正常")
        elif rule == "REAL_ESTATE":
            self.property_row(q, diff, "decoy", case, "商业", "现势", self.past_day(30, 3000))
        elif rule == "ENTERPRISE":
            self.enterprise_row(q, diff, "decoy", case, "存续")
        elif rule == "INDIVIDUAL_BUSINESS":
            self.business_row(q, diff, "decoy", case, "存续")
        elif rule == "PUBLIC_EMPLOYEE":
            self.employee_row(q, diff, "decoy", case, "机关", self.past_day(400, 5000), None)
        elif rule == "INCOME_OVER_STANDARD":
            self.pension_rows(q, diff, "decoy", case, "机关事业", 680000)
        elif rule == "UNDECLARED_EMPLOYMENT":
            house.declared = 0
            house.recompute_amount()
            self.si_rows(
                q,
                diff,
                "decoy",
                case,
                range(ctx.win_lo, ctx.win_hi + 1),
                ("职工养老",),
                520000,
                ctx.win_hi,
            )
        elif rule == "INCARCERATED":
            self.detention_row(q, diff, "decoy", case, self.past_day(30, 300), None)
        elif rule == "HUKOU_MOVED":
            c.pop.status[q] = STATUS_MOVED
            c.pop.status_date[q] = self.past_day(30, 300)
            c.hukou_refs[q] = ("clean", "decoy")
            c.hukou_tags[q] = case.case_id
            case.evidence_extract = "hukou_registry"
        elif rule == "UNDECLARED_SPOUSE":
            male = bool(c.pop.male[q])
            r = c.outsider(lambda r: bool(c.pop.male[r]) != male and 22 <= c.age(r) <= 70)
            self.marriage_row(q, r, diff, "decoy", case, "结婚", self.marriage_day(q, r))
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
