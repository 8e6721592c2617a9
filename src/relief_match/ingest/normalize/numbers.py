"""Amounts of money (元 and 万元), integers and decimals."""

from __future__ import annotations

import polars as pl

from relief_match.ingest.normalize.pipeline import (
    FULLWIDTH_NUM_MAP,
    INVISIBLE_REPAIR,
    Steps,
    fast_then_slow,
    folded,
    is_placeholder,
    outputs,
    pipeline,
    repair_kinds,
    standard_fast,
)

_f = pl.field  # the hidden fields of the pipeline struct

_NUMBER_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_CURRENCY_PREFIX_RE = r"^(?:[¥￥]|RMB|CNY|人民币)\s*"
_YUAN_SUFFIX_RE = r"\s*(?:元|圆|RMB|CNY)$"
_WAN_SUFFIX_RE = r"\s*万$"
_GROUPING_RE = r"[,\s']"
_EXPONENT_RE = "[eE]"
#: Amounts must stay below this (in the column's unit): beyond 13 integer
#: digits a float no longer holds every cent, and no extract has such sums.
MONEY_LIMIT = 1e13


def _parse_float(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains(_NUMBER_RE)).then(text.cast(pl.Float64, strict=False))


def _float_fast() -> Steps:
    """Fast path for numbers that polars parses as they are (``_num``)."""
    return [
        {"_num": _f("_raw").cast(pl.Float64, strict=False)},
        {"_fast": _f("_num").is_finite().fill_null(False)},
    ]


def _money_fast() -> Steps:
    """Fast path for amounts that polars parses as they are (``_num``), not in
    scientific notation and below :data:`MONEY_LIMIT`."""
    num = _f("_num")
    return [
        {"_num": _f("_raw").cast(pl.Float64, strict=False)},
        {
            "_fast": (
                num.is_finite() & (num.abs() < MONEY_LIMIT) & ~_f("_raw").str.contains(_EXPONENT_RE)
            ).fill_null(False)
        },
    ]


def _round_money(x: pl.Expr) -> pl.Expr:
    return x.round(2, mode="half_away_from_zero")


def normalize_money(expr: pl.Expr, unit: str = "yuan") -> pl.Expr:
    """Normalise an amount of money to a Float64 rounded to 2 decimals.

    ``unit="yuan"`` (default): ``1,234.50``, ``1234.5元``, ``¥1234.5``,
    ``￥1234.5``, full-width digits, ``1.5万``/``1.5万元`` (-> 15000.0).
    ``unit="wan"`` (万元 columns, value stays in 万元): ``50``, ``50万``,
    ``50万元`` -> 50.0, ``500000元`` -> 50.0. Negative amounts are kept (the
    validator decides). Placeholders are ``missing``; ``0`` is a value.

    Repair kinds: ``thousands_sep``, ``currency_suffix`` (a currency sign or
    unit word removed), ``fullwidth``, ``wan_unit`` (value converted between
    元 and 万元). Invalid: ``scientific notation`` (``1e9``, ``1.5E+03``: no
    department exports amounts so, it is a spreadsheet's rendering of a figure
    that lost its digits), ``too many digits`` (13 or more integer digits in the
    column's unit, e.g. ``99999999999999999999``: no amount is that large and
    a float cannot hold it to the cent), ``not a number``.
    """
    if unit not in ("yuan", "wan"):
        raise ValueError(f"unit must be 'yuan' or 'wan', got {unit!r}")
    cur, yuan, wan, num = _f("_cur"), _f("_yuan"), _f("_wan"), _f("_num")
    if unit == "yuan":
        converted = wan
        scaled = pl.when(wan).then(num * 10_000).otherwise(num)
        unit_word = cur | yuan
    else:
        converted = yuan & ~wan
        scaled = pl.when(converted).then(num / 10_000).otherwise(num)
        unit_word = cur | yuan | wan

    def full(raw: pl.Expr) -> pl.Expr:
        t = _f("_t")
        a = t.str.replace(_CURRENCY_PREFIX_RE, "")
        b = a.str.replace(_YUAN_SUFFIX_RE, "")
        c = b.str.replace(_WAN_SUFFIX_RE, "")
        steps: Steps = [
            folded(FULLWIDTH_NUM_MAP),
            {
                "_cur": t.str.contains(_CURRENCY_PREFIX_RE),
                "_yuan": a.str.contains(_YUAN_SUFFIX_RE),
                "_wan": b.str.contains(_WAN_SUFFIX_RE),
                "_sep": c.str.contains(_GROUPING_RE),
                "_num": _parse_float(c.str.replace_all(_GROUPING_RE, "")),
                "_sci": c.str.contains(_EXPONENT_RE),
            },
            {"_v": _round_money(scaled)},
        ]
        missing = is_placeholder(t)
        v, sci = _f("_v"), _f("_sci")
        valid = (v.is_finite() & ~sci & (v.abs() < MONEY_LIMIT)).fill_null(False)
        error = (
            pl.when(sci & _f("_num").is_not_null())
            .then(pl.lit("scientific notation"))
            .when(v.is_finite())
            .then(pl.lit("too many digits"))
            .otherwise(pl.lit("not a number"))
        )
        repairs = repair_kinds(
            (_f("_sep"), "thousands_sep"),
            (unit_word, "currency_suffix"),
            (_f("_fw"), "fullwidth"),
            (converted, "wan_unit"),
            INVISIBLE_REPAIR,
        )
        final = {
            "value": pl.when(~missing & valid).then(v),
            **outputs(missing, valid, repairs, error),
        }
        return pipeline(raw, steps, final)

    return fast_then_slow(expr, _money_fast(), standard_fast(_round_money(num)), full)


