"""Organisation and place codes: 统一社会信用代码 (GB 32100) and district codes."""

from __future__ import annotations

import polars as pl

from relief_match.ingest.normalize.pipeline import (
    CODE_JUNK_RE,
    FULLWIDTH_CODE_MAP,
    FULLWIDTH_NUM_MAP,
    FULLWIDTH_RE,
    INVISIBLE_REPAIR,
    Steps,
    fast_then_slow,
    folded,
    has_invisible,
    is_placeholder,
    outputs,
    per_distinct,
    pipeline,
    repair_kinds,
    standard_fast,
    visible,
)

_f = pl.field  # the hidden fields of the pipeline struct

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Each code character -> the base-34 digit whose value is its alphabet index.
_USCC_AS_DIGIT = {
    c: d for c, d in zip(_USCC_ALPHABET, "0123456789ABCDEFGHIJKLMNOPQRSTU", strict=True) if c != d
}


def _uscc_check_char(c: pl.Expr) -> pl.Expr:
    """GB 32100 check character of an 18-character code (17 significant).

    The check is ``31 - sum(index(c_i) * 3**i) mod 31``. Reversing the 17
    characters and reading them in base 34 (34 = 3 mod 31) gives
    ``sum(index(c_i) * 34**i)``, the same sum modulo 31; it is read in three
    chunks so that it fits in 64 bits, weighted by 34**11 = 13 and 34**5 = 26
    (mod 31). Null unless the characters are in the code alphabet.
    """
    r = c.str.slice(0, 17).str.reverse().str.replace_many(_USCC_AS_DIGIT)
    parts = [r.str.slice(0, 6), r.str.slice(6, 6), r.str.slice(12, 5)]
    p0, p1, p2 = (p.str.to_integer(base=34, strict=False) % 31 for p in parts)
    total = (p0 * 13 + p1 * 26 + p2) % 31
    index = (31 - total) % 31
    char = index.replace_strict(
        dict(enumerate(_USCC_ALPHABET)), default=None, return_dtype=pl.String
    )
    return pl.when(c.str.contains(f"^[{_USCC_ALPHABET}]{{18}}$")).then(char)


def _credit_code_full(raw: pl.Expr) -> pl.Expr:
    s = visible(_f("_raw")).str.strip_chars()
    t = s.str.replace_many(FULLWIDTH_CODE_MAP)
    u = t.str.replace_all(CODE_JUNK_RE, "")
    c = _f("_c")
    steps: Steps = [
        {
            "_c": u.str.to_uppercase(),
            "_fw": s.str.contains(FULLWIDTH_RE),
            "_ws": u.str.len_bytes() != t.str.len_bytes(),
            "_lc": u.str.contains("[a-z]"),
            "_inv": has_invisible(_f("_raw")),
        },
        {
            "_missing": is_placeholder(c, ("0",)) | c.str.contains("^0+$"),
            "_chars_ok": c.str.contains(f"^[{_USCC_ALPHABET}]*$"),
            "_valid": (c.str.slice(17, 1) == _uscc_check_char(c)).fill_null(False),
        },
    ]
    error = (
        pl.when(~_f("_chars_ok"))
        .then(pl.lit("bad credit code characters"))
        .when(c.str.len_bytes() != 18)
        .then(pl.lit("bad credit code length"))
        .otherwise(pl.lit("bad credit code checksum"))
    )
    repairs = repair_kinds(
        (_f("_fw"), "fullwidth"),
        (_f("_ws"), "whitespace"),
        (_f("_lc"), "lowercase"),
        INVISIBLE_REPAIR,
    )
    final = {
        "value": pl.when(~_f("_missing") & _f("_valid")).then(c),
        **outputs(_f("_missing"), _f("_valid"), repairs, error),
    }
    return pipeline(raw, steps, final)


def normalize_credit_code(expr: pl.Expr) -> pl.Expr:
    """Normalise a 统一社会信用代码 column (GB 32100-2015).

    18 characters from ``0-9 A-H J-N P-R T U W-Y``; the 18th is the check
    character (weights ``3**i mod 31``). Cleans full-width characters, inner
    whitespace / hyphens and lower case. Placeholders and all zeros are
    ``missing``. Runs once per distinct value (codes repeat a lot).

    Struct fields: ``value``, ``status``, ``repair`` (``fullwidth``,
    ``whitespace``, ``lowercase``, ``invisible_chars``), ``error`` (``bad credit code characters`` /
    ``bad credit code length`` / ``bad credit code checksum``).
    """
    return per_distinct(expr, _credit_code_full)


# --------------------------------------------------------------------------
# 行政区划代码 (GB/T 2260)
# --------------------------------------------------------------------------


def _district_full(raw: pl.Expr) -> pl.Expr:
    c = _f("_c")
    steps: Steps = [
        folded(FULLWIDTH_NUM_MAP),
        {"_c": _f("_t").str.replace(r"^([0-9]{6})\.0*$", "$1")},
    ]
    missing = is_placeholder(c, ("0",)) | c.str.contains("^0+$")
    valid = c.str.contains("^[0-9]{6}$")
    final = {
        "value": pl.when(~missing & valid).then(c),
        **outputs(
            missing,
            valid,
            repair_kinds((_f("_fw"), "fullwidth"), INVISIBLE_REPAIR),
            pl.lit("bad district code"),
        ),
    }
    return pipeline(raw, steps, final)


def normalize_district_code(expr: pl.Expr) -> pl.Expr:
    """Normalise a 6-digit administrative division code (e.g. ``441302``).

    Full-width digits are folded (repair ``fullwidth``); a trailing ``.0`` left
    by a numeric spreadsheet cell is dropped without counting a repair.
    Placeholders and all zeros are ``missing``; anything but 6 digits is
    ``invalid`` (``bad district code``).
    """
    raw = _f("_raw")
    fast_steps: Steps = [
        {
            "_fast": (
                (raw.str.len_bytes() == 6) & (raw.cast(pl.Int64, strict=False) >= 100_000)
            ).fill_null(False)
        }
    ]
    return fast_then_slow(expr, fast_steps, standard_fast(raw), _district_full)
