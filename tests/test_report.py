"""report.html: written by every run, rebuilt by `relief-match report`, self-contained,
with every chart, no full ID number, and rendered by headless Chromium offline.

Two real runs of the bundled sample in one OUT (as of 2026-11-27, then
2026-11-28) give a previous run for the change and two nights for the trend.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from relief_match.errors import EXIT_OK, EXIT_USAGE
from relief_match.output.report import build_report

NIGHTS = ("2026-11-27", "2026-11-28")
#: The charts every report has (the hit-rate chart only once there are review outcomes).
CHARTS = (
    "chart-check-findings",
    "chart-check-amount",
    "chart-district-findings",
    "chart-district-amount",
    "chart-quality-rows",
    "chart-quarantine-reasons",
    "chart-link-routes",
    "chart-link-probability",
    "chart-trend-findings",
    "chart-trend-amount",
)
CHROMIUM = Path("/usr/bin/chromium")
#: A full 18-digit (or 15-digit) ID number, not part of a longer digit run.
FULL_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])|(?<![0-9])[0-9]{15}(?![0-9])")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relief_match", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "out"
    for night in NIGHTS:
        done = _cli("run", "--out", str(out), "--as-of", night, "--log-format", "text")
        assert done.returncode == EXIT_OK, done.stderr[-2000:]
    return out


def _runs(out: Path) -> list[Path]:
    return sorted((out / "runs").iterdir())


def _page(out: Path) -> str:
    return (out / "latest" / "report.html").read_text(encoding="utf-8")


def test_every_run_writes_its_report_and_lists_it(out: Path) -> None:
    for run_dir in _runs(out):
        summary = json.loads((run_dir / "run_summary.json").read_text(encoding="utf-8"))
        assert (run_dir / "report.html").stat().st_size > 10_000
        assert summary["outputs"]["report.html"] == str(run_dir / "report.html")
        assert "report" in summary["timings"]
        assert not [w for w in summary["warnings"] if "report.html" in w]


def test_self_contained_no_script_no_external_reference(out: Path) -> None:
    page = _page(out)
    assert "http://" not in page and "https://" not in page
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^)"']*)""", page)
    targets = [a or b for a, b in refs]
    assert all(t.startswith("#") for t in targets), [t for t in targets if not t.startswith("#")]
    assert "<script" not in page.lower()
    assert "@import" not in page and "@font-face" not in page
    assert "<link" not in page.lower() and "<img" not in page.lower()


def test_every_chart_is_there_as_inline_svg(out: Path) -> None:
    page = _page(out)
    ids = re.findall(r'<svg id="([^"]+)"', page)
    assert sorted(ids) == sorted(CHARTS)
    assert page.count("<svg") == len(CHARTS)
    for section in ("glance", "checks", "districts", "households", "quality", "linking"):
        assert f'<section id="{section}">' in page
    assert "尚无核查结果" in page  # no review outcomes in these runs
    # every check that ran is a bar of the per-check chart
    summary = json.loads((out / "latest" / "run_summary.json").read_text(encoding="utf-8"))
    chart = page[page.index('<svg id="chart-check-findings"') :]
    chart = chart[: chart.index("</svg>")]
    for check in summary["rules"]["checks"]:
        assert check["rule_id"] in chart


