"""Benchmark: one synthetic city on both engines, per stage, and whether their lists agree.

Usage::

    python benchmarks/bench_spark.py --population 200000 [--seed 11] [--master 'local[2]']
        [--work DIR] [--spark-conf spark.executor.memory=8g ...]

Writes the city with ``relief-match synth`` into ``--work`` (kept, and reused
when it is there), runs ``relief-match run`` on it with ``--engine duckdb`` and
with ``--engine spark``, each in its own process, one after the other (so that
neither measures the other's load), then prints each stage's seconds on both
engines, the Spark/DuckDB ratio, the peak RSS of the driver process and whether
``flags.csv`` and ``households.csv`` are byte-identical.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

AS_OF = "2026-11-28"
COMPARED = ("flags.csv", "households.csv")


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "relief_match", *args]


def _run(engine: str, delivery: Path, out: Path, master: str, conf: list[str]) -> dict:
    cmd = _cli("run", str(delivery), "--out", str(out), "--as-of", AS_OF, "--engine", engine)
    if engine == "spark":
        cmd += ["--spark-master", master]
        if conf:
            toml = out.parent / f"{out.name}.toml"
            lines = ["[spark]"] + [f'"{k}" = "{v}"' for k, v in (c.split("=", 1) for c in conf)]
            toml.write_text("\n".join(lines) + "\n", encoding="utf-8")
            cmd += ["--config", str(toml)]
    shutil.rmtree(out, ignore_errors=True)  # no previous run: both lists are all "new"
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    summary = json.loads((out / "latest" / "run_summary.json").read_text(encoding="utf-8"))
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"wall": wall, "timings": summary["timings"], "rss_mb": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--population", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--spark-conf", nargs="*", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    work = args.work or Path(f"/tmp/bench_spark_{args.population}")
    city = work / "city"
    if not (city / "delivery").is_dir():
        subprocess.run(
            _cli(
                "synth",
                *("--population", str(args.population), "--seed", str(args.seed)),
                *("--as-of", AS_OF, "--out", str(city)),
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    results = {
        engine: _run(engine, city / "delivery", work / engine, args.master, args.spark_conf)
        for engine in ("duckdb", "spark")
    }
    stages = list(dict.fromkeys([*results["spark"]["timings"], *results["duckdb"]["timings"]]))
    print(f"city of {args.population:,} people, Spark master {args.master}")
    print(f"{'stage':<10} {'duckdb s':>10} {'spark s':>10} {'ratio':>7}")
    for stage in stages:
        d = results["duckdb"]["timings"].get(stage, {}).get("seconds", 0.0)
        s = results["spark"]["timings"].get(stage, {}).get("seconds", 0.0)
        ratio = f"{s / d:6.1f}x" if d >= 0.05 else "      -"
        print(f"{stage:<10} {d:>10.1f} {s:>10.1f} {ratio:>7}")
    d_wall, s_wall = results["duckdb"]["wall"], results["spark"]["wall"]
    print(f"{'wall':<10} {d_wall:>10.1f} {s_wall:>10.1f} {s_wall / d_wall:6.1f}x")
    for name in COMPARED:
        same = (work / "duckdb" / "latest" / name).read_bytes() == (
            work / "spark" / "latest" / name
        ).read_bytes()
        print(f"{name}: {'byte-identical' if same else 'DIFFERENT'} on both engines")
    print(f"peak RSS of the largest run process: {results['spark']['rss_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
