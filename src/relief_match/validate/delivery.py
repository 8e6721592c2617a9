"""Read, validate and stage a whole delivery directory into DuckDB.

For every extract of the catalog: find its file(s) under
``<delivery>/<department>/``, read each (whatever the format and encoding),
validate it, and append the accepted rows to the DuckDB table named after the
extract. Rejected rows go to ``_rm_quarantine``; repair counts to
``_rm_repairs``; one row per file (or per missing extract) to
``_rm_deliveries``. See ``docs/design.md`` §3.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from relief_match.catalog import Catalog, ExtractSpec
from relief_match.ingest.readers import UnreadableFileError, iter_any
from relief_match.validate.duplicates import DuplicateTracker
from relief_match.validate.quarantine import QUARANTINE_SCHEMA
from relief_match.validate.validator import ValidatedFile, validate_file

log = logging.getLogger(__name__)

_SUFFIXES = {".csv", ".txt", ".xlsx", ".parquet", ".xls"}


@dataclass
class ExtractReport:
    """What happened to one extract."""

    extract: str
    department: str
    status: str  # ok | missing | unreadable | partial
    files: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    encodings: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_used: int = 0
    rows_quarantined: int = 0
    rows_repaired: int = 0
    repairs: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    repairs_by_column: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_used + self.rows_quarantined


@dataclass
class IngestReport:
    """The ingest/validate stage's report (``asdict`` for machines, ``asstr`` for people)."""

    delivery: str
    extracts: list[ExtractReport]
    unknown_files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def available(self) -> set[str]:
        """Extracts staged tonight (delivered and at least partly readable)."""
        return {e.extract for e in self.extracts if e.status in ("ok", "partial")}

    @property
    def rows_read(self) -> int:
        return sum(e.rows_read for e in self.extracts)

    @property
    def rows_used(self) -> int:
        return sum(e.rows_used for e in self.extracts)

    @property
    def rows_quarantined(self) -> int:
        return sum(e.rows_quarantined for e in self.extracts)

    def asdict(self) -> dict[str, Any]:
        d = asdict(self)
        for e in d["extracts"]:
            e.pop("repairs_by_column", None)
        d["totals"] = {
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_quarantined": self.rows_quarantined,
            "reconciles": self.rows_read == self.rows_used + self.rows_quarantined,
        }
        return d

    def asstr(self) -> str:
        lines = [f"delivery {self.delivery}"]
        for e in self.extracts:
            lines.append(
                f"  {e.extract:<24} {e.status:<10} read {e.rows_read:>10,} used {e.rows_used:>10,}"
                f" quarantined {e.rows_quarantined:>8,} repaired {e.rows_repaired:>8,}"
            )
        lines.append(
            f"  total read {self.rows_read:,} = used {self.rows_used:,}"
            f" + quarantined {self.rows_quarantined:,}"
        )
        return "\n".join(lines)


def find_files(delivery: Path, spec: ExtractSpec) -> list[Path]:
    """Files delivering ``spec``: ``<department>/<extract>.*`` (or the Chinese title)."""
    folder = delivery / spec.department
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")):
            continue
        stem = p.name.split(".", 1)[0]
        if stem in (spec.extract, spec.title_zh) and p.suffix.lower() in _SUFFIXES:
            out.append(p)
    return out


def _create_meta_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE OR REPLACE TABLE _rm_quarantine (extract VARCHAR, file VARCHAR, row BIGINT,"
        ' "column" VARCHAR, raw_value VARCHAR, reason VARCHAR, message VARCHAR)'
    )
    con.execute(
        'CREATE OR REPLACE TABLE _rm_repairs (extract VARCHAR, "column" VARCHAR, kind VARCHAR,'
        " n BIGINT)"
    )
    con.execute(
        "CREATE OR REPLACE TABLE _rm_deliveries (extract VARCHAR, department VARCHAR,"
        " file VARCHAR, format VARCHAR, encoding VARCHAR, status VARCHAR, rows_read BIGINT,"
        " rows_used BIGINT, rows_quarantined BIGINT, message VARCHAR)"
    )


def _append(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, create: bool) -> None:
    con.register("_rm_tmp_frame", frame.to_arrow())
    try:
        if create:
            con.execute(f'CREATE OR REPLACE TABLE "{table}" AS SELECT * FROM _rm_tmp_frame')
        else:
            con.execute(f'INSERT INTO "{table}" BY NAME SELECT * FROM _rm_tmp_frame')
    finally:
        con.unregister("_rm_tmp_frame")


def ingest_delivery(
    delivery: Path,
    catalog: Catalog,
    con: duckdb.DuckDBPyConnection,
    *,
    chunk_bytes: int = 256 * 1024 * 1024,
    progress: Callable[[str], None] | None = None,
) -> IngestReport:
    """Read, validate and stage every extract of ``delivery`` into ``con``.

    Args:
        delivery: the delivery directory (``<department>/<extract>.*``).
        catalog: the extract schemas.
        con: the run's DuckDB connection; staged tables are (re)created.
        chunk_bytes: CSV files are read and validated in chunks of about this size.
        progress: called with the extract name before each extract.

    Returns:
        An :class:`IngestReport` whose per-extract counts always reconcile.
    """
    t0 = time.perf_counter()
    _create_meta_tables(con)
    reports: list[ExtractReport] = []
    claimed: set[Path] = set()
    for spec in catalog:
        if progress:
            progress(spec.extract)
        reports.append(_ingest_extract(delivery, spec, con, chunk_bytes, claimed))
    unknown = sorted(
        str(p.relative_to(delivery))
        for p in delivery.rglob("*")
        if p.is_file() and p not in claimed and not p.name.startswith(".")
    )
    for u in unknown:
        log.warning("file %s is not an extract of the contract; ignored", u)
    return IngestReport(str(delivery), reports, unknown, time.perf_counter() - t0)


