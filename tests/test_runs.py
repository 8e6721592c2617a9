"""Runs as a scheduler sees them: real processes on the bundled sample, killed, raced, pruned.

Every run writes into its own folder under OUT/runs/ and only a complete run
is published as OUT/latest; a killed run never replaces or resembles the last
good list; a second run on the same OUT stops at once with exit code 6.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from relief_match.errors import EXIT_LOCKED, EXIT_OK, EXIT_UNUSABLE_INPUT
from relief_match.runs.files import atomic_path, write_json
from relief_match.runs.lock import OutputLock

AS_OF = "2026-11-28"


def _start(out: Path, *args: str, command: str = "run") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "relief_match", command, *args, "--out", str(out)]
        + (["--as-of", AS_OF] if command in ("run", "validate") else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relief_match", *args], capture_output=True, text=True, timeout=120
    )


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _new_run_dir(out: Path, before: set[str], proc: subprocess.Popen[str]) -> Path:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = out / "runs"
        new = [p for p in runs.iterdir() if p.name not in before] if runs.is_dir() else []
        if new:
            return new[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("no run folder appeared")


def _wait_for(run_dir: Path, proc: subprocess.Popen[str], stage: str) -> None:
    """Poll the run's run.log until stage ``stage`` has started."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        log = run_dir / "run.log"
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
        for line in lines:
            rec = json.loads(line)
            if rec["event"] == "stage_start" and rec["stage"] == stage:
                return
        assert proc.poll() is None, f"the run ended before stage {stage}"
        time.sleep(0.01)
    raise AssertionError(f"stage {stage} never started")


