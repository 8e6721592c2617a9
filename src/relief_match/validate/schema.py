"""The pandera (polars) schema of an extract's staged values, and its failures.

The normalisers have already typed every cell; this layer checks what the
contract says about the typed values: nullability, allowed codes, code shapes.
(The plausible ranges, ``min``/``max``, are checked with the cell problems,
:func:`relief_match.validate.quarantine.range_problem`, so that the message
can name the bound.)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl

from relief_match.catalog import ExtractSpec


@contextmanager
def _pyspark_hidden() -> Iterator[None]:
    """Import pandera without its pyspark integrations.

    pandera imports ``pyspark.pandas`` and ``pyspark.sql`` whenever pyspark
    is installed (the ``spark`` extra): a second of every run, for types the
    polars API never uses. Unless pyspark is already loaded (the Spark engine;
    its pandas-version warning is silenced in ``relief_match/__init__``), it is
    hidden meanwhile.
    """
    hide = "pyspark" not in sys.modules
    if hide:
        sys.modules["pyspark"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if hide and sys.modules.get("pyspark", 0) is None:
            del sys.modules["pyspark"]


with _pyspark_hidden():
    import pandera.polars as pa
    from pandera.config import ValidationDepth, config_context

#: Column type (catalog) -> dtype of its staged value column.
STAGED_DTYPES: dict[str, Any] = {
    "str": pl.String,
    "id_no": pl.String,
    "credit_code": pl.String,
    "name": pl.String,
    "sex": pl.String,
    "enum": pl.String,
    "district_code": pl.String,
    "date": pl.Date,
    "month": pl.Date,
    "money": pl.Float64,
    "int": pl.Int64,
    "float": pl.Float64,
}


def pandera_schema(spec: ExtractSpec) -> pa.DataFrameSchema:
    """Build the pandera (polars) schema of an extract's staged value columns."""
    columns: dict[str, pa.Column] = {}
    for c in spec.columns:
        checks: list[pa.Check] = []
        if c.type == "enum" and c.values:
            checks.append(pa.Check.isin(list(c.values)))
        if c.type == "sex":
            checks.append(pa.Check.isin(["男", "女"]))
        if c.type == "district_code":
            checks.append(pa.Check.str_matches(r"^[1-8]\d{5}$"))
        # Unusable names and unverifiable IDs stay in the row (value NULL);
        # the linker decides what they are worth.
        nullable = c.is_nullable or c.type in ("id_no", "name", "credit_code")
        columns[c.name] = pa.Column(STAGED_DTYPES[c.type], checks=checks, nullable=nullable)
    return pa.DataFrameSchema(columns, name=spec.extract, strict=False)


def pandera_failures(schema: pa.DataFrameSchema, frame: pl.DataFrame) -> pl.DataFrame:
    """Return (index, column, check) for every failing cell of ``frame``."""
    empty = pl.DataFrame(schema={"index": pl.Int64, "column": pl.String, "check": pl.String})
    try:
        with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
            schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        if "index" not in fc.columns:
            raise
        return fc.filter(pl.col("index").is_not_null()).select(
            pl.col("index").cast(pl.Int64), pl.col("column").cast(pl.String), pl.col("check")
        )
    return empty
