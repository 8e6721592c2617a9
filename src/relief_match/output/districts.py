"""District names from the shipped administrative-division code table.

``rules/districts.csv`` (GB/T 2260 codes as published by the Ministry of Civil
Affairs; its header comment gives the source, date and coverage) maps a
6-digit code to its Chinese name. A bureau's own rules folder may carry its
own copy; without one the shipped table is used.

Example:
    >>> load_districts()["441302"]
    '惠城区'
"""

from __future__ import annotations

import csv
from pathlib import Path

from relief_match.resources import default_dir

DISTRICTS_FILE = "districts.csv"


def districts_path(rules_dir: Path | None = None) -> Path:
    """``rules_dir/districts.csv`` when it exists, else the shipped one."""
    if rules_dir is not None and (rules_dir / DISTRICTS_FILE).is_file():
        return rules_dir / DISTRICTS_FILE
    return default_dir("rules") / DISTRICTS_FILE


def load_districts(rules_dir: Path | None = None) -> dict[str, str]:
    """Code -> Chinese name (an empty mapping when no table can be found)."""
    path = districts_path(rules_dir)
    if not path.is_file():
        return {}
    lines = [
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ]
    return {row["code"].strip(): row["name"].strip() for row in csv.DictReader(lines)}