def _ingest_extract(
    delivery: Path,
    spec: ExtractSpec,
    con: duckdb.DuckDBPyConnection,
    chunk_bytes: int,
    claimed: set[Path],
) -> ExtractReport:
    t0 = time.perf_counter()
    rep = ExtractReport(spec.extract, spec.department, "missing")
    files = find_files(delivery, spec)
    claimed.update(files)
    if not files:
        rep.notes.append(f"not delivered: no {spec.department}/{spec.extract}.* file")
        log.warning("%s: not delivered tonight", spec.extract)
        _record_file(con, spec, None, None, None, "missing", (0, 0, 0), rep.notes[-1])
        return rep
    created = False
    extra_created = False
    unreadable = 0
    for path in files:
        rel = str(path.relative_to(delivery))
        rep.files.append(rel)
        dups = DuplicateTracker()
        file_read = file_used = file_quarantined = 0
        fmt: str | None = None
        encoding: str | None = None
        notes: list[str] = []
        try:
            for raw in iter_any(path, chunk_bytes):
                fmt, encoding = fmt or raw.format, encoding or raw.encoding
                vf = validate_file(spec, raw, rel, dups)
                if vf.rows_read != vf.rows_used + vf.rows_quarantined:  # pragma: no cover
                    raise AssertionError(f"{rel}: rows do not reconcile")
                _append(con, spec.extract, vf.staged, create=not created)
                created = True
                if vf.extra is not None:
                    _append(con, f"{spec.extract}__extra", vf.extra, create=not extra_created)
                    extra_created = True
                if vf.quarantine.height:
                    _append(
                        con, "_rm_quarantine", vf.quarantine.select(list(QUARANTINE_SCHEMA)), False
                    )
                _account(rep, vf)
                file_read += vf.rows_read
                file_used += vf.rows_used
                file_quarantined += vf.rows_quarantined
                notes.extend(n for n in vf.notes if n not in notes)
        except UnreadableFileError as exc:
            unreadable += 1
            msg = f"{rel}: unreadable: {exc}"
            if file_read:
                msg += f" (after {file_read:,} rows had been read)"
            rep.notes.append(msg)
            log.error("%s", msg)
            _record_file(
                con,
                spec,
                rel,
                fmt,
                encoding,
                "unreadable",
                (file_read, file_used, file_quarantined),
                str(exc),
            )
            continue
        rep.formats.append(fmt or "")
        rep.encodings.append(encoding or "")
        rep.notes.extend(f"{rel}: {n}" for n in notes)
        _record_file(
            con,
            spec,
            rel,
            fmt,
            encoding,
            "ok",
            (file_read, file_used, file_quarantined),
            "; ".join(notes) or None,
        )
        log.info(
            "%s: %s read %d, used %d, quarantined %d",
            spec.extract,
            rel,
            file_read,
            file_used,
            file_quarantined,
        )
    if rep.repairs_by_column:
        con.executemany(
            "INSERT INTO _rm_repairs VALUES (?, ?, ?, ?)",
            [
                [spec.extract, col, kind, n]
                for (col, kind), n in sorted(rep.repairs_by_column.items())
            ],
        )
    if created:
        rep.status = "partial" if unreadable else "ok"
    else:
        rep.status = "unreadable"
    rep.seconds = round(time.perf_counter() - t0, 3)
    return rep


def _record_file(
    con: duckdb.DuckDBPyConnection,
    spec: ExtractSpec,
    file: str | None,
    fmt: str | None,
    encoding: str | None,
    status: str,
    counts: tuple[int, int, int],
    message: str | None,
) -> None:
    """One ``_rm_deliveries`` row: a delivered file, or a missing extract."""
    con.execute(
        "INSERT INTO _rm_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [spec.extract, spec.department, file, fmt, encoding, status, *counts, message],
    )


def _account(rep: ExtractReport, vf: ValidatedFile) -> None:
    rep.rows_read += vf.rows_read
    rep.rows_used += vf.rows_used
    rep.rows_quarantined += vf.rows_quarantined
    rep.rows_repaired += vf.rows_repaired
    for (col, kind), n in vf.repairs.items():
        rep.repairs_by_column[(col, kind)] = rep.repairs_by_column.get((col, kind), 0) + n
        key = f"{col}:{kind}"
        rep.repairs[key] = rep.repairs.get(key, 0) + n
    if vf.quarantine.height:
        reasons = vf.quarantine.select(pl.col("reason").str.split(",")).explode("reason")
        for reason, n in reasons.group_by("reason").len().sort("reason").iter_rows():
            rep.quarantine_reasons[reason] = rep.quarantine_reasons.get(reason, 0) + int(n)
