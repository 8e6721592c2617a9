"""The checks on Spark: their SQL translated to Spark SQL, their findings collected into DuckDB.

Same order of work as :func:`relief_match.rules.runner.run_checks`: the table
parameters become Spark views ``_rm_param_<name>``, the shared relations the
checks read are built once (cached views), then every check runs with its
parameters bound as values (Spark's named parameter markers, never spliced into
the text). A check is skipped or fails for the same reasons as on DuckDB
(the DuckDB engine's ``_run_one``, given :class:`SparkChecks`). Its rows are
collected (a check returns findings, few) and held to the findings contract by
the same code, then
``_rm_findings`` and ``_rm_checks`` are written on the run's DuckDB connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from relief_match.rules.analyse import LINK_PARAM
from relief_match.rules.binding import check_sql, param_table_layout
from relief_match.rules.dialects import to_spark
from relief_match.rules.findings import FINDINGS_COLUMNS, fill_context
from relief_match.rules.relations import RELATIONS, relation_params
from relief_match.rules.report import RulesReport, write_checks_table
from relief_match.rules.runner import _run_one
from relief_match.rules.schema import PARAM_TABLE_PREFIX, Layout, create_empty_table
from relief_match.rules.spec import CheckSet, LoadedCheck, ParamSpec

if TYPE_CHECKING:
    import duckdb
    from pyspark.sql import SparkSession

#: DuckDB types of the staged and link layouts -> Spark SQL types.
_SPARK_TYPES = {"VARCHAR": "STRING", "BIGINT": "BIGINT", "INTEGER": "INT", "DOUBLE": "DOUBLE"}


def spark_type(duckdb_type: str) -> str:
    """The Spark SQL type of a DuckDB column type of a layout."""
    return _SPARK_TYPES.get(duckdb_type.upper(), duckdb_type.upper())


def empty_view(spark: SparkSession, name: str, layout: Layout) -> None:
    """An empty Spark view ``name`` with ``layout`` (an undelivered optional extract)."""
    ddl = ", ".join(f"`{c}` {spark_type(t)}" for c, t in layout.items())
    spark.createDataFrame([], ddl).createOrReplaceTempView(name)


def _args(values: Mapping[str, Any]) -> dict[str, Any]:
    """Bound values as Spark parameter values (lists as array columns)."""
    from pyspark.sql import functions as F

    return {
        k: F.array(*[F.lit(x) for x in v]) if isinstance(v, list) else v for k, v in values.items()
    }


def _register_param_table(spark: SparkSession, name: str, spec: ParamSpec) -> None:
    assert spec.table is not None
    types = param_table_layout(spec)
    rows = [
        tuple(str(r[c]) if t == "VARCHAR" else r[c] for c, t in types.items()) for r in spec.table
    ]
    ddl = ", ".join(f"`{c}` {spark_type(t)}" for c, t in types.items())
    spark.createDataFrame(rows, ddl).createOrReplaceTempView(PARAM_TABLE_PREFIX + name)


def _relation_values(name: str, params: Mapping[str, ParamSpec]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in relation_params(name):
        value = params[p].value
        out[p] = list(value) if isinstance(value, list) else value
    return out


def _build_relations(spark: SparkSession, checks: CheckSet, tables: set[str]) -> None:
    """The shared relations the checks read, whose sources exist (as on DuckDB)."""
    read = {t for c in checks for t in c.tables}
    for relation in RELATIONS:  # a relation comes after the relations it reads
        if relation.name in read and set(relation.sources) <= tables:
            args = _args(_relation_values(relation.name, checks.params))
            frame = spark.sql(to_spark(relation.sql), args=args)
            frame.cache().createOrReplaceTempView(relation.name)
            tables.add(relation.name)


def run_checks_on_spark(
    spark: SparkSession,
    con: duckdb.DuckDBPyConnection,
    checks: CheckSet,
    as_of: dt.date,
    available: set[str],
    spark_tables: set[str],
    unusable: Mapping[str, str],
) -> RulesReport:
    """Run every check on Spark; write ``_rm_findings`` and ``_rm_checks`` on ``con``.

    Args:
        spark: the session, with a view per staged extract and link table.
        con: the run's DuckDB connection (the findings' home).
        checks, as_of, available, unusable: as for :func:`~relief_match.rules.runner.run_checks`.
        spark_tables: the views registered on ``spark``.
    """
    create_empty_table(con, "_rm_findings", FINDINGS_COLUMNS)
    for name, spec in checks.params.items():
        if spec.is_table and any(PARAM_TABLE_PREFIX + name in c.tables for c in checks):
            _register_param_table(spark, name, spec)
    existing = set(spark_tables)
    _build_relations(spark, checks, {t for t in existing if t in available or t.startswith("_rm_")})
    min_p = checks.params.get(LINK_PARAM)
    min_link = (
        float(min_p.value) if min_p is not None and isinstance(min_p.value, int | float) else 0.0
    )
    engine = SparkChecks(spark)
    runs = [
        _run_one(con, check, checks, as_of, available, existing, min_link, unusable, engine)
        for check in checks
    ]
    staged = {str(r[0]) for r in con.execute("SHOW TABLES").fetchall()}
    fill_context(con, staged)
    report = RulesReport(as_of=as_of, runs=tuple(runs))
    write_checks_table(con, checks, report)
    return report


class SparkChecks:
    """:class:`~relief_match.rules.runner.CheckEngine` on a Spark session."""

    def __init__(self, spark: SparkSession):
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        self.spark = spark
        self.errors: tuple[type[Exception], ...] = (PySparkException, Py4JError)

    def stand_in(self, name: str, layout: Layout) -> None:
        empty_view(self.spark, name, layout)

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def query(
        self, check: LoadedCheck, values: dict[str, Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        ctes, main = split_ctes(to_spark(check_sql(check.spec.sql)), f"_rm_cte_{check.id}_")
        cached = []
        try:
            for name, sql, shared in ctes:
                frame = self.spark.sql(sql, args=_args(_used(sql, values)))
                if shared:
                    cached.append(frame.cache())
                frame.createOrReplaceTempView(name)
            result = self.spark.sql(main, args=_args(_used(main, values)))
            return result.columns, [tuple(r) for r in result.collect()]
        finally:
            for name, _, _ in ctes:
                self.spark.catalog.dropTempView(name)
            for frame in cached:
                frame.unpersist()


def _used(sql: str, values: dict[str, Any]) -> dict[str, Any]:
    """The values of the parameter markers ``sql`` uses."""
    names = {p.name for p in sqlglot.parse_one(sql, read="spark").find_all(exp.Placeholder)}
    return {k: v for k, v in values.items() if k in names}


def split_ctes(sql: str, prefix: str) -> tuple[list[tuple[str, str, bool]], str]:
    """A query's top-level CTEs as separate statements, and the query that reads them.

    Spark inlines a CTE wherever it is named, so a check whose CTEs build on
    each other plans the same scans and shuffles dozens of times. Each CTE
    becomes a view ``<prefix><name>`` (cached when read more than once).

    Returns:
        ``(view, sql, read more than once)`` per CTE in order, and the main query.
    """
    stmt = sqlglot.parse_one(sql, read="spark")
    with_ = stmt.args.get("with_")
    if with_ is None or with_.args.get("recursive"):
        return [], sql
    names = {cte.alias: prefix + cte.alias for cte in with_.expressions}
    stmt.set("with_", None)
    bodies = [(names[cte.alias], cte.this) for cte in with_.expressions]
    reads: dict[str, int] = dict.fromkeys(names.values(), 0)
    for node in [stmt, *(body for _, body in bodies)]:
        for table in node.find_all(exp.Table):
            if table.name in names and not table.args.get("db"):
                alias = table.alias or table.name
                table.set("this", exp.to_identifier(names[table.name]))
                table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
                reads[table.name] += 1
    ctes = [(view, body.sql(dialect="spark"), reads[view] > 1) for view, body in bodies]
    return ctes, stmt.sql(dialect="spark")
