"""Person names: notes, whitespace, middle dots, traditional characters.

The character tables (middle-dot look-alikes, placeholder characters, the
character-wise OpenCC ``t2s`` table) come from :mod:`relief_match.text`, the
one home of name folding, so that the staged names and the linker's folded
names follow the same rules.
"""

from __future__ import annotations

import re
from functools import lru_cache

import polars as pl

from relief_match.ingest.normalize.pipeline import (
    NULL_STR,
    PLACEHOLDERS,
    Fields,
    Steps,
    fast_then_slow,
    is_placeholder,
    outputs,
    pipeline,
    repair_kinds,
    standard_fast,
)
from relief_match.text import DOT_CHARS, PINYIN_NAME_RE, PLACEHOLDER_CHARS, t2s_table

_f = pl.field  # the hidden fields of the pipeline struct

_NOTE_RE = r"[(（\[【]([^)）\]】]*)(?:[)）\]】]|$)"
_DOT_RE = f"[{DOT_CHARS}]"
_PLACEHOLDER_NAME_RE = rf"^[{PLACEHOLDER_CHARS}\s]*$"
_ASCII_RE = r"^[\x00-\x7f]*$"


@lru_cache(maxsize=1)
def _name_needs_work_re() -> str:
    """Regex matching names the fast path cannot pass through unchanged."""
    placeholders = "|".join(re.escape(p) for p in (*PLACEHOLDERS, "0"))
    special = re.escape("()（）[]【】" + DOT_CHARS + PLACEHOLDER_CHARS)
    traditional = "".join(chr(c) for c in t2s_table())
    return f"(?i)^(?:{placeholders})$|[\\s{special}{traditional}]"


def _t2s_series(s: pl.Series) -> pl.Series:
    """Traditional -> simplified, translating each distinct non-ASCII value once."""
    if s.len() == 0:
        return s
    uniq = s.drop_nulls().unique()
    uniq = uniq.filter(~uniq.str.contains(_ASCII_RE))
    if uniq.len() == 0:
        return s
    table = t2s_table()
    old = uniq.to_list()
    changed = [(a, b) for a in old if (b := a.translate(table)) != a]
    if not changed:
        return s
    return s.replace([a for a, _ in changed], [b for _, b in changed])


def _name_full(raw: pl.Expr) -> pl.Expr:
    s = _f("_raw").str.strip_chars()
    body0, body2, body3 = _f("_body0"), _f("_body2"), _f("_body3")
    pinyin = body0.str.contains(PINYIN_NAME_RE)
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
            "_missing": is_placeholder(_f("_s"), ("0",)) | is_placeholder(body0, ("0",)),
        },
    ]
    missing = _f("_missing")
    unreadable = body0.str.contains(_PLACEHOLDER_NAME_RE)
    usable = ~missing & ~unreadable
    repairs = repair_kinds(
        (cjk & (body3 != body2), "traditional"),
        (cjk & body0.str.contains(r"\s"), "whitespace"),
        (cjk & body0.str.contains(_DOT_RE), "middle_dot"),
        (_f("_note").is_not_null(), "note_removed"),
    )
    final = {
        "value": pl.when(usable).then(pl.when(pinyin).then(body0).otherwise(body3)),
        **outputs(missing, ~unreadable, repairs, pl.lit("name has only placeholder characters")),
        "note": pl.when(_f("_note") != "").then(_f("_note")),
        "usable": usable,
    }
    return pipeline(raw, steps, final)


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
        **standard_fast(_f("_raw")),
        "note": NULL_STR,
        "usable": pl.lit(True),
    }
    return fast_then_slow(expr, fast_steps, fast_final, _name_full)
