"""The SparkSession of a run: ``spark_master`` and the ``[spark]`` settings passed through."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from relief_match.config import RunConfig
from relief_match.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Spark settings the job sets unless the ``[spark]`` section says otherwise:
#: DuckDB's semantics where Spark's differ (x / 0 is NULL, not an error; dates
#: in UTC), a quiet UI-less driver and few shuffle partitions (tables are small
#: after the checks' first joins; raise it on a cluster).
DEFAULTS: dict[str, str] = {
    "spark.sql.ansi.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.adaptive.enabled": "true",
}

INSTALL_HINT = "pip install 'relief-match[spark]' (pyspark 4, Java 17)"


def require_pyspark() -> None:
    """Raise a configuration error (exit 4) when engine = spark but pyspark, or
    the pandas its Arrow tasks need, is missing."""
    for module in ("pyspark", "pandas"):
        try:
            __import__(module)
        except ImportError as exc:
            raise ConfigError(
                [("engine", f"engine = spark, but {module} is not installed")], hint=INSTALL_HINT
            ) from exc


def spark_settings(cfg: RunConfig) -> dict[str, str]:
    """What the builder is given: :data:`DEFAULTS`, then ``cfg.spark`` (which wins)."""
    settings = dict(DEFAULTS)
    master = cfg.spark_master or cfg.spark.get("spark.master")
    if master is None or master.startswith("local"):
        # local workers run this interpreter, which has relief-match installed
        settings["spark.pyspark.python"] = sys.executable
    settings.update(cfg.spark)
    return settings


def spark_session(cfg: RunConfig) -> SparkSession:
    """The session for ``cfg`` (an existing one in this process is reused, as Spark does)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    builder: Any = SparkSession.builder.appName("relief-match")
    if cfg.spark_master:
        builder = builder.master(cfg.spark_master)
    for key, value in spark_settings(cfg).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: no Java, a bad master or setting
        from pyspark.errors import PySparkRuntimeError

        if not isinstance(exc, PySparkRuntimeError):
            raise
        raise ConfigError(
            [("engine", f"Spark could not start: {str(exc).splitlines()[0]}")],
            hint="engine = spark needs Java 17 (JAVA_HOME) and a reachable spark_master",
        ) from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark
