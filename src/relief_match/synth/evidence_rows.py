"""The register rows that are the evidence of a planted case or a decoy (one method per register)."""

from __future__ import annotations

import numpy as np

from relief_match.synth import entities as ent
from relief_match.synth.fmt import ds, mo, ms
from relief_match.synth.planter_base import PlanterBase
from relief_match.synth.recipients import Case
from relief_match.synth.timeline import (
    days_to_date,
)


class EvidenceRows(PlanterBase):
    """Adds evidence rows to the city's registers."""

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
