"""Benchmark: a whole city against the floor and the pandas peer (issue 14).

Usage::

    python benchmarks/city.py [--population N [N ...]] [--cities-dir DIR] [--out DIR]
                              [--delivery DIR] [--peer PATH] [--skip-peer] [--repeat K]

For each city (``--population``, default 200000; generated once with
``relief-match synth --population N --seed 20261128 --as-of 2026-11-28 --out
DIR/city-N`` and reused when ``DIR/city-N/delivery`` exists; or the one
delivery given with ``--delivery``) it measures, in this order:

1. the floor: every input byte read once in this process (each CSV decoded,
   GB18030 transcoded, and scanned with polars; each parquet's columns decoded;
   each xlsx read with fastexcel), wall time and bytes;
2. the job: ``relief-match run DELIVERY --out OUT --as-of 2026-11-28
   --log-format json`` as a child process, its wall time and peak RSS, and the
   per-stage seconds and peak RSS from ``OUT/latest/run_summary.json``;
3. the peer: ``python PEER DELIVERY --out PEER_OUT --as-of 2026-11-28`` (the
   analyst's pandas script from ``../shared/peers/``; the project does not copy
   it: when it is absent, or pandas/openpyxl/pyarrow are not installed, the
   benchmark says so and skips that ratio), same measurement;

then prints a table with the ratios job/floor and job/peer and the number of
flags each produced. With ``--repeat K`` the job and the peer run as K A/B
pairs and the medians are reported; their outputs go to ``OUT/<city>/job-K`` and
``OUT/<city>/peer-K``, which are emptied before each run (a previous run in the
same folder would change the job's history stage). Offline and deterministic: nothing is
fetched, the cities are seeded. Peak RSS of a child is taken from
``os.wait4`` (the child's own rusage, so one child's peak does not hide the
next one's).
"""

from __future__ import annotations

import argparse
import codecs
import csv
import importlib.util
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import fastexcel
import polars as pl
from rich.console import Console
from rich.table import Table

AS_OF = "2026-11-28"
SEED = 20261128
REPO = Path(__file__).resolve().parents[1]
DEFAULT_PEER = REPO.parent / "shared" / "peers" / "pandas_exact.py"
PEER_MODULES = ("pandas", "openpyxl", "pyarrow")
STAGES = ("inputs", "ingest", "link", "checks", "review", "rank", "output", "report")

console = Console(width=max(100, shutil.get_terminal_size((100, 24)).columns))


# --------------------------------------------------------------------------- floor


@dataclass
class Floor:
    seconds: float = 0.0
    bytes: int = 0
    rows: int = 0
    files: int = 0
    gb18030_bytes: int = 0
    by_format: dict[str, list[float]] = field(default_factory=dict)  # fmt -> [s, bytes]


def _count_csv(path: Path) -> tuple[int, int]:
    """Rows of one CSV (all bytes read, decoded); returns (rows, gb18030 bytes)."""
    from relief_match.ingest.readers import detect_encoding

    enc = detect_encoding(path)
    if enc in ("utf-8", "utf-8-sig"):
        n = pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy").select(pl.len())
        return int(n.collect().item()), 0
    raw = path.read_bytes()
    text = codecs.decode(raw, enc, "replace").encode("utf-8")
    n = pl.scan_csv(io.BytesIO(text), infer_schema=False).select(pl.len())
    return int(n.collect().item()), len(raw)


def _count_parquet(path: Path) -> int:
    # null_count of every column forces every page to be decoded (pl.len()
    # alone would be answered from the footer without reading the data)
    lf = pl.scan_parquet(path)
    lf.select(pl.all().null_count()).collect(engine="streaming")
    return int(lf.select(pl.len()).collect().item())


def _count_xlsx(path: Path) -> int:
    reader = fastexcel.read_excel(path)
    return sum(reader.load_sheet(name).height for name in reader.sheet_names)


def measure_floor(delivery: Path) -> Floor:
    from relief_match.ingest.readers import UnreadableFileError, sniff_format

    fl = Floor()
    files = sorted(p for p in delivery.rglob("*") if p.is_file())
    t0 = time.perf_counter()
    for p in files:
        try:  # by content, as the job does: a CSV may be delivered named .xlsx
            fmt = sniff_format(p)
        except UnreadableFileError:
            continue
        t = time.perf_counter()
        size = p.stat().st_size
        if fmt == "csv":
            rows, gb = _count_csv(p)
            fl.gb18030_bytes += gb
        elif fmt == "parquet":
            rows = _count_parquet(p)
        else:  # xlsx
            rows = _count_xlsx(p)
        acc = fl.by_format.setdefault(fmt, [0.0, 0])
        acc[0] += time.perf_counter() - t
        acc[1] += size
        fl.rows += rows
        fl.bytes += size
        fl.files += 1
    fl.seconds = time.perf_counter() - t0
    return fl


# --------------------------------------------------------------------------- children


