"""Wall time and peak memory of a whole run under different DuckDB memory limits.

Each setting runs ``relief-match run DELIVERY`` in its own process with
``RELIEF_MATCH_MEMORY_LIMIT`` set, and prints the exit code, wall time, the
process's peak resident memory, and whether its review list, households and
links equal those of the first setting. ``--find-min`` then halves the limit
below the last one until a run fails, and narrows down the lowest that works.

Usage:
    python benchmarks/bench_memory.py --delivery /tmp/city200k/delivery --out bench_out/memory
    python benchmarks/bench_memory.py --delivery DIR --out DIR --limits 4GB,1GB,500MB --find-min
"""

from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

#: outputs that must not depend on the memory limit
COMPARED = ("households.csv", "links.parquet", "flags.csv")


@dataclass
class Result:
    """One run under one memory limit."""

    limit_mb: int
    exit_code: int
    seconds: float
    peak_rss_mb: float
    same: str

    def line(self) -> str:
        """A row of the printed table."""
        return (
            f"{self.limit_mb:>8} MB  exit {self.exit_code}  {self.seconds:7.1f} s"
            f"  peak RSS {self.peak_rss_mb:7.0f} MB  {self.same}"
        )


def run_once(
    delivery: Path, out: Path, limit_mb: int, as_of: str, reference: Path | None
) -> Result:
    """Run the job once under ``limit_mb`` and measure it."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, RELIEF_MATCH_MEMORY_LIMIT=f"{limit_mb}MB")
    cmd = [sys.executable, "-m", "relief_match", "run", str(delivery), "--out", str(out)]
    cmd += ["--as-of", as_of]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    same = "reference"
    if reference is not None:
        differ = [
            f
            for f in COMPARED
            if not (out / f).exists() or not filecmp.cmp(reference / f, out / f, shallow=False)
        ]
        same = "outputs equal" if not differ else "DIFFER: " + ", ".join(differ)
    return Result(limit_mb, code, seconds, usage.ru_maxrss / 1024, same)


def _mb(text: str) -> int:
    t = text.strip().upper()
    if t.endswith("GB"):
        return int(float(t[:-2]) * 1000)
    if t.endswith("MB"):
        return int(float(t[:-2]))
    raise argparse.ArgumentTypeError(f"{text}: give a size in MB or GB")


def main(argv: list[str] | None = None) -> int:
    """Run the settings and print one line per run."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--delivery", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="scratch folder for the runs")
    ap.add_argument("--as-of", default="2026-11-28")
    ap.add_argument("--limits", default="4GB,1GB,500MB,100MB")
    ap.add_argument("--find-min", action="store_true", help="also find the lowest that works")
    args = ap.parse_args(argv)

    limits = [_mb(x) for x in args.limits.split(",")]
    reference = args.out / f"{limits[0]}MB"
    results: list[Result] = []
    for mb in limits:
        ref = None if mb == limits[0] else reference
        results.append(run_once(args.delivery, args.out / f"{mb}MB", mb, args.as_of, ref))
        print(results[-1].line(), flush=True)
    if args.find_min:
        ok = min(r.limit_mb for r in results if r.exit_code == 0)
        bad = ok
        while bad > 1:  # halve until a run fails
            bad //= 2
            r = run_once(args.delivery, args.out / f"{bad}MB", bad, args.as_of, reference)
            print(r.line(), flush=True)
            if r.exit_code != 0:
                break
            ok = bad
        while ok - bad > max(4, ok // 16):  # bisect between the failing and the working limit
            mid = (ok + bad) // 2
            r = run_once(args.delivery, args.out / f"{mid}MB", mid, args.as_of, reference)
            print(r.line(), flush=True)
            ok, bad = (mid, bad) if r.exit_code == 0 else (ok, mid)
        print(f"lowest memory_limit that works: {ok} MB (fails at {bad} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
