"""``run --engine spark``: the same caseworkers' files as the DuckDB engine, byte for byte.

One Spark session (``local[2]``) for the module: the sample delivery is run on
both engines once, and the tests compare what they wrote.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from relief_match import api
from relief_match.cli import app
from relief_match.config import resolve
from relief_match.errors import EXIT_CONFIG
from relief_match.spark.session import DEFAULTS, spark_settings

AS_OF = date(2026, 11, 28)
SAME_FILES = ("flags.csv", "households.csv", "quarantine.csv", "suppressed.csv", "resolved.csv")


@pytest.fixture(scope="module")
def both_engines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("pyspark")
    root = tmp_path_factory.mktemp("engines")
    duck = api.run(resolve(out=root / "duckdb", as_of=AS_OF))
    cfg = resolve(
        out=root / "spark",
        as_of=AS_OF,
        engine="spark",
        spark_master="local[2]",
        spark={"spark.sql.shuffle.partitions": "2"},
    )
    spark = api.run(cfg)
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    assert session is not None
    conf = {k: session.conf.get(k) for k in ("spark.sql.shuffle.partitions", "spark.master")}
    yield {"root": root, "duckdb": duck, "spark": spark, "conf": conf}
    session.stop()


@pytest.mark.slow
def test_spark_engine_writes_the_same_files_as_duckdb(both_engines: dict[str, Any]) -> None:
    root = both_engines["root"]
    for name in SAME_FILES:
        a = (root / "duckdb" / "latest" / name).read_bytes()
        b = (root / "spark" / "latest" / name).read_bytes()
        assert a == b, name
    flags = (root / "spark" / "latest" / "flags.csv").read_text(encoding="utf-8-sig")
    assert len(flags.splitlines()) > 100  # the sample has findings of every check


@pytest.mark.slow
def test_spark_run_reports_the_same_counts_and_its_spark_stages(
    both_engines: dict[str, Any],
) -> None:
    duck, spark = both_engines["duckdb"].asdict(), both_engines["spark"].asdict()
    assert spark["ingest"]["totals"] == duck["ingest"]["totals"]
    assert [r["status"] for r in spark["rules"]["checks"]] == [
        r["status"] for r in duck["rules"]["checks"]
    ]
    summary = json.loads(
        (both_engines["root"] / "spark" / "latest" / "run_summary.json").read_text("utf-8")
    )
    assert {"spark", "ingest", "link", "checks", "rank", "output"} <= set(summary["timings"])
    # the parquet staging (personal data) is gone once the checks ran
    assert not (both_engines["root"] / "spark" / "latest" / "spark_staging").exists()
    # the [spark] settings reach the session builder; the master comes from --spark-master
    assert both_engines["conf"] == {"spark.sql.shuffle.partitions": "2", "spark.master": "local[2]"}


def test_spark_section_of_the_config_file_is_passed_through(tmp_path: Path) -> None:
    toml = tmp_path / "cfg.toml"
    toml.write_text(
        'engine = "spark"\n[spark]\n"spark.executor.memory" = "8g"\n'
        '"spark.sql.shuffle.partitions" = "400"\n',
        encoding="utf-8",
    )
    cfg = resolve(config_file=toml, out=tmp_path / "o", spark_master="yarn")
    settings = spark_settings(cfg)
    assert cfg.engine == "spark"
    assert settings["spark.executor.memory"] == "8g"
    assert settings["spark.sql.shuffle.partitions"] == "400"  # the bureau's value wins
    assert settings["spark.sql.ansi.enabled"] == DEFAULTS["spark.sql.ansi.enabled"]
    assert "spark.pyspark.python" not in settings  # on a cluster, spark-submit's Python


@pytest.mark.parametrize("module", ["pyspark", "pandas"])
def test_engine_spark_without_pyspark_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # importing it raises ImportError
    res = CliRunner().invoke(
        app, ["run", "--engine", "spark", "--out", str(tmp_path / "o"), "--as-of", "2026-11-28"]
    )
    assert res.exit_code == EXIT_CONFIG, res.output
    assert f"{module} is not installed" in res.output
    assert "relief-match[spark]" in res.output
    assert not (tmp_path / "o" / "latest").exists()


def test_spark_credentials_are_masked_in_the_settings_written_to_the_manifest(
    tmp_path: Path,
) -> None:
    cfg = resolve(
        out=tmp_path / "o",
        spark={
            "spark.hadoop.fs.s3a.secret.key": "abc",
            "spark.hadoop.fs.s3a.access.key": "AKIA",
            "spark.executor.memory": "8g",
        },
    )
    assert cfg.spark["spark.hadoop.fs.s3a.secret.key"] == "abc"  # the builder gets the value
    assert cfg.model_dump(mode="json")["spark"] == {
        "spark.hadoop.fs.s3a.secret.key": "***",
        "spark.hadoop.fs.s3a.access.key": "***",
        "spark.executor.memory": "8g",
    }
