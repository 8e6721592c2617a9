"""End to end: a synthetic city through the whole job, as the bureau runs it."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from relief_match import api
from relief_match.cli import app
from relief_match.config import resolve
from relief_match.errors import EXIT_OK
from relief_match.evaluate import evaluate
from relief_match.synth import generate

AS_OF = date(2026, 11, 28)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate(6000, 4242, AS_OF, out)
    return out


@pytest.fixture(scope="module")
def run_dir(city: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    res = CliRunner().invoke(
        app, ["run", str(city / "delivery"), "--out", str(out), "--as-of", AS_OF.isoformat()]
    )
    assert res.exit_code == EXIT_OK, res.output
    return out / "latest"


def test_run_finds_the_planted_cases_and_no_decoy(city: Path, run_dir: Path) -> None:
    rep = evaluate(city / "answer_key", run_dir / "flags.csv")
    for s in rep.rules:
        assert s.precision is not None and s.precision >= 0.95, s
        assert s.recall is not None and s.recall >= 0.95, s
    assert rep.decoys_flagged == ()
    assert rep.average_precision is not None and rep.average_precision >= 0.95
    for a in rep.amounts:
        assert a.accuracy == 1.0, a


def test_run_summary_reconciles_and_lists_every_check(run_dir: Path) -> None:
    summary = json.loads((run_dir / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "completed"
    t = summary["ingest"]["totals"]
    assert t["reconciles"] and t["rows_read"] == t["rows_used"] + t["rows_quarantined"]
    for e in summary["ingest"]["extracts"]:
        assert e["rows_read"] == e["rows_used"] + e["rows_quarantined"], e["extract"]
    assert summary["rules"]["checks_ran"] == 14 and len(summary["rules"]["checks"]) == 14


def test_flags_csv_is_excel_ready_with_masked_ids(run_dir: Path) -> None:
    raw = (run_dir / "flags.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    flags = pl.read_csv(run_dir / "flags.csv", infer_schema=False)
    for col in ("排名", "家庭编号", "规则编号", "风险分值", "风险金额", "原因", "成员身份证号"):
        assert col in flags.columns
    assert flags["成员身份证号"].str.contains(r"^\d{6}\*{8}[\dX]{4}$").all()
    # no full 18-digit ID anywhere in the caseworker export or the log
    text = raw.decode("utf-8-sig") + (run_dir / "run.log").read_text(encoding="utf-8")
    import re

    assert not re.search(r"(?<!\d)\d{17}[\dX](?!\d)", text)


def test_same_input_gives_identical_outputs(city: Path, run_dir: Path, tmp_path: Path) -> None:
    cfg = resolve(city / "delivery", out=tmp_path / "again", as_of=AS_OF.isoformat())
    again = api.run(cfg).run_dir
    assert again is not None and again.resolve() == (tmp_path / "again" / "latest").resolve()
    for name in ("flags.csv", "households.csv", "quarantine.csv"):
        assert (again / name).read_bytes() == (run_dir / name).read_bytes(), name
    a = pl.read_parquet(run_dir / "links.parquet")
    b = pl.read_parquet(again / "links.parquet")
    assert a.equals(b)


def test_a_missing_department_skips_its_checks_and_the_rest_still_run(
    city: Path, tmp_path: Path
) -> None:
    delivery = tmp_path / "delivery"
    shutil.copytree(city / "delivery", delivery)
    shutil.rmtree(delivery / "public_security")
    cfg = resolve(delivery, out=tmp_path / "out", as_of=AS_OF.isoformat())
    rep = api.run(cfg)
    runs = {r.rule_id: r for r in rep.stages["rules"].runs}
    assert runs["VEHICLE"].status == "skipped" and "motor_vehicles" in runs["VEHICLE"].reason
    assert runs["INCARCERATED"].status == "skipped"
    assert runs["OVERPAID"].status == "ran" and runs["OVERPAID"].n_findings > 0
    summary = json.loads(
        (tmp_path / "out" / "latest" / "run_summary.json").read_text(encoding="utf-8")
    )
    statuses = {e["extract"]: e["status"] for e in summary["ingest"]["extracts"]}
    assert statuses["motor_vehicles"] == "missing"
