"""Value-level defects of contract section 3, injected into background rows.

Each kind has an *expected* outcome for the job:

- ``repaired``: the value can be normalised into a valid one; the row is used.
- ``quarantined``: the row cannot be used and must be rejected with a reason.
- ``kept``: the row is used as delivered; the value is flagged (an invalid or
  missing ID kept for fuzzy linking, an undetectable homophone, whitespace
  around an enumeration, an ID contradicting the birth date), neither
  repaired nor quarantined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from relief_match.synth import ids as idmod
from relief_match.synth import names as nm
from relief_match.synth.spec import Extract

EXCEL_EPOCH = dt.date(1899, 12, 30)

# kind -> (column types it applies to, expected outcome)
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "id_15digit": (("id_no",), "repaired"),
    "id_lower_x": (("id_no",), "repaired"),
    "id_fullwidth": (("id_no",), "repaired"),
    "id_space": (("id_no",), "repaired"),
    "id_hyphen": (("id_no",), "repaired"),
    "id_tab": (("id_no",), "repaired"),
    "id_typo": (("id_no",), "kept"),
    "id_transposed": (("id_no",), "kept"),
    "id_placeholder": (("id_no",), "kept"),
    "id_empty": (("id_no",), "kept"),
    "id_birth_conflict": (("birth",), "kept"),
    "name_traditional": (("name",), "repaired"),
    "name_space": (("name",), "repaired"),
    "name_dot_variant": (("name",), "repaired"),
    "name_note": (("name",), "repaired"),
    "name_homophone": (("name",), "kept"),
    "name_pinyin": (("name",), "kept"),
    "name_placeholder": (("name",), "kept"),
    "date_slash": (("date",), "repaired"),
    "date_compact": (("date",), "repaired"),
    "date_cjk": (("date",), "repaired"),
    "date_dot": (("date",), "repaired"),
    "date_excel_serial": (("date_xlsx",), "repaired"),
    "date_impossible": (("date",), "quarantined"),
    "month_compact": (("month",), "repaired"),
    "month_cjk": (("month",), "repaired"),
    "month_impossible": (("month",), "quarantined"),
    "money_thousands": (("money",), "repaired"),
    "money_yuan_suffix": (("money",), "repaired"),
    "money_fullwidth": (("money",), "repaired"),
    "money_wan_suffix": (("wan",), "repaired"),
    "sex_digit": (("sex",), "repaired"),
    "sex_letter": (("sex",), "repaired"),
    "enum_spaces": (("sex", "enum"), "kept"),
    "enum_unknown": (("sex", "enum"), "quarantined"),
    "credit_lowercase": (("credit",), "repaired"),
    "credit_space": (("credit",), "repaired"),
}
ROW_KINDS: dict[str, str] = {
    "duplicate_row": "quarantined",
    "blank_row": "quarantined",
    "totals_row": "quarantined",
    "ragged_row": "quarantined",
}
FILE_KINDS: dict[str, str] = {"wrong_extension": "repaired", "empty_file": "kept"}

ALL_KINDS: tuple[str, ...] = (*KINDS, *ROW_KINDS, *FILE_KINDS)

# column types whose values a typed parquet file stores as non-strings
TYPED_IN_PARQUET = ("date", "money", "wan", "float", "int")


def expected_of(kind: str) -> str:
    """Expected outcome of a defect kind."""
    if kind in KINDS:
        return KINDS[kind][1]
    if kind in ROW_KINDS:
        return ROW_KINDS[kind]
    if kind in FILE_KINDS:
        return FILE_KINDS[kind]
    raise KeyError(kind)


@dataclass(frozen=True)
class Target:
    column: str
    kind: str


def targets(ex: Extract, *, typed_parquet: bool, xlsx: bool) -> list[Target]:
    """(column, kind) pairs that can be injected into a file of this extract."""
    out: list[Target] = []
    has_birth = "birth_date" in ex.col_names
    for col in ex.columns:
        ctype = col.type
        if typed_parquet and ctype in TYPED_IN_PARQUET:
            continue
        for kind, (types, _) in KINDS.items():
            if kind == "id_birth_conflict":
                if col.name == "birth_date" and has_birth:
                    out.append(Target(col.name, kind))
                continue
            if kind == "date_excel_serial":
                if ctype == "date" and xlsx:
                    out.append(Target(col.name, kind))
                continue
            if ctype in types:
                out.append(Target(col.name, kind))
    return out


# ------------------------------------------------------------------ transforms


def _date_parts(v: str) -> tuple[str, str, str] | None:
    if len(v) != 10 or v[4] != "-" or v[7] != "-":
        return None
    return v[:4], v[5:7], v[8:]


def _t_date(kind: str, v: str, rng: np.random.Generator) -> str | None:
    parts = _date_parts(v)
    if parts is None:
        return None
    y, m, d = parts
    if kind == "date_slash":
        return f"{y}/{int(m)}/{int(d)}"
    if kind == "date_compact":
        return f"{y}{m}{d}"
    if kind == "date_cjk":
        return f"{y}年{int(m)}月{int(d)}日"
    if kind == "date_dot":
        return f"{y}.{m}.{d}"
    if kind == "date_excel_serial":
        return str((dt.date(int(y), int(m), int(d)) - EXCEL_EPOCH).days)
    if kind == "date_impossible":
        return (f"{y}-02-30", f"{y}-04-31", f"{y}-13-{d}", f"{y}-06-31")[int(rng.integers(0, 4))]
    raise ValueError(kind)


def _t_month(kind: str, v: str, rng: np.random.Generator) -> str | None:
    if len(v) != 7 or v[4] != "-":
        return None
    y, m = v[:4], v[5:]
    if kind == "month_compact":
        return f"{y}{m}"
    if kind == "month_cjk":
        return f"{y}年{int(m)}月"
    if kind == "month_impossible":
        return f"{y}-13"
    raise ValueError(kind)


def _t_money(kind: str, v: str, rng: np.random.Generator) -> str | None:
    try:
        x = float(v)
    except ValueError:
        return None
    if kind == "money_thousands":
        return f"{x:,.2f}" if x >= 1000 else None
    if kind == "money_yuan_suffix":
        s = f"{x:.2f}".rstrip("0").rstrip(".")
        return s + "元"
    if kind == "money_fullwidth":
        return idmod.to_fullwidth(v)
    if kind == "money_wan_suffix":
        s = f"{x:.2f}".rstrip("0").rstrip(".")
        return s + ("万元" if rng.random() < 0.5 else "万")
    raise ValueError(kind)


_UNKNOWN = ("待定", "9", "其它状态", "??", "未知类型")


def _t_enum(kind: str, v: str, rng: np.random.Generator, *, sex: bool) -> str | None:
    if kind == "sex_digit":
        return {"男": "1", "女": "2"}.get(v)
    if kind == "sex_letter":
        return {"男": "M", "女": "F"}.get(v)
    if kind == "enum_spaces":
        return (f" {v} ", f"{v} ", f"  {v}")[int(rng.integers(0, 3))]
    if kind == "enum_unknown":
        return "X" if sex else _UNKNOWN[int(rng.integers(0, len(_UNKNOWN)))]
    raise ValueError(kind)


def _t_id(kind: str, v: str, rng: np.random.Generator) -> str | None:
    if not idmod.id_is_valid(v):
        return None
    if kind == "id_15digit":
        return idmod.to_fifteen(v)
    if kind == "id_lower_x":
        return v[:-1] + "x" if v.endswith("X") else None
    if kind == "id_fullwidth":
        return idmod.to_fullwidth(v)
    if kind == "id_space":
        return idmod.with_separators(v, " ")
    if kind == "id_hyphen":
        return idmod.with_separators(v, "-")
    if kind == "id_tab":
        return v[:6] + "\t" + v[6:]
    if kind == "id_typo":
        return idmod.mistype_digit(v, rng)
    if kind == "id_transposed":
        return idmod.transpose_digits(v, rng)
    if kind == "id_empty":
        return ""
    if kind == "id_placeholder":
        return ("无", "/", "0", "000000000000000000", "不详", "-")[int(rng.integers(0, 6))]
    raise ValueError(kind)


def _t_credit(kind: str, v: str, rng: np.random.Generator) -> str | None:
    if len(v) != 18:
        return None
    if kind == "credit_lowercase":
        low = v.lower()
        return low if low != v else None
    if kind == "credit_space":
        return v[:8] + " " + v[8:]
    raise ValueError(kind)


def _t_birth_conflict(v: str, rng: np.random.Generator) -> str | None:
    parts = _date_parts(v)
    if parts is None:
        return None
    d = dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    shift = int(rng.integers(1, 800)) * (1 if rng.random() < 0.5 else -1)
    return (d + dt.timedelta(days=shift)).isoformat()


def transform(kind: str, ctype: str, v: str | None, rng: np.random.Generator) -> str | None:
    """The damaged form of ``v``; None when the kind does not apply to this value."""
    if v is None or v == "":
        return None
    if kind.startswith("id_") and kind != "id_birth_conflict":
        return _t_id(kind, v, rng)
    if kind == "id_birth_conflict":
        return _t_birth_conflict(v, rng)
    if kind.startswith("name_"):
        return nm.damage_name(v, kind, rng)
    if kind.startswith("date_"):
        return _t_date(kind, v, rng)
    if kind.startswith("month_"):
        return _t_month(kind, v, rng)
    if kind.startswith("money_"):
        return _t_money(kind, v, rng)
    if kind.startswith(("sex_", "enum_")):
        return _t_enum(kind, v, rng, sex=ctype == "sex")
    if kind.startswith("credit_"):
        return _t_credit(kind, v, rng)
    raise ValueError(kind)


_PRECONDITION: dict[str, Callable[[pl.Series], pl.Series]] = {
    "name_dot_variant": lambda s: s.str.contains("·", literal=True),
    "id_lower_x": lambda s: s.str.ends_with("X"),
    "money_thousands": lambda s: s.str.len_chars() >= 7,
}


@dataclass
class Injected:
    """Defects injected into one table (uids are row positions of the frame)."""

    uids: list[int]
    columns: list[str]
    kinds: list[str]
    serial_cells: list[tuple[int, str]]


def inject(
    df: pl.DataFrame,
    ex: Extract,
    protected: np.ndarray,
    rate: float,
    rng: np.random.Generator,
    *,
    typed_parquet: bool,
    xlsx: bool,
    must_cover: bool,
) -> tuple[pl.DataFrame, Injected]:
    """Inject value defects into about ``rate`` of the unprotected rows.

    With ``must_cover`` every applicable kind is injected at least once (when
    the table has enough rows), so that a small city carries every kind.
    """
    res = Injected([], [], [], [])
    elig = np.flatnonzero(~protected)
    if rate <= 0 or len(elig) == 0:
        return df, res
    tg = targets(ex, typed_parquet=typed_parquet, xlsx=xlsx)
    if not tg:
        return df, res
    n_def = int(rng.binomial(len(elig), rate))
    counts = np.zeros(len(tg), dtype=np.int64)
    if must_cover and n_def < len(tg):
        n_def = min(len(tg), len(elig))
    if n_def >= len(tg):
        counts += 1
        counts += rng.multinomial(n_def - len(tg), np.full(len(tg), 1 / len(tg)))
    elif n_def > 0:
        counts[rng.choice(len(tg), size=n_def, replace=False)] = 1
    used = np.zeros(df.height, dtype=bool)
    used[protected] = True
    updates: dict[str, tuple[list[int], list[str]]] = {}
    ctypes = {c.name: c.type for c in ex.columns}

    def take(column: str, kind: str, r: int, new: str) -> None:
        """Record one injected defect (the row is not used again)."""
        used[r] = True
        rows, values = updates.setdefault(column, ([], []))
        rows.append(r)
        values.append(new)
        res.uids.append(r)
        res.columns.append(column)
        res.kinds.append(kind)
        if kind == "date_excel_serial":
            res.serial_cells.append((r, column))

    for t, cnt in zip(tg, counts.tolist(), strict=True):
        if cnt == 0:
            continue
        got = 0
        col = df[t.column]
        for _attempt in range(6):
            cand = np.unique(elig[rng.integers(0, len(elig), cnt * 3 + 8)])
            cand = cand[~used[cand]]
            if len(cand) == 0:
                continue
            cand = cand[rng.permutation(len(cand))]
            vals = col.gather(cand).to_list()
            for r, v in zip(cand.tolist(), vals, strict=True):
                new = transform(t.kind, ctypes[t.column], v, rng)
                if new is None or new == v:
                    continue
                take(t.column, t.kind, r, new)
                got += 1
                if got >= cnt:
                    break
            if got >= cnt:
                break
        pre = _PRECONDITION.get(t.kind)
        if got < cnt and pre is not None:
            # rare values: search the whole column once
            ok = col.is_not_null() & pre(col)
            cand = np.flatnonzero(ok.to_numpy() & ~used)
            cand = cand[rng.permutation(len(cand))][: cnt - got]
            for r, v in zip(cand.tolist(), col.gather(cand).to_list(), strict=True):
                new = transform(t.kind, ctypes[t.column], v, rng)
                if new is None or new == v:
                    continue
                take(t.column, t.kind, r, new)
    if updates:
        new_cols = []
        for c, (rows, values) in updates.items():
            s = df[c].clone()
            s.scatter(rows, values)
            new_cols.append(s)
        df = df.with_columns(new_cols)
    return df, res