def test_no_full_id_number_and_the_masked_ones_as_in_households_csv(out: Path) -> None:
    page = _page(out)
    assert not FULL_ID.findall(page)
    ids = pl.read_parquet(out / "latest" / "flags.parquet")["member_id_no"].drop_nulls()
    assert not [i for i in ids.to_list() if i in page]
    first = (out / "latest" / "households.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    assert all(cell in page for cell in first.split(",")[:3])


def test_names_the_run_its_files_the_change_and_the_trend(out: Path) -> None:
    first, second = _runs(out)
    page = _page(out)
    assert second.name in page
    for name in ("run_summary.json", "flags.parquet", "households.csv", "links.parquet"):
        assert name in page
    assert "_rm_quarantine" in page  # read from the run's database
    assert f"上次运行：{first.name}" in page
    assert "按疑点编号 finding_id 比较" in page  # the run's own new/open marks
    trend = page[page.index('<section id="trend">') :]
    assert first.name in trend and second.name in trend
    assert "manifest.json 在运行结束时写出" in page  # the run's own page; a rebuilt one reads it
    old = (first / "report.html").read_text(encoding="utf-8")
    assert "上次运行：无" in old and "全部疑点计为新增" in old


def test_report_command_rebuilds_for_latest_and_for_a_run_folder(out: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy" / "r.html"
    done = _cli("report", str(out / "latest"), "--out", str(target))
    assert done.returncode == EXIT_OK, done.stderr
    assert done.stdout.strip() == str(target)
    rebuilt = target.read_text(encoding="utf-8")
    assert rebuilt.count("<svg") == len(CHARTS)
    assert "manifest.json、" in rebuilt and "运行中" not in rebuilt
    first = _runs(out)[0]
    assert _cli("report", str(first)).returncode == EXIT_OK
    bad = _cli("report", str(tmp_path))
    assert bad.returncode == EXIT_USAGE
    assert "not a run folder" in bad.stderr


def test_hit_rate_and_recovered_amount_when_the_summary_has_review_outcomes(
    out: Path, tmp_path: Path
) -> None:
    run_dir = out / "latest"
    summary = json.loads((run_dir / "run_summary.json").read_text(encoding="utf-8"))
    summary["hit_rate"] = {
        "checks": [
            {
                "rule_id": "DECEASED",
                "reviewed": 10,
                "confirmed": 8,
                "hit_rate": 0.8,
                "recovered": 12000.0,
            },
            {
                "rule_id": "VEHICLE",
                "reviewed": 4,
                "confirmed": 1,
                "hit_rate": 0.25,
                "recovered": 0.0,
            },
        ]
    }
    page = build_report(run_dir, tmp_path / "r.html", summary=summary).read_text(encoding="utf-8")
    assert 'id="chart-hit-rate"' in page
    assert "尚无核查结果" not in page
    assert "12,000 元" in page


def _render(page: Path, tmp: Path) -> tuple[str, list[str], Path]:
    """Headless Chromium: (stderr, URLs the page asked the network for, screenshot)."""
    shot = tmp / f"{page.stem}.png"
    netlog = tmp / f"{page.stem}.netlog.json"
    done = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={tmp / ('profile-' + page.stem)}",
            "--enable-logging=stderr",
            "--v=0",
            f"--log-net-log={netlog}",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    # requests of the page have its (opaque file://) origin as initiator; the
    # browser's own background requests have none ("not an origin")
    asked = [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start_job
        and "url" in e.get("params", {})
        and e["params"].get("initiator") != "not an origin"
    ]
    return done.stderr, asked, shot


def _console_errors(stderr: str) -> list[str]:
    bad = ("CONSOLE", "Uncaught", "net::ERR", "Failed to load resource", "Refused to")
    return [line for line in stderr.splitlines() if any(b in line for b in bad)]


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed (CI installs it: apt-get install chromium)",
)
def test_chromium_renders_it_offline_without_errors_or_requests(out: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    shutil.copy(out / "latest" / "report.html", page)
    stderr, asked, shot = _render(page, tmp_path)
    assert shot.stat().st_size > 50_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert asked == []
    assert _console_errors(stderr) == []
    # the checks can fail: a page with a script error and a remote image is caught
    broken = tmp_path / "broken.html"
    broken.write_text(
        '<!DOCTYPE html><html><body><img src="https://example.com/x.png">'
        "<script>not_defined();</script></body></html>",
        encoding="utf-8",
    )
    stderr, asked, _ = _render(broken, tmp_path)
    assert asked == ["https://example.com/x.png"]
    assert any("Uncaught" in line for line in _console_errors(stderr))
