"""Vectorised normalisers for the values departments deliver.

Every public ``normalize_*`` function takes a polars expression (the raw column,
normally ``pl.String``; other dtypes are cast to ``pl.String``) and returns a
**Struct** expression with the fields

- ``value``: the normalised, typed value (null when missing or invalid),
- ``status``: ``"ok"`` | ``"repaired"`` | ``"invalid"`` | ``"missing"``,
- ``repair``: null, or the repair kinds applied, comma-separated,
- ``error``: null, or a short English reason when ``status == "invalid"``,

plus the type-specific extras fixed in ``docs/design.md`` section 2. The result
keeps the name of the input expression (``normalize_id_no(pl.col("id_no"))`` is
named ``id_no``) when polars can determine it. ``repair`` is only set on
``repaired`` values, ``error`` only on ``invalid`` ones.

How it stays fast (the nightly job pushes ~50 M values through these)
----------------------------------------------------------------------
- Expensive intermediate results are hidden fields of a struct, built with a
  few ``struct.with_fields`` steps and dropped by ``struct.eval`` at the end,
  so nothing expensive is computed twice whether the caller runs eagerly
  (where polars does no common-sub-expression elimination) or lazily. The
  chains are kept short: polars' planning time grows with their depth.
- Most values are clean. Each normaliser first runs a cheap *fast path* over
  all rows (integer arithmetic, a cast, one membership test or one regex) that
  recognises values which are valid exactly as delivered. Only the remaining
  rows are ``filter``-ed into the full cleaning pipeline (the *slow path*) and
  ``gather``-ed back into place. Both paths give identical results for a
  clean value; the tests check this.
- Credit codes repeat a lot (one employer, many insured), so that normaliser
  runs the full pipeline once per distinct value.
- The only per-value Python is the traditional -> simplified conversion of
  names (``str.translate`` with a table built once from OpenCC), run once per
  distinct name and only for names containing a character it changes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import polars as pl

__all__ = [
    "INVALID",
    "MISSING",
    "OK",
    "REPAIRED",
    "STATUSES",
    "id_checksum_char",
    "is_valid_id_no",
    "mask_id_no",
    "normalize_credit_code",
    "normalize_date",
    "normalize_district_code",
    "normalize_enum",
    "normalize_float",
    "normalize_id_no",
    "normalize_int",
    "normalize_money",
    "normalize_month",
    "normalize_name",
    "normalize_sex",
    "normalize_str",
    "upgrade_id15",
]

OK = "ok"
REPAIRED = "repaired"
INVALID = "invalid"
MISSING = "missing"
STATUSES = (OK, REPAIRED, INVALID, MISSING)

Steps = list[dict[str, pl.Expr]]
Fields = dict[str, pl.Expr]

# --------------------------------------------------------------------------
# shared building blocks
# --------------------------------------------------------------------------

#: Full-width ASCII (U+FF01..U+FF5E) -> ASCII, plus the ideographic space.
_FULLWIDTH_MAP: dict[str, str] = {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)}
_FULLWIDTH_MAP["\u3000"] = " "
#: Subsets for codes, numbers and dates (fewer patterns, faster Aho-Corasick).
_FULLWIDTH_CODE_MAP: dict[str, str] = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
    **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
    "\uff0d": "-",  # －
    "\u3000": " ",
}
_FULLWIDTH_ID_MAP: dict[str, str] = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "\uff38": "X",  # Ｘ
    "\uff58": "x",  # ｘ
    "\uff0d": "-",  # －
    "\u3000": " ",
}
_FULLWIDTH_NUM_MAP: dict[str, str] = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "\uff0c": ",",  # ，
    "\uff0e": ".",  # ．
    "\uff0d": "-",  # －
    "\uff0b": "+",  # ＋
    "\uff05": "%",  # ％
    "\u2212": "-",  # − minus sign
    "\u3000": " ",
}
_FULLWIDTH_DATE_MAP: dict[str, str] = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "\uff0d": "-",  # －
    "\uff0f": "/",  # ／
    "\uff0e": ".",  # ．
    "\uff1a": ":",  # ：
    "\uff34": "T",  # Ｔ
    "\u3000": " ",
}
_FULLWIDTH_RE = "[\uff01-\uff5e]"

#: Placeholders that mean "no value" (compared lower-cased, after stripping).
#: ``"0"`` is *not* here: it is a real value for numbers; other types add it.
_PLACEHOLDERS: tuple[str, ...] = (
    "",
    "无",
    "/",
    "\\",
    "-",
    "--",
    "—",
    "——",
    "null",
    "none",
    "nan",
    "nat",
    "n/a",
    "#n/a",
    "空",
    "暂无",
    "不详",
)

#: Whitespace, dashes and invisible characters removed from inside codes.
_CODE_JUNK_RE = r"[\s\-\u2010-\u2015\u200b\ufeff_]"


def _f(name: str) -> pl.Expr:
    return pl.field(name)


def _is_placeholder(expr: pl.Expr, extra: Sequence[str] = ()) -> pl.Expr:
    return expr.str.to_lowercase().is_in([*_PLACEHOLDERS, *extra])


Repairs = tuple[tuple[pl.Expr, str], ...]


def _repairs(*pairs: tuple[pl.Expr, str]) -> Repairs:
    """Repair kinds with the condition under which each was applied."""
    return pairs


def _outputs(missing: pl.Expr, valid: pl.Expr, repairs: Repairs, error: pl.Expr) -> Fields:
    """The standard ``status`` / ``repair`` / ``error`` fields.

    ``repair`` lists the kinds whose condition holds (comma-separated), only
    for valid values; ``error`` is only kept for invalid ones.
    """
    ok = ~missing & valid
    parts = [pl.when(cond).then(pl.lit(kind)) for cond, kind in repairs]
    text = pl.concat_str(parts, separator=",", ignore_nulls=True)
    repaired = pl.any_horizontal([cond for cond, _ in repairs]).fill_null(False)
    return {
        "status": pl.when(missing)
        .then(pl.lit(MISSING))
        .when(ok & ~repaired)
        .then(pl.lit(OK))
        .when(ok)
        .then(pl.lit(REPAIRED))
        .otherwise(pl.lit(INVALID)),
        "repair": pl.when(ok & repaired).then(text),
        "error": pl.when(~missing & ~valid).then(error),
    }


def _text(expr: pl.Expr) -> pl.Expr:
    """The raw input as a non-null String (null becomes ``""``, i.e. missing)."""
    return expr.cast(pl.String).fill_null("")


def _named(expr: pl.Expr, result: pl.Expr) -> pl.Expr:
    name = expr.meta.output_name(raise_if_undetermined=False)
    return result.alias(name) if name else result


def _pipeline(
    raw: pl.Expr, steps: Sequence[Mapping[str, pl.Expr]], final: Mapping[str, pl.Expr]
) -> pl.Expr:
    """Evaluate ``steps`` in order on a struct that starts as ``{_raw}``.

    A step may only refer (via ``pl.field``) to fields made by earlier steps;
    ``final`` selects the output fields, in order.
    """
    st = pl.struct(raw.alias("_raw"))
    for step in steps:
        st = st.struct.with_fields(**step)
    return st.struct.eval(**final)


def _fast_then_slow(
    expr: pl.Expr,
    fast_steps: Sequence[Mapping[str, pl.Expr]],
    fast_final: Mapping[str, pl.Expr],
    full: Callable[[pl.Expr], pl.Expr],
) -> pl.Expr:
    """Fast path for all rows, the full pipeline only where it fails.

    ``fast_steps`` must produce a boolean field ``_fast`` (true: the value is
    valid exactly as delivered) and ``fast_final`` the output fields for those
    rows, with the same dtypes as ``full``'s. ``full`` maps a String expression
    to the output struct; it sees each distinct value of the other rows once
    (a department that sends a whole column in another format, e.g. every
    month as ``202301``, costs a pass over its few distinct values, not over
    millions of rows).
    """
    st = pl.struct(_text(expr).alias("_raw"))
    for step in fast_steps:
        st = st.struct.with_fields(**step)
    todo = ~_f("_fast")
    position = pl.when(todo).then(todo.cast(pl.UInt32).cum_sum() - 1)
    merged = (
        pl.when(_f("_fast"))
        .then(pl.struct([value.alias(name) for name, value in fast_final.items()]))
        .otherwise(_on_distinct(_f("_raw").filter(todo), full, position))
    )
    # (``with_fields``, not ``eval``: polars resolves the nested struct's fields
    # wrongly inside ``struct.eval``)
    return _named(expr, st.struct.with_fields(_out=merged).struct.field("_out"))


def _on_distinct(
    rows: pl.Expr, full: Callable[[pl.Expr], pl.Expr], position: pl.Expr | None = None
) -> pl.Expr:
    """``full(rows)`` computed once per distinct value of ``rows``.

    With ``position`` (an index into ``rows`` per output row, null for none)
    the result is gathered to those positions.
    """
    # ("" is always added: polars mishandles ``replace_strict`` with an empty
    # mapping, returning the input column unchanged)
    distinct = rows.append(pl.lit("")).unique(maintain_order=True)
    index = rows.replace_strict(
        distinct, pl.int_range(distinct.len(), dtype=pl.UInt32), return_dtype=pl.UInt32
    )
    if position is not None:
        index = index.gather(position)
    return full(distinct).gather(index)


def _per_distinct(expr: pl.Expr, full: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """Run ``full`` once per distinct value and gather the results back."""
    st = pl.struct(_text(expr).alias("_raw"))
    out = st.struct.with_fields(_out=_on_distinct(_f("_raw"), full)).struct.field("_out")
    return _named(expr, out)


_NULL_STR = pl.lit(None, dtype=pl.String)


def _standard_fast(value: pl.Expr) -> Fields:
    return {"value": value, "status": pl.lit(OK), "repair": _NULL_STR, "error": _NULL_STR}


# --------------------------------------------------------------------------
# calendar
# --------------------------------------------------------------------------

_MIN_DATE = dt.date(1900, 1, 1)
_MAX_DATE = dt.date(2100, 12, 31)
_YMD_BASE = 19_000_000  # YYYYMMDD of the first date-table entry (1900-01-01)
_YMD_SIZE = 21_010_000 - _YMD_BASE  # up to 2100-12-31


@lru_cache(maxsize=1)
def _date_table() -> pl.Series:
    """``table[YYYYMMDD - 19000000]``: that Date, or null if it does not exist.

    Covers 1900-01-01..2100-12-31. A gather from this 2 M-entry table checks
    and converts a date given as digits in one step (much cheaper than string
    parsing or calendar arithmetic on millions of rows).
    """
    days = pl.date_range(_MIN_DATE, _MAX_DATE, eager=True)
    ymd = (
        days.dt.year().cast(pl.Int64) * 10_000
        + days.dt.month().cast(pl.Int64) * 100
        + days.dt.day().cast(pl.Int64)
    )
    table = pl.repeat(None, _YMD_SIZE, dtype=pl.Date, eager=True)
    return table.scatter(ymd - _YMD_BASE, days)


def _date_from_ymd(ymd: pl.Expr) -> pl.Expr:
    """Date for an integer ``YYYYMMDD`` (null if impossible or outside 1900..2100)."""
    index = ymd - _YMD_BASE
    return pl.lit(_date_table()).gather(pl.when((index >= 0) & (index < _YMD_SIZE)).then(index))


def _in_years(year: pl.Expr) -> pl.Expr:
    return (year >= _MIN_DATE.year) & (year <= _MAX_DATE.year)


# --------------------------------------------------------------------------
# 居民身份证号 (GB 11643)
# --------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID18_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_ID15_RE = "^[0-9]{15}$"


def id_checksum_char(first17: str) -> str:
    """Return the GB 11643 check character (``0``-``9`` or ``X``) for 17 digits.

    Raises ``ValueError`` unless ``first17`` is exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def is_valid_id_no(s: str) -> bool:
    """True when ``s`` is a valid 18-character ID exactly as given.

    No cleaning is done: 17 ASCII digits plus an upper-case check character,
    correct checksum, and an embedded birth date that is a real calendar date
    in 1900..2100 (the same rules as :func:`normalize_id_no`).
    """
    if not isinstance(s, str) or not _ID18_RE.match(s) or len(s) != 18:
        return False
    if id_checksum_char(s[:17]) != s[17]:
        return False
    try:
        birth = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    return _MIN_DATE <= birth <= _MAX_DATE


