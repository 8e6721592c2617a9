"""Background rows of the employment and income registers: public employees, social insurance,
pensions, provident fund, unemployment benefits."""

from __future__ import annotations

import numpy as np
import polars as pl

from relief_match.synth import entities as ent
from relief_match.synth.background_base import BackgroundBase, pick_sorted, weighted_choice
from relief_match.synth.fmt import NO_DATE, days_series, money_series, month_series


class EmploymentRegisters(BackgroundBase):
    """Draws public-employee, social-insurance, pension, provident-fund and unemployment rows."""

    def public_employees(self) -> pl.DataFrame:
        rng = self.rng
        k = self.k("public_employees")
        who = pick_sorted(rng, self.working, k, replace=False)
        k = len(who)
        etype = weighted_choice(rng, ("机关", "事业单位", "国有企业"), [35, 45, 20], k)
        name = np.where(
            etype == "机关",
            np.array(ent.GOV_BODIES)[rng.integers(0, len(ent.GOV_BODIES), k)],
            np.where(
                etype == "事业单位",
                np.array(ent.INSTITUTIONS)[rng.integers(0, len(ent.INSTITUTIONS), k)],
                np.array(ent.SOES)[rng.integers(0, len(ent.SOES), k)],
            ),
        )
        start = self.days_before(k, 30, 30 * 365)
        start = np.maximum(start, self.pop.birth[who] + 22 * 365)
        ended = rng.random(k) < 0.1
        end = np.where(
            ended, np.minimum(start + rng.integers(200, 4000, k), self.ctx.as_of_days - 1), NO_DATE
        )
        df = pl.DataFrame(
            {
                "id_no": self.ids(who),
                "name": self.nm(who),
                "employer_name": name,
                "employer_type": etype,
                "start_date": days_series(start),
                "end_date": days_series(end),
            }
        )
        self.c.tables["public_employees"].add_frame(df)
        return df

    def social_insurance(self) -> None:
        rng, ctx = self.rng, self.ctx
        k = self.k("si_persons")
        who = pick_sorted(rng, self.working, k, replace=False)
        k = len(who)
        patterns = (
            ("职工养老",),
            ("职工养老", "职工医疗"),
            ("职工养老", "职工医疗", "失业"),
            ("职工养老", "职工医疗", "失业", "工伤"),
            ("城乡居民养老",),
        )
        pat = rng.choice(len(patterns), size=k, p=[0.3, 0.33, 0.2, 0.05, 0.12])
        plen = np.array([len(x) for x in patterns])[pat]
        # months: most contribute all 12 months, some joined or left during the year
        last = np.where(
            rng.random(k) < 0.88, ctx.last_pay_m, ctx.last_pay_m - rng.integers(1, 11, k)
        )
        first = np.where(
            rng.random(k) < 0.85, ctx.as_of_m - 12, ctx.as_of_m - 12 + rng.integers(1, 11, k)
        )
        first = np.minimum(first, last)
        nmon = last - first + 1
        per = nmon * plen
        row_p = np.repeat(np.arange(k), per)
        off = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
        month = first[row_p] + off // plen[row_p]
        type_pos = off % plen[row_p]
        type_names = ("职工养老", "职工医疗", "失业", "工伤", "城乡居民养老")
        type_table = np.zeros((len(patterns), 4), dtype=np.int64)
        for i, pt in enumerate(patterns):
            type_table[i, : len(pt)] = [type_names.index(t) for t in pt]
        itype = pl.Series(type_names).gather(type_table[pat[row_p], type_pos])
        wage = np.maximum(np.exp(rng.normal(8.6, 0.4, k)), 4588).astype(np.int64) * 100
        resident = pat == len(patterns) - 1
        wage = np.where(resident, rng.choice([10000, 20000, 30000, 50000], k), wage)
        ne = len(self.enterprise_credit)
        emp = rng.integers(0, ne, k)
        emp_name = self.enterprise_name.gather(emp[row_p])
        emp_credit = self.enterprise_credit.gather(emp[row_p])
        res_row = pl.Series(resident[row_p])
        df = pl.DataFrame(
            {
                "id_no": self.ids(who[row_p]),
                "name": self.nm(who[row_p]),
                "employer_name": pl.select(
                    pl.when(pl.lit(res_row)).then(pl.lit("")).otherwise(pl.lit(emp_name))
                ).to_series(),
                "employer_credit_code": pl.select(
                    pl.when(pl.lit(res_row)).then(pl.lit("")).otherwise(pl.lit(emp_credit))
                ).to_series(),
                "insurance_type": itype,
                "contribution_month": month_series(month),
                "wage_base": money_series(wage[row_p]),
            }
        )
        self.c.tables["social_insurance"].add_frame(df)

    def pensions(self) -> None:
        rng, ctx = self.rng, self.ctx
        k = self.k("pension_persons")
        who = pick_sorted(rng, self.elderly, k, replace=False)
        k = len(who)
        ptype = weighted_choice(rng, ("企业职工", "机关事业", "城乡居民"), [55, 10, 35], k)
        amt = np.where(
            ptype == "企业职工",
            np.maximum(rng.normal(3200, 800, k), 1500),
            np.where(
                ptype == "机关事业",
                np.maximum(rng.normal(6500, 1500, k), 3000),
                rng.uniform(180, 400, k),
            ),
        )
        cents = (amt * 100).astype(np.int64)
        row_p = np.repeat(np.arange(k), 12)
        month = ctx.as_of_m - 12 + np.tile(np.arange(12), k)
        df = pl.DataFrame(
            {
                "id_no": self.ids(who[row_p]),
                "name": self.nm(who[row_p]),
                "pension_type": ptype[row_p],
                "pay_month": month_series(month),
                "amount": money_series(cents[row_p]),
            }
        )
        self.c.tables["pension_payments"].add_frame(df)

    def provident(self) -> None:
        rng, ctx = self.rng, self.ctx
        k = self.k("provident_fund_accounts")
        who = pick_sorted(rng, self.working, k, replace=False)
        k = len(who)
        status = weighted_choice(rng, ("正常", "封存", "销户"), [70, 25, 5], k)
        last = np.where(
            status == "正常",
            ctx.last_pay_m - (rng.random(k) < 0.2).astype(np.int64),
            ctx.last_pay_m - rng.integers(2, 60, k),
        )
        dep = (np.maximum(rng.normal(1100, 450, k), 200)).astype(np.int64) * 100
        ne = len(self.enterprise_name)
        df = pl.DataFrame(
            {
                "account_no": pl.Series(441300000000 + rng.permutation(k) * 3 + 10**8).cast(
                    pl.String
                ),
                "id_no": self.ids(who),
                "name": self.nm(who),
                "employer_name": self.enterprise_name.gather(rng.integers(0, ne, k)),
                "status": status,
                "monthly_deposit": money_series(dep),
                "last_deposit_month": month_series(last),
                "balance": money_series(
                    np.where(status == "销户", 0, dep * rng.integers(3, 150, k))
                ),
            }
        )
        self.c.tables["provident_fund_accounts"].add_frame(df)

    def unemployment(self) -> None:
        rng, ctx = self.rng, self.ctx
        k = max(self.k("unemployment_benefits"), 3)
        who = pick_sorted(rng, self.working, k, replace=False)
        k = len(who)
        start = ctx.as_of_m - rng.integers(1, 36, k)
        end = start + rng.integers(2, 24, k)
        df = pl.DataFrame(
            {
                "id_no": self.ids(who),
                "name": self.nm(who),
                "start_month": month_series(start),
                "end_month": month_series(end),
                "monthly_amount": money_series(rng.integers(1750, 2050, k) * 100),
            }
        )
        self.c.tables["unemployment_benefits"].add_frame(df)
