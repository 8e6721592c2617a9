"""Reference findings of a generated city, computed from its delivery and true links.

An independent, deliberately simple implementation of design.md section 8 that
uses the answer key's ``links.csv`` instead of record linkage. The tests use
it to prove that the answer key is complete: the findings it derives from the
delivered files are exactly the planted cases. Meant for small cities.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections import defaultdict
from pathlib import Path

import polars as pl

from relief_match.synth.spec import EXTRACTS, Extract

HOUSEHOLD_LEVEL = ("PAID_AFTER_EXIT", "OVERPAID", "REAL_ESTATE", "INCOME_OVER_STANDARD")
EMPLOYEE_TYPES = ("职工养老", "职工医疗", "失业", "工伤")
EXEMPT_VEHICLES = ("摩托车", "低速货车", "三轮汽车", "残疾人专用车")
_FW = str.maketrans("０１２３４５６７８９．，", "0123456789.,")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def read_extract(path: Path, ex: Extract) -> pl.DataFrame:
    """Read one delivered file as strings with English column names and ``_row``."""
    raw = path.read_bytes()
    if raw[:2] == b"PK":
        import fastexcel

        df = fastexcel.read_excel(raw).load_sheet(0, dtypes="string").to_polars()
    elif raw[:4] == b"PAR1":
        df = pl.read_parquet(io.BytesIO(raw))
        df = df.select([pl.col(c).cast(pl.String) for c in df.columns])
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        df = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            infer_schema=False,
            truncate_ragged_lines=True,
        )
    names = {c.zh: c.name for c in ex.columns} | {c.name: c.name for c in ex.columns}
    df = df.rename({c: names[c] for c in df.columns if c in names})
    df = df.select([c for c in df.columns if c in ex.col_names])
    return df.with_row_index("_row", offset=2).with_columns(pl.col("_row").cast(pl.Int64))


def _date(v: str | None) -> dt.date | None:
    if v is None:
        return None
    s = v.strip().translate(_FW)
    if not s:
        return None
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?: 00:00:00)?", s)
    if m:
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if re.fullmatch(r"\d{8}", s):
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    if re.fullmatch(r"\d{4,5}(\.0)?", s):
        return _EXCEL_EPOCH + dt.timedelta(days=int(float(s)))
    return None


def _month(v: str | None) -> int | None:
    if v is None or not v.strip():
        return None
    s = v.strip()
    m = re.fullmatch(r"(\d{4})[-年]?(\d{1,2})月?", s)
    if not m or not 1 <= int(m[2]) <= 12:
        d = _date(s)
        return None if d is None else d.year * 12 + d.month - 1
    return int(m[1]) * 12 + int(m[2]) - 1


def _money(v: str | None) -> float | None:
    if v is None or not str(v).strip():
        return None
    s = str(v).strip().translate(_FW).replace(",", "").replace("元", "")
    try:
        return float(s)
    except ValueError:
        return None


def _m_of(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def findings(out_dir: Path) -> pl.DataFrame:
    """Findings implied by design.md section 8 for a generated city.

    Returns a frame with ``rule_id, household_id, member_id_no, amount_at_risk``
    (member empty for household-level checks, amount only for exact checks).
    """
    out_dir = Path(out_dir)
    key = out_dir / "answer_key"
    manifest = json.loads((key / "manifest.json").read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(manifest["as_of"])
    as_of_m = _m_of(as_of)
    win = set(range(as_of_m - 6, as_of_m))
    std = manifest["low_income_standard"]
    ratio = float(manifest["provident_to_wage_ratio"])
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
    data: dict[str, list[dict[str, str | None]]] = {}
    for ex in EXTRACTS:
        f = manifest["files"][ex.name]["file"]
        df = read_extract(out_dir / "delivery" / f, ex)
        rows = [r for r in df.iter_rows(named=True) if (ex.name, r["_row"]) not in quarantined]
        data[ex.name] = rows

    def who(ex: str, r: dict[str, str | None], role: str) -> str | None:
        return link.get((ex, int(r["_row"]), role))  # type: ignore[arg-type]

    # households, members, payments
    hh: dict[str, dict[str, object]] = {}
    for r in data["recipients_households"]:
        hid = (r["household_id"] or "").strip()
        hh[hid] = {
            "status": (r["status"] or "").strip(),
            "end": _date(r["end_date"]),
            "monthly": _money(r["monthly_amount"]) or 0.0,
            "declared": _money(r["declared_monthly_income"]),
            "n": int(float(r["member_count"] or 1)),
            "district": (r["district_code"] or "").strip(),
        }
    members: dict[str, set[str]] = defaultdict(set)  # household -> persons
    households_of: dict[str, set[str]] = defaultdict(set)
    head: dict[str, str] = {}
    for r in data["recipients_members"]:
        p = who("recipients_members", r, "member")
        hid = (r["household_id"] or "").strip()
        if p is None or hid not in hh:
            continue
        members[hid].add(p)
        households_of[p].add(hid)
        if (r["relation"] or "").strip() == "户主":
            head[hid] = p
    pay: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for r in data["benefit_payments"]:
        m, a = _month(r["pay_month"]), _money(r["amount"])
        if m is not None and a is not None:
            pay[(r["household_id"] or "").strip()][m] += a

    out: list[tuple[str, str, str, float | None]] = []

    def add(rule: str, hid: str, p: str, amount: float | None = None) -> None:
        out.append((rule, hid, "" if rule in HOUSEHOLD_LEVEL else p, amount))

    def overlaps(hid: str, lo: dt.date, hi: dt.date | None) -> bool:
        for m in pay[hid]:
            ms = dt.date(m // 12, m % 12 + 1, 1)
            me = dt.date((m + 1) // 12, (m + 1) % 12 + 1, 1) - dt.timedelta(days=1)
            if lo <= me and (hi is None or hi >= ms):
                return True
        return False

    # DECEASED
    death: dict[str, int] = {}
    for r in data["death_certificates"]:
        p, d = who("death_certificates", r, "deceased"), _date(r["death_date"])
        if p and d:
            death[p] = min(death.get(p, 10**9), _m_of(d))
    for r in data["hukou_registry"]:
        p, d = who("hukou_registry", r, "resident"), _date(r["status_date"])
        if p and d and (r["status"] or "").strip() == "死亡":
            death[p] = min(death.get(p, 10**9), _m_of(d))
    for p, dm in death.items():
        for hid in households_of.get(p, ()):
            after = sum(a for m, a in pay[hid].items() if m > dm)
            if after > 0:
                add("DECEASED", hid, p, after)
    # DUPLICATE_ENROLLMENT
    for p, hids in households_of.items():
        active = [h for h in hids if hh[h]["status"] == "在保"]
        if len(active) >= 2:
            for h in active:
                add("DUPLICATE_ENROLLMENT", h, p)
    # PAID_AFTER_EXIT, OVERPAID
    for hid, info in hh.items():
        end = info["end"]
        if isinstance(end, dt.date):
            amt = sum(a for m, a in pay[hid].items() if m > _m_of(end))
            if amt > 0:
                add("PAID_AFTER_EXIT", hid, head.get(hid, ""), amt)
        elif info["status"] in ("停保", "退出"):
            amt = sum(a for m, a in pay[hid].items() if m in win)
            if amt > 0:
                add("PAID_AFTER_EXIT", hid, head.get(hid, ""), amt)
        monthly = float(info["monthly"])  # type: ignore[arg-type]
        excess = sum(a - monthly for a in pay[hid].values() if a > monthly + 0.005)
        if excess > 0:
            add("OVERPAID", hid, head.get(hid, ""), excess)

    def person_rows(ex: str, role: str) -> list[tuple[str, dict[str, str | None]]]:
        res = []
        for r in data[ex]:
            p = who(ex, r, role)
            if p is not None and p in households_of:
                res.append((p, r))
        return res

    for p, r in person_rows("motor_vehicles", "owner"):
        if (r["status"] or "").strip() == "正常" and (
            r["vehicle_type"] or ""
        ).strip() not in EXEMPT_VEHICLES:
            for h in households_of[p]:
                add("VEHICLE", h, p)
    homes: dict[str, int] = defaultdict(int)
    commercial: set[str] = set()
    for p, r in person_rows("real_estate", "owner"):
        d = _date(r["registration_date"])
        if (r["status"] or "").strip() != "现势" or d is None or d > as_of:
            continue
        use = (r["property_use"] or "").strip()
        for h in households_of[p]:
            if use == "住宅":
                homes[h] += 1
            elif use in ("商业", "办公", "工业"):
                commercial.add(h)
    for h in set(commercial) | {h for h, k in homes.items() if k >= 2}:
        add("REAL_ESTATE", h, "")
    ent_status = {
        (r["credit_code"] or "").replace(" ", "").upper(): (r["status"] or "").strip()
        for r in data["enterprises"]
    }
    for p, r in person_rows("enterprises", "legal_rep"):
        if (r["status"] or "").strip() in ("存续", "在业"):
            for h in households_of[p]:
                add("ENTERPRISE", h, p)
    for p, r in person_rows("shareholders", "shareholder"):
        cc = (r["credit_code"] or "").replace(" ", "").upper()
        if (r["holder_type"] or "").strip() == "自然人" and ent_status.get(cc) in ("存续", "在业"):
            for h in households_of[p]:
                add("ENTERPRISE", h, p)
    for p, r in person_rows("individual_businesses", "operator"):
        if (r["status"] or "").strip() == "存续":
            for h in households_of[p]:
                add("INDIVIDUAL_BUSINESS", h, p)
    for p, r in person_rows("public_employees", "employee"):
        s = _date(r["start_date"])
        if (r["employer_type"] or "").strip() in ("机关", "事业单位") and s is not None:
            for h in households_of[p]:
                if overlaps(h, s, _date(r["end_date"])):
                    add("PUBLIC_EMPLOYEE", h, p)
    for p, r in person_rows("detentions", "detainee"):
        s = _date(r["start_date"])
        if s is not None:
            for h in households_of[p]:
                if overlaps(h, s, _date(r["end_date"])):
                    add("INCARCERATED", h, p)
    for p, r in person_rows("hukou_registry", "resident"):
        d = _date(r["status_date"])
        if (r["status"] or "").strip() in ("迁出", "注销") and d is not None and d <= as_of:
            for h in households_of[p]:
                if hh[h]["status"] == "在保":
                    add("HUKOU_MOVED", h, p)
    # income, employment
    wage: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    employee_months: dict[str, set[int]] = defaultdict(set)
    for p, r in person_rows("social_insurance", "insured"):
        m, w = _month(r["contribution_month"]), _money(r["wage_base"])
        if m is None or (r["insurance_type"] or "").strip() not in EMPLOYEE_TYPES:
            continue
        employee_months[p].add(m)
        wage[p][m] = max(wage[p][m], w or 0.0)
    provident: dict[str, list[tuple[str, float, int | None]]] = defaultdict(list)
    for p, r in person_rows("provident_fund_accounts", "account_holder"):
        provident[p].append(
            (
                (r["status"] or "").strip(),
                _money(r["monthly_deposit"]) or 0.0,
                _month(r["last_deposit_month"]),
            )
        )
    pension: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for p, r in person_rows("pension_payments", "pensioner"):
        m = _month(r["pay_month"])
        if m is not None:
            pension[p][m] += _money(r["amount"]) or 0.0
    unemp: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    for p, r in person_rows("unemployment_benefits", "beneficiary"):
        a, b = _month(r["start_month"]), _month(r["end_month"])
        if a is not None and b is not None:
            unemp[p].append((a, b, _money(r["monthly_amount"]) or 0.0))

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

    for hid, info in hh.items():
        ps = members[hid]
        monthly_income = sum(sum(income(p, m) for m in win) / len(win) for p in ps)
        per_head = monthly_income / max(int(info["n"]), 1)  # type: ignore[call-overload]
        # the as_of year's standard (nearest known year), as rules/params.yaml says
        years = sorted(std, key=int)
        year = max((y for y in years if int(y) <= as_of.year), default=years[0], key=int)
        standard = float(std[year][info["district"]])
        if per_head > standard:
            add("INCOME_OVER_STANDARD", hid, "")
        if not info["declared"]:
            for p in ps:
                if employee_months[p] & win or any(
                    st == "正常" and last in win for st, _, last in provident[p]
                ):
                    add("UNDECLARED_EMPLOYMENT", hid, p)

    # UNDECLARED_SPOUSE
    def party(r: dict[str, str | None], side: str) -> str:
        p = who("marriage_registrations", r, f"party_{side}")
        if p is not None:
            return p
        return (r[f"party_{side}_id_no"] or "").strip().upper()

    events: dict[tuple[str, str], list[tuple[dt.date, str]]] = defaultdict(list)
    for r in data["marriage_registrations"]:
        d = _date(r["reg_date"])
        if d is not None:
            events[(party(r, "a"), party(r, "b"))].append((d, (r["reg_type"] or "").strip()))
    for (pa, pb), evs in events.items():
        evs.sort()
        last_marriage = max((d for d, t in evs if t == "结婚"), default=None)
        if last_marriage is None or any(t == "离婚" and d > last_marriage for d, t in evs):
            continue
        for p, other in ((pa, pb), (pb, pa)):
            for h in households_of.get(p, ()):
                if hh[h]["status"] == "在保" and other not in members[h]:
                    add("UNDECLARED_SPOUSE", h, p)
    df = pl.DataFrame(
        out,
        schema={
            "rule_id": pl.String,
            "household_id": pl.String,
            "member_id_no": pl.String,
            "amount_at_risk": pl.Float64,
        },
        orient="row",
    )
    return df.unique(["rule_id", "household_id", "member_id_no"], keep="first", maintain_order=True)
