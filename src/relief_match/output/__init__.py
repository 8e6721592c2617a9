"""output stage: flags/households as csv (UTF-8 BOM), xlsx and parquet (IDs masked by relief_match.privacy)."""

from __future__ import annotations

from relief_match.output.columns import (
    FLAGS_COLUMNS,
    HOUSEHOLDS_COLUMNS,
    OUTCOME_ZH,
    RESOLVED_COLUMNS,
    ROUTE_ZH,
    SUPPRESSED_COLUMNS,
)
from relief_match.output.writers import OutputError, OutputReport, write_outputs

__all__ = [
    "FLAGS_COLUMNS",
    "HOUSEHOLDS_COLUMNS",
    "OUTCOME_ZH",
    "RESOLVED_COLUMNS",
    "ROUTE_ZH",
    "SUPPRESSED_COLUMNS",
    "OutputError",
    "OutputReport",
    "write_outputs",
]
