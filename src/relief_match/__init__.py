"""relief-match: cross-department checks of social-assistance recipients."""

from __future__ import annotations

import os
import warnings

#: polars allocates through jemalloc, which hands freed pages back to the OS
#: within seconds; the ingest frees and re-allocates about a gigabyte per
#: chunk, so on a 6 M-person night a quarter of the CPU went to page faults.
#: Freed pages are kept for a minute instead (measured: page faults -58 %,
#: system time -48 % on a 6 M-row register). Must be set before polars loads;
#: a bureau's own setting of the variable wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:60000,muzzy_decay_ms:60000")

__version__ = "0.1.0"

# With the spark engine, pyspark (and pandera, once pyspark is loaded) import
# pyspark.pandas, which may warn on stderr about the pandas version;
# relief-match never uses pyspark.pandas, and the warning would break the JSON
# log on stderr (one JSON object per line).
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
