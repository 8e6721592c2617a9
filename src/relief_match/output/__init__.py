"""output stage: flags/households as csv (UTF-8 BOM), xlsx and parquet; ID masking."""

from __future__ import annotations

from relief_match.output.masking import mask_id
from relief_match.output.writers import (
    FLAGS_COLUMNS,
    HOUSEHOLDS_COLUMNS,
    ROUTE_ZH,
    OutputError,
    OutputReport,
    write_outputs,
)

__all__ = [
    "FLAGS_COLUMNS",
    "HOUSEHOLDS_COLUMNS",
    "ROUTE_ZH",
    "OutputError",
    "OutputReport",
    "mask_id",
    "write_outputs",
]
