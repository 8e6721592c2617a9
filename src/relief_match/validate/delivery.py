"""Read, validate and stage a whole delivery directory into DuckDB.

For every extract of the catalog: find its file(s) under
``<delivery>/<department>/`` (the contract file and any part of it, see
:mod:`relief_match.ingest.discover`; symlinks are never followed), read each
(whatever the format and encoding), validate it, and stage the accepted rows
(:class:`~relief_match.validate.staging.StageSink`: parquet parts behind a
DuckDB view named after the extract, or a DuckDB table). Extracts are
validated ``workers`` at a time. Rejected rows (by the reader or
the validator) go to ``_rm_quarantine``; repair counts to ``_rm_repairs``; one
row per file (or per missing extract) to ``_rm_deliveries``. A row identical to
one already read from any file of the same extract is a ``duplicate_row``.
An extract with no usable row (missing, unreadable, header only, a required
column missing, every row quarantined) is *unusable*: not in
:attr:`IngestReport.available`, so the checks that need it do not run.
See ``docs/design.md`` §3.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from relief_match.catalog import Catalog, ExtractSpec
from relief_match.ingest.discover import SUFFIXES, scan_delivery
from relief_match.ingest.readers import (
    RawTable,
    ReadHints,
    Reject,
    UnreadableFileError,
    count_data_lines,
    iter_any,
)
from relief_match.validate.duplicates import DuplicateTracker
from relief_match.validate.quarantine import QUARANTINE_SCHEMA
from relief_match.validate.staging import StageSink
from relief_match.validate.validator import ValidatedFile, validate_file

log = logging.getLogger(__name__)

_SUFFIXES = SUFFIXES
_TEXT_TYPES = frozenset({"id_no", "credit_code", "str"})


@dataclass
class ExtractReport:
    """What happened to one extract."""

    extract: str
    department: str
    status: str  # ok | missing | unreadable | partial
    usable: bool = False
    unusable_reason: str | None = None  # missing | unreadable | header_only | ...
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
    missing_required: bool = field(default=False, repr=False)

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
    notes: list[str] = field(default_factory=list)

    @property
    def available(self) -> set[str]:
        """Extracts staged tonight with at least one usable row."""
        return {e.extract for e in self.extracts if e.usable}

    @property
    def unusable(self) -> dict[str, str]:
        """Extract -> why it is unusable tonight (``missing``, ``unreadable``,
        ``header_only``, ``missing_required_column``, ``no_usable_rows``)."""
        return {e.extract: e.unusable_reason or "unusable" for e in self.extracts if not e.usable}

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
            e.pop("missing_required", None)
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
    """Files delivering ``spec``: ``<department>/<extract>.*`` (or the Chinese
    title) first, then its parts (``<extract>.<anything>.*``); no symlinks."""
    found = scan_delivery(delivery, [(spec.extract, spec.department, spec.title_zh)])
    return found.by_extract[spec.extract]


def read_hints(spec: ExtractSpec) -> ReadHints:
    """What the readers may know of ``spec``: its headers and its text columns."""
    return ReadHints(
        dict(spec.header_map), frozenset(c.name for c in spec.columns if c.type in _TEXT_TYPES)
    )


def ingest_delivery(
    delivery: Path,
    catalog: Catalog,
    con: duckdb.DuckDBPyConnection,
    *,
    chunk_bytes: int = 256 * 1024 * 1024,
    progress: Callable[[str], None] | None = None,
    staging_dir: Path | None = None,
    workers: int = 1,
) -> IngestReport:
    """Read, validate and stage every extract of ``delivery`` into ``con``.

    Args:
        delivery: the delivery directory (``<department>/<extract>.*``).
        catalog: the extract schemas.
        con: the run's DuckDB connection; staged tables are (re)created.
        chunk_bytes: CSV and parquet files are read and validated in chunks of about
            this size (uncompressed).
        progress: called with the extract name before each extract.
        staging_dir: where the staged rows are written as parquet (exposed as
            views in ``con``); ``None`` stages into DuckDB tables.
        workers: extracts validated at the same time (polars and DuckDB
            release the GIL, so two workers keep two cores busy).

    Returns:
        An :class:`IngestReport` whose per-extract counts always reconcile.
        The reports, the staged tables and the reconciliation do not depend
        on ``workers``.
    """
    t0 = time.perf_counter()
    sink = StageSink(con, staging_dir)
    found = scan_delivery(delivery, [(s.extract, s.department, s.title_zh) for s in catalog])

    def one(spec: ExtractSpec) -> ExtractReport:
        if progress:
            progress(spec.extract)
        rep = _ingest_extract(delivery, spec, sink, chunk_bytes, found.by_extract[spec.extract])
        sink.finish(spec.extract, rep.usable)
        return rep

    # the biggest deliveries first, so that the workers finish together
    order = sorted(catalog, key=lambda s: -_delivered_bytes(found.by_extract[s.extract]))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
            done = dict(zip([s.extract for s in order], pool.map(one, order), strict=True))
    else:
        done = {s.extract: one(s) for s in order}
    reports = [done[spec.extract] for spec in catalog]
    for u in found.unknown:
        log.warning("file %s is not an extract of the contract; ignored", u)
    for n in found.skipped:
        log.warning("%s (a delivery is read from its own regular files only)", n)
    return IngestReport(
        str(delivery), reports, found.unknown, time.perf_counter() - t0, found.skipped
    )


def _delivered_bytes(files: list[Path]) -> int:
    total = 0
    for f in files:
        with contextlib.suppress(OSError):  # gone since the scan: read (and reported) later
            total += f.lstat().st_size
    return total


def _ingest_extract(
    delivery: Path,
    spec: ExtractSpec,
    sink: StageSink,
    chunk_bytes: int,
    files: list[Path],
) -> ExtractReport:
    t0 = time.perf_counter()
    rep = ExtractReport(spec.extract, spec.department, "missing")
    if not files:
        rep.notes.append(f"not delivered: no {spec.department}/{spec.extract}.* file")
        log.warning("%s: not delivered tonight", spec.extract)
        _record_file(sink, spec, None, None, None, "missing", (0, 0, 0), rep.notes[-1])
        _decide_usable(rep)
        return rep
    if len(files) > 1:
        rep.notes.append(
            "several files read as parts of one delivery (rows repeated across them are"
            " quarantined as duplicate_row): "
            + ", ".join(str(p.relative_to(delivery)) for p in files)
        )
        log.warning("%s: %s", spec.extract, rep.notes[-1])
    unreadable = 0
    dups = DuplicateTracker()  # spans the chunks and the files of the extract
    hints = read_hints(spec)
    for path in files:
        rel = str(path.relative_to(delivery))
        rep.files.append(rel)
        counts = [0, 0, 0]  # read, used, quarantined
        fmt: str | None = None
        encoding: str | None = None
        notes: list[str] = []
        try:
            for raw in iter_any(path, chunk_bytes, hints):
                fmt, encoding = fmt or raw.format, encoding or raw.encoding
                _stage_chunk(sink, spec, rep, raw, rel, dups, counts, notes)
        except Exception as exc:  # one file never costs the night
            unreadable += 1
            why = str(exc) if isinstance(exc, UnreadableFileError) else _internal(exc)
            _quarantine_rest(sink, spec, rep, path, rel, why, counts)
            _record_file(sink, spec, rel, fmt, encoding, "unreadable", counts, why)
            continue
        rep.formats.append(fmt or "")
        rep.encodings.append(encoding or "")
        rep.notes.extend(f"{rel}: {n}" for n in notes)
        _record_file(sink, spec, rel, fmt, encoding, "ok", counts, "; ".join(notes) or None)
        log.info("%s: %s read %d, used %d, quarantined %d", spec.extract, rel, *counts)
    if rep.repairs_by_column:
        sink.executemany(
            "INSERT INTO _rm_repairs VALUES (?, ?, ?, ?)",
            [
                [spec.extract, col, kind, n]
                for (col, kind), n in sorted(rep.repairs_by_column.items())
            ],
        )
    if sink.has_staged(spec.extract):
        rep.status = "partial" if unreadable else "ok"
    else:
        rep.status = "unreadable"
    _decide_usable(rep)
    rep.seconds = round(time.perf_counter() - t0, 3)
    return rep


def _internal(exc: Exception) -> str:
    """An unexpected reader failure, named by its type only (texts may quote data)."""
    log.error("internal error while reading (%s)", type(exc).__name__)
    return f"could not be read (internal error {type(exc).__name__})"


def _stage_chunk(
    sink: StageSink,
    spec: ExtractSpec,
    rep: ExtractReport,
    raw: RawTable,
    rel: str,
    dups: DuplicateTracker,
    counts: list[int],
    notes: list[str],
) -> None:
    """Validate one chunk of a file and stage, quarantine and count its rows."""
    vf = validate_file(spec, raw, rel, dups)
    if vf.rows_read != vf.rows_used + vf.rows_quarantined:  # pragma: no cover
        raise AssertionError(f"{rel}: rows do not reconcile")
    sink.staged(spec.extract, vf.staged)
    if vf.extra is not None:
        sink.append(f"{spec.extract}__extra", vf.extra)
    if vf.quarantine.height:
        sink.append("_rm_quarantine", vf.quarantine.select(list(QUARANTINE_SCHEMA)))
    _account(rep, vf)
    rep.missing_required |= any(not spec.column(c).is_nullable for c in vf.missing_columns)
    counts[0] += vf.rows_read
    counts[1] += vf.rows_used
    counts[2] += vf.rows_quarantined
    _quarantine_rejects(sink, spec, rep, rel, raw.rejects, counts)
    for kind, n in raw.repairs.items():
        key = ("_line", kind)
        rep.repairs_by_column[key] = rep.repairs_by_column.get(key, 0) + n
        rep.repairs[f"_line:{kind}"] = rep.repairs.get(f"_line:{kind}", 0) + n
    notes.extend(n for n in vf.notes if n not in notes)


def _quarantine_rejects(
    sink: StageSink,
    spec: ExtractSpec,
    rep: ExtractReport,
    rel: str,
    rejects: list[Reject],
    counts: list[int],
) -> None:
    """Quarantine the records a reader rejected (each counted as read)."""
    if not rejects:
        return
    rows = []
    for r in rejects:
        where = f"{rel} row {r.row}" if r.row is not None else rel
        rows.append([spec.extract, rel, r.row, r.column, None, r.reason, f"{where}: {r.detail}"])
        rep.quarantine_reasons[r.reason] = rep.quarantine_reasons.get(r.reason, 0) + r.count
        rep.rows_read += r.count
        rep.rows_quarantined += r.count
        counts[0] += r.count
        counts[2] += r.count
    sink.executemany("INSERT INTO _rm_quarantine VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _quarantine_rest(
    sink: StageSink,
    spec: ExtractSpec,
    rep: ExtractReport,
    path: Path,
    rel: str,
    why: str,
    counts: list[int],
) -> None:
    """A file that cannot be read (further): its remaining lines, counted, in one entry."""
    total = count_data_lines(path)
    rest = max(0, total - counts[0]) if total is not None else 0
    msg = f"{rel}: unreadable: {why}"
    if counts[0]:
        msg += f" (after {counts[0]:,} rows had been read)"
    if total is None:
        msg += "; its rows cannot be counted"
    rep.notes.append(msg)
    log.error("%s", msg)
    if total is not None and rest == 0:
        return
    detail = f"unreadable ({why}): {rest:,} data row(s) quarantined as one entry"
    _quarantine_rejects(
        sink, spec, rep, rel, [Reject(None, "unreadable_file", detail, rest)], counts
    )


def _decide_usable(rep: ExtractReport) -> None:
    """``usable`` and ``unusable_reason`` from what happened to the extract."""
    if rep.status == "missing":
        reason: str | None = "missing"
    elif rep.status == "unreadable":
        reason = "unreadable"
    elif rep.rows_read == 0:
        reason = "header_only"
    elif rep.rows_used == 0 and rep.missing_required:
        reason = "missing_required_column"
    elif rep.rows_used == 0:
        reason = "no_usable_rows"
    else:
        reason = None
    rep.usable, rep.unusable_reason = reason is None, reason
    if reason not in (None, "missing"):
        log.warning("%s: unusable tonight (%s): its checks do not run", rep.extract, reason)


def _record_file(
    sink: StageSink,
    spec: ExtractSpec,
    file: str | None,
    fmt: str | None,
    encoding: str | None,
    status: str,
    counts: Sequence[int],
    message: str | None,
) -> None:
    """One ``_rm_deliveries`` row: a delivered file, or a missing extract."""
    sink.execute(
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
