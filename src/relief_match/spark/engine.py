"""The stages of ``run --engine spark`` up to the findings; the rest runs as on DuckDB.

:func:`spark_stages` runs, inside the run's session (its folder, log, clock
and DuckDB database):

1. **ingest** on Spark (:mod:`relief_match.spark.ingest`); the staged parquet
   becomes a Spark view per table and is loaded into the run's DuckDB too
   (the review, rank and output stages and ``relief_match.duckdb`` read it);
2. **link** by the given link stage on the run's DuckDB (the link tables are
   then staged as parquet and registered on Spark);
3. **checks** on Spark (:mod:`relief_match.spark.checks`), findings collected
   into DuckDB.

The staging location is ``spark_staging`` (a path or URI on storage every
executor reaches) or ``<run folder>/spark_staging``, one sub-folder per run;
it holds personal data, so a local one is readable by the job's user only, and
it is deleted once the checks have run (everything is in the run's database).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relief_match.spark.checks import run_checks_on_spark
from relief_match.spark.ingest import (
    META_TABLES,
    ingest_on_spark,
    read_table,
    remove_staging,
    table_uri,
)
from relief_match.spark.session import spark_session

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

    from relief_match.rules.report import RulesReport
    from relief_match.rules.spec import CheckSet
    from relief_match.runs.session import Session
    from relief_match.validate.delivery import IngestReport

#: The link tables the checks read, staged for Spark after the link stage.
LINK_TABLES = ("_rm_persons", "_rm_member_person", "_rm_links")


def staging_uri(s: Session) -> str:
    """Where this run stages its parquet (a local folder is created, private)."""
    base = s.cfg.spark_staging
    uri = (
        str(s.cfg.out / "spark_staging") if base is None else f"{base.rstrip('/')}/{s.cfg.out.name}"
    )
    if "://" not in uri:
        Path(uri).mkdir(mode=0o700, parents=True, exist_ok=True)
    return uri


def _to_duckdb(con: duckdb.DuckDBPyConnection, name: str, data: Any) -> None:
    con.register("_rm_spark_frame", data)
    try:
        con.execute(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM _rm_spark_frame')
    finally:
        con.unregister("_rm_spark_frame")


def load_staged(
    spark: SparkSession,
    con: duckdb.DuckDBPyConnection,
    staging: str,
    parts: dict[str, list[str]],
) -> set[str]:
    """Register every staged table on Spark and load it into DuckDB; return the Spark views."""
    views: set[str] = set()
    for table, extracts in parts.items():
        _to_duckdb(con, table, read_table(staging, table, extracts))
        if table not in META_TABLES:
            spark.read.parquet(table_uri(staging, table)).createOrReplaceTempView(table)
            views.add(table)
    return views


def publish_links(spark: SparkSession, con: duckdb.DuckDBPyConnection, staging: str) -> set[str]:
    """Stage the link tables of ``con`` as parquet and register them on Spark."""
    from relief_match.spark.ingest import write_table

    for table in LINK_TABLES:
        write_table(staging, table, "links", con.table(table).to_arrow_table())
        spark.read.parquet(table_uri(staging, table)).createOrReplaceTempView(table)
    return set(LINK_TABLES)


def spark_stages(
    s: Session,
    checks: CheckSet,
    finish_ingest: Callable[[IngestReport], None],
    link: Callable[[set[str]], None],
) -> tuple[IngestReport, RulesReport]:
    """Ingest, link and check for ``run --engine spark``; the findings end in ``s.con``.

    Args:
        s: the run's session.
        checks: the loaded checks.
        finish_ingest: what the DuckDB engine does after ingesting (run metadata,
            ``quarantine.csv``, the unusable-input errors), given the report.
        link: the link stage on the run's DuckDB, given the usable extracts.
    """
    cfg = s.cfg
    staging = staging_uri(s)
    with s.clock.stage("spark", "starting Spark") as n:
        spark = spark_session(cfg)
        n.update(master=spark.sparkContext.master, staging=staging)
    with s.clock.stage("ingest", f"reading and validating {cfg.delivery} on Spark") as n:
        chunk = cfg.chunk_mb * 1024 * 1024
        ingest, parts = ingest_on_spark(spark, cfg.delivery, s.catalog, staging, chunk)
        views = load_staged(spark, s.con, staging, parts)
        s.report.ingest = ingest
        finish_ingest(ingest)
        n.update(
            extracts=len(ingest.available),
            rows_read=ingest.rows_read,
            rows_used=ingest.rows_used,
            rows_quarantined=ingest.rows_quarantined,
        )
    link(ingest.available)
    views |= publish_links(spark, s.con, staging)
    with s.clock.stage("checks", f"running {len(checks)} checks on Spark") as n:
        rules = run_checks_on_spark(
            spark, s.con, checks, cfg.as_of, ingest.available, views, ingest.unusable
        )
        n.update(ran=len(rules.ran), skipped=len(rules.skipped), failed=len(rules.failed))
    spark.catalog.clearCache()
    remove_staging(staging)
    return ingest, rules
