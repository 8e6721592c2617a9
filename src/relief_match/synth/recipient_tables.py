"""The three civil-affairs extracts of a synthetic city, built from its recipient houses."""

from __future__ import annotations

import numpy as np
import polars as pl

from relief_match.synth.city import City
from relief_match.synth.fmt import days_series, ds, mo, money_series, month_series
from relief_match.synth.people import (
    ROLE_HEAD,
)
from relief_match.synth.spec import RELATIONS


def build_recipient_tables(city: City) -> None:
    """recipients_households, recipients_members and benefit_payments from the houses."""
    th = city.tables["recipients_households"]
    tm = city.tables["recipients_members"]
    tp = city.tables["benefit_payments"]
    houses = city.houses
    hh_rows = pl.DataFrame(
        {
            "household_id": [h.hid for h in houses],
            "benefit_type": [h.benefit_type for h in houses],
            "district_code": [str(h.district) for h in houses],
            "township": [h.township for h in houses],
            "address": [h.address for h in houses],
            "status": [h.status for h in houses],
            "start_date": [ds(h.start) for h in houses],
            "end_date": [ds(h.end) for h in houses],
            "monthly_amount": [mo(h.monthly) for h in houses],
            "declared_monthly_income": [mo(h.declared) for h in houses],
            "member_count": [str(h.size) for h in houses],
        }
    )
    th.add_frame(hh_rows, protected=np.array([h.protected for h in houses]))

    # members
    pop = city.pop
    rows_hid, rows_p, rows_rel, rows_id, rows_name, prot = [], [], [], [], [], []
    for h in houses:
        for m in h.members:
            rows_hid.append(h.hid)
            rows_p.append(m.pidx)
            rows_rel.append(RELATIONS[m.relation])
            rows_id.append(m.id_str)
            rows_name.append(m.name_str)
            prot.append(h.protected)
    p_arr = np.array(rows_p, dtype=np.int64)
    df = pl.DataFrame(
        {
            "household_id": rows_hid,
            "id_no": rows_id,
            "name": rows_name,
            "sex": np.where(pop.male[p_arr], "男", "女"),
            "birth_date": days_series(pop.birth[p_arr]),
            "relation": rows_rel,
        }
    )
    uids = tm.add_frame(df, protected=np.array(prot))
    k = 0
    for h in houses:
        for m in h.members:
            uid = int(uids[k])
            k += 1
            for col, kind, exp in m.defects:
                tm.defect(uid, col, kind, exp)
            tm.link(uid, "member", city.pid(m.pidx), m.link_kind, m.link_diff)
            for t in m.tags:
                tm.tag(t, uid)

    # payments: regular schedule, vectorised; overridden months added row by row
    first = np.array([h.first_m for h in houses])
    last = np.array([h.last_m for h in houses])
    n_m = np.maximum(last - first + 1, 0)
    hidx = np.repeat(np.arange(len(houses)), n_m)
    offs = np.arange(int(n_m.sum())) - np.repeat(np.cumsum(n_m) - n_m, n_m)
    month = first[hidx] + offs
    cents = np.zeros(len(month), dtype=np.int64)
    for y in np.unique(month // 12).tolist():
        sel = month // 12 == y
        by_house = np.array([h.amount_for_year(int(y)) for h in houses], dtype=np.int64)
        cents[sel] = by_house[hidx[sel]]
    head_id = []
    for h in houses:
        head = next((m for m in h.members if m.relation == ROLE_HEAD), h.members[0])
        head_id.append(city.pid(head.pidx))
    head_s = pl.Series(head_id, dtype=pl.String)
    hid_s = pl.Series([h.hid for h in houses], dtype=pl.String)
    prot_h = np.array([h.protected for h in houses])
    drop = np.zeros(len(month), dtype=bool)
    over_idx = [h.idx for h in houses if h.override or h.pay_tag]
    row_of: dict[tuple[int, int], int] = {}
    if over_idx:
        sel = np.flatnonzero(np.isin(hidx, np.array(over_idx)))
        row_of = {(int(hidx[i]), int(month[i])): int(i) for i in sel}
        for hi in over_idx:
            for mo_ in houses[hi].override:
                if (hi, mo_) in row_of:
                    drop[row_of[(hi, mo_)]] = True
    keep = ~drop
    reg = pl.DataFrame(
        {
            "household_id": hid_s.gather(hidx[keep]),
            "pay_month": month_series(month[keep]),
            "amount": money_series(cents[keep]),
            "payee_id_no": head_s.gather(hidx[keep]),
        }
    )
    uids = tp.add_frame(reg, protected=prot_h[hidx[keep]])
    tp.link_many(uids, "payee", head_s.gather(hidx[keep]), "background")
    kept_uid = np.full(len(month), -1)
    kept_uid[keep] = uids
    for h in houses:
        tagged = False
        for pm in sorted(h.override):
            for j, c in enumerate(h.override[pm]):
                uid = tp.add_row(
                    {
                        "household_id": h.hid,
                        "pay_month": f"{pm // 12:04d}-{pm % 12 + 1:02d}",
                        "amount": mo(c),
                        "payee_id_no": head_id[h.idx],
                    },
                    protected=h.protected,
                )
                tp.link(uid, "payee", head_id[h.idx], "background", "clean")
                if h.pay_tag and h.pay_tag[:2] == (pm, j):
                    tp.tag(h.pay_tag[2], uid)
                    tagged = True
        if h.pay_tag and not tagged:
            tm_, _, cid = h.pay_tag
            tp.tag(cid, int(kept_uid[row_of[(h.idx, tm_)]]))
