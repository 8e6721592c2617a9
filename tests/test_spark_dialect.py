"""The checks' SQL on the Spark engine: every check translates, and a construct
Spark SQL lacks is a configuration error at load time naming the file (no Spark needed)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sqlglot
from typer.testing import CliRunner

from relief_match.cli import app
from relief_match.errors import EXIT_CONFIG
from relief_match.rules import RELATIONS, RuleConfigError, load_checks
from relief_match.rules.binding import check_sql
from relief_match.rules.dialects import UntranslatableError, spark_problems, to_spark

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
SCHEMAS = ROOT / "schemas"


def test_every_check_and_shared_relation_translates_to_spark_sql() -> None:
    checks = load_checks(RULES, SCHEMAS)
    assert len(checks) == 14
    for check in checks:
        spark = to_spark(check_sql(check.spec.sql))
        sqlglot.parse_one(spark, read="spark")
        assert "$" not in spark.replace("'$'", "")  # parameters become :name markers
    for relation in RELATIONS:
        to_spark(relation.sql)


@pytest.mark.parametrize(
    ("sql", "construct"),
    [
        ("SELECT list_aggregate(l, 'sum') AS s FROM t", "list_aggregate()"),
        ("SELECT regexp_full_match(a, 'x') AS s FROM t", "regexp_full_match()"),
        ("SELECT a FROM t ASOF JOIN u ON t.x >= u.x", "ASOF JOIN"),
        ("SELECT a FROM t WHERE a SIMILAR TO 'x'", "SIMILAR TO"),
        ("SELECT CAST(a AS UHUGEINT) AS b FROM t", "UINT128"),
        ("SELECT arg_max(a, b, 3) AS c FROM t", "ArgMax"),
        ("SELECT format('{}', a) AS b FROM t", "format("),
    ],
)
def test_constructs_spark_lacks_are_named(sql: str, construct: str) -> None:
    problems = spark_problems(sqlglot.parse_one(sql, read="duckdb"))
    assert problems and construct in problems[0]
    with pytest.raises(UntranslatableError, match=re.escape(construct)):
        to_spark(sql)


def test_duckdb_spellings_are_rewritten_to_mean_the_same_on_spark() -> None:
    spark = to_spark(
        "SELECT round(x, 2) AS r, format('{:,.2f}', y) AS f FROM generate_series(1, 3) AS g(m)"
    )
    assert "ROUND(x * CAST(100 AS DOUBLE), 0) / CAST(100 AS DOUBLE)" in spark
    assert "FORMAT_NUMBER(y, 2)" in spark
    assert "EXPLODE(SEQUENCE(1, 3)) AS g(m)" in spark


def _rules_with_duckdb_only_vehicle_check(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / "checks" / "VEHICLE.yaml"
    text = path.read_text(encoding="utf-8")
    needle = "count(DISTINCT evidence_row) > $exempt_vehicles_per_household"
    assert needle in text
    path.write_text(
        text.replace(
            needle,
            "list_aggregate(list(DISTINCT evidence_row), 'count') > $exempt_vehicles_per_household",
        ),
        encoding="utf-8",
    )
    return rules


def test_a_check_spark_cannot_run_is_a_load_time_error_naming_file_and_construct(
    tmp_path: Path,
) -> None:
    rules = _rules_with_duckdb_only_vehicle_check(tmp_path)
    with pytest.raises(RuleConfigError) as err:
        load_checks(rules, SCHEMAS)
    assert [(p.name, "list_aggregate()" in m) for p, m in err.value.problems] == [
        ("VEHICLE.yaml", True)
    ]
    # the command line stops with exit 4 before reading the delivery
    (tmp_path / "cfg.toml").write_text(f'rules_dir = "{rules}"\n', encoding="utf-8")
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(tmp_path / "no_delivery"),
            "--out",
            str(tmp_path / "o"),
            "--config",
            str(tmp_path / "cfg.toml"),
        ],
    )
    assert res.exit_code == EXIT_CONFIG, res.output
    assert "VEHICLE.yaml" in res.output and "list_aggregate" in res.output


def test_ctes_become_views_cached_when_read_twice() -> None:
    from relief_match.spark.checks import split_ctes

    ctes, main = split_ctes(
        "WITH a AS (SELECT 1 AS x), ab AS (SELECT a.x FROM a), c AS (SELECT * FROM a AS z)"
        " SELECT ab.x FROM ab JOIN a ON 1 = 1 JOIN c ON c.x = a.x",
        "v_",
    )
    assert ctes == [
        ("v_a", "SELECT 1 AS x", True),
        ("v_ab", "SELECT a.x FROM v_a AS a", False),
        ("v_c", "SELECT * FROM v_a AS z", False),
    ]
    assert main == "SELECT ab.x FROM v_ab AS ab JOIN v_a AS a ON 1 = 1 JOIN v_c AS c ON c.x = a.x"
    assert split_ctes("SELECT 1 AS x", "v_") == ([], "SELECT 1 AS x")