@dataclass
class ChildRun:
    seconds: float
    peak_rss_mb: float
    returncode: int


def run_child(cmd: list[str], log: Path) -> ChildRun:
    """Run ``cmd`` with stdout+stderr to ``log``; wall time and the child's peak RSS."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux (bytes on macOS)
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 1024 / 1024
    return ChildRun(seconds, usage.ru_maxrss * scale, proc.returncode)


def _fresh(path: Path) -> Path:
    """Empty the benchmark's own output folder (a previous run there changes history)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def _relief_match() -> list[str]:
    exe = shutil.which("relief-match")
    return [exe] if exe else [sys.executable, "-m", "relief_match"]


@dataclass
class JobRun:
    child: ChildRun
    timings: dict[str, dict[str, float]]
    rows_read: int
    flags: int


def run_job(delivery: Path, out: Path) -> JobRun:
    _fresh(out)
    cmd = [*_relief_match(), "run", str(delivery), "--out", str(out / "run")]
    cmd += ["--as-of", AS_OF, "--log-format", "json"]
    child = run_child(cmd, out / "job.log")
    summary_path = out / "run" / "latest" / "run_summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8")) if summary_path.exists() else {}
    if child.returncode != 0 or summary.get("status") != "completed":
        raise SystemExit(
            f"relief-match run failed (exit {child.returncode}); see {out / 'job.log'}"
        )
    rows = int(summary.get("ingest", {}).get("totals", {}).get("rows_read", 0))
    flags = summary.get("rank", {}).get("n_flags")
    if flags is None:
        flags = _count_flags(out / "run" / "latest" / "flags.csv")
    return JobRun(child, summary.get("timings", {}), rows, int(flags))


def _count_flags(path: Path) -> int:
    if not path.exists():
        return -1
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


@dataclass
class PeerRun:
    child: ChildRun
    flags: int


