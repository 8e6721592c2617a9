"""City-scale benchmark of the link stage.

Builds a staged city in a DuckDB file (by default 6 M people in hukou, 50 k
recipient members, 2.4 M vehicle owners, 30 M monthly social-insurance rows,
7 M monthly pension rows, deaths, marriages, benefit payments: ~46 M person
references) in a child process, then times ``run_linking`` on it in a fresh
process and prints the time per step, the link counts, precision/recall
against the generator's truth and the peak resident memory of the linking
process.

    python benchmarks/bench_link.py                      # city scale
    python benchmarks/bench_link.py --population 200000 --members 2000
    python benchmarks/bench_link.py --db /tmp/city.duckdb --reuse   # keep the city

Target: < 60 s for ``run_linking`` at city scale on a 2-core machine.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
# the staged city is a test helper (tests/link_city.py)
sys.path.insert(0, str(ROOT / "tests"))


def _shape(population: int, members: int):  # type: ignore[no-untyped-def]
    from link_city import CityShape

    return CityShape(
        population=population,
        members=members,
        vehicle_share=0.4,
        death_share=0.008,
        insured_share=2_500_000 / 6_000_000,
        insured_months=12,
        pension_share=600_000 / 6_000_000,
        pension_months=12,
        married_share=0.01,
        member_ref_boost=2.0,
    )


def _generate(
    db: str, population: int, members: int, seed: int, threads: int, memory_limit: str
) -> None:
    from link_city import make_staged_city

    con = duckdb.connect(db)
    con.execute(f"SET threads = {threads}")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    t = time.perf_counter()
    make_staged_city(con, _shape(population, members), seed=seed)
    con.execute("CHECKPOINT")
    n = con.execute(
        "SELECT sum(estimated_size) FROM duckdb_tables() WHERE NOT table_name LIKE '\\_%' ESCAPE '\\'"
    ).fetchall()[0][0]
    con.close()
    print(f"generated ~{int(n or 0):,} staged rows in {time.perf_counter() - t:.1f}s", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=6_000_000)
    ap.add_argument("--members", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--db", type=str, default=None, help="DuckDB file for the city")
    ap.add_argument("--reuse", action="store_true", help="reuse an existing --db city")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-limit", type=str, default="6GB")
    ap.add_argument("--settings", type=Path, default=ROOT / "rules/linkage/settings.yaml")
    ap.add_argument("--model", type=Path, default=ROOT / "rules/linkage/model.json")
    args = ap.parse_args(argv)

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_link_")
        db = str(Path(tmp.name) / "city.duckdb")
    else:
        db = args.db
    if not (args.reuse and Path(db).exists()):
        Path(db).unlink(missing_ok=True)
        proc = mp.get_context("spawn").Process(
            target=_generate,
            args=(db, args.population, args.members, args.seed, args.threads, args.memory_limit),
        )
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            print("city generation failed", file=sys.stderr)
            return 1

    from link_city import CITY_REFS, evaluate
    from relief_match.link import run_linking

    con = duckdb.connect(db)
    con.execute(f"SET threads = {args.threads}")
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    refs = con.execute(
        "SELECT sum(estimated_size) FROM duckdb_tables() "
        "WHERE table_name IN ('recipients_members', 'hukou_registry', 'motor_vehicles', "
        "'death_certificates', 'social_insurance', 'pension_payments', 'benefit_payments', "
        "'marriage_registrations')"
    ).fetchall()[0][0]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    report = run_linking(con, list(CITY_REFS), args.settings, args.model)
    elapsed = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(report.asstr())
    print(
        f"run_linking: {elapsed:.1f}s for ~{int(refs or 0):,} reference rows (threads {args.threads})"
    )
    print(
        f"peak RSS of the linking process: {rss / 1024:.0f} MB (before linking {rss0 / 1024:.0f} MB)"
    )
    t = time.perf_counter()
    quality = evaluate(con)
    print(quality.asstr())
    print(f"(evaluation {time.perf_counter() - t:.1f}s, not part of the timing)")
    con.close()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