def _runs(out: Path) -> dict[str, dict[str, object]]:
    res = _cli("runs", str(out), "--json")
    assert res.returncode == EXIT_OK, res.stderr
    return {r["run_id"]: r for r in json.loads(res.stdout)}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An output directory with one complete, published run."""
    out = tmp_path_factory.mktemp("nightly")
    proc = _start(out, "--log-format", "json")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_OK, err
    lines = [json.loads(line) for line in err.splitlines()]  # every line is JSON
    assert lines[-1]["event"] == "run_end" and lines[-1]["status"] == "completed"
    assert lines[-1]["exit_code"] == EXIT_OK
    assert {"ingest", "link", "checks", "output"} <= {x["stage"] for x in lines}
    return out


def test_the_list_is_published_as_latest_with_a_manifest(out: Path) -> None:
    latest = out / "latest"
    assert latest.is_symlink() and os.readlink(latest).startswith("runs/")
    info = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert info["status"] == "completed" and Path(info["path"]) == latest.resolve()
    assert (latest / "flags.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["delivery"]["files"]) == 17
    assert all(len(f["sha256"]) == 64 for f in manifest["delivery"]["files"])
    rules = {f["path"] for f in manifest["configuration"]["rules"]}
    assert {"params.yaml", "linkage/settings.yaml", "linkage/model.json"} <= rules
    assert manifest["versions"]["duckdb"] and manifest["settings"]["as_of"] == AS_OF
    assert manifest["stages"]["link"]["peak_rss_mb"] > 0 and manifest["exit_code"] == 0


def test_modes_private_files_and_folders(out: Path) -> None:
    run = (out / "latest").resolve()
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    for name in ("flags.parquet", "links.parquet", "relief_match.duckdb"):
        assert stat.S_IMODE((run / name).stat().st_mode) == 0o600, name
    assert not list(run.glob(".*tmp*")), "temporary files left behind"


@pytest.mark.parametrize("stage", ["ingest", "link", "checks"])
def test_a_killed_run_leaves_the_last_good_list_untouched(out: Path, stage: str) -> None:
    published = os.readlink(out / "latest")
    before_files = _snapshot(out / "latest")
    before_info = (out / "latest.json").read_bytes()
    before = {p.name for p in (out / "runs").iterdir()}
    proc = _start(out, "--log-format", "json")
    run_dir = _new_run_dir(out, before, proc)
    _wait_for(run_dir, proc, stage)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert os.readlink(out / "latest") == published
    assert _snapshot(out / "latest") == before_files
    assert (out / "latest.json").read_bytes() == before_info
    summary = json.loads((run_dir / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "running" and summary["pid"] == proc.pid
    assert _runs(out)[run_dir.name]["status"] == "killed"


def test_the_next_run_after_a_kill_succeeds_and_is_published(out: Path) -> None:
    published = os.readlink(out / "latest")
    res = _cli("run", "--out", str(out), "--as-of", AS_OF, "--log-format", "json")
    assert res.returncode == EXIT_OK, res.stderr
    assert os.readlink(out / "latest") != published
    listed = _runs(out)
    newest = next(iter(listed.values()))
    assert newest["status"] == "completed" and newest["published"] and newest["flags"]


def test_a_second_run_on_the_same_out_stops_with_exit_6(tmp_path: Path) -> None:
    first = _start(tmp_path, "--log-format", "json")
    try:
        run_dir = _new_run_dir(tmp_path, set(), first)
        _wait_for(run_dir, first, "ingest")
        second = _cli("run", "--out", str(tmp_path), "--as-of", AS_OF, "--log-format", "text")
        assert second.returncode == EXIT_LOCKED, second.stderr
        assert f"PID {first.pid}" in second.stderr and "another relief-match" in second.stderr
        assert len(list((tmp_path / "runs").iterdir())) == 1  # the second made no run folder
    finally:
        first.kill()
        first.communicate(timeout=30)


def test_a_failed_run_ends_with_a_json_line_carrying_status_and_exit_code(tmp_path: Path) -> None:
    res = _cli("run", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--log-format", "json")
    assert res.returncode == EXIT_UNUSABLE_INPUT
    lines = [json.loads(line) for line in res.stderr.splitlines()]
    assert lines[-1]["status"] == "failed" and lines[-1]["exit_code"] == EXIT_UNUSABLE_INPUT
    assert all({"ts", "level", "stage", "event", "message"} <= set(x) for x in lines)
    (run,) = (tmp_path / "o" / "runs").iterdir()
    summary = json.loads((run / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "failed" and summary["error"]["class"] == "UnusableInputError"
    assert summary["exit_code"] == EXIT_UNUSABLE_INPUT
    assert not (tmp_path / "o" / "latest").exists()
    log_lines = [json.loads(x) for x in (run / "run.log").read_text().splitlines()]
    assert log_lines[-1]["event"] == "run_end" and log_lines[-1]["exit_code"] == 3


def test_a_symlink_at_an_output_path_is_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "o"
    out.mkdir()
    (out / "latest-validate.json").symlink_to(victim)
    (out / "latest-validate").symlink_to(tmp_path)
    res = _cli("validate", "--out", str(out), "--as-of", AS_OF)
    assert res.returncode == EXIT_OK, res.stderr
    assert victim.read_text() == "keep me"
    assert not (out / "latest-validate.json").is_symlink()
    assert os.readlink(out / "latest-validate").startswith("runs/")
    dest = tmp_path / "flags.csv"
    dest.symlink_to(victim)
    write_json(dest, {"a": 1})
    assert victim.read_text() == "keep me" and not dest.is_symlink()


def test_a_writer_failing_midway_leaves_no_half_file(tmp_path: Path) -> None:
    dest = tmp_path / "flags.csv"
    dest.write_text("old, complete")
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert dest.read_text() == "old, complete" and list(tmp_path.iterdir()) == [dest]


def test_prune_keeps_latest_and_takes_the_lock(out: Path) -> None:
    with OutputLock(out, "test"):
        busy = _cli("prune", str(out), "--keep-days", "0")
    assert busy.returncode == EXIT_LOCKED, busy.stderr
    latest = (out / "latest").resolve()
    files = _snapshot(latest)
    assert len(list((out / "runs").iterdir())) > 1
    res = _cli("prune", str(out), "--keep-days", "0")
    assert res.returncode == EXIT_OK, res.stderr
    assert [p.resolve() for p in (out / "runs").iterdir()] == [latest]
    assert _snapshot(out / "latest") == files


def test_a_degraded_night_publishes_its_list_and_exits_5(tmp_path: Path) -> None:
    import shutil

    from relief_match.errors import EXIT_UNUSABLE_EXTRACTS
    from relief_match.resources import default_dir

    delivery = tmp_path / "delivery"
    shutil.copytree(default_dir("sample_data") / "delivery", delivery)
    vehicles = delivery / "public_security" / "motor_vehicles.csv"
    header = vehicles.read_bytes().splitlines(keepends=True)[0]
    vehicles.write_bytes(header)  # header only: delivered but unusable
    (delivery / "health" / "death_certificates.parquet").unlink()  # not delivered
    out = tmp_path / "out"
    done = _cli("run", str(delivery), "--out", str(out), "--as-of", AS_OF, "--log-format", "json")
    assert done.returncode == EXIT_UNUSABLE_EXTRACTS, done.stderr[-2000:]
    last = json.loads(done.stderr.strip().splitlines()[-1])
    assert last["status"] == "completed" and last["exit_code"] == EXIT_UNUSABLE_EXTRACTS
    latest = out / "latest"
    assert (latest / "flags.csv").is_file()  # the night's list is still published
    summary = json.loads((latest / "run_summary.json").read_text(encoding="utf-8"))
    assert summary["unusable_extracts"] == {
        "death_certificates": "missing",
        "motor_vehicles": "header_only",
    }
    checks = {c["rule_id"]: c for c in summary["rules"]["checks"]}
    assert checks["VEHICLE"]["status"] == "skipped"
    assert "motor_vehicles (header_only)" in checks["VEHICLE"]["reason"]
    assert checks["DUPLICATE_ENROLLMENT"]["status"] == "ran"
