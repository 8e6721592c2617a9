"""relief-match: cross-department checks of social-assistance recipients."""

from __future__ import annotations

import warnings

__version__ = "0.1.0"

# With the spark extra installed, pandera (on every engine) and pyspark import
# pyspark.pandas, which warns on stderr about the pandas version on every run;
# relief-match never uses pyspark.pandas, and the warning would break the JSON
# log on stderr (one JSON object per line).
warnings.filterwarnings(
    "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
)
