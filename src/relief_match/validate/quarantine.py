"""Why a row is rejected, and the quarantine rows that say so.

Problems come from three places: the row as a whole (blank, ragged, a totals
line, an exact duplicate), a cell the normaliser could not use (see
:func:`cell_problem`) and a typed value that fails the pandera schema. Every
rejected row becomes one quarantine row listing all its reasons; raw values
are shown truncated, ID numbers masked (in the raw value and in the message:
a cell may hold an ID number shifted from another column).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from relief_match.catalog import ColumnSpec, ExtractSpec
from relief_match.ingest.readers import ROW_COL
from relief_match.privacy import mask_id_no, mask_ids_in_text

QUARANTINE_SCHEMA: dict[str, Any] = {
    "extract": pl.String,
    "file": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "raw_value": pl.String,
    "reason": pl.String,
    "message": pl.String,
}

#: Row-level reason -> what the quarantine message says.
_ROW_REASON_DETAILS = {
    "blank_row": "blank row",
    "ragged_row": "the row has a different number of fields than the header",
    "totals_row": "a totals/summary row, not a record",
    "no_identifier": "no ID, name or record number in the row: a totals/footer row, not a record",
    "duplicate_row": "exact duplicate of an earlier row",
}
#: Row-level reasons reported under another reason code.
_ROW_REASON_CODES = {"no_identifier": "totals_row"}
#: How a bound is written in a message, by column unit.
_UNIT_WORDS = {"yuan": " yuan", "wan": " wan yuan (万元)"}


def _bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def range_problems(col: ColumnSpec, value: pl.Expr) -> list[tuple[pl.Expr, str]]:
    """(condition, ``out_of_range|…``) for a typed value outside the column's
    plausible range (``min``/``max`` in the schema): the detail names the
    bound, not the value."""
    unit = _UNIT_WORDS.get(col.unit, "") if col.type == "money" else ""
    out: list[tuple[pl.Expr, str]] = []
    if col.min is not None:
        text = f"below the plausible minimum of {_bound(col.min)}{unit} (schema)"
        out.append((value < col.min, f"out_of_range|{text}"))
    if col.max is not None:
        text = f"above the plausible maximum of {_bound(col.max)}{unit} (schema)"
        out.append((value > col.max, f"out_of_range|{text}"))
    return out


def cell_problem(col: ColumnSpec, normalised: pl.Expr, column_missing: bool) -> pl.Expr:
    """``reason|detail`` when a normalised cell rejects its row, else null.

    ``normalised`` is the normaliser's struct for ``col``; ``column_missing``
    says the file lacks this required column altogether.
    """
    if column_missing:
        return pl.lit("missing_column|the file has no such column")
    status = normalised.struct.field("status")
    error = normalised.struct.field("error")
    placeholder = normalised.struct.field("repair") == "placeholder_date"
    if col.type in ("id_no", "name"):
        # Unusable names and unverifiable IDs stay in the row (value NULL):
        # the linker decides what they are worth.
        return pl.lit(None, dtype=pl.String)
    if col.type == "credit_code":
        # An invalid credit code is counted (status column) but does not
        # reject the row: the record still names its people. An absent
        # one where the contract requires it does.
        return (
            pl.when((status == "missing") & pl.lit(not col.is_nullable))
            .then(pl.lit("missing_value|required value is empty"))
            .otherwise(None)
        )
    required = pl.lit(not col.is_nullable)
    problem = (
        pl.when(status == "invalid")
        .then(pl.concat_str(pl.lit(f"invalid_{col.type}|"), error.fill_null("invalid value")))
        .when((status == "missing") & required & placeholder.fill_null(False))
        .then(pl.lit("missing_value|required date given as a placeholder for unknown"))
        .when((status == "missing") & required)
        .then(pl.lit("missing_value|required value is empty"))
    )
    for outside, text in range_problems(col, normalised.struct.field("value")):
        problem = problem.when(outside).then(pl.lit(text))
    return problem.otherwise(None)


def _masked(expr: pl.Expr, fn: Callable[[str], str]) -> pl.Expr:
    return expr.map_batches(
        lambda s: s.map_elements(fn, return_dtype=pl.String), return_dtype=pl.String
    )


def _mask_raw(col: ColumnSpec, expr: pl.Expr) -> pl.Expr:
    """A raw cell as quarantine may show it: IDs masked (also an ID number
    shifted into another column), other text truncated."""
    if col.type == "id_no":
        return _masked(expr, mask_id_no)
    return _masked(expr, mask_ids_in_text).str.slice(0, 100)


def collect_problems(
    spec: ExtractSpec, staged_all: pl.DataFrame, raw_frame: pl.DataFrame, failures: pl.DataFrame
) -> pl.DataFrame:
    """One row per (row index, column, reason, detail, raw value)."""
    # Work on the few suspect rows only, not on copies of the whole chunk.
    pcols = [f"__p_{c.name}" for c in spec.columns]
    fail_idx = failures.get_column("index").cast(pl.UInt32).unique()
    suspect = (
        pl.col("_row_reason").is_not_null()
        | pl.any_horizontal(pl.col(p).is_not_null() for p in pcols)
        | pl.col("__idx").is_in(fail_idx.implode())
    )
    staged_all = staged_all.select("__idx", ROW_COL, "_row_reason", *pcols).filter(suspect)
    raw_vals = (
        raw_frame.select([pl.col(c.name) for c in spec.columns])
        .with_row_index("__idx")
        .join(staged_all.select("__idx"), on="__idx", how="semi")
    )
    parts: list[pl.DataFrame] = []
    row_level = staged_all.filter(pl.col("_row_reason").is_not_null()).select(
        "__idx",
        pl.lit(None, dtype=pl.String).alias("column"),
        pl.col("_row_reason")
        .replace_strict(_ROW_REASON_CODES, default=pl.col("_row_reason"))
        .alias("reason"),
        pl.col("_row_reason")
        .replace_strict(_ROW_REASON_DETAILS, default="row problem")
        .alias("detail"),
        pl.lit(None, dtype=pl.String).alias("raw_value"),
    )
    parts.append(row_level)
    ok_rows = staged_all.filter(pl.col("_row_reason").is_null())
    col_map = {c.name: c for c in spec.columns}
    for c in spec.columns:
        p = pl.col(f"__p_{c.name}")
        sub = ok_rows.filter(p.is_not_null()).select(
            "__idx",
            pl.lit(c.name).alias("column"),
            p.str.split_exact("|", 1).struct.field("field_0").alias("reason"),
            p.str.split_exact("|", 1).struct.field("field_1").alias("detail"),
        )
        if sub.height:
            sub = sub.join(
                raw_vals.select("__idx", _mask_raw(c, pl.col(c.name)).alias("raw_value")),
                on="__idx",
                how="left",
            )
            parts.append(sub)
    if failures.height:
        bad_cols = set(failures["column"].unique().to_list())
        for cname in sorted(bad_cols & set(col_map)):
            c = col_map[cname]
            f = failures.filter(pl.col("column") == cname).rename({"index": "__idx"})
            f = f.with_columns(pl.col("__idx").cast(pl.UInt32))
            # Report a pandera failure only where parsing found nothing wrong
            # with the cell and the row as a whole was not already rejected.
            f = f.join(
                ok_rows.filter(pl.col(f"__p_{cname}").is_null()).select("__idx"),
                on="__idx",
                how="semi",
            )
            if not f.height:
                continue
            sub = f.select(
                "__idx",
                pl.lit(cname).alias("column"),
                pl.when(pl.col("check") == "not_nullable")
                .then(pl.lit("missing_value"))
                .when(pl.col("check").str.starts_with("isin"))
                .then(pl.lit("unknown_code"))
                .otherwise(pl.lit("out_of_range"))
                .alias("reason"),
                pl.concat_str(pl.lit("fails check "), pl.col("check")).alias("detail"),
            ).join(
                raw_vals.select("__idx", _mask_raw(c, pl.col(cname)).alias("raw_value")),
                on="__idx",
                how="left",
            )
            parts.append(sub)
    schema = {
        "__idx": pl.UInt32,
        "column": pl.String,
        "reason": pl.String,
        "detail": pl.String,
        "raw_value": pl.String,
    }
    parts = [p.select(list(schema)).cast(schema) for p in parts]  # type: ignore[arg-type]
    out = pl.concat(parts) if parts else pl.DataFrame(schema=schema)
    return (
        out.unique(subset=["__idx", "column", "reason"], keep="first", maintain_order=True)
        .join(staged_all.select("__idx", ROW_COL), on="__idx", how="left")
        .sort(["__idx", "column"], nulls_last=False)
    )


def quarantine_rows(spec: ExtractSpec, file_rel: str, problems: pl.DataFrame) -> pl.DataFrame:
    """One quarantine row per rejected input row, all its reasons joined."""
    if problems.height == 0:
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    zh = {c.name: c.zh for c in spec.columns}
    header_label = pl.col("column").replace_strict(
        {k: f"{k} ({v})" for k, v in zh.items()}, default=pl.col("column")
    )
    one = problems.with_columns(
        pl.when(pl.col("column").is_null())
        .then(pl.col("detail"))
        .otherwise(
            pl.concat_str(
                pl.lit("column "),
                header_label,
                pl.lit(": "),
                pl.col("detail"),
                # (an out-of-range value is named by its bound, not quoted)
                pl.when(pl.col("raw_value").is_not_null() & (pl.col("reason") != "out_of_range"))
                .then(pl.concat_str(pl.lit(" (value '"), pl.col("raw_value"), pl.lit("')")))
                .otherwise(pl.lit("")),
            )
        )
        .alias("msg")
    )
    grouped = one.group_by("__idx", maintain_order=True).agg(
        pl.col(ROW_COL).first().alias("row"),
        pl.col("column").drop_nulls().str.join(",").alias("column"),
        pl.col("raw_value").drop_nulls().first().alias("raw_value"),
        pl.col("reason").str.join(",").alias("reason"),
        pl.col("msg").str.join("; ").alias("detail"),
    )
    return grouped.select(
        pl.lit(spec.extract).alias("extract"),
        pl.lit(file_rel).alias("file"),
        pl.col("row").cast(pl.Int64),
        pl.when(pl.col("column") == "").then(None).otherwise(pl.col("column")).alias("column"),
        pl.col("raw_value"),
        pl.col("reason"),
        pl.concat_str(
            pl.lit(f"{file_rel} row "),
            pl.col("row").cast(pl.String),
            pl.lit(": "),
            # (a normaliser's detail may quote the cell: ``unknown code '…'``)
            _masked(pl.col("detail"), mask_ids_in_text),
        ).alias("message"),
    ).sort("row")
