"""Time and peak memory of the synthetic city generator.

Usage:
    python benchmarks/bench_synth.py --population 200000 --out bench_out/city200k
    python benchmarks/bench_synth.py --population 6000000 --out bench_out/city6m > bench_6m.txt 2>&1 &
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Generate one city and print generation time, peak RSS and output size."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--population", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 28))
    ap.add_argument("--defect-rate", type=float, default=0.02)
    ap.add_argument("--formats", default="mixed")
    args = ap.parse_args(argv)

    from relief_match.synth import generate

    t0 = time.perf_counter()
    report = generate(
        args.population,
        args.seed,
        args.as_of,
        args.out,
        defect_rate=args.defect_rate,
        formats=args.formats,
    )
    seconds = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    size = sum(p.stat().st_size for p in Path(args.out).rglob("*") if p.is_file())
    print(report.asstr())
    print()
    print(f"population        {args.population:>14,}")
    print(f"rows written      {sum(report.rows.values()):>14,}")
    print(f"generation time   {seconds:>14.1f} s")
    print(f"peak memory (RSS) {peak_kib / 1024**2:>14.2f} GiB")
    print(f"output size       {size / 1024**2:>14.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