def upgrade_id15(s15: str) -> str:
    """Convert a legacy 15-digit ID to 18 digits.

    Inserts ``19`` before the two-digit birth year and appends the check
    character. Raises ``ValueError`` unless ``s15`` is exactly 15 ASCII digits.
    The birth date is not checked (see :func:`is_valid_id_no`).
    """
    if len(s15) != 15 or not s15.isascii() or not s15.isdigit():
        raise ValueError(f"expected 15 digits, got {s15!r}")
    body = s15[:6] + "19" + s15[6:]
    return body + id_checksum_char(body)


def mask_id_no(id_no: str | None) -> str:
    """Mask an ID for caseworker output: keep the first 6 and last 4 characters.

    ``441302199001011231`` -> ``441302********1231``; a 15-digit ID keeps the
    same 6 + 4 around 5 stars. Values of 10 characters or fewer are masked
    entirely (same length). ``None`` or an empty string give ``""``.
    """
    if id_no is None:
        return ""
    s = str(id_no).strip()
    if not s:
        return ""
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def _id_check_value(body17: pl.Expr) -> pl.Expr:
    """GB 11643 check value 0..10 (10 = ``X``) of a 17-digit string.

    The weights are ``2**(17-i) mod 11``, and 13 = 2 (mod 11), so the weighted
    sum is ``2 * int(body, 13) mod 11``: one native base-13 parse instead of 17
    slices. The check value is ``(1 - 2 * int(body, 13)) mod 11``.
    """
    return (1 + 9 * (body17.str.to_integer(base=13, strict=False) % 11)) % 11