def peer_ready(peer: Path, skip: bool) -> bool:
    if skip:
        console.print("peer: skipped (--skip-peer); no job/peer ratio")
        return False
    if not peer.is_file():
        console.print(f"peer: absent ({peer}); skipping the job/peer ratio")
        return False
    missing = [m for m in PEER_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        console.print(
            f"peer: needs {', '.join(missing)} (not project dependencies); install them with "
            "`pip install pandas openpyxl pyarrow` to measure it; skipping the job/peer ratio"
        )
        return False
    return True


def run_peer(peer: Path, delivery: Path, out: Path) -> PeerRun:
    _fresh(out)
    cmd = [sys.executable, str(peer), str(delivery), "--out", str(out / "run"), "--as-of", AS_OF]
    child = run_child(cmd, out / "peer.log")
    if child.returncode != 0:
        raise SystemExit(f"peer failed (exit {child.returncode}); see {out / 'peer.log'}")
    return PeerRun(child, _count_flags(out / "run" / "flags.csv"))


# --------------------------------------------------------------------------- cities


def ensure_city(cities_dir: Path, population: int) -> Path:
    city = cities_dir / f"city-{population}"
    delivery = city / "delivery"
    if delivery.is_dir():
        console.print(f"city {population:,}: reusing {delivery}")
        return delivery
    console.print(f"city {population:,}: generating into {city} ...")
    cmd = [*_relief_match(), "synth", "--population", str(population), "--seed", str(SEED)]
    cmd += ["--as-of", AS_OF, "--out", str(city)]
    child = run_child(cmd, cities_dir / f"synth-{population}.log")
    if child.returncode != 0 or not delivery.is_dir():
        raise SystemExit(f"synth failed (exit {child.returncode}); see {cities_dir}")
    console.print(f"  generated in {child.seconds:.1f} s, peak {child.peak_rss_mb:,.0f} MB")
    return delivery


# --------------------------------------------------------------------------- report


def _med(xs: list[float]) -> float:
    return statistics.median(xs)


def scaling(points: list[tuple[str, int, float, float, float]]) -> None:
    """Cost per row from the smallest city to the largest: linear growth keeps
    the microseconds per row (and the seconds per row relative to the first
    city) flat."""
    t = Table(title="scaling (whole job, median)")
    for col in ("city", "rows read", "job s", "us/row", "vs first", "job/floor", "peak RSS MB"):
        t.add_column(col, justify="left" if col == "city" else "right")
    base = points[0][2] / points[0][1]
    for label, rows, secs, floor_s, rss in points:
        t.add_row(
            label,
            f"{rows:,}",
            f"{secs:.1f}",
            f"{secs / rows * 1e6:.2f}",
            f"{secs / rows / base:.2f}x",
            f"{secs / floor_s:.2f}x",
            f"{rss:,.0f}",
        )
    console.print(t)


def report(label: str, fl: Floor, jobs: list[JobRun], peers: list[PeerRun]) -> None:
    rows = jobs[0].rows_read
    t = Table(title=f"{label}: {rows:,} rows read, {fl.bytes / 1e6:,.1f} MB in {fl.files} files")
    t.add_column("what")
    t.add_column("wall s", justify="right")
    t.add_column("rows/s", justify="right")
    t.add_column("peak RSS MB", justify="right")
    t.add_column("flags", justify="right")
    t.add_column("note")
    n = len(jobs)
    for stage in [s for s in STAGES if s in jobs[0].timings] + [
        s for s in jobs[0].timings if s not in STAGES
    ]:
        secs = _med([j.timings.get(stage, {}).get("seconds", 0.0) for j in jobs])
        rss = _med([j.timings.get(stage, {}).get("peak_rss_mb", 0.0) for j in jobs])
        rate = f"{rows / secs:,.0f}" if stage == "ingest" and secs else ""
        t.add_row(f"  job: {stage}", f"{secs:.2f}", rate, f"{rss:,.0f}", "", "")
    job_s = _med([j.child.seconds for j in jobs])
    job_rss = _med([j.child.peak_rss_mb for j in jobs])
    med = f"median of {n}" if n > 1 else ""
    t.add_row(
        "job (whole run)",
        f"{job_s:.2f}",
        f"{rows / job_s:,.0f}",
        f"{job_rss:,.0f}",
        str(jobs[0].flags),
        med,
        style="bold",
    )
    t.add_row(
        "floor (every byte once)",
        f"{fl.seconds:.2f}",
        f"{fl.rows / fl.seconds:,.0f}",
        "",
        "",
        f"{fl.bytes / 1e6 / fl.seconds:,.0f} MB/s",
    )
    if peers:
        peer_s = _med([p.child.seconds for p in peers])
        peer_rss = _med([p.child.peak_rss_mb for p in peers])
        t.add_row(
            "peer (pandas)",
            f"{peer_s:.2f}",
            f"{rows / peer_s:,.0f}",
            f"{peer_rss:,.0f}",
            str(peers[0].flags),
            med,
        )
    t.add_row("job / floor", f"{job_s / fl.seconds:.2f}x", "", "", "", "", style="bold")
    if peers:
        t.add_row(
            "job / peer",
            f"{job_s / peer_s:.2f}x",
            "",
            f"{job_rss / peer_rss:.2f}x",
            f"{jobs[0].flags / max(1, peers[0].flags):.2f}x",
            "aim: <=0.5x, RSS <=1.5x",
            style="bold",
        )
    else:
        t.add_row("job / peer", "skipped", "", "", "", "peer not measured")
    console.print(t)
    by_fmt = ", ".join(
        f"{k} {v[1] / 1e6:,.1f} MB in {v[0]:.2f} s" for k, v in sorted(fl.by_format.items())
    )
    console.print(f"floor by format: {by_fmt}; GB18030 transcoded {fl.gb18030_bytes / 1e6:,.1f} MB")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, nargs="+", default=[200000])
    ap.add_argument("--cities-dir", type=Path, default=Path("benchmark-cities"))
    ap.add_argument("--out", type=Path, default=Path("benchmark-out"))
    ap.add_argument("--delivery", type=Path, help="measure this delivery instead of generating")
    ap.add_argument("--peer", type=Path, default=DEFAULT_PEER)
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--repeat", type=int, default=1, help="A/B pairs of job and peer (median)")
    a = ap.parse_args(argv)

    with_peer = peer_ready(a.peer.resolve(), a.skip_peer)
    if a.delivery:
        cities = [(a.delivery.resolve().parent.name or "delivery", a.delivery.resolve())]
    else:
        a.cities_dir.mkdir(parents=True, exist_ok=True)
        cities = [(f"city-{n}", ensure_city(a.cities_dir, n)) for n in a.population]

    points: list[tuple[str, int, float, float, float]] = []
    for label, delivery in cities:
        out = a.out.resolve() / label
        console.print(f"[bold]{label}[/]: {delivery}")
        fl = measure_floor(delivery)
        console.print(f"  floor {fl.seconds:.2f} s ({fl.rows:,} rows, {fl.bytes / 1e6:.1f} MB)")
        jobs: list[JobRun] = []
        peers: list[PeerRun] = []
        for i in range(1, a.repeat + 1):
            jobs.append(run_job(delivery, out / f"job-{i}"))
            console.print(f"  job {i}: {jobs[-1].child.seconds:.2f} s")
            if with_peer:
                peers.append(run_peer(a.peer.resolve(), delivery, out / f"peer-{i}"))
                console.print(f"  peer {i}: {peers[-1].child.seconds:.2f} s")
        report(label, fl, jobs, peers)
        points.append(
            (
                label,
                jobs[0].rows_read,
                _med([j.child.seconds for j in jobs]),
                fl.seconds,
                _med([j.child.peak_rss_mb for j in jobs]),
            )
        )
    if len(points) > 1:
        scaling(points)
    return 0


if __name__ == "__main__":
    sys.exit(main())
