"""Benchmark: build report.html for a run folder, as `relief-match report` does.

Usage::

    python benchmarks/bench_report.py RUN_DIR [--repeat 3]

RUN_DIR is ``OUT/latest`` or ``OUT/runs/<run id>`` of a completed run, e.g. of
a 200 k city::

    relief-match synth --population 200000 --seed 11 --as-of 2026-11-28 --out /tmp/city
    relief-match run /tmp/city/delivery --out /tmp/city_out --as-of 2026-11-28
    python benchmarks/bench_report.py /tmp/city_out/latest

Each repeat runs the command in a fresh process (imports included, as a user
waits for it) and writes the page to a temporary file; prints each wall time,
the best, its CPU time, the page's size and the machine's load (on a busy
machine the wall time exceeds the CPU time). The target is under 3 s for a 200 k city.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 3.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    times, cpus = [], []
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        for i in range(args.repeat):
            t0 = time.perf_counter()
            c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "relief_match",
                    "report",
                    str(args.run_dir),
                    "--out",
                    str(page),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            times.append(time.perf_counter() - t0)
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
            print(f"run {i + 1}: {times[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU")
        size = page.stat().st_size
    best = min(times)
    print(
        f"report of {args.run_dir}: best {best:.2f} s wall ({min(cpus):.2f} s CPU) of"
        f" {len(times)}, page {size / 1024:.0f} KiB, load average {os.getloadavg()[0]:.1f}"
        f" on {os.cpu_count()} CPUs"
    )
    print(f"target < {TARGET_S:.0f} s: {'met' if best < TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
