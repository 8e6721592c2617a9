"""居民身份证号 (GB 11643): check characters, 15 -> 18 digit upgrade, validity."""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from relief_match.ingest.normalize.dates import MAX_DATE, MIN_DATE, date_from_ymd
from relief_match.ingest.normalize.pipeline import (
    CODE_JUNK_RE,
    FULLWIDTH_ID_MAP,
    FULLWIDTH_RE,
    INVISIBLE_REPAIR,
    Fields,
    Steps,
    fast_then_slow,
    has_invisible,
    is_placeholder,
    outputs,
    pipeline,
    repair_kinds,
    standard_fast,
    visible,
)

_f = pl.field  # the hidden fields of the pipeline struct

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_ID18_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_ID15_RE = "^[0-9]{15}$"


def id_checksum_char(first17: str) -> str:
    """Return the GB 11643 check character (``0``-``9`` or ``X``) for 17 digits.

    Raises ``ValueError`` unless ``first17`` is exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        # (the value is not quoted: it may be most of an ID number)
        raise ValueError(f"expected 17 digits, got {len(first17)} characters")
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
    return MIN_DATE <= birth <= MAX_DATE


def upgrade_id15(s15: str) -> str:
    """Convert a legacy 15-digit ID to 18 digits.

    Inserts ``19`` before the two-digit birth year and appends the check
    character. Raises ``ValueError`` unless ``s15`` is exactly 15 ASCII digits.
    The birth date is not checked (see :func:`is_valid_id_no`).
    """
    if len(s15) != 15 or not s15.isascii() or not s15.isdigit():
        raise ValueError(f"expected 15 digits, got {len(s15)} characters")
    body = s15[:6] + "19" + s15[6:]
    return body + id_checksum_char(body)


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
    return date_from_ymd(n17 // 1000 % 100_000_000)


def _sex_from_n17(n17: pl.Expr) -> pl.Expr:
    return pl.when(n17 % 2 == 1).then(pl.lit("男")).otherwise(pl.lit("女"))


def _id_full(raw: pl.Expr) -> pl.Expr:
    """The complete ID pipeline (cleaning, 15 -> 18, checks) on String input."""
    s, t = visible(_f("_raw")).str.strip_chars(), _f("_t")
    c, body, n = _f("_c"), _f("_body"), _f("_n")
    is15, is18 = _f("_is15"), _f("_is18")
    check, missing, valid = _f("_check"), _f("_missing"), _f("_valid")
    steps: Steps = [
        {
            "_t": s.str.replace_many(FULLWIDTH_ID_MAP),
            "_fw": s.str.contains(FULLWIDTH_RE),
            "_inv": has_invisible(_f("_raw")),
        },
        {
            "_c": t.str.replace_all(CODE_JUNK_RE, "").str.replace_all("x", "X", literal=True),
            "_ws": t.str.contains(CODE_JUNK_RE),
            "_lx": t.str.contains("x", literal=True),
        },
        {
            "_missing": is_placeholder(c, ("0",)) | c.str.contains("^0+$"),
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
        **outputs(
            missing,
            valid,
            repair_kinds(
                (_f("_fw"), "fullwidth"),
                (_f("_ws"), "whitespace"),
                (_f("_lx"), "lowercase_x"),
                (is15, "id15to18"),
                INVISIBLE_REPAIR,
            ),
            error,
        ),
        "clean": pl.when(~missing).then(_f("_full")),
        "birth_date": pl.when(valid).then(_f("_bdate")),
        "sex": pl.when(valid).then(_sex_from_n17(n)),
    }
    return pipeline(raw, steps, final)


def normalize_id_no(expr: pl.Expr) -> pl.Expr:
    """Normalise a 居民身份证号 column (GB 11643).

    Cleans full-width characters, surrounding and inner whitespace / hyphens /
    tabs and a lower-case ``x``; upgrades legacy 15-digit numbers to 18 digits
    (``19`` inserted before the year, check character computed); verifies the
    checksum and that the embedded birth date is a real calendar date in
    1900..2100. Placeholders (empty, ``无``, ``/``, ``0``, ``-``, all zeros,
    ``NULL``, ``None``, ``nan``, ``空``) are ``missing``.

    Struct fields: ``value`` (valid 18-character ID or null), ``status``,
    ``repair`` (``fullwidth``, ``whitespace``, ``lowercase_x``, ``id15to18``,
    ``invisible_chars``: zero-width and other format characters removed),
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
        **standard_fast(raw),
        "clean": raw,
        "birth_date": _f("_bdate"),
        "sex": _sex_from_n17(n),
    }
    return fast_then_slow(expr, fast_steps, fast_final, _id_full)
