"""Person names: notes, digits, invisible characters, whitespace, middle dots,
traditional characters.

The character tables (middle-dot look-alikes, placeholder characters, the
character-wise OpenCC ``t2s`` table) come from :mod:`relief_match.text`, the
one home of name folding, so that the staged names and the linker's folded
names follow the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

import polars as pl

from relief_match.ingest.normalize.pipeline import (
    INVISIBLE_REPAIR,
    NULL_STR,
    PLACEHOLDERS,
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
from relief_match.privacy import DIGIT_RUN_RE, mask_digit_run, mask_digit_runs
from relief_match.text import (
    DOT_CHARS,
    INVISIBLE_CHARS,
    PINYIN_NAME_RE,
    PLACEHOLDER_CHARS,
    t2s_table,
)

_f = pl.field  # the hidden fields of the pipeline struct

_NOTE_RE = r"[(（\[【]([^)）\]】]*)(?:[)）\]】]|$)"
_DOT_RE = f"[{DOT_CHARS}]"
_PLACEHOLDER_NAME_RE = rf"^[{PLACEHOLDER_CHARS}\s]*$"
_ASCII_RE = r"^[\x00-\x7f]*$"
_DIGITS_RE = DIGIT_RUN_RE.pattern


@lru_cache(maxsize=1)
def _name_needs_work_re() -> str:
    """Regex matching names the fast path cannot pass through unchanged."""
    placeholders = "|".join(re.escape(p) for p in (*PLACEHOLDERS, "0"))
    special = re.escape("()（）[]【】" + DOT_CHARS + PLACEHOLDER_CHARS)
    traditional = "".join(chr(c) for c in t2s_table())
    # (any digit sends a name to the full pipeline, which removes runs of six)
    return f"(?i)^(?:{placeholders})$|[\\s{INVISIBLE_CHARS}0-9\uff10-\uff19{special}{traditional}]"


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


def _on_matching(s: pl.Series, fn: Callable[[str], str], keep: bool) -> pl.Series:
    """``fn`` applied once to each distinct value of ``s`` holding a run of
    digits (:data:`relief_match.privacy.DIGIT_RUN_RE`); the other values are
    kept (``keep``) or null."""
    uniq = s.drop_nulls().unique()
    uniq = uniq.filter(uniq.str.contains(_DIGITS_RE))
    if uniq.len() == 0:
        return s if keep else pl.repeat(None, s.len(), dtype=pl.String, eager=True)
    mapping = {v: fn(v) for v in uniq.to_list()}
    default = s if keep else None
    return s.replace_strict(mapping, default=default, return_dtype=pl.String)


def _digit_note(name: str) -> str:
    return "；".join(mask_digit_run(m.group(0)) for m in DIGIT_RUN_RE.finditer(name))


def mask_digits_in_names(s: pl.Series) -> pl.Series:
    """``s`` (delivered names) with every run of six or more digits masked
    (an ID number typed into a name), each distinct such value once."""
    return _on_matching(s, mask_digit_runs, keep=True)


def _name_full(raw: pl.Expr) -> pl.Expr:
    v = visible(_f("_raw")).str.strip_chars()
    s = _f("_s")
    body0, body2, body3 = _f("_body0"), _f("_body2"), _f("_body3")
    pinyin = body0.str.contains(PINYIN_NAME_RE)
    cjk = ~pinyin
    note = (
        s.str.extract_all(_NOTE_RE)
        .list.eval(pl.element().str.strip_chars("()（）[]【】 \t\u3000"))
        .list.filter(pl.element() != "")
        .list.join("；")
    )
    steps: Steps = [
        {
            # digit runs (an ID typed into the name) leave the name first
            "_s": v.str.replace_all(_DIGITS_RE, "").str.strip_chars(),
            "_inv": has_invisible(_f("_raw")),
            "_digits": pl.when(v.str.contains(_DIGITS_RE)).then(
                v.map_batches(
                    lambda x: _on_matching(x, _digit_note, keep=False),
                    return_dtype=pl.String,
                    is_elementwise=True,
                )
            ),
        },
        {
            "_body0": s.str.replace_all(_NOTE_RE, "").str.strip_chars(),
            "_bracket": s.str.contains(_NOTE_RE),
            "_note": pl.when(s.str.contains(_NOTE_RE) | _f("_digits").is_not_null()).then(
                pl.concat_str(
                    pl.when(note != "").then(note), _f("_digits"), separator="；", ignore_nulls=True
                )
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
        (_f("_bracket"), "note_removed"),
        (_f("_digits").is_not_null(), "digits_removed"),
        INVISIBLE_REPAIR,
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

    Removes invisible characters (zero-width spaces and joiners, BOM, soft
    hyphen: :data:`relief_match.text.INVISIBLE_CHARS`; repair
    ``invisible_chars``); moves a run of six or more digits (an ID number typed
    into the name: ``于思芳441323…``) out of the name into ``note``, masked
    (:func:`relief_match.privacy.mask_digit_run`; repair ``digits_removed``);
    removes bracketed notes (``张三(已故)``, ``李四（户主）``, ``[…]``, ``【…】``)
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
    ``note_removed``, ``digits_removed``, ``invisible_chars``), ``error``,
    ``note`` (text of the removed notes, then the masked digits, several joined
    with ``；``) and ``usable`` (bool).
    """
    fast_steps: Steps = [{"_fast": ~_f("_raw").str.contains(_name_needs_work_re())}]
    fast_final: Fields = {
        **standard_fast(_f("_raw")),
        "note": NULL_STR,
        "usable": pl.lit(True),
    }
    return fast_then_slow(expr, fast_steps, fast_final, _name_full)
