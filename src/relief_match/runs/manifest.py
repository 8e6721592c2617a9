"""``manifest.json``: what exactly a run read, with which code and configuration.

Enough to say, months later, whether two runs had the same inputs and rules:
every delivered file (path relative to the delivery, size, SHA-256), every
schema, check, parameter and linkage file (path, SHA-256), the package and
key library versions, the settings in effect, and per stage its time and the
process's peak memory so far, with the run's status and exit code.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
from importlib import metadata
from pathlib import Path
from typing import Any

from relief_match.runs.files import sha256_file

log = logging.getLogger(__name__)

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


def _listing(root: Path) -> list[tuple[Path, Path]]:
    """Every (non-hidden) regular file under ``root`` with its relative path, sorted."""
    if not root.is_dir():
        return []
    found = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and not any(part.startswith(".") for part in rel.parts):
            found.append((p, rel))
    return found


def file_entries(root: Path, *, relative: bool = True) -> list[dict[str, Any]]:
    """Every (non-hidden) file under ``root``, sorted, with size and SHA-256."""
    return _entries(_listing(root), relative=relative)


def _entries(
    listing: list[tuple[Path, Path]], *, relative: bool = True, hashed: bool = True
) -> list[dict[str, Any]]:
    return [
        {
            "path": str(rel) if relative else str(p),
            "size": p.stat().st_size,
            "sha256": sha256_file(p) if hashed else None,
        }
        for p, rel in listing
    ]


class InputHashes:
    """The delivery's :func:`file_entries`, hashed on a background thread.

    Hashing a city's 2 GB costs seconds of reading; done beside the job (which
    reads the same files, mostly from the page cache then) it costs no wall
    time. :meth:`entries` waits for it; a failure is logged, not raised: the
    manifest then lists the files without hashes.
    """

    def __init__(self, root: Path) -> None:
        self._listing = _listing(root)
        self.files = len(self._listing)
        self.bytes = sum(p.stat().st_size for p, _ in self._listing)
        self._entries: list[dict[str, Any]] | None = None
        self._thread = threading.Thread(target=self._hash, name="hash-inputs", daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        try:
            self._entries = _entries(self._listing)
        except OSError as exc:
            log.warning("the delivery's files could not be hashed (%s)", type(exc).__name__)

    def entries(self) -> list[dict[str, Any]]:
        """The file entries (waits for the hashing to finish)."""
        self._thread.join()
        if self._entries is None:
            return _entries(self._listing, hashed=False)
        return self._entries


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