def _id_check_char(value: pl.Expr) -> pl.Expr:
    return pl.when(value == 10).then(pl.lit("X")).otherwise(value.cast(pl.String))


def _id_birth_date(n17: pl.Expr) -> pl.Expr:
    """Embedded birth date (null unless real and in 1900..2100) of the body as Int64."""
    return _date_from_ymd(n17 // 1000 % 100_000_000)


def _sex_from_n17(n17: pl.Expr) -> pl.Expr:
    return pl.when(n17 % 2 == 1).then(pl.lit("男")).otherwise(pl.lit("女"))


def _id_full(raw: pl.Expr) -> pl.Expr:
    """The complete ID pipeline (cleaning, 15 -> 18, checks) on String input."""
    s, t = _f("_raw").str.strip_chars(), _f("_t")
    c, body, n = _f("_c"), _f("_body"), _f("_n")
    is15, is18 = _f("_is15"), _f("_is18")
    check, missing, valid = _f("_check"), _f("_missing"), _f("_valid")
    steps: Steps = [
        {"_t": s.str.replace_many(_FULLWIDTH_ID_MAP), "_fw": s.str.contains(_FULLWIDTH_RE)},
        {
            "_c": t.str.replace_all(_CODE_JUNK_RE, "").str.replace_all("x", "X", literal=True),
            "_ws": t.str.contains(_CODE_JUNK_RE),
            "_lx": t.str.contains("x", literal=True),
        },
        {
            "_missing": _is_placeholder(c, ("0",)) | c.str.contains("^0+$"),
            "_is15": c.str.contains(_ID15_RE),
            "_is18": c.str.contains(_ID18_RE.pattern),
            # the 17 significant digits (15-digit numbers get their century)
            "_body": pl.when(c.str.contains(_ID18_RE.pattern))
            .then(c.str.slice(0, 17))
            .when(c.str.contains(_ID15_RE))
            .then(pl.concat_str(c.str.slice(0, 6), pl.lit("19"), c.str.slice(6))),
        },
        {"_n": body.cast(pl.Int64), "_check": _id_check_char(_id_check_value(body))},
        {
            "_bdate": _id_birth_date(n),
            "_sum_ok": (is15 | (is18 & (c.str.slice(17, 1) == check))).fill_null(False),
            "_full": pl.when(is15).then(pl.concat_str(body, check)).otherwise(c),
        },
        {"_valid": ~missing & _f("_sum_ok") & _f("_bdate").is_not_null()},
    ]
    error = (
        pl.when(~c.str.contains("^[0-9]*X?$"))
        .then(pl.lit("bad id characters"))
        .when(is15 | is18)
        .then(
            pl.when(~_f("_sum_ok"))
            .then(pl.lit("bad id checksum"))
            .otherwise(pl.lit("bad id birth date"))
        )
        .when(c.str.len_bytes() == 15)
        .then(pl.lit("bad id characters"))  # 14 digits and an X
        .otherwise(pl.lit("bad id length"))
    )
    final = {
        "value": pl.when(valid).then(_f("_full")),
        **_outputs(
            missing,
            valid,
            _repairs(
                (_f("_fw"), "fullwidth"),
                (_f("_ws"), "whitespace"),
                (_f("_lx"), "lowercase_x"),
                (is15, "id15to18"),
            ),
            error,
        ),
        "clean": pl.when(~missing).then(_f("_full")),
        "birth_date": pl.when(valid).then(_f("_bdate")),
        "sex": pl.when(valid).then(_sex_from_n17(n)),
    }
    return _pipeline(raw, steps, final)


def normalize_id_no(expr: pl.Expr) -> pl.Expr:
    """Normalise a 居民身份证号 column (GB 11643).

    Cleans full-width characters, surrounding and inner whitespace / hyphens /
    tabs and a lower-case ``x``; upgrades legacy 15-digit numbers to 18 digits
    (``19`` inserted before the year, check character computed); verifies the
    checksum and that the embedded birth date is a real calendar date in
    1900..2100. Placeholders (empty, ``无``, ``/``, ``0``, ``-``, all zeros,
    ``NULL``, ``None``, ``nan``, ``空``) are ``missing``.

    Struct fields: ``value`` (valid 18-character ID or null), ``status``,
    ``repair`` (``fullwidth``, ``whitespace``, ``lowercase_x``, ``id15to18``),
    ``error`` (``bad id characters`` / ``bad id length`` / ``bad id checksum``
    / ``bad id birth date``), ``clean`` (the cleaned string even when invalid,
    a 15-digit number in its 18-digit form; null when missing), ``birth_date``
    (Date) and ``sex`` (``男``/``女``) from a valid ID.
    """
    # Fast path: 18 bytes, 17 digits (the first non-zero, which also rules out
    # a sign) + check character, checksum and birth date valid. No strings built.
    raw, n = _f("_raw"), _f("_n")
    last = raw.cast(pl.Binary).bin.get(17, null_on_oob=True).cast(pl.Int16)
    fast_steps: Steps = [
        {
            "_b17": raw.str.slice(0, 17),
            "_last": pl.when(last == ord("X"))
            .then(10)
            .when((last >= ord("0")) & (last <= ord("9")))
            .then(last - ord("0")),
        },
        {"_n": _f("_b17").cast(pl.Int64, strict=False), "_cv": _id_check_value(_f("_b17"))},
        {"_bdate": _id_birth_date(n)},
        {
            "_fast": (
                (raw.str.len_bytes() == 18)
                & (n >= 10**16)
                & (_f("_last") == _f("_cv"))
                & _f("_bdate").is_not_null()
            ).fill_null(False)
        },
    ]
    fast_final: Fields = {
        **_standard_fast(raw),
        "clean": raw,
        "birth_date": _f("_bdate"),
        "sex": _sex_from_n17(n),
    }
    return _fast_then_slow(expr, fast_steps, fast_final, _id_full)


# --------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015)
# --------------------------------------------------------------------------

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
    s = _f("_raw").str.strip_chars()
    t = s.str.replace_many(_FULLWIDTH_CODE_MAP)
    u = t.str.replace_all(_CODE_JUNK_RE, "")
    c = _f("_c")
    steps: Steps = [
        {
            "_c": u.str.to_uppercase(),
            "_fw": s.str.contains(_FULLWIDTH_RE),
            "_ws": u.str.len_bytes() != t.str.len_bytes(),
            "_lc": u.str.contains("[a-z]"),
        },
        {
            "_missing": _is_placeholder(c, ("0",)) | c.str.contains("^0+$"),
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
    repairs = _repairs(
        (_f("_fw"), "fullwidth"), (_f("_ws"), "whitespace"), (_f("_lc"), "lowercase")
    )
    final = {
        "value": pl.when(~_f("_missing") & _f("_valid")).then(c),
        **_outputs(_f("_missing"), _f("_valid"), repairs, error),
    }
    return _pipeline(raw, steps, final)


def normalize_credit_code(expr: pl.Expr) -> pl.Expr:
    """Normalise a 统一社会信用代码 column (GB 32100-2015).

    18 characters from ``0-9 A-H J-N P-R T U W-Y``; the 18th is the check
    character (weights ``3**i mod 31``). Cleans full-width characters, inner
    whitespace / hyphens and lower case. Placeholders and all zeros are
    ``missing``. Runs once per distinct value (codes repeat a lot).

    Struct fields: ``value``, ``status``, ``repair`` (``fullwidth``,
    ``whitespace``, ``lowercase``), ``error`` (``bad credit code characters`` /
    ``bad credit code length`` / ``bad credit code checksum``).
    """
    return _per_distinct(expr, _credit_code_full)


# --------------------------------------------------------------------------
# 姓名
# --------------------------------------------------------------------------

_NOTE_RE = r"[(（\[【]([^)）\]】]*)(?:[)）\]】]|$)"
#: Middle-dot look-alikes folded to U+00B7 (U+00B7 itself is not listed).
_DOT_CHARS = "\u2022\u30fb\uff0e.\u2027\u2219\u22c5\uff65\u0387\u2e31\u16eb"
_DOT_RE = f"[{_DOT_CHARS}]"
_NAME_PLACEHOLDER_CHARS = "?？*＊□■○〇"
_PLACEHOLDER_NAME_RE = rf"^[{_NAME_PLACEHOLDER_CHARS}\s]*$"
_PINYIN_RE = r"^[A-Za-z][A-Za-z\s'’.·\-]*$"
_ASCII_RE = r"^[\x00-\x7f]*$"
#: Code points whose single-character t2s conversion is looked up once.
_CJK_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2EBEF),
    (0x2F800, 0x2FA1F),
    (0x30000, 0x3134F),
)
#: Characters OpenCC maps away that are ordinary in simplified-Chinese names:
#: 乾 (qián, as in 乾坤; OpenCC reads it as 乾 "dry" -> 干).
_T2S_KEEP = "乾"


@lru_cache(maxsize=1)
def _opencc_t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    """``str.translate`` table: each CJK character OpenCC ``t2s`` changes on its
    own -> its simplified form.

    Names are converted character by character with this table rather than
    by OpenCC's phrase-based conversion: a name is not running text, and
    phrases misfire on names (OpenCC turns 沈思华 into 沉思华 because 沈思 is
    the traditional spelling of 沉思). Character-wise conversion is also
    what keeps the fast path exact: a name changes iff it contains one of
    these characters.
    """
    chars = [chr(c) for lo, hi in _CJK_RANGES for c in range(lo, hi + 1)]
    converted: list[str] = _opencc_t2s().convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # pragma: no cover - defensive
        converted = [_opencc_t2s().convert(c) for c in chars]
    return {
        ord(a): b for a, b in zip(chars, converted, strict=True) if a != b and a not in _T2S_KEEP
    }


@lru_cache(maxsize=1)
def _name_needs_work_re() -> str:
    """Regex matching names the fast path cannot pass through unchanged."""
    placeholders = "|".join(re.escape(p) for p in (*_PLACEHOLDERS, "0"))
    special = re.escape("()（）[]【】" + _DOT_CHARS + _NAME_PLACEHOLDER_CHARS)
    traditional = "".join(chr(c) for c in _t2s_table())
    return f"(?i)^(?:{placeholders})$|[\\s{special}{traditional}]"


def _t2s_series(s: pl.Series) -> pl.Series:
    """Traditional -> simplified, translating each distinct non-ASCII value once."""
    if s.len() == 0:
        return s
    uniq = s.drop_nulls().unique()
    uniq = uniq.filter(~uniq.str.contains(_ASCII_RE))
    if uniq.len() == 0:
        return s
    table = _t2s_table()
    old = uniq.to_list()
    changed = [(a, b) for a in old if (b := a.translate(table)) != a]
    if not changed:
        return s
    return s.replace([a for a, _ in changed], [b for _, b in changed])


def _name_full(raw: pl.Expr) -> pl.Expr:
    s = _f("_raw").str.strip_chars()
    body0, body2, body3 = _f("_body0"), _f("_body2"), _f("_body3")
    pinyin = body0.str.contains(_PINYIN_RE)
    cjk = ~pinyin
    steps: Steps = [
        {
            "_s": s,
            "_body0": s.str.replace_all(_NOTE_RE, "").str.strip_chars(),
            "_note": pl.when(s.str.contains(_NOTE_RE)).then(
                s.str.extract_all(_NOTE_RE)
                .list.eval(pl.element().str.strip_chars("()（）[]【】 \t\u3000"))
                .list.filter(pl.element() != "")
                .list.join("；")
            ),
        },
        {"_body2": body0.str.replace_all(r"\s+", "").str.replace_all(_DOT_RE, "\u00b7")},
        {
            "_body3": body2.map_batches(_t2s_series, return_dtype=pl.String, is_elementwise=True),
            "_missing": _is_placeholder(_f("_s"), ("0",)) | _is_placeholder(body0, ("0",)),
        },
    ]
    missing = _f("_missing")
    unreadable = body0.str.contains(_PLACEHOLDER_NAME_RE)
    usable = ~missing & ~unreadable
    repairs = _repairs(
        (cjk & (body3 != body2), "traditional"),
        (cjk & body0.str.contains(r"\s"), "whitespace"),
        (cjk & body0.str.contains(_DOT_RE), "middle_dot"),
        (_f("_note").is_not_null(), "note_removed"),
    )
    final = {
        "value": pl.when(usable).then(pl.when(pinyin).then(body0).otherwise(body3)),
        **_outputs(missing, ~unreadable, repairs, pl.lit("name has only placeholder characters")),
        "note": pl.when(_f("_note") != "").then(_f("_note")),
        "usable": usable,
    }
    return _pipeline(raw, steps, final)


def normalize_name(expr: pl.Expr) -> pl.Expr:
    """Normalise a person-name column.

    Removes bracketed notes (``张三(已故)``, ``李四（户主）``, ``[…]``, ``【…】``)
    into ``note``; removes inner whitespace (incl. U+3000); folds middle-dot
    variants (``•``, ``・``, ``．``, ``.``, ``‧``, ``∙``, ``⋅``, ``･``) to ``·``
    (U+00B7); converts traditional to simplified characters (OpenCC ``t2s``
    applied character by character, so that 沈思华 stays 沈思华; once per
    distinct value; 乾 is kept as it is a common simplified name character).
    Names in pinyin (ASCII letters) are only
    stripped. Names with ``?``/``*`` mixed with real characters are kept.
    Empty values and placeholders (``无``, ``/``, ``-``, ``NULL``…) are
    ``missing``.

    Struct fields: ``value`` (null unless usable), ``status`` (``invalid`` for
    names made only of ``?``, ``？``, ``*``, ``＊``, ``□``, ``■``, ``○``),
    ``repair`` (``traditional``, ``whitespace``, ``middle_dot``,
    ``note_removed``), ``error``, ``note`` (text of the removed notes, several
    joined with ``；``) and ``usable`` (bool).
    """
    fast_steps: Steps = [{"_fast": ~_f("_raw").str.contains(_name_needs_work_re())}]
    fast_final: Fields = {
        **_standard_fast(_f("_raw")),
        "note": _NULL_STR,
        "usable": pl.lit(True),
    }
    return _fast_then_slow(expr, fast_steps, fast_final, _name_full)


# --------------------------------------------------------------------------
# 性别, enumerations, district codes, free strings
# --------------------------------------------------------------------------

_SEX_CODES: dict[str, str] = {
    "男": "男",
    "男性": "男",
    "1": "男",
    "1.0": "男",
    "m": "男",
    "male": "男",
    "女": "女",
    "女性": "女",
    "2": "女",
    "2.0": "女",
    "f": "女",
    "female": "女",
}
_SEX_MISSING = ("0", "0.0", "9", "9.0", "未知", "未说明", "未知的性别", "未说明的性别")


def _folded(mapping: Mapping[str, str]) -> Fields:
    """``_s`` (stripped raw), ``_fw`` (had full-width ASCII), ``_t`` (folded)."""
    s = _f("_raw").str.strip_chars()
    return {
        "_s": s,
        "_fw": s.str.contains(_FULLWIDTH_RE),
        "_t": s.str.replace_many(dict(mapping)).str.strip_chars(),
    }


def _sex_full(raw: pl.Expr) -> pl.Expr:
    k = _f("_t").str.to_lowercase()
    v = _f("_v")
    steps: Steps = [
        _folded(_FULLWIDTH_MAP),
        {
            "_v": k.replace_strict(_SEX_CODES, default=None, return_dtype=pl.String),
            "_missing": _is_placeholder(k, _SEX_MISSING),
        },
    ]
    final = {
        "value": pl.when(~_f("_missing")).then(v),
        **_outputs(
            _f("_missing"),
            v.is_not_null(),
            _repairs((_f("_fw"), "fullwidth"), (_f("_t") != v, "sex_code")),
            pl.format("unknown sex code '{}'", _f("_s")),
        ),
    }
    return _pipeline(raw, steps, final)


def normalize_sex(expr: pl.Expr) -> pl.Expr:
    """Normalise a sex column to ``男`` / ``女``.

    Accepts ``男``/``女``, GB/T 2261.1 codes ``1``/``2`` (also ``1.0``/``2.0``
    from spreadsheets), ``M``/``F`` (any case), ``male``/``female``,
    ``男性``/``女性``, full-width forms and surrounding spaces. ``0`` (unknown),
    ``9`` (unspecified), ``未知``, ``未说明`` and placeholders are ``missing``;
    anything else is ``invalid`` (``unknown sex code 'X'``).
    Repair kinds: ``sex_code`` (a code mapped to 男/女), ``fullwidth``.
    """
    fast_steps: Steps = [{"_fast": _f("_raw").is_in(["男", "女"])}]
    return _fast_then_slow(expr, fast_steps, _standard_fast(_f("_raw")), _sex_full)


def normalize_enum(expr: pl.Expr, values: Sequence[str]) -> pl.Expr:
    """Normalise a coded column against its allowed ``values``.

    Strips surrounding whitespace (incl. U+3000) and folds full-width ASCII to
    half-width. An exact match is ``ok`` (``repaired`` with ``fullwidth`` if
    full-width characters had to be folded, with ``whitespace`` if it only
    matches once inner whitespace is removed: ``小型 汽车``). Empty values and
    placeholders (``无``, ``/``, ``-``, ``NULL``…) that are not themselves
    among ``values`` are ``missing``; anything else is ``invalid``
    (``unknown code 'X'``).
    """
    allowed = [str(v) for v in values]
    squeezed = {re.sub(r"\s+", "", v): v for v in allowed}
    allowed_lower = {a.lower() for a in allowed}
    placeholders = [p for p in _PLACEHOLDERS if p not in allowed_lower]

    def full(raw: pl.Expr) -> pl.Expr:
        t, v = _f("_t"), _f("_v")
        exact = t.is_in(allowed)
        steps: Steps = [
            _folded(_FULLWIDTH_MAP),
            {
                "_v": pl.when(exact)
                .then(t)
                .otherwise(
                    t.str.replace_all(r"\s+", "").replace_strict(
                        squeezed, default=None, return_dtype=pl.String
                    )
                ),
                "_missing": t.str.to_lowercase().is_in(placeholders) & ~exact,
            },
        ]
        final = {
            "value": pl.when(~_f("_missing")).then(v),
            **_outputs(
                _f("_missing"),
                v.is_not_null(),
                _repairs((_f("_fw"), "fullwidth"), (~exact, "whitespace")),
                pl.format("unknown code '{}'", _f("_s")),
            ),
        }
        return _pipeline(raw, steps, final)

    fast_steps: Steps = [{"_fast": _f("_raw").is_in(allowed)}]
    return _fast_then_slow(expr, fast_steps, _standard_fast(_f("_raw")), full)


def _district_full(raw: pl.Expr) -> pl.Expr:
    c = _f("_c")
    steps: Steps = [
        _folded(_FULLWIDTH_NUM_MAP),
        {"_c": _f("_t").str.replace(r"^([0-9]{6})\.0*$", "$1")},
    ]
    missing = _is_placeholder(c, ("0",)) | c.str.contains("^0+$")
    valid = c.str.contains("^[0-9]{6}$")
    final = {
        "value": pl.when(~missing & valid).then(c),
        **_outputs(missing, valid, _repairs((_f("_fw"), "fullwidth")), pl.lit("bad district code")),
    }
    return _pipeline(raw, steps, final)


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
    return _fast_then_slow(expr, fast_steps, _standard_fast(raw), _district_full)


def normalize_str(expr: pl.Expr) -> pl.Expr:
    """Normalise a free-text column: strip surrounding whitespace (incl. U+3000).

    An empty (or null) value is ``missing``; anything else is ``ok`` and keeps
    its text. Struct fields: ``value`` (String), ``status``, ``repair`` (always
    null), ``error`` (always null).
    """
    s = _f("_s")
    steps: Steps = [{"_s": _f("_raw").str.strip_chars()}]
    final = {
        "value": pl.when(s != "").then(s),
        "status": pl.when(s == "").then(pl.lit(MISSING)).otherwise(pl.lit(OK)),
        "repair": _NULL_STR,
        "error": _NULL_STR,
    }
    return _named(expr, _pipeline(_text(expr), steps, final))


# --------------------------------------------------------------------------
# dates and months
# --------------------------------------------------------------------------

_DATE_RE = (
    r"^(?:(?P<y>[0-9]{4})\s*[-/.年]\s*(?P<m>[0-9]{1,2})\s*[-/.月]\s*(?P<d>[0-9]{1,2})\s*[日号]?"
    r"(?:(?:\s+|T)[0-9]{1,2}:[0-9]{1,2}(?::[0-9]{1,2}(?:\.[0-9]*)?)?)?"
    r"\s*(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
    r"|(?P<y8>[0-9]{4})(?P<m8>[0-9]{2})(?P<d8>[0-9]{2}))$"
)
_MONTH_RE = (
    r"^(?:(?P<y>[0-9]{4})\s*[-/.年]\s*(?P<m>[0-9]{1,2})\s*月?|(?P<y6>[0-9]{4})(?P<m6>[0-9]{2}))$"
)
#: Excel serial: up to 7 digits, optional fraction (time of day); 6- and 8-digit
#: integers are read as YYYYMM / YYYYMMDD instead.
_SERIAL_RE = r"^(?:[0-9]{1,5}|[0-9]{7}|[0-9]{1,7}\.[0-9]*)$"
_EXCEL_EPOCH_OFFSET = 25569  # Excel serial of 1970-01-01 (1900 system, day 0 = 1899-12-30)
_EXCEL_MAX_SERIAL = 2958465  # 9999-12-31
_ZERO_DATE_RE = r"^[0\s\-/.:年月日T]+$"


def _group(struct: pl.Expr, *names: str) -> pl.Expr:
    return pl.coalesce(*(struct.struct.field(n) for n in names)).cast(pl.Int64, strict=False)


def _date_steps(month_re: str | None = None) -> Steps:
    """Steps shared by dates and months (need ``_t``).

    Make ``_y`` (year of a recognised date text, else null), ``_ymd`` (its
    ``YYYYMMDD`` as Int64) and ``_serial`` (an Excel serial as Int64, null if
    the text does not look like one); with ``month_re`` also ``_my`` (year of a
    recognised month text) and ``_mymd`` (``YYYYMM01``).
    """
    t, g, mg = _f("_t"), _f("_g"), _f("_mg")
    first: Fields = {
        "_g": t.str.extract_groups(_DATE_RE),
        "_serial": pl.when(t.str.contains(_SERIAL_RE)).then(
            t.cast(pl.Float64, strict=False).floor().cast(pl.Int64)
        ),
    }
    y = _group(g, "y", "y8")
    second: Fields = {
        "_y": y,
        "_ymd": y * 10_000 + _group(g, "m", "m8") * 100 + _group(g, "d", "d8"),
    }
    if month_re is not None:
        first["_mg"] = t.str.extract_groups(month_re)
        my = _group(mg, "y", "y6")
        second |= {"_my": my, "_mymd": my * 10_000 + _group(mg, "m", "m6") * 100 + 1}
    return [first, second]


def _serial_date(serial: pl.Expr) -> pl.Expr:
    ok = (serial >= 1) & (serial <= _EXCEL_MAX_SERIAL)
    return pl.when(ok).then((serial - _EXCEL_EPOCH_OFFSET).cast(pl.Int32).cast(pl.Date))


def _date_missing(t: pl.Expr) -> pl.Expr:
    return _is_placeholder(t, ("0", "0.0")) | t.str.contains(_ZERO_DATE_RE)


def _date_full(raw: pl.Expr) -> pl.Expr:
    y, date, serial = _f("_y"), _f("_date"), _f("_serial")
    steps: Steps = [
        _folded(_FULLWIDTH_DATE_MAP),
        *_date_steps(),
        {
            "_date": pl.when(y.is_not_null())
            .then(_date_from_ymd(_f("_ymd")))
            .otherwise(_serial_date(serial))
        },
    ]
    in_range = date.is_between(_MIN_DATE, _MAX_DATE).fill_null(False)
    error = (
        pl.when(y.is_not_null() & _in_years(y))
        .then(pl.lit("impossible date"))
        .when(y.is_not_null() | serial.is_not_null())
        .then(pl.lit("date out of range"))
        .otherwise(pl.lit("unrecognised date"))
    )
    repairs = _repairs(
        (_f("_fw"), "fullwidth"),
        (y.is_not_null() & ~_f("_s").str.contains("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), "date_format"),
        (y.is_null(), "excel_serial"),
    )
    missing = _date_missing(_f("_t"))
    final = {
        "value": pl.when(~missing & in_range).then(date),
        **_outputs(missing, in_range, repairs, error),
    }
    return _pipeline(raw, steps, final)


def normalize_date(expr: pl.Expr) -> pl.Expr:
    """Normalise a date column (String input) to ``pl.Date``.

    Accepts ``2023-01-05``, ``2023/1/5``, ``2023-1-5``, ``20230105``,
    ``2023年1月5日``, ``2023.01.05``, a trailing time (``2023-01-05 00:00:00``,
    ``…T08:30``), full-width digits, and Excel serial numbers (``44931`` or
    ``44931.0``: 1900 system, day 0 = 1899-12-30; 6- and 8-digit numbers are
    read as ``YYYYMM``/``YYYYMMDD``, never as serials). Placeholders, ``0`` and
    all-zero dates (``0000-00-00``) are ``missing``.

    Invalid (``error``): ``impossible date`` (2023-02-30, month 13),
    ``date out of range`` (outside 1900-01-01..2100-12-31), ``unrecognised date``.
    Repair kinds: ``date_format`` (not already ``YYYY-MM-DD``), ``excel_serial``,
    ``fullwidth``.
    """
    d = _f("_d")
    fast_steps: Steps = [
        {"_d": _f("_raw").str.to_date("%Y-%m-%d", strict=False)},
        {
            "_fast": (
                (_f("_raw").str.len_bytes() == 10) & d.is_between(_MIN_DATE, _MAX_DATE)
            ).fill_null(False)
        },
    ]
    return _fast_then_slow(expr, fast_steps, _standard_fast(d), _date_full)


def _month_full(raw: pl.Expr) -> pl.Expr:
    my, month, y, serial = _f("_my"), _f("_month"), _f("_y"), _f("_serial")
    steps: Steps = [
        _folded(_FULLWIDTH_DATE_MAP),
        *_date_steps(_MONTH_RE),
        {
            "_month": pl.when(my.is_not_null())
            .then(_date_from_ymd(_f("_mymd")))
            .when(y.is_not_null())
            .then(_date_from_ymd(_f("_ymd")).dt.truncate("1mo"))
            .otherwise(_serial_date(serial).dt.truncate("1mo"))
        },
    ]
    in_range = month.is_between(_MIN_DATE, _MAX_DATE).fill_null(False)
    error = (
        pl.when(my.is_not_null() & _in_years(my))
        .then(pl.lit("impossible month"))
        .when(y.is_not_null() & _in_years(y))
        .then(pl.lit("impossible date"))
        .when(my.is_not_null() | y.is_not_null() | serial.is_not_null())
        .then(pl.lit("date out of range"))
        .otherwise(pl.lit("unrecognised month"))
    )
    iso = _f("_s").str.contains("^[0-9]{4}-[0-9]{2}$")
    repairs = _repairs(
        (_f("_fw"), "fullwidth"),
        ((my.is_not_null() & ~iso) | (my.is_null() & y.is_not_null()), "date_format"),
        (my.is_null() & y.is_null(), "excel_serial"),
    )
    missing = _date_missing(_f("_t"))
    final = {
        "value": pl.when(~missing & in_range).then(month),
        **_outputs(missing, in_range, repairs, error),
    }
    return _pipeline(raw, steps, final)


def normalize_month(expr: pl.Expr) -> pl.Expr:
    """Normalise a calendar-month column; ``value`` is the Date of the 1st.

    Accepts ``2023-01``, ``202301``, ``2023年1月``, ``2023/1``, ``2023.01``,
    full-width digits, and anything :func:`normalize_date` accepts (a full
    date or an Excel serial: its month is taken). Placeholders, ``0`` and
    all-zero values are ``missing``. Invalid (``error``): ``impossible month``
    (month 00 or 13), ``impossible date``, ``date out of range`` (outside
    1900..2100), ``unrecognised month``. Repair kinds: ``date_format`` (not
    already ``YYYY-MM``), ``excel_serial``, ``fullwidth``.
    """
    d = _f("_d")
    fast_steps: Steps = [
        {"_d": _f("_raw").str.to_date("%Y-%m", strict=False)},
        {
            "_fast": (
                (_f("_raw").str.len_bytes() == 7) & d.is_between(_MIN_DATE, _MAX_DATE)
            ).fill_null(False)
        },
    ]
    return _fast_then_slow(expr, fast_steps, _standard_fast(d), _month_full)


# --------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------

_NUMBER_RE = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_CURRENCY_PREFIX_RE = r"^(?:[¥￥]|RMB|CNY|人民币)\s*"
_YUAN_SUFFIX_RE = r"\s*(?:元|圆|RMB|CNY)$"
_WAN_SUFFIX_RE = r"\s*万$"
_GROUPING_RE = r"[,\s']"


def _parse_float(text: pl.Expr) -> pl.Expr:
    return pl.when(text.str.contains(_NUMBER_RE)).then(text.cast(pl.Float64, strict=False))


def _float_fast(value: pl.Expr) -> Steps:
    """Fast path for numbers that polars parses as they are (``_num``)."""
    return [
        {"_num": _f("_raw").cast(pl.Float64, strict=False)},
        {"_fast": _f("_num").is_finite().fill_null(False)},
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
    元 and 万元). Invalid: ``not a number``.
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
            _folded(_FULLWIDTH_NUM_MAP),
            {
                "_cur": t.str.contains(_CURRENCY_PREFIX_RE),
                "_yuan": a.str.contains(_YUAN_SUFFIX_RE),
                "_wan": b.str.contains(_WAN_SUFFIX_RE),
                "_sep": c.str.contains(_GROUPING_RE),
                "_num": _parse_float(c.str.replace_all(_GROUPING_RE, "")),
            },
            {"_v": _round_money(scaled)},
        ]
        missing = _is_placeholder(t)
        valid = _f("_v").is_finite().fill_null(False)
        repairs = _repairs(
            (_f("_sep"), "thousands_sep"),
            (unit_word, "currency_suffix"),
            (_f("_fw"), "fullwidth"),
            (converted, "wan_unit"),
        )
        final = {
            "value": pl.when(~missing & valid).then(_f("_v")),
            **_outputs(missing, valid, repairs, pl.lit("not a number")),
        }
        return _pipeline(raw, steps, final)

    return _fast_then_slow(expr, _float_fast(num), _standard_fast(_round_money(num)), full)


def _int_full(raw: pl.Expr) -> pl.Expr:
    t, c = _f("_t"), _f("_c")
    steps: Steps = [
        _folded(_FULLWIDTH_NUM_MAP),
        {"_c": t.str.replace_all(_GROUPING_RE, "")},
    ]
    missing = _is_placeholder(t)
    value = pl.when(c.str.contains(r"^[+-]?[0-9]+(?:\.0*)?$")).then(
        c.str.replace(r"\.0*$", "").cast(pl.Int64, strict=False)
    )
    repairs = _repairs((t.str.contains(_GROUPING_RE), "thousands_sep"), (_f("_fw"), "fullwidth"))
    final = {
        "value": pl.when(~missing).then(value),
        **_outputs(missing, value.is_not_null(), repairs, pl.lit("not an integer")),
    }
    return _pipeline(raw, steps, final)


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
    return _fast_then_slow(expr, fast_steps, _standard_fast(v), _int_full)


def _float_full(raw: pl.Expr) -> pl.Expr:
    t, v = _f("_t"), _f("_v")
    pct = t.str.ends_with("%")
    a = t.str.strip_suffix("%").str.strip_chars()
    num = _parse_float(a.str.replace_all(_GROUPING_RE, ""))
    steps: Steps = [
        _folded(_FULLWIDTH_NUM_MAP),
        {"_v": pl.when(pct).then(num / 100).otherwise(num)},
    ]
    missing = _is_placeholder(t)
    valid = v.is_finite().fill_null(False)
    repairs = _repairs(
        (a.str.contains(_GROUPING_RE), "thousands_sep"),
        (_f("_fw"), "fullwidth"),
        (pct, "percent"),
    )
    final = {
        "value": pl.when(~missing & valid).then(v),
        **_outputs(missing, valid, repairs, pl.lit("not a number")),
    }
    return _pipeline(raw, steps, final)


def normalize_float(expr: pl.Expr) -> pl.Expr:
    """Normalise a decimal column to Float64 (no rounding).

    Folds full-width digits (``fullwidth``), removes thousands separators
    (``thousands_sep``), reads a trailing ``%`` as a fraction (``50%`` -> 0.5,
    repair ``percent``). Placeholders are ``missing``; ``0`` is a value;
    anything else that is not a finite number is ``invalid`` (``not a number``).
    """
    num = _f("_num")
    return _fast_then_slow(expr, _float_fast(num), _standard_fast(num), _float_full)
