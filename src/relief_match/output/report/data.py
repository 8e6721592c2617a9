"""What the report is built from, read from one run folder (and its siblings for the trend).

:func:`load_run` reads ``run_summary.json`` and ``manifest.json``, a few
columns of ``flags.parquet``, the first rows of ``households.csv`` (IDs
already masked there, masked again here for safety), the probabilistic links'
probabilities from ``links.parquet``, the quarantine reasons and the
delivered files from ``relief_match.duckdb`` (opened read-only; or the run's
own open connection when the run writes its report), and, for each earlier
completed ``run`` in ``OUT/runs``, its summary and findings for the change
since the previous night and the trend.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relief_match.privacy import mask_ids_in_text
from relief_match.runs.files import read_json
from relief_match.runs.rundir import SUMMARY

#: The first rows of households.csv shown in the report.
TOP_HOUSEHOLDS = 20
#: Runs shown in the trend.
TREND_RUNS = 30
#: What identifies a finding from night to night until finding ids exist.
KEY = ("household_id", "rule_id", "member")
_FLAG_COLUMNS = (
    "household_id",
    "rule_id",
    "rule_title_zh",
    "amount_at_risk",
    "amount_kind",
    "district_code",
    "member_id_no",
    "person_id",
    "change",
    "finding_id",
)


@dataclass
class RunData:
    """Everything the page shows, already aggregated (no full ID numbers kept)."""

    run_dir: Path
    summary: dict[str, Any]
    manifest: dict[str, Any]
    sources: list[str] = field(default_factory=list)
    #: per finding: rule_id, rule_title_zh, district_code, amount_at_risk, amount_kind
    findings: list[dict[str, Any]] = field(default_factory=list)
    households_header: list[str] = field(default_factory=list)
    households_rows: list[list[str]] = field(default_factory=list)
    n_households: int = 0
    probabilities: list[float] = field(default_factory=list)
    quarantine_reasons: list[tuple[str, int]] = field(default_factory=list)
    #: change since the previous run: previous run id, counts, how compared
    change: dict[str, Any] = field(default_factory=dict)
    #: one dict per night: run_id, as_of, findings, new, amount_exact, amount_estimate
    trend: list[dict[str, Any]] = field(default_factory=list)


def _flags(path: Path) -> Any:
    """The columns of ``flags.parquet`` the report uses, or ``None`` without the file."""
    import polars as pl

    if not path.is_file():
        return None
    names = pl.read_parquet_schema(path)
    frame = pl.read_parquet(path, columns=[c for c in _FLAG_COLUMNS if c in names])
    member = [c for c in ("member_id_no", "person_id") if c in frame.columns]
    return frame.with_columns(
        pl.coalesce([pl.col(c) for c in member]).fill_null("").alias("member")
        if member
        else pl.lit("").alias("member")
    )


def _keys(frame: Any) -> set[tuple[str, ...]]:
    return set(frame.select(list(KEY)).fill_null("").iter_rows())


def _households(path: Path, limit: int) -> tuple[list[str], list[list[str]], int]:
    if not path.is_file():
        return [], [], 0
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows: list[list[str]] = []
        n = 0
        for row in reader:
            n += 1
            if len(rows) < limit:
                rows.append([mask_ids_in_text(c) for c in row])
    return header, rows, n


def _probabilities(path: Path) -> list[float]:
    import polars as pl

    if not path.is_file():
        return []
    return (
        pl.scan_parquet(path)
        .filter(pl.col("route") == "probabilistic")
        .select(pl.col("match_probability").drop_nulls())
        .collect()
        .to_series()
        .to_list()
    )


def _quarantine(run_dir: Path, con: Any) -> tuple[list[tuple[str, int]], bool]:
    """(reason, rows) from ``_rm_quarantine``; False when the database could not be read."""
    sql = "SELECT reason, count(*) FROM _rm_quarantine GROUP BY reason ORDER BY 2 DESC, 1"
    try:
        if con is not None:
            rows = con.execute(sql).fetchall()
        else:
            import duckdb

            db = run_dir / "relief_match.duckdb"
            if not db.is_file():
                return [], False
            with duckdb.connect(str(db), read_only=True) as ro:
                rows = ro.execute(sql).fetchall()
    except Exception:  # a locked, missing or older database: fall back to the summary
        return [], False
    return [(str(r), int(n)) for r, n in rows], True


def _summary_reasons(summary: dict[str, Any]) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for ex in (summary.get("ingest") or {}).get("extracts") or []:
        for reason, n in (ex.get("quarantine_reasons") or {}).items():
            totals[reason] = totals.get(reason, 0) + int(n)
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def earlier_runs(run_dir: Path, summary: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """Completed ``run`` commands in the same ``runs/`` folder that started before this one."""
    here = (str(summary.get("started_at", "")), run_dir.name)
    found = []
    parent = run_dir.parent
    if parent.name != "runs" or not parent.is_dir():
        return []
    for path in parent.iterdir():
        if path == run_dir or not path.is_dir() or path.is_symlink():
            continue
        s = read_json(path / SUMMARY)
        if not s or s.get("command") != "run" or s.get("status") != "completed":
            continue
        if (str(s.get("started_at", "")), path.name) < here:
            found.append((path, s))
    return sorted(found, key=lambda ps: (str(ps[1].get("started_at", "")), ps[0].name))


def _amounts(frame: Any) -> tuple[float, float]:
    import polars as pl

    if frame is None or "amount_at_risk" not in frame.columns or "amount_kind" not in frame.columns:
        return 0.0, 0.0
    row = frame.select(
        pl.col("amount_at_risk").filter(pl.col("amount_kind") == "exact").sum().alias("e"),
        pl.col("amount_at_risk").filter(pl.col("amount_kind") == "estimate").sum().alias("s"),
    ).row(0)
    return float(row[0] or 0.0), float(row[1] or 0.0)


def _night(path: Path, summary: dict[str, Any], frame: Any, before: Any) -> dict[str, Any]:
    """One point of the trend; ``new`` from the ``change`` column, else against ``before``."""
    exact, estimate = _amounts(frame)
    new: int | None = None
    if frame is not None and "change" in frame.columns:
        new = int((frame["change"] == "new").sum())
    elif frame is not None and before is not None:
        new = len(_keys(frame) - _keys(before))
    n = (summary.get("rules") or {}).get("n_findings")
    return {
        "run_id": path.name,
        "as_of": str(summary.get("as_of", path.name[:10])),
        "findings": int(n) if n is not None else (len(frame) if frame is not None else None),
        "new": new,
        "amount_exact": exact,
        "amount_estimate": estimate,
    }


def _change(run_dir: Path, frame: Any, prev: tuple[Path, Any] | None) -> dict[str, Any]:
    """新增/持续/已消失 against the previous completed run."""
    change: dict[str, Any] = {"previous_run": prev[0].name if prev else None}
    if frame is None:
        return change
    if prev is None:
        change["new"] = len(frame)
        change["method"] = "没有更早的完整运行：全部疑点计为新增"
        return change
    if "change" in frame.columns:
        change["new"] = int((frame["change"] == "new").sum())
        change["open"] = int((frame["change"] == "open").sum())
        change["method"] = "flags.parquet 的 change 列（按疑点编号 finding_id 比较）"
        resolved = run_dir / "resolved.csv"
        if resolved.is_file():
            with resolved.open(encoding="utf-8-sig") as fh:
                change["gone"] = max(sum(1 for _ in fh) - 1, 0)
        return change
    if prev[1] is None:
        change["new"] = len(frame)
        change["method"] = "上次运行没有 flags.parquet：全部疑点计为新增"
        return change
    now, then = _keys(frame), _keys(prev[1])
    change["new"], change["open"], change["gone"] = (
        len(now - then),
        len(now & then),
        len(then - now),
    )
    change["method"] = "与上次运行的 flags.parquet 按 (家庭编号, 规则编号, 成员身份证号) 比较"
    return change


def load_run(
    run_dir: Path,
    summary: dict[str, Any] | None = None,
    con: Any = None,
    manifest: dict[str, Any] | None = None,
) -> RunData:
    """Read what the report of ``run_dir`` shows; ``summary``, ``con`` and
    ``manifest`` when the run itself calls."""
    run_dir = run_dir.resolve()
    sources = []
    if summary is None:
        summary = read_json(run_dir / SUMMARY) or {}
        sources.append(SUMMARY)
    else:
        sources.append(f"{SUMMARY}（运行中的摘要）")
    if manifest is None:
        manifest = read_json(run_dir / "manifest.json") or {}
        if manifest:
            sources.append("manifest.json")
    else:
        sources.append("运行设置与软件版本（manifest.json 在运行结束时写出）")
    data = RunData(run_dir=run_dir, summary=summary, manifest=manifest, sources=sources)

    frame = _flags(run_dir / "flags.parquet")
    if frame is not None:
        sources.append("flags.parquet")
        cols = [c for c in ("rule_id", "rule_title_zh", "district_code") if c in frame.columns]
        data.findings = frame.select(
            *cols, *[c for c in ("amount_at_risk", "amount_kind") if c in frame.columns]
        ).to_dicts()
    header, rows, n = _households(run_dir / "households.csv", TOP_HOUSEHOLDS)
    if header:
        sources.append("households.csv")
    data.households_header, data.households_rows, data.n_households = header, rows, n
    if (run_dir / "links.parquet").is_file():
        data.probabilities = _probabilities(run_dir / "links.parquet")
        sources.append("links.parquet")
    reasons, from_db = _quarantine(run_dir, con)
    if from_db:
        sources.append("relief_match.duckdb（只读：_rm_quarantine）")
    data.quarantine_reasons = reasons if from_db else _summary_reasons(summary)

    every = earlier_runs(run_dir, summary)
    earlier = every[-(TREND_RUNS - 1) :]
    frames = [_flags(p / "flags.parquet") for p, _ in earlier]
    if earlier:
        sources.append(f"同一输出目录中较早的 {len(earlier)} 次运行的 {SUMMARY} 与 flags.parquet")
    prev = (earlier[-1][0], frames[-1]) if earlier else None
    data.change = _change(run_dir, frame, prev)
    befores = [None, *frames]
    for (path, s), f, b in zip(earlier, frames, befores, strict=False):
        data.trend.append(_night(path, s, f, b))
    data.trend.append(_night(run_dir, summary, frame, frames[-1] if frames else None))
    if len(every) == len(earlier) and data.trend[0]["new"] is None:
        data.trend[0]["new"] = data.trend[0]["findings"]  # the first run: all of it is new
    return data
