"""Which files of a delivery deliver which extract.

The contract's file is ``<department>/<extract>.<ext>`` (or the extract's
Chinese title as the stem). A file whose name starts with the extract's name
followed by ``.``, ``_``, ``-`` or a space (``benefit_payments.2026-11-27.csv``,
``benefit_payments_part2.csv``) is another *part* of the same delivery: its
rows are read too, and a row identical to one already read (from any part) is
quarantined as ``duplicate_row``. The longest matching extract name wins.

Symlinks are never followed: a linked file or folder is skipped with a note,
so nothing outside the delivery directory is read or echoed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = {".csv", ".txt", ".xlsx", ".parquet", ".xls"}
_PART_SEPARATORS = "._- "


@dataclass
class DeliveryFiles:
    """The regular files of a delivery, by extract, and what was left out."""

    by_extract: dict[str, list[Path]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _owner(name: str, names: dict[str, str]) -> str | None:
    """The extract a file name belongs to (longest matching name), if any."""
    stem = name.rsplit(".", 1)[0]
    best: tuple[int, str | None] = (0, None)
    for label, extract in names.items():
        if stem == label or (stem.startswith(label) and stem[len(label)] in _PART_SEPARATORS):
            best = max(best, (len(label), extract), key=lambda b: b[0])
    return best[1]


def _is_contract_file(path: Path, labels: Iterable[str]) -> bool:
    return path.name.rsplit(".", 1)[0] in labels


def scan_delivery(delivery: Path, extracts: Iterable[tuple[str, str, str]]) -> DeliveryFiles:
    """Sort the files under ``delivery`` by extract.

    Args:
        delivery: the delivery directory.
        extracts: ``(extract, department, title_zh)`` of every contract extract.
    """
    out = DeliveryFiles()
    by_dept: dict[str, dict[str, str]] = {}
    labels: dict[str, set[str]] = {}
    for extract, dept, title in extracts:
        by_dept.setdefault(dept, {}).update({extract: extract, title: extract})
        labels[extract] = {extract, title}
        out.by_extract[extract] = []
    for root, dirs, files in os.walk(delivery, followlinks=False):
        base = Path(root)
        for d in sorted(dirs):
            if (base / d).is_symlink():
                out.skipped.append(f"skipped symlink {(base / d).relative_to(delivery)}")
        for name in sorted(files):
            path = base / name
            rel = str(path.relative_to(delivery))
            if name.startswith("."):
                continue
            if path.is_symlink():
                out.skipped.append(f"skipped symlink {rel}")
                continue
            if not path.is_file():
                out.skipped.append(f"skipped {rel}: not a regular file")
                continue
            names = by_dept.get(str(path.parent.relative_to(delivery)), {})
            owner = _owner(name, names) if not name.startswith("~$") else None
            if owner is None or path.suffix.lower() not in SUFFIXES:
                out.unknown.append(rel)
                continue
            out.by_extract[owner].append(path)
    for extract, paths in out.by_extract.items():
        own = labels[extract]
        paths.sort(key=lambda p: (not _is_contract_file(p, own), p.name))
    out.skipped.sort()
    return out
