"""The machinery every normaliser is built from.

- the result vocabulary (:data:`STATUSES`) and the standard ``status`` /
  ``repair`` / ``error`` fields (:func:`outputs`);
- what counts as "no value" (:data:`PLACEHOLDERS`) and the full-width ->
  ASCII folding tables;
- the struct pipeline (:func:`pipeline`): hidden intermediate fields built in a
  few ``struct.with_fields`` steps, dropped by ``struct.eval`` at the end;
- the fast path / slow path split (:func:`fast_then_slow`) and the
  once-per-distinct-value evaluation of the slow path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import polars as pl

from relief_match.text import INVISIBLE_RE

OK = "ok"
REPAIRED = "repaired"
INVALID = "invalid"
MISSING = "missing"
STATUSES = (OK, REPAIRED, INVALID, MISSING)

Steps = list[dict[str, pl.Expr]]
Fields = dict[str, pl.Expr]
Repairs = tuple[tuple[pl.Expr, str], ...]

_f = pl.field  # the hidden fields of the pipeline struct

# --------------------------------------------------------------------------
# full-width folding
# --------------------------------------------------------------------------

#: Full-width ASCII (U+FF01..U+FF5E) -> ASCII, plus the ideographic space.
FULLWIDTH_MAP: dict[str, str] = {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)}
FULLWIDTH_MAP["\u3000"] = " "
#: Subsets for codes, numbers and dates (fewer patterns, faster Aho-Corasick).
FULLWIDTH_CODE_MAP: dict[str, str] = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
    **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
    "\uff0d": "-",  # －
    "\u3000": " ",
}
FULLWIDTH_ID_MAP: dict[str, str] = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "\uff38": "X",  # Ｘ
    "\uff58": "x",  # ｘ
    "\uff0d": "-",  # －
    "\u3000": " ",
}
FULLWIDTH_NUM_MAP: dict[str, str] = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "\uff0c": ",",  # ，
    "\uff0e": ".",  # ．
    "\uff0d": "-",  # －
    "\uff0b": "+",  # ＋
    "\uff05": "%",  # ％
    "\u2212": "-",  # − minus sign
    "\u3000": " ",
}
FULLWIDTH_DATE_MAP: dict[str, str] = {
    **{chr(0xFF10 + i): str(i) for i in range(10)},
    "\uff0d": "-",  # －
    "\uff0f": "/",  # ／
    "\uff0e": ".",  # ．
    "\uff1a": ":",  # ：
    "\uff34": "T",  # Ｔ
    "\u3000": " ",
}
FULLWIDTH_RE = "[\uff01-\uff5e]"

# --------------------------------------------------------------------------
# placeholders and junk
# --------------------------------------------------------------------------

#: Placeholders that mean "no value" (compared lower-cased, after stripping).
#: ``"0"`` is *not* here: it is a real value for numbers; other types add it.
PLACEHOLDERS: tuple[str, ...] = (
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

#: Whitespace and dashes removed from inside codes (invisible characters are
#: removed before, see :func:`visible`).
CODE_JUNK_RE = r"[\s\-\u2010-\u2015_]"

NULL_STR = pl.lit(None, dtype=pl.String)


def is_placeholder(expr: pl.Expr, extra: Sequence[str] = ()) -> pl.Expr:
    """Whether the (stripped) text is a placeholder, or one of ``extra``."""
    return expr.str.to_lowercase().is_in([*PLACEHOLDERS, *extra])


def visible(expr: pl.Expr) -> pl.Expr:
    """``expr`` without invisible characters (:data:`relief_match.text.INVISIBLE_CHARS`)."""
    return expr.str.replace_all(INVISIBLE_RE, "")


def has_invisible(expr: pl.Expr) -> pl.Expr:
    """Whether ``expr`` contains an invisible character."""
    return expr.str.contains(INVISIBLE_RE)


#: The repair kind of removed invisible characters (needs the ``_inv`` field).
INVISIBLE_REPAIR = (_f("_inv"), "invisible_chars")


def folded(mapping: Mapping[str, str]) -> Fields:
    """``_s`` (stripped raw, invisible characters removed), ``_inv`` (had
    invisible characters), ``_fw`` (had full-width ASCII), ``_t`` (folded)."""
    s = visible(_f("_raw")).str.strip_chars()
    return {
        "_s": s,
        "_inv": has_invisible(_f("_raw")),
        "_fw": s.str.contains(FULLWIDTH_RE),
        "_t": s.str.replace_many(dict(mapping)).str.strip_chars(),
    }


# --------------------------------------------------------------------------
# standard output fields
# --------------------------------------------------------------------------


def repair_kinds(*pairs: tuple[pl.Expr, str]) -> Repairs:
    """Repair kinds with the condition under which each was applied."""
    return pairs


def outputs(missing: pl.Expr, valid: pl.Expr, repairs: Repairs, error: pl.Expr) -> Fields:
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


def standard_fast(value: pl.Expr) -> Fields:
    """Output fields of a value that is valid exactly as delivered."""
    return {"value": value, "status": pl.lit(OK), "repair": NULL_STR, "error": NULL_STR}


# --------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------


def as_text(expr: pl.Expr) -> pl.Expr:
    """The raw input as a non-null String (null becomes ``""``, i.e. missing)."""
    return expr.cast(pl.String).fill_null("")


def named(expr: pl.Expr, result: pl.Expr) -> pl.Expr:
    """``result`` under the output name of ``expr``, when polars can tell it."""
    name = expr.meta.output_name(raise_if_undetermined=False)
    return result.alias(name) if name else result


def pipeline(
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


def fast_then_slow(
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
    st = pl.struct(as_text(expr).alias("_raw"))
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
    return named(expr, st.struct.with_fields(_out=merged).struct.field("_out"))


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
