"""The command line: fast help, exit codes a scheduler can rely on, JSON summary."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relief_match.cli import app
from relief_match.config import resolve
from relief_match.errors import EXIT_CONFIG, EXIT_OK, EXIT_UNUSABLE_INPUT, EXIT_USAGE

runner = CliRunner()


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys, relief_match.cli as c\n"
        "heavy = [m for m in ('polars', 'duckdb', 'splink', 'pandera', 'pyarrow') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    out = subprocess.run(
        [sys.executable, "-m", "relief_match", "--help"], capture_output=True, text=True, check=True
    )
    for cmd in ("run", "validate", "link", "train-linker", "synth", "evaluate"):
        assert cmd in out.stdout


def test_missing_delivery_directory_is_unusable_input(tmp_path: Path) -> None:
    res = runner.invoke(app, ["validate", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert res.exit_code == EXIT_UNUSABLE_INPUT
    assert "does not exist" in res.output


def test_delivery_without_recipient_extracts_is_unusable_input(tmp_path: Path) -> None:
    d = tmp_path / "d" / "public_security"
    d.mkdir(parents=True)
    (d / "detentions.csv").write_text("id_no,name,start_date\n", encoding="utf-8")
    res = runner.invoke(app, ["validate", str(tmp_path / "d"), "--out", str(tmp_path / "o")])
    assert res.exit_code == EXIT_UNUSABLE_INPUT
    assert "recipients_households" in res.output
    # the quarantine file and report are still written for the analyst, in the run's folder
    (run,) = (tmp_path / "o" / "runs").iterdir()
    assert (run / "quarantine.csv").exists()
    summary = json.loads((run / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "failed" and summary["exit_code"] == EXIT_UNUSABLE_INPUT
    assert not (tmp_path / "o" / "latest-validate").exists()


def test_broken_schema_is_a_configuration_error_listing_every_problem(tmp_path: Path) -> None:
    s = tmp_path / "schemas" / "civil_affairs"
    s.mkdir(parents=True)
    (s / "a.yaml").write_text(
        "extract: a\ndepartment: civil_affairs\ntitle_zh: x\ncolumns: []\nbogus: 1\n"
    )
    (s / "b.yaml").write_text(
        "extract: b\ndepartment: elsewhere\ntitle_zh: y\ncolumns:\n  - {name: x, zh: 甲, type: nonsense}\n"
    )
    (tmp_path / "cfg.toml").write_text(f'schemas_dir = "{tmp_path / "schemas"}"\n')
    d = tmp_path / "d"
    d.mkdir()
    res = runner.invoke(
        app,
        ["validate", str(d), "--out", str(tmp_path / "o"), "--config", str(tmp_path / "cfg.toml")],
    )
    assert res.exit_code == EXIT_CONFIG
    assert "a.yaml" in res.output and "b.yaml" in res.output
    assert "bogus" in res.output and "nonsense" in res.output


def test_validate_json_summary_reconciles(tmp_path: Path) -> None:
    d = tmp_path / "d" / "civil_affairs"
    d.mkdir(parents=True)
    (d / "recipients_households.csv").write_text(
        "household_id,benefit_type,district_code,status,start_date,monthly_amount,member_count\n"
        "H1,低保,441302,在保,2024-01-01,1200,1\n"
        "H2,低保,441302,在保,2024-02-30,1200,1\n",
        encoding="utf-8",
    )
    (d / "recipients_members.csv").write_text(
        "household_id,id_no,name\nH1,,王伟\n", encoding="utf-8"
    )
    res = runner.invoke(
        app, ["validate", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--json"]
    )
    assert res.exit_code == EXIT_OK, res.output
    summary = json.loads(res.stdout)
    totals = summary["ingest"]["totals"]
    assert totals == {"rows_read": 3, "rows_used": 2, "rows_quarantined": 1, "reconciles": True}
    q = (tmp_path / "o" / "latest-validate" / "quarantine.csv").read_bytes()
    assert q.startswith(b"\xef\xbb\xbf")
    assert "recipients_households.csv row 3" in q.decode("utf-8-sig")


def test_bad_setting_is_a_configuration_error_naming_setting_and_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELIEF_MATCH_LOG_LEVEL", "FOO")
    (tmp_path / "cfg.toml").write_text('chunk_mb = 0\nmemory_limit = "lots"\nbogus = 1\n')
    res = runner.invoke(
        app,
        [
            *("validate", "--out", str(tmp_path / "o"), "--as-of", "2026-02-30"),
            *("--config", str(tmp_path / "cfg.toml")),
        ],
    )
    assert res.exit_code == EXIT_CONFIG, res.output
    assert "RELIEF_MATCH_LOG_LEVEL: log_level" in res.output
    assert "--as-of: as_of" in res.output
    assert "cfg.toml: chunk_mb" in res.output and "cfg.toml: memory_limit" in res.output
    assert "unknown setting 'bogus'" in res.output


def test_flag_beats_environment_beats_file_beats_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg_file = tmp_path / "cfg.toml"
    cfg_file.write_text('out = "from-file"\nas_of = 2026-01-01\nchunk_mb = 7\n')
    monkeypatch.setenv("RELIEF_MATCH_OUT", "from-env")
    monkeypatch.setenv("RELIEF_MATCH_AS_OF", "2026-02-02")
    cfg = resolve(config_file=cfg_file, out=Path("from-flag"), as_of=None)
    assert cfg.out == Path("from-flag")
    assert cfg.as_of == date(2026, 2, 2)
    assert cfg.chunk_mb == 7
    assert cfg.memory_limit == "4GB"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relief_match", *args], capture_output=True, text=True, timeout=60
    )


def test_version_alone_prints_the_version() -> None:
    from relief_match import __version__

    res = _cli("--version")
    assert res.returncode == EXIT_OK and res.stdout.strip() == __version__


def test_debug_and_log_format_are_accepted_after_the_command(tmp_path: Path) -> None:
    res = _cli("validate", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--debug")
    assert res.returncode == EXIT_UNUSABLE_INPUT, res.stderr
    assert "No such option" not in res.stderr


def test_a_bad_flag_value_is_a_usage_error_naming_the_flag(tmp_path: Path) -> None:
    res = runner.invoke(app, ["run", "--out", str(tmp_path / "o"), "--as-of", "2026-13-45"])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "--as-of" in res.output and "internal error" not in res.output


def test_a_bad_as_of_in_the_environment_stays_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELIEF_MATCH_AS_OF", "2026-13-45")
    res = runner.invoke(app, ["validate", "--out", str(tmp_path / "o")])
    assert res.exit_code == EXIT_CONFIG, res.output
    assert "RELIEF_MATCH_AS_OF" in res.output


def test_an_out_that_is_a_file_is_one_clear_line_and_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    for out in (tmp_path / "f", tmp_path / "f" / "below"):
        res = _cli("validate", "--out", str(out))
        assert res.returncode == EXIT_USAGE, res.stderr
        assert "--out" in res.stderr and "not a directory" in res.stderr
        assert "internal error" not in res.stderr and "Traceback" not in res.stderr


def test_evaluate_with_a_missing_key_folder_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "flags.csv").write_text("x")
    res = runner.invoke(
        app, ["evaluate", "--key", str(tmp_path / "nokey"), "--flags", str(tmp_path / "flags.csv")]
    )
    assert res.exit_code == EXIT_USAGE, res.output
    assert "--key" in res.output and "internal error" not in res.output


def test_switches_show_as_switches_and_run_help_names_the_sample() -> None:
    res = _cli("run", "--help")
    assert "<bool>" not in res.stdout
    assert "--json" in res.stdout and "--debug" in res.stdout and "--log-format" in res.stdout
    assert "bundled sample" in res.stdout
