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
    pipeline,
    repair_kinds,
    standard_fast,
    visible,
)

_f = pl.field  # the hidden fields of the pipeline struct

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: GB 32100 weights of the 17 significant characters: 3**i mod 31.
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]


def _uscc_check_steps(c: pl.Expr) -> Steps:
    """Pipeline steps that leave ``_check``: the GB 32100 check character of
    the 18-character code ``c`` (null unless every character is in the code
    alphabet).

    The check is ``31 - sum(index(c_i) * 3**i) mod 31``. The characters are
    ASCII, so the code's bytes are read as two little-endian 64-bit words
    and one byte, and each byte's alphabet index is computed arithmetically
    (the alphabet is ``0-9 A-H J-N P-R T U W-Y``: letters lose 7, and one more
    for each of I, O, S, V below them). Measured three times faster than
    string slicing and base-34 parsing.
    """
    ok = c.str.contains(f"^[{_USCC_ALPHABET}]{{18}}$")
    b = _f("_bytes")
    words = {
        "_w0": b.bin.slice(0, 8).bin.reinterpret(dtype=pl.UInt64, endianness="little"),
        "_w1": b.bin.slice(8, 8).bin.reinterpret(dtype=pl.UInt64, endianness="little"),
        "_w2": b.bin.slice(16, 1).bin.reinterpret(dtype=pl.UInt8).cast(pl.UInt64),
    }

    def byte(i: int) -> pl.Expr:
        word = _f(f"_w{i // 8}")
        return ((word // (1 << (8 * (i % 8)))) % 256).cast(pl.Int32)

    def index(code: pl.Expr) -> pl.Expr:
        return code - 48 - 7 * (code > 64) - (code > 73) - (code > 79) - (code > 83) - (code > 86)

    total = pl.sum_horizontal(index(_f(f"_k{i}")) * w for i, w in enumerate(_USCC_WEIGHTS))
    check = ((31 - total % 31) % 31).replace_strict(
        dict(enumerate(_USCC_ALPHABET)), default=None, return_dtype=pl.String
    )
    return [
        {"_ok18": ok.fill_null(False)},
        {"_bytes": pl.when(_f("_ok18")).then(c).cast(pl.Binary)},
        words,
        {f"_k{i}": byte(i) for i in range(17)},
        {"_check": pl.when(_f("_ok18")).then(check)},
    ]


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
        *_uscc_check_steps(c),
        {
            "_missing": is_placeholder(c, ("0",)) | c.str.contains("^0+$"),
            "_chars_ok": c.str.contains(f"^[{_USCC_ALPHABET}]*$"),
            "_valid": (c.str.slice(17, 1) == _f("_check")).fill_null(False),
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

    A code delivered exactly in canonical form with a correct check character
    takes the fast path (the check alone); the rest the full cleaning.
    """
    raw = _f("_raw")
    fast_steps: Steps = [
        *_uscc_check_steps(raw),
        {
            "_fast": ((raw.str.slice(17, 1) == _f("_check")) & ~raw.str.contains("^0+$")).fill_null(
                False
            )
        },
    ]
    return fast_then_slow(expr, fast_steps, standard_fast(raw), _credit_code_full)


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
