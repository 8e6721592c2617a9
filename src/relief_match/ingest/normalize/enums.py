"""Sex, coded enumerations and free text."""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from relief_match.ingest.normalize.pipeline import (
    FULLWIDTH_MAP,
    INVISIBLE_REPAIR,
    MISSING,
    NULL_STR,
    OK,
    PLACEHOLDERS,
    REPAIRED,
    Fields,
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


def _sex_full(raw: pl.Expr) -> pl.Expr:
    k = _f("_t").str.to_lowercase()
    v = _f("_v")
    steps: Steps = [
        folded(FULLWIDTH_MAP),
        {
            "_v": k.replace_strict(_SEX_CODES, default=None, return_dtype=pl.String),
            "_missing": is_placeholder(k, _SEX_MISSING),
        },
    ]
    final = {
        "value": pl.when(~_f("_missing")).then(v),
        **outputs(
            _f("_missing"),
            v.is_not_null(),
            repair_kinds((_f("_fw"), "fullwidth"), (_f("_t") != v, "sex_code"), INVISIBLE_REPAIR),
            pl.format("unknown sex code '{}'", _f("_s")),
        ),
    }
    return pipeline(raw, steps, final)


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
    return fast_then_slow(expr, fast_steps, standard_fast(_f("_raw")), _sex_full)


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
    placeholders = [p for p in PLACEHOLDERS if p not in allowed_lower]

    def full(raw: pl.Expr) -> pl.Expr:
        t, v = _f("_t"), _f("_v")
        exact = t.is_in(allowed)
        steps: Steps = [
            folded(FULLWIDTH_MAP),
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
            **outputs(
                _f("_missing"),
                v.is_not_null(),
                repair_kinds((_f("_fw"), "fullwidth"), (~exact, "whitespace"), INVISIBLE_REPAIR),
                pl.format("unknown code '{}'", _f("_s")),
            ),
        }
        return pipeline(raw, steps, final)

    fast_steps: Steps = [{"_fast": _f("_raw").is_in(allowed)}]
    return fast_then_slow(expr, fast_steps, standard_fast(_f("_raw")), full)


def _str_fields(s: pl.Expr, repair: pl.Expr) -> Fields:
    return {
        "value": pl.when(s != "").then(s),
        "status": pl.when(s == "")
        .then(pl.lit(MISSING))
        .when(repair.is_not_null())
        .then(pl.lit(REPAIRED))
        .otherwise(pl.lit(OK)),
        "repair": pl.when(s != "").then(repair),
        "error": NULL_STR,
    }


def _str_full(raw: pl.Expr) -> pl.Expr:
    steps: Steps = [{"_s": visible(_f("_raw")).str.strip_chars()}]
    repair = pl.when(has_invisible(_f("_raw"))).then(pl.lit("invisible_chars"))
    return pipeline(raw, steps, _str_fields(_f("_s"), repair))


def normalize_str(expr: pl.Expr) -> pl.Expr:
    """Normalise a free-text column: strip surrounding whitespace (incl. U+3000).

    Invisible characters (zero-width spaces, BOM, soft hyphen…) are removed
    (repair ``invisible_chars``): a household number or a plate number with a
    zero-width space would never join. An empty (or null) value is
    ``missing``; anything else is ``ok`` and keeps its text. Struct fields:
    ``value`` (String), ``status``, ``repair`` (``invisible_chars`` or null),
    ``error`` (always null).
    """
    fast_steps: Steps = [{"_s": _f("_raw").str.strip_chars(), "_fast": ~has_invisible(_f("_raw"))}]
    return fast_then_slow(expr, fast_steps, _str_fields(_f("_s"), NULL_STR), _str_full)
