"""Dates and calendar months, including Excel serial numbers.

Also home of the date table (:func:`date_from_ymd`) that the ID normaliser
uses to check the birth date embedded in an ID.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache

import polars as pl

from relief_match.ingest.normalize.pipeline import (
    FULLWIDTH_DATE_MAP,
    INVISIBLE_REPAIR,
    Fields,
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


MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)
_YMD_BASE = 19_000_000  # YYYYMMDD of the first date-table entry (1900-01-01)
_YMD_SIZE = 21_010_000 - _YMD_BASE  # up to 2100-12-31


@lru_cache(maxsize=1)
def _date_table() -> pl.Series:
    """``table[YYYYMMDD - 19000000]``: that Date, or null if it does not exist.

    Covers 1900-01-01..2100-12-31. A gather from this 2 M-entry table checks
    and converts a date given as digits in one step (much cheaper than string
    parsing or calendar arithmetic on millions of rows).
    """
    days = pl.date_range(MIN_DATE, MAX_DATE, eager=True)
    ymd = (
        days.dt.year().cast(pl.Int64) * 10_000
        + days.dt.month().cast(pl.Int64) * 100
        + days.dt.day().cast(pl.Int64)
    )
    table = pl.repeat(None, _YMD_SIZE, dtype=pl.Date, eager=True)
    return table.scatter(ymd - _YMD_BASE, days)


def date_from_ymd(ymd: pl.Expr) -> pl.Expr:
    """Date for an integer ``YYYYMMDD`` (null if impossible or outside 1900..2100)."""
    index = ymd - _YMD_BASE
    return pl.lit(_date_table()).gather(pl.when((index >= 0) & (index < _YMD_SIZE)).then(index))


def _in_years(year: pl.Expr) -> pl.Expr:
    return (year >= MIN_DATE.year) & (year <= MAX_DATE.year)


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

#: Dates that departments write for "unknown": 1900-01-01, 9999-12-31 and the
#: Excel epoch (serial 0 and 1: 1899-12-30/31, shown by Excel as 1900-01-00/01),
#: as ``YYYYMMDD``; plus all-zero dates (``0000-00-00``) and the serials below.
PLACEHOLDER_YMD = (18991230, 18991231, 19000101, 99991231)
#: Months that stand for "unknown", as ``YYYYMM01``.
PLACEHOLDER_MONTHS = (18991201, 19000101, 99991201)
_PLACEHOLDER_SERIALS = (0, 1, _EXCEL_MAX_SERIAL)
#: The repair kind counted for a placeholder date read as "no value".
PLACEHOLDER_DATE = "placeholder_date"


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
    return is_placeholder(t, ("0", "0.0")) | t.str.contains(_ZERO_DATE_RE)


def _placeholder_date(ymd: pl.Expr, serial: pl.Expr, t: pl.Expr) -> pl.Expr:
    """Whether the text is a placeholder date (:data:`PLACEHOLDER_YMD`): a
    recognised date text with that date, such an Excel serial, or all zeros."""
    return pl.when(ymd.is_not_null()).then(ymd.is_in(PLACEHOLDER_YMD)).otherwise(
        serial.is_in(_PLACEHOLDER_SERIALS)
    ).fill_null(False) | (t.str.contains(_ZERO_DATE_RE) & t.str.contains("0", literal=True))


def _with_placeholder(outs: Fields, placeholder: pl.Expr) -> Fields:
    """``outs`` with ``repair`` set to ``placeholder_date`` for a placeholder
    (then ``status`` is ``missing``: the date is unknown)."""
    repair = pl.when(placeholder).then(pl.lit(PLACEHOLDER_DATE)).otherwise(outs["repair"])
    return {**outs, "repair": repair}


def _date_full(raw: pl.Expr) -> pl.Expr:
    y, date, serial = _f("_y"), _f("_date"), _f("_serial")
    steps: Steps = [
        folded(FULLWIDTH_DATE_MAP),
        *_date_steps(),
        {
            "_date": pl.when(y.is_not_null())
            .then(date_from_ymd(_f("_ymd")))
            .otherwise(_serial_date(serial))
        },
    ]
    in_range = date.is_between(MIN_DATE, MAX_DATE).fill_null(False)
    error = (
        pl.when(y.is_not_null() & _in_years(y))
        .then(pl.lit("impossible date"))
        .when(y.is_not_null() | serial.is_not_null())
        .then(pl.lit("date out of range"))
        .otherwise(pl.lit("unrecognised date"))
    )
    repairs = repair_kinds(
        (_f("_fw"), "fullwidth"),
        (y.is_not_null() & ~_f("_s").str.contains("^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), "date_format"),
        (y.is_null(), "excel_serial"),
        INVISIBLE_REPAIR,
    )
    placeholder = _placeholder_date(_f("_ymd"), serial, _f("_t"))
    missing = _date_missing(_f("_t")) | placeholder
    final = {
        "value": pl.when(~missing & in_range).then(date),
        **_with_placeholder(outputs(missing, in_range, repairs, error), placeholder),
    }
    return pipeline(raw, steps, final)


def _iso_then_slow(expr: pl.Expr, iso_format: str, full: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """Fast path: the text is already exactly ``iso_format`` (``%Y-%m-%d`` or
    ``%Y-%m``) and after 1900-01-01 up to 2100 (1900-01-01 and 1900-01 are
    placeholders, see :data:`PLACEHOLDER_YMD`); ``full`` for the rest."""
    raw, d = _f("_raw"), _f("_d")
    width = len(dt.date(2000, 1, 1).strftime(iso_format))
    fast_steps: Steps = [
        {"_d": raw.str.to_date(iso_format, strict=False)},
        {
            "_fast": (
                (raw.str.len_bytes() == width) & d.is_between(MIN_DATE, MAX_DATE, closed="right")
            ).fill_null(False)
        },
    ]
    return fast_then_slow(expr, fast_steps, standard_fast(d), full)


def normalize_date(expr: pl.Expr) -> pl.Expr:
    """Normalise a date column (String input) to ``pl.Date``.

    Accepts ``2023-01-05``, ``2023/1/5``, ``2023-1-5``, ``20230105``,
    ``2023年1月5日``, ``2023.01.05``, a trailing time (``2023-01-05 00:00:00``,
    ``…T08:30``), full-width digits, and Excel serial numbers (``44931`` or
    ``44931.0``: 1900 system, day 0 = 1899-12-30; 6- and 8-digit numbers are
    read as ``YYYYMM``/``YYYYMMDD``, never as serials). Placeholders are
    ``missing``; so are the placeholder dates that mean "unknown"
    (``19000101``/``1900-01-01``, ``9999-12-31``, all zeros ``0000-00-00``,
    the Excel epoch 1899-12-30/31 and Excel serials ``0``/``1``), which also
    carry ``repair = "placeholder_date"`` so that the validator can count them
    (the only ``missing`` values with a ``repair``).

    Invalid (``error``): ``impossible date`` (2023-02-30, month 13),
    ``date out of range`` (outside 1900-01-01..2100-12-31), ``unrecognised date``.
    Repair kinds: ``date_format`` (not already ``YYYY-MM-DD``), ``excel_serial``,
    ``fullwidth``.
    """
    return _iso_then_slow(expr, "%Y-%m-%d", _date_full)


def _month_full(raw: pl.Expr) -> pl.Expr:
    my, month, y, serial = _f("_my"), _f("_month"), _f("_y"), _f("_serial")
    steps: Steps = [
        folded(FULLWIDTH_DATE_MAP),
        *_date_steps(_MONTH_RE),
        {
            "_month": pl.when(my.is_not_null())
            .then(date_from_ymd(_f("_mymd")))
            .when(y.is_not_null())
            .then(date_from_ymd(_f("_ymd")).dt.truncate("1mo"))
            .otherwise(_serial_date(serial).dt.truncate("1mo"))
        },
    ]
    in_range = month.is_between(MIN_DATE, MAX_DATE).fill_null(False)
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
    repairs = repair_kinds(
        (_f("_fw"), "fullwidth"),
        ((my.is_not_null() & ~iso) | (my.is_null() & y.is_not_null()), "date_format"),
        (my.is_null() & y.is_null(), "excel_serial"),
        INVISIBLE_REPAIR,
    )
    placeholder = _f("_mymd").is_in(PLACEHOLDER_MONTHS).fill_null(False) | _placeholder_date(
        _f("_ymd"), serial, _f("_t")
    )
    missing = _date_missing(_f("_t")) | placeholder
    final = {
        "value": pl.when(~missing & in_range).then(month),
        **_with_placeholder(outputs(missing, in_range, repairs, error), placeholder),
    }
    return pipeline(raw, steps, final)


def normalize_month(expr: pl.Expr) -> pl.Expr:
    """Normalise a calendar-month column; ``value`` is the Date of the 1st.

    Accepts ``2023-01``, ``202301``, ``2023年1月``, ``2023/1``, ``2023.01``,
    full-width digits, and anything :func:`normalize_date` accepts (a full
    date or an Excel serial: its month is taken). Placeholders are ``missing``;
    so are placeholder dates and months (``1900-01``, ``9999-12``, ``1899-12``,
    all zeros), with ``repair = "placeholder_date"``. Invalid (``error``): ``impossible month``
    (month 00 or 13), ``impossible date``, ``date out of range`` (outside
    1900..2100), ``unrecognised month``. Repair kinds: ``date_format`` (not
    already ``YYYY-MM``), ``excel_serial``, ``fullwidth``.
    """
    return _iso_then_slow(expr, "%Y-%m", _month_full)
