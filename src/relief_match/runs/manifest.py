"""``manifest.json``: what exactly a run read, with which code and configuration.

Enough to say, months later, whether two runs had the same inputs and rules:
every delivered file (path relative to the delivery, size, SHA-256), every
schema, check, parameter and linkage file (path, SHA-256), the package and
key library versions, the settings in effect, and per stage its time and the
process's peak memory so far, with the run's status and exit code.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from relief_match.runs.files import sha256_file

#: Libraries whose version changes what a run computes or writes.
LIBRARIES = (
    "polars",
    "duckdb",
    "splink",
    "pandera",
    "pyarrow",
    "xlsxwriter",
    "fastexcel",
    "opencc",
    "pypinyin",
)


def file_entries(root: Path, *, relative: bool = True) -> list[dict[str, Any]]:
    """Every (non-hidden) file under ``root``, sorted, with size and SHA-256."""
    if not root.is_dir():
        return []
    entries = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        entries.append(
            {
                "path": str(rel) if relative else str(p),
                "size": p.stat().st_size,
                "sha256": sha256_file(p),
            }
        )
    return entries


def versions() -> dict[str, str | None]:
    """relief-match, Python and the key libraries."""
    out: dict[str, str | None] = {"python": platform.python_version(), "platform": sys.platform}
    for name in ("relief-match", *LIBRARIES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def configuration(schemas_dir: Path, rules_dir: Path) -> dict[str, Any]:
    """The schema and rule files in effect (checks, params, linkage settings and model)."""
    return {
        "schemas_dir": str(schemas_dir.resolve()),
        "schemas": file_entries(schemas_dir),
        "rules_dir": str(rules_dir.resolve()),
        "rules": file_entries(rules_dir),
    }
