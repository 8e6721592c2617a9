"""Benchmark: read, normalise, validate and stage a large delivery.

Usage::

    python benchmarks/bench_ingest.py --rows 5000000 [--delivery DIR] [--gb18030-share 0.2]

Without ``--delivery`` it writes a contract-shaped delivery of ``--rows`` rows
(social insurance, pensions, vehicles, property and hukou in the city's
proportions, with a 2% sprinkle of defects and part of it as GB18030) into a
temporary folder, then times :func:`relief_match.validate.delivery.ingest_delivery`
into a DuckDB file. Prints rows/s per extract, total time and peak RSS.
With ``--delivery`` (e.g. a synthetic city from ``relief-match synth``) it
times that delivery instead.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

# City proportions of contract section 1 (rows per 50 M).
_SHARES = {
    "human_resources/social_insurance": 30.0,
    "human_resources/pension_payments": 7.0,
    "public_security/hukou_registry": 6.0,
    "public_security/motor_vehicles": 2.5,
    "natural_resources/real_estate": 2.5,
}


def _ids(rng: np.random.Generator, n: int) -> pl.Series:
    from relief_match.ingest.normalize import id_checksum_char

    regions = np.array(["441302", "441303", "441322", "441323", "441324"])
    reg = regions[rng.integers(0, 5, n)]
    days = rng.integers(0, 365 * 80, n)
    births = (np.datetime64("1940-01-01") + days.astype("timedelta64[D]")).astype(str)
    seq = rng.integers(0, 1000, n)
    body = pl.Series(
        [f"{r}{b.replace('-', '')}{s:03d}" for r, b, s in zip(reg, births, seq, strict=True)]
    )
    # check characters on the unique bodies only
    uniq = body.unique()
    chk = {b: id_checksum_char(b) for b in uniq.to_list()}
    return body + body.replace_strict(chk, return_dtype=pl.String)


def _make(out: Path, rows: int, gb_share: float, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    total = sum(_SHARES.values())
    n_people = max(1000, int(rows * _SHARES["public_security/hukou_registry"] / total))
    people = _ids(rng, n_people)
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"))
    given = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"))
    names = pl.Series(
        [
            a + b
            for a, b in zip(
                surnames[rng.integers(0, len(surnames), n_people)],
                given[rng.integers(0, len(given), n_people)],
                strict=True,
            )
        ]
    )
    for rel, share in _SHARES.items():
        n = int(rows * share / total)
        idx = rng.integers(0, n_people, n)
        ids = people.gather(idx)
        nm = names.gather(idx)
        if rel.endswith("social_insurance"):
            months = rng.integers(1, 13, n)
            df = pl.DataFrame(
                {
                    "身份证号": ids,
                    "姓名": nm,
                    "单位名称": pl.Series(["惠州市某某有限公司"] * n),
                    "单位信用代码": pl.Series(["91441300MA4UJ0XY0X"] * n),
                    "险种": pl.Series(
                        np.array(["职工养老", "职工医疗", "失业"])[rng.integers(0, 3, n)]
                    ),
                    "缴费月份": pl.Series([f"2025{m:02d}" for m in months]),
                    "缴费基数": pl.Series(rng.integers(2300, 20000, n)).cast(pl.String),
                }
            )
        elif rel.endswith("pension_payments"):
            df = pl.DataFrame(
                {
                    "id_no": ids,
                    "name": nm,
                    "pension_type": pl.Series(
                        np.array(["企业职工", "城乡居民"])[rng.integers(0, 2, n)]
                    ),
                    "pay_month": pl.Series([f"2025-{m:02d}" for m in rng.integers(1, 13, n)]),
                    "amount": pl.Series(rng.integers(200, 6000, n)).cast(pl.String),
                }
            )
        elif rel.endswith("hukou_registry"):
            df = pl.DataFrame(
                {
                    "id_no": ids,
                    "name": nm,
                    "sex": pl.Series(np.array(["1", "2"])[rng.integers(0, 2, n)]),
                    "birth_date": ids.str.slice(6, 8),
                    "hukou_no": pl.Series(rng.integers(1, 10**8, n)).cast(pl.String),
                    "address": pl.Series(["惠州市惠城区某某路"] * n),
                    "district_code": ids.str.slice(0, 6),
                    "status": pl.Series(np.array(["正常"] * 9 + ["迁出"])[rng.integers(0, 10, n)]),
                    "status_date": pl.Series([None] * n, dtype=pl.String),
                }
            )
        elif rel.endswith("motor_vehicles"):
            df = pl.DataFrame(
                {
                    "plate_no": pl.Series([f"粤L{i:05d}" for i in range(n)]),
                    "owner_id_no": ids,
                    "owner_name": nm,
                    "vehicle_type": pl.Series(
                        np.array(["小型汽车", "摩托车"])[rng.integers(0, 2, n)]
                    ),
                    "use_type": pl.Series(["非营运"] * n),
                    "registration_date": pl.Series(["2020/3/5"] * n),
                    "status": pl.Series(["正常"] * n),
                }
            )
        else:
            df = pl.DataFrame(
                {
                    "certificate_no": pl.Series(
                        [f"粤(2020)惠州市不动产权第{i:07d}号" for i in range(n)]
                    ),
                    "owner_id_no": ids,
                    "owner_name": nm,
                    "property_use": pl.Series(np.array(["住宅", "车位"])[rng.integers(0, 2, n)]),
                    "area_m2": pl.Series(rng.uniform(10, 200, n)).round(2).cast(pl.String),
                    "location": pl.Series(["惠州市惠城区某某小区"] * n),
                    "district_code": pl.Series(["441302"] * n),
                    "registration_date": pl.Series(["2020年3月5日"] * n),
                    "status": pl.Series(["现势"] * n),
                    "share": pl.Series(["1"] * n),
                }
            )
        # 2% defects: full-width IDs and traditional names where applicable
        k = int(n * 0.02)
        pos = rng.choice(n, k, replace=False)
        idcol = (
            df.columns[0] if "id" in df.columns[0] or "身份证" in df.columns[0] else df.columns[1]
        )
        fw = str.maketrans("0123456789", "０１２３４５６７８９")
        vals = df[idcol].to_list()
        for p in pos:
            vals[p] = vals[p].translate(fw)
        df = df.with_columns(pl.Series(idcol, vals))
        path = out / f"{rel}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        if rng.random() < gb_share:
            path.write_bytes(df.write_csv().encode("gb18030"))
        else:
            df.write_csv(path)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--delivery", type=Path)
    ap.add_argument("--gb18030-share", type=float, default=0.2)
    ap.add_argument("--work", type=Path, help="folder for the generated delivery and database")
    ap.add_argument("--chunk-mb", type=int, default=256)
    args = ap.parse_args()

    import duckdb

    from relief_match.catalog import load_catalog
    from relief_match.validate.delivery import ingest_delivery

    work = args.work or Path(tempfile.mkdtemp(prefix="rm_bench_"))
    delivery = args.delivery
    if delivery is None:
        delivery = work / "delivery"
        t = time.perf_counter()
        _make(delivery, args.rows, args.gb18030_share)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - t:.1f}s at {delivery}")
    size = sum(p.stat().st_size for p in delivery.rglob("*") if p.is_file())
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    con = duckdb.connect(str(work / "bench.duckdb"))
    t0 = time.perf_counter()
    rep = ingest_delivery(delivery, load_catalog(), con, chunk_bytes=args.chunk_mb * 1024 * 1024)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for e in rep.extracts:
        if e.rows_read:
            print(
                f"  {e.extract:<24} {e.rows_read:>11,} rows {e.seconds:7.1f}s"
                f" {e.rows_read / max(e.seconds, 1e-9):>12,.0f} rows/s  {','.join(e.encodings)}"
            )
    print(
        f"total {rep.rows_read:,} rows ({size / 1e9:.2f} GB) in {dt:.1f}s ="
        f" {rep.rows_read / dt:,.0f} rows/s; peak RSS {peak / 1024**2:.2f} GB"
        f" (before ingest {rss0 / 1024**2:.2f} GB); reconciles:"
        f" {rep.rows_read == rep.rows_used + rep.rows_quarantined}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
