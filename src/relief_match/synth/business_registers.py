"""Background rows of the asset registers: enterprises, shareholders, individual businesses, vehicles, real estate."""

from __future__ import annotations

import numpy as np
import polars as pl

from relief_match.synth import entities as ent
from relief_match.synth.background_base import BackgroundBase, pick_sorted, weighted_choice
from relief_match.synth.fmt import NO_DATE, days_series, float_series
from relief_match.synth.spec import VEHICLE_TYPES
from relief_match.synth.timeline import DISTRICTS, month_of_days


class BusinessRegisters(BackgroundBase):
    """Draws enterprise, shareholder, business, vehicle and real-estate rows."""

    def enterprises(self) -> None:
        rng = self.rng
        k = self.k("enterprises")
        reps = pick_sorted(rng, self.adults, k, replace=True)
        reps = reps[rng.permutation(len(reps))]
        district = np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), k)]
        serial = np.arange(k)
        credit = ent.credit_codes(serial, district, "91")
        names = ent.enterprise_names(rng, k, serial + 1)
        status = weighted_choice(rng, ("存续", "在业", "注销", "吊销"), [55, 20, 17, 8], k)
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
        holders = pick_sorted(rng, self.adults, k, replace=True)
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
        ops = pick_sorted(rng, self.adults, k, replace=True)
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
                "status": weighted_choice(rng, ("存续", "注销", "吊销"), [70, 22, 8], k),
            }
        )
        self.c.tables["individual_businesses"].add_frame(df)

    def vehicles(self) -> None:
        rng = self.rng
        k = self.k("motor_vehicles")
        owners = pick_sorted(rng, self.adults, k, replace=True)
        owners = owners[rng.permutation(len(owners))]
        vtype = weighted_choice(
            rng,
            VEHICLE_TYPES,
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
                "status": weighted_choice(
                    rng, ("正常", "注销", "报废", "被盗抢"), [85, 7, 7.5, 0.5], k
                ),
            }
        )
        self.c.tables["motor_vehicles"].add_frame(df)

    def real_estate(self) -> None:
        rng = self.rng
        k = self.k("real_estate")
        owners = pick_sorted(rng, self.adults, k, replace=True)
        owners = owners[rng.permutation(len(owners))]
        use = weighted_choice(
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
                "status": weighted_choice(rng, ("现势", "注销"), [90, 10], k),
                "share": np.where(rng.random(k) < 0.8, "1.00", "0.50"),
            }
        )
        self.c.tables["real_estate"].add_frame(df)
