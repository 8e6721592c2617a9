"""Background rows of the registers about persons: hukou, detentions, deaths, marriages."""

from __future__ import annotations

import numpy as np
import polars as pl

from relief_match.synth import entities as ent
from relief_match.synth.background_base import BackgroundBase, pick_sorted
from relief_match.synth.fmt import NO_DATE, days_series
from relief_match.synth.people import ROLE_SPOUSE, STATUS_DEAD, STATUS_NORMAL
from relief_match.synth.spec import HUKOU_STATUS
from relief_match.synth.timeline import month_of_days


class PersonRegisters(BackgroundBase):
    """Draws hukou, detention, death and marriage rows."""

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

    def detentions(self) -> None:
        rng = self.rng
        k = max(self.k("detentions"), 3)
        pool = self.working[self.pop.male[self.working] | (rng.random(len(self.working)) < 0.15)]
        who = pick_sorted(rng, pool, k, replace=False)
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