def _int_full(raw: pl.Expr) -> pl.Expr:
    t, c = _f("_t"), _f("_c")
    steps: Steps = [
        folded(FULLWIDTH_NUM_MAP),
        {"_c": t.str.replace_all(_GROUPING_RE, "")},
    ]
    missing = is_placeholder(t)
    value = pl.when(c.str.contains(r"^[+-]?[0-9]+(?:\.0*)?$")).then(
        c.str.replace(r"\.0*$", "").cast(pl.Int64, strict=False)
    )
    repairs = repair_kinds(
        (t.str.contains(_GROUPING_RE), "thousands_sep"), (_f("_fw"), "fullwidth"), INVISIBLE_REPAIR
    )
    final = {
        "value": pl.when(~missing).then(value),
        **outputs(missing, value.is_not_null(), repairs, pl.lit("not an integer")),
    }
    return pipeline(raw, steps, final)


def normalize_int(expr: pl.Expr) -> pl.Expr:
    """Normalise an integer column to Int64.

    Folds full-width digits (repair ``fullwidth``) and removes thousands
    separators (``thousands_sep``); ``3.0`` / ``3.00`` (a spreadsheet number)
    is the integer 3 without a repair. ``3.5`` is ``invalid``
    (``not an integer``); placeholders are ``missing``; ``0`` is a value.
    """
    v = _f("_v")
    fast_steps: Steps = [
        {"_v": _f("_raw").cast(pl.Int64, strict=False)},
        {"_fast": v.is_not_null()},
    ]
    return fast_then_slow(expr, fast_steps, standard_fast(v), _int_full)


def _float_full(raw: pl.Expr) -> pl.Expr:
    t, v = _f("_t"), _f("_v")
    pct = t.str.ends_with("%")
    a = t.str.strip_suffix("%").str.strip_chars()
    num = _parse_float(a.str.replace_all(_GROUPING_RE, ""))
    steps: Steps = [
        folded(FULLWIDTH_NUM_MAP),
        {"_v": pl.when(pct).then(num / 100).otherwise(num)},
    ]
    missing = is_placeholder(t)
    valid = v.is_finite().fill_null(False)
    repairs = repair_kinds(
        (a.str.contains(_GROUPING_RE), "thousands_sep"),
        (_f("_fw"), "fullwidth"),
        (pct, "percent"),
        INVISIBLE_REPAIR,
    )
    final = {
        "value": pl.when(~missing & valid).then(v),
        **outputs(missing, valid, repairs, pl.lit("not a number")),
    }
    return pipeline(raw, steps, final)


def normalize_float(expr: pl.Expr) -> pl.Expr:
    """Normalise a decimal column to Float64 (no rounding).

    Folds full-width digits (``fullwidth``), removes thousands separators
    (``thousands_sep``), reads a trailing ``%`` as a fraction (``50%`` -> 0.5,
    repair ``percent``). Placeholders are ``missing``; ``0`` is a value;
    anything else that is not a finite number is ``invalid`` (``not a number``).
    """
    num = _f("_num")
    return fast_then_slow(expr, _float_fast(), standard_fast(num), _float_full)
