"""Ingest on Spark: the same readers and validators, one Spark task per extract.

A table of the catalog's extracts is spread over Spark tasks
(``mapInArrow``); each task runs :func:`relief_match.validate.delivery.ingest_delivery`
for its one extract on an in-memory DuckDB database (so every repair, every
quarantine rule, the duplicate tracking across the files of an extract and the
per-extract accounting are the DuckDB engine's own code), and writes the
tables it made (the staged extract, ``<extract>__extra``/``__unusable``,
``_rm_quarantine``, ``_rm_repairs``, ``_rm_deliveries``) as parquet under the
staging location ``<staging>/<table>/<extract>.parquet`` (a path or URI that
pyarrow can write: local, HDFS, S3, GCS). The task returns its
:class:`~relief_match.validate.delivery.ExtractReport`; the driver assembles
the :class:`~relief_match.validate.delivery.IngestReport` in catalog order.

The delivery directory must be readable by every executor at the same path
(a shared mount); the staging location by the driver and every executor.
"""

from __future__ import annotations

import logging
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relief_match.catalog import Catalog
from relief_match.ingest.discover import scan_delivery
from relief_match.validate.delivery import ExtractReport, IngestReport

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

#: The ingest's bookkeeping tables, one file per extract each.
META_TABLES = ("_rm_quarantine", "_rm_repairs", "_rm_deliveries")


def _filesystem(uri: str) -> tuple[Any, str]:
    """The pyarrow filesystem of ``uri`` and the path in it."""
    from pyarrow import fs

    if "://" not in uri:
        return fs.LocalFileSystem(), str(Path(uri).resolve())
    return fs.FileSystem.from_uri(uri)


def remove_staging(staging: str) -> None:
    """Delete the run's staging folder (its data is in the run's database by then)."""
    filesystem, root = _filesystem(staging)
    filesystem.delete_dir_contents(root, missing_dir_ok=True)
    filesystem.delete_dir(root)


def write_table(staging: str, table: str, part: str, data: pa.Table) -> None:
    """Write ``data`` as ``<staging>/<table>/<part>.parquet``."""
    import pyarrow.parquet as pq

    filesystem, root = _filesystem(staging)
    filesystem.create_dir(f"{root}/{table}", recursive=True)
    pq.write_table(data, f"{root}/{table}/{part}.parquet", filesystem=filesystem)


def read_table(staging: str, table: str, parts: list[str] | None = None) -> pa.Table:
    """``<staging>/<table>``: its parts in the order given (all, by name, without)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    filesystem, root = _filesystem(staging)
    folder = f"{root}/{table}"
    if parts is None:
        infos = filesystem.get_file_info(fs_selector(folder))
        names = sorted(i.base_name[: -len(".parquet")] for i in infos)
    else:
        names = parts
    tables = [pq.read_table(f"{folder}/{n}.parquet", filesystem=filesystem) for n in names]
    return pa.concat_tables(tables)


def fs_selector(folder: str) -> Any:
    from pyarrow import fs

    return fs.FileSelector(folder, allow_not_found=True)


def table_uri(staging: str, table: str) -> str:
    """The folder of ``table`` under ``staging``, as Spark reads it."""
    return f"{staging.rstrip('/')}/{table}" if "://" in staging else str(Path(staging) / table)


def _export(con: duckdb.DuckDBPyConnection, staging: str, extract: str) -> list[str]:
    """Write every table of the task's database; return their names."""
    names = [str(r[0]) for r in con.execute("SHOW TABLES").fetchall()]
    for name in names:
        write_table(staging, name, extract, con.table(name).to_arrow_table())
    return names


def ingest_one(
    delivery: Path, catalog: Catalog, extract: str, staging: str, chunk_bytes: int
) -> tuple[ExtractReport, list[str]]:
    """Ingest one extract as the DuckDB engine does; stage its tables as parquet."""
    import duckdb

    from relief_match.validate.delivery import ingest_delivery

    one = Catalog([catalog[extract]], catalog.root)
    # the other extracts' files are "unknown" to this task's scan: the driver reports the delivery's
    logging.getLogger("relief_match.validate.delivery").setLevel(logging.ERROR)
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        report = ingest_delivery(delivery, one, con, chunk_bytes=chunk_bytes)
        return report.extracts[0], _export(con, staging, extract)
    finally:
        con.close()


def ingest_on_spark(
    spark: SparkSession,
    delivery: Path,
    catalog: Catalog,
    staging: str,
    chunk_bytes: int,
) -> tuple[IngestReport, dict[str, list[str]]]:
    """Ingest every extract of ``catalog`` on Spark, one task per extract.

    Returns:
        The ingest report (as :func:`~relief_match.validate.delivery.ingest_delivery`
        returns it) and, per staged table, the extracts that wrote a part of it.
    """
    import pyarrow as pa

    t0 = time.perf_counter()
    names = [spec.extract for spec in catalog]
    schema = pa.schema([("extract", pa.string()), ("report", pa.binary())])
    root = delivery.resolve()

    def task(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for extract in batch.column("extract").to_pylist():
                result = ingest_one(root, catalog, extract, staging, chunk_bytes)
                yield pa.RecordBatch.from_pylist(
                    [{"extract": extract, "report": pickle.dumps(result)}], schema=schema
                )

    one_per_task = spark.sparkContext.parallelize([(n,) for n in names], len(names))
    rows = (
        spark.createDataFrame(one_per_task, "extract string")
        .mapInArrow(task, "extract string, report binary")
        .collect()
    )
    results = {r["extract"]: pickle.loads(r["report"]) for r in rows}
    reports = [results[n][0] for n in names]
    parts: dict[str, list[str]] = {}
    for n in names:
        for table in results[n][1]:
            parts.setdefault(table, []).append(n)
    found = scan_delivery(root, [(s.extract, s.department, s.title_zh) for s in catalog])
    for u in found.unknown:
        log.warning("file %s is not an extract of the contract; ignored", u)
    for n in found.skipped:
        log.warning("%s (a delivery is read from its own regular files only)", n)
    for rep in reports:
        if not rep.usable and rep.unusable_reason != "missing":
            log.warning(
                "%s: unusable tonight (%s): its checks do not run", rep.extract, rep.unusable_reason
            )
    report = IngestReport(
        str(delivery), reports, found.unknown, time.perf_counter() - t0, found.skipped
    )
    return report, parts
