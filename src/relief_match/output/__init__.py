"""output stage: flags/households as csv (UTF-8 BOM), xlsx and parquet (IDs masked by relief_match.privacy)."""

from __future__ import annotations

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
    "write_outputs",
]
