"""City-wide background registers (contract section 1 rates), drawn from non-recipients.

Recipients are kept out of every random draw, so that the only findings in the
city are the planted ones; their namesakes are not, so name-only matching
finds plenty of false hits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from relief_match.synth import entities as ent
from relief_match.synth.city import City
from relief_match.synth.fmt import NO_DATE, days_series, float_series, money_series, month_series
from relief_match.synth.people import ROLE_SPOUSE, STATUS_DEAD, STATUS_NORMAL
from relief_match.synth.spec import HUKOU_STATUS
from relief_match.synth.timeline import DISTRICTS, month_of_days

# rows (or persons) per person in hukou_registry
RATES = {
    "motor_vehicles": 0.42,
    "real_estate": 0.42,
    "enterprises": 0.05,
    "shareholders": 0.10,
    "individual_businesses": 0.067,
    "public_employees": 0.03,
    "si_persons": 0.23,
    "pension_persons": 0.10,
    "provident_fund_accounts": 0.17,
    "unemployment_benefits": 0.004,
    "detentions": 0.0005,
    "marriages": 0.03,
}


def _pick(rng: np.random.Generator, pool: np.ndarray, k: int, *, replace: bool) -> np.ndarray:
    if len(pool) == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    if not replace:
        k = min(k, len(pool))
    return np.sort(rng.choice(pool, size=k, replace=replace))


def _choice(
    rng: np.random.Generator, values: tuple[str, ...], p: list[float], n: int
) -> np.ndarray:
    pr = np.array(p) / np.sum(p)
    return np.array(values)[rng.choice(len(values), size=n, p=pr)]


class Background:
    """Draws the background rows of every register."""

    def __init__(self, city: City) -> None:
        self.c = city
        self.rng = city.rng
        self.pop = city.pop
        self.ctx = city.ctx
        pop = city.pop
        recipient = np.zeros(pop.n, dtype=bool)
        for h in city.houses:
            for m in h.members:
                recipient[m.pidx] = True
        self.recipient = recipient
        self.age = pop.age(self.ctx.as_of_days)
        alive = pop.status == STATUS_NORMAL
        nonrec = ~recipient
        self.adults = np.flatnonzero(nonrec & alive & (self.age >= 20) & (self.age <= 80))
        self.working = np.flatnonzero(nonrec & alive & (self.age >= 20) & (self.age <= 60))
        self.elderly = np.flatnonzero(
            nonrec & alive & ((self.age >= 60) | (~pop.male & (self.age >= 55)))
        )
        self.n = pop.n
        self.names = pop.name
        self.enterprise_credit: pl.Series = pl.Series([], dtype=pl.String)
        self.enterprise_name: pl.Series = pl.Series([], dtype=pl.String)

    def k(self, key: str) -> int:
        return round(RATES[key] * self.n)

    def ids(self, p: np.ndarray) -> pl.Series:
        return self.pop.id_no.gather(p)

    def nm(self, p: np.ndarray) -> pl.Series:
        return self.names.gather(p)

    def days_before(self, n: int, lo: int, hi: int) -> np.ndarray:
        return self.ctx.as_of_days - self.rng.integers(lo, hi, n)

    # ---------------------------------------------------------------- registers
    def hukou(self) -> None:
        c, pop = self.c, self.pop
        district = pop.district
        df = pl.DataFrame(
            {
                "id_no": pop.id_no,
                "name": pop.name,
                "sex": np.where(pop.male, "男", "女"),
                "birth_date": days_series(pop.birth),
                "hukou_no": pop.hukou_no.gather(pop.hh),
                "address": pop.hh_address.gather(pop.hh),
                "district_code": pl.Series(district).cast(pl.String),
                "status": np.array(HUKOU_STATUS)[pop.status],
                "status_date": days_series(pop.status_date),
            }
        )
        prot = np.zeros(pop.n, dtype=bool)
        prot[list(c.protected_people)] = True
        overrides = sorted(c.hukou_refs)
        tb = c.tables["hukou_registry"]
        # rows must be added before defects/links so that uid == person index
        pending_defects = []
        new_ids, new_names = [], []
        for p in overrides:
            diff, _ = c.hukou_refs[p]
            s, n, d = c.ref(p, diff, id_col="id_no", name_col="name")
            new_ids.append(s)
            new_names.append(n)
            pending_defects += [(p, *x) for x in d]
        if overrides:
            ids = df["id_no"].clone()
            names = df["name"].clone()
            ids.scatter(overrides, new_ids)
            names.scatter(overrides, new_names)
            df = df.with_columns(ids, names)
        uids = tb.add_frame(df, protected=prot)
        assert uids[0] == 0
        for p, col, kind, exp in pending_defects:
            tb.defect(p, col, kind, exp)
        rec = np.flatnonzero(self.recipient)
        plain = rec[~np.isin(rec, np.array(overrides, dtype=np.int64))]
        tb.link_many(plain, "resident", pop.id_no.gather(plain), "background")
        for p in overrides:
            diff, kind = c.hukou_refs[p]
            tb.link(p, "resident", c.pid(p), kind, diff)
        for p, cid in c.hukou_tags.items():
            tb.tag(cid, p)

    def enterprises(self) -> None:
        rng = self.rng
        k = self.k("enterprises")
        reps = _pick(rng, self.adults, k, replace=True)
        reps = reps[rng.permutation(len(reps))]
        district = np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), k)]
        serial = np.arange(k)
        credit = ent.credit_codes(serial, district, "91")
        names = ent.enterprise_names(rng, k, serial + 1)
        status = _choice(rng, ("存续", "在业", "注销", "吊销"), [55, 20, 17, 8], k)
        est = self.days_before(k, 100, 25 * 365)
        dereg = np.where(
            status == "注销",
            np.minimum(est + rng.integers(200, 5000, k), self.ctx.as_of_days - 1),
            NO_DATE,
        )
        df = pl.DataFrame(
            {
                "credit_code": credit,
                "enterprise_name": names,
                "enterprise_type": np.array(ent.ENT_TYPES)[
                    rng.choice(len(ent.ENT_TYPES), size=k, p=ent.ENT_TYPE_P)
                ],
                "legal_rep_name": self.nm(reps),
                "legal_rep_id_no": self.ids(reps),
                "registered_capital": float_series(
                    rng.choice([10, 30, 50, 100, 200, 500, 1000, 3000], k) * rng.uniform(0.5, 2, k),
                    2,
                ),
                "established_date": days_series(est),
                "status": status,
                "deregistered_date": days_series(dereg),
            }
        )
        self.c.tables["enterprises"].add_frame(df)
        self.enterprise_credit = credit
        self.enterprise_name = names

    def shareholders(self) -> None:
        rng = self.rng
        k = self.k("shareholders")
        ne = len(self.enterprise_credit)
        which = rng.integers(0, ne, k)
        legal = rng.random(k) < 0.1
        holders = _pick(rng, self.adults, k, replace=True)
        holders = holders[rng.permutation(len(holders))]
        other = rng.integers(0, ne, k)
        df = pl.DataFrame(
            {
                "credit_code": self.enterprise_credit.gather(which),
                "holder_name": pl.select(
                    pl.when(pl.lit(pl.Series(legal)))
                    .then(pl.lit(self.enterprise_name.gather(other)))
                    .otherwise(pl.lit(self.nm(holders)))
                ).to_series(),
                "holder_id_no": pl.select(
                    pl.when(pl.lit(pl.Series(legal)))
                    .then(pl.lit(self.enterprise_credit.gather(other)))
                    .otherwise(pl.lit(self.ids(holders)))
                ).to_series(),
                "holder_type": np.where(legal, "法人", "自然人"),
                "subscribed_capital": float_series(
                    rng.choice([1, 5, 10, 20, 50, 100], k) * rng.uniform(0.2, 3, k), 2
                ),
            }
        )
        self.c.tables["shareholders"].add_frame(df)

    def individual_businesses(self) -> None:
        rng = self.rng
        k = self.k("individual_businesses")
        ops = _pick(rng, self.adults, k, replace=True)
        ops = ops[rng.permutation(len(ops))]
        district = self.pop.district[ops]
        df = pl.DataFrame(
            {
                "credit_code": ent.credit_codes(np.arange(k) + 10**8, district, "92"),
                "business_name": ent.shop_names(rng, district),
                "operator_name": self.nm(ops),
                "operator_id_no": self.ids(ops),
                "industry": np.array(ent.INDUSTRIES)[rng.integers(0, len(ent.INDUSTRIES), k)],
                "established_date": days_series(self.days_before(k, 30, 20 * 365)),
                "status": _choice(rng, ("存续", "注销", "吊销"), [70, 22, 8], k),
            }
        )
        self.c.tables["individual_businesses"].add_frame(df)

    def vehicles(self) -> None:
        rng = self.rng
        k = self.k("motor_vehicles")
        owners = _pick(rng, self.adults, k, replace=True)
        owners = owners[rng.permutation(len(owners))]
        vtype = _choice(
            rng,
            (
                "小型汽车",
                "中型客车",
                "大型货车",
                "轻型货车",
                "摩托车",
                "低速货车",
                "三轮汽车",
                "残疾人专用车",
            ),
            [72, 1, 2, 6, 13, 3, 2.5, 0.5],
            k,
        )
        use = np.where(
            np.char.find(vtype.astype(str), "货车") >= 0,
            "货运",
            np.where(rng.random(k) < 0.1, "营运", "非营运"),
        )
        df = pl.DataFrame(
            {
                "plate_no": ent.plates(rng.permutation(k) * 13 + 7),
                "owner_id_no": self.ids(owners),
                "owner_name": self.nm(owners),
                "vehicle_type": vtype,
                "use_type": use,
                "registration_date": days_series(self.days_before(k, 10, 15 * 365)),
                "status": _choice(rng, ("正常", "注销", "报废", "被盗抢"), [85, 7, 7.5, 0.5], k),
            }
        )
        self.c.tables["motor_vehicles"].add_frame(df)

    def real_estate(self) -> None:
        rng = self.rng
        k = self.k("real_estate")
        owners = _pick(rng, self.adults, k, replace=True)
        owners = owners[rng.permutation(len(owners))]
        use = _choice(
            rng, ("住宅", "商业", "办公", "工业", "车位", "宅基地"), [74, 5, 2, 1, 11, 7], k
        )
        area_base = {"住宅": 95, "商业": 60, "办公": 120, "工业": 900, "车位": 13, "宅基地": 120}
        area = np.array([area_base[u] for u in use.tolist()]) * rng.uniform(0.5, 1.6, k)
        reg = self.days_before(k, 10, 20 * 365)
        district = self.pop.district[owners]
        years = month_of_days(reg) // 12
        df = pl.DataFrame(
            {
                "certificate_no": ent.property_cert_nos(rng.permutation(k), years),
                "owner_id_no": self.ids(owners),
                "owner_name": self.nm(owners),
                "property_use": use,
                "area_m2": float_series(area, 2),
                "location": ent.locations(rng, district),
                "district_code": pl.Series(district).cast(pl.String),
                "registration_date": days_series(reg),
                "status": _choice(rng, ("现势", "注销"), [90, 10], k),
                "share": np.where(rng.random(k) < 0.8, "1.00", "0.50"),
            }
        )
        self.c.tables["real_estate"].add_frame(df)

    def public_employees(self) -> pl.DataFrame:
        rng = self.rng
        k = self.k("public_employees")
        who = _pick(rng, self.working, k, replace=False)
        k = len(who)
        etype = _choice(rng, ("机关", "事业单位", "国有企业"), [35, 45, 20], k)
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
        who = _pick(rng, self.working, k, replace=False)
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
        who = _pick(rng, self.elderly, k, replace=False)
        k = len(who)
        ptype = _choice(rng, ("企业职工", "机关事业", "城乡居民"), [55, 10, 35], k)
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
        who = _pick(rng, self.working, k, replace=False)
        k = len(who)
        status = _choice(rng, ("正常", "封存", "销户"), [70, 25, 5], k)
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
        who = _pick(rng, self.working, k, replace=False)
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

    def detentions(self) -> None:
        rng = self.rng
        k = max(self.k("detentions"), 3)
        pool = self.working[self.pop.male[self.working] | (rng.random(len(self.working)) < 0.15)]
        who = _pick(rng, pool, k, replace=False)
        k = len(who)
        start = self.days_before(k, 20, 6 * 365)
        end = np.where(
            rng.random(k) < 0.45,
            NO_DATE,
            np.minimum(start + rng.integers(15, 1500, k), self.ctx.as_of_days - 1),
        )
        df = pl.DataFrame(
            {
                "id_no": self.ids(who),
                "name": self.nm(who),
                "start_date": days_series(start),
                "end_date": days_series(end),
                "facility": np.array(ent.FACILITIES)[rng.integers(0, len(ent.FACILITIES), k)],
            }
        )
        self.c.tables["detentions"].add_frame(df)

    def deaths(self) -> None:
        rng, pop = self.rng, self.pop
        c = self.c
        dead = np.flatnonzero((pop.status == STATUS_DEAD) & ~self.recipient)
        # deaths of namesakes and planted persons are written by the planter
        planted = np.array(sorted(c.protected_people), dtype=np.int64)
        dead = dead[~np.isin(dead, planted)]
        dead = dead[rng.random(len(dead)) < 0.92]
        k = len(dead)
        # death certificates from outside hospitals often lack the ID; only blank an ID
        # when name, sex, birth date and district still single the person out
        key = (
            pl.DataFrame({"n": pop.name, "s": pop.male, "b": pop.birth, "d": pop.district})
            .select(pl.struct("n", "s", "b", "d").is_duplicated())
            .to_series()
            .to_numpy()
        )
        blank = (rng.random(k) < 0.12) & ~key[dead]
        ids = self.ids(dead)
        ids = pl.select(
            pl.when(pl.lit(pl.Series(blank)))
            .then(pl.lit(None, dtype=pl.String))
            .otherwise(pl.lit(ids))
        ).to_series()
        death = pop.status_date[dead]
        years = month_of_days(death) // 12
        df = pl.DataFrame(
            {
                "certificate_no": pl.Series(pop.district[dead]).cast(pl.String)
                + pl.Series(years).cast(pl.String)
                + pl.Series(rng.permutation(k) + 100000).cast(pl.String).str.zfill(7),
                "id_no": ids,
                "name": self.nm(dead),
                "sex": np.where(pop.male[dead], "男", "女"),
                "birth_date": days_series(pop.birth[dead]),
                "death_date": days_series(death),
                "district_code": pl.Series(pop.district[dead]).cast(pl.String),
            }
        )
        self.c.tables["death_certificates"].add_frame(df)

    def marriages(self) -> None:
        rng, pop, ctx = self.rng, self.pop, self.ctx
        c = self.c
        k = self.k("marriages")
        protected = np.zeros(pop.n, dtype=bool)
        protected[list(c.protected_people)] = True
        ok = ~self.recipient & ~protected
        # couples of the same hukou household, registered within the last 25 years
        sp = np.flatnonzero(pop.role == ROLE_SPOUSE)
        head = pop.hh_start[pop.hh[sp]]
        good = ok[sp] & ok[head]
        sp, head = sp[good], head[good]
        later = np.maximum(pop.birth[sp], pop.birth[head])
        reg = later + (rng.uniform(22, 32, len(sp)) * 365.25).astype(np.int64)
        recent = (reg > ctx.as_of_days - 25 * 365) & (reg < ctx.as_of_days - 5)
        sp, head, reg = sp[recent], head[recent], reg[recent]
        take = min(len(sp), int(k * 0.75))
        sel = (
            np.sort(rng.choice(len(sp), size=take, replace=False))
            if take
            else np.zeros(0, dtype=np.int64)
        )
        sp, head, reg = sp[sel], head[sel], reg[sel]
        male_first = pop.male[head]
        a = np.where(male_first, head, sp)
        b = np.where(male_first, sp, head)
        # divorces: pairs of non-recipients married then divorced
        nd = max(k - take, 2)
        pool = np.flatnonzero(
            ok & (pop.status == STATUS_NORMAL) & (self.age >= 25) & (self.age <= 70)
        )
        men = pool[pop.male[pool]]
        women = pool[~pop.male[pool]]
        da = rng.choice(men, nd) if len(men) else np.zeros(0, dtype=np.int64)
        db = rng.choice(women, nd) if len(women) else np.zeros(0, dtype=np.int64)
        nd = min(len(da), len(db))
        d1 = ctx.as_of_days - rng.integers(400, 7000, nd)
        d1 = np.maximum(d1, np.maximum(pop.birth[da], pop.birth[db]) + 22 * 365)
        d2 = np.minimum(d1 + rng.integers(100, 3000, nd), ctx.as_of_days - 2)
        pa = np.concatenate([a, da, da])
        pb = np.concatenate([b, db, db])
        rt = np.concatenate([np.full(len(a), "结婚"), np.full(nd, "结婚"), np.full(nd, "离婚")])
        rd = np.concatenate([reg, d1, d2])
        df = pl.DataFrame(
            {
                "party_a_id_no": self.ids(pa),
                "party_a_name": self.nm(pa),
                "party_b_id_no": self.ids(pb),
                "party_b_name": self.nm(pb),
                "reg_type": rt,
                "reg_date": days_series(rd),
            }
        )
        c.tables["marriage_registrations"].add_frame(df)

    def steps(self) -> list[tuple[str, Callable[[], object]]]:
        """(extract, draw) in order; each draw fills one table, which can then be written
        and dropped before the next one is drawn (this bounds memory at city scale)."""
        return [
            ("hukou_registry", self.hukou),
            ("enterprises", self.enterprises),
            ("shareholders", self.shareholders),
            ("individual_businesses", self.individual_businesses),
            ("motor_vehicles", self.vehicles),
            ("real_estate", self.real_estate),
            ("public_employees", self.public_employees),
            ("social_insurance", self.social_insurance),
            ("pension_payments", self.pensions),
            ("provident_fund_accounts", self.provident),
            ("unemployment_benefits", self.unemployment),
            ("detentions", self.detentions),
            ("death_certificates", self.deaths),
            ("marriage_registrations", self.marriages),
        ]

    def expected_rows(self) -> dict[str, int]:
        """Rough background row counts, known before drawing (for the delivery plan)."""
        n = self.n
        return {
            "hukou_registry": n,
            "enterprises": self.k("enterprises"),
            "shareholders": self.k("shareholders"),
            "individual_businesses": self.k("individual_businesses"),
            "motor_vehicles": self.k("motor_vehicles"),
            "real_estate": self.k("real_estate"),
            "public_employees": self.k("public_employees"),
            "social_insurance": round(self.k("si_persons") * 11.5 * 1.9),
            "pension_payments": min(self.k("pension_persons"), len(self.elderly)) * 12,
            "provident_fund_accounts": self.k("provident_fund_accounts"),
            "unemployment_benefits": max(self.k("unemployment_benefits"), 3),
            "detentions": max(self.k("detentions"), 3),
            "death_certificates": round(0.012 * n),
            "marriage_registrations": round(self.k("marriages") * 1.25),
        }
