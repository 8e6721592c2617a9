"""``generate``: build a synthetic city, write its delivery and the answer key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from relief_match.synth.answer_key import (
    cases_frame,
    defects_frame,
    links_frame,
    near_miss_kind,
    write_key_csv,
)
from relief_match.synth.cases import DECOY_KINDS, EXACT_RULES, RULES
from relief_match.synth.city import City
from relief_match.synth.defects import ALL_KINDS
from relief_match.synth.fmt import ms
from relief_match.synth.people import make_population
from relief_match.synth.planter import Planter
from relief_match.synth.recipient_tables import build_recipient_tables
from relief_match.synth.recipients import Ctx
from relief_match.synth.registers import RATES, Background
from relief_match.synth.spec import BY_NAME, EXTRA_COLUMNS, EXTRACTS
from relief_match.synth.timeline import LOW_INCOME_STANDARD, date_to_days
from relief_match.synth.writer import XLSX_MAX_ROWS, FilePlan, Written, write_table

GENERATOR_VERSION = "1"
FORMATS = ("mixed", "csv", "parquet", "xlsx")


@dataclass(frozen=True)
class SynthReport:
    """What :func:`generate` wrote (``asdict()`` for machines, ``asstr()`` for people)."""

    out_dir: str
    population: int
    seed: int
    as_of: str
    defect_rate: float
    formats: str
    recipient_households: int
    recipient_members: int
    files: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    planted: dict[str, int] = field(default_factory=dict)
    decoys: dict[str, int] = field(default_factory=dict)
    defects: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def asdict(self) -> dict[str, object]:
        """Plain-dict form."""
        return dataclasses.asdict(self)

    def asstr(self) -> str:
        """Readable summary."""
        lines = [
            f"synthetic city: {self.population:,} people, seed {self.seed}, as of {self.as_of}",
            f"  written to {self.out_dir} in {self.seconds:.1f} s "
            f"({self.recipient_households:,} recipient households, {self.recipient_members:,} members)",
            "",
            f"  {'extract':<26}{'rows':>12}  file",
        ]
        for ex in EXTRACTS:
            lines.append(
                f"  {ex.name:<26}{self.rows.get(ex.name, 0):>12,}  {self.files.get(ex.name, '-')}"
            )
        lines += ["", f"  {'rule_id':<26}{'planted':>8}{'decoys':>8}"]
        for r in RULES:
            lines.append(f"  {r:<26}{self.planted.get(r, 0):>8}{self.decoys.get(r, 0):>8}")
        total = sum(self.defects.values())
        lines += ["", f"  defects injected: {total:,} of {len(self.defects)} kinds"]
        return "\n".join(lines)


def _scale(population: int) -> tuple[int, int, int]:
    """(planted per rule x difficulty, decoys per kind, background recipient households)."""
    per_cell = int(np.clip(round(population / 20_000), 3, 40))
    per_decoy = int(np.clip(round(population / 40_000), 3, 30))
    n_bg = max(round(0.0042 * population), 40)
    return per_cell, per_decoy, n_bg


def _background_houses(city: City, n: int) -> None:
    rng, ctx = city.rng, city.ctx
    # recipients live mostly alone or in twos (about 2 members per household)
    accept = np.array([0.0, 1.0, 0.75, 0.35, 0.2, 0.12, 0.1])

    def small(h: int) -> bool:
        return bool(rng.random() < accept[min(int(city.pop.hh_size[h]), 6)])

    for _ in range(n):
        try:
            h, _p = city.alloc(house_ok=small, tries=400)
        except RuntimeError:
            break
        house = city.new_house(h, protected=False)
        r = rng.random()
        span = ctx.last_pay_m - house.first_m
        if r < 0.85 or span < 3:
            continue
        if r < 0.90 and house.first_m < ctx.win_lo - 1:
            # 停保 without an end date: payments stopped before the recent window
            house.status = "停保"
            house.last_m = int(rng.integers(house.first_m, ctx.win_lo))
            continue
        end_m = int(rng.integers(house.first_m + 1, ctx.last_pay_m))
        city.set_exit(house, end_m, status="停保" if r < 0.9 else "退出")
        house.last_m = end_m - int(rng.integers(0, 2))


def _plans(
    sizes: dict[str, int],
    rng: np.random.Generator,
    formats: str,
    rate: float,
    empty: Sequence[str],
) -> dict[str, FilePlan]:
    names = [e.name for e in EXTRACTS]
    plans = {n: FilePlan(n, BY_NAME[n].department, "csv", "utf-8") for n in names}
    small = {n for n in names if sizes[n] <= XLSX_MAX_ROWS}
    order = [names[i] for i in rng.permutation(len(names))]
    assigned: set[str] = set()

    def take(pred: set[str] | None = None) -> str | None:
        for n in order:
            if n not in assigned and (pred is None or n in pred):
                assigned.add(n)
                return n
        return None

    encs = ("utf-8", "utf-8-sig", "gb18030")
    if formats == "mixed":
        required: list[tuple[str, str | None, bool]] = [
            ("xlsx", None, True),
            ("xlsx", None, False),
            ("csv", "utf-8", False),
            ("csv", "utf-8-sig", False),
            ("csv", "gb18030", False),
            ("parquet", None, False),
            ("parquet", None, True),
        ]
        for fmt, enc, typed in required:
            n = take(small if fmt == "xlsx" else None)
            if n is None:
                continue
            p = plans[n]
            p.fmt, p.encoding, p.typed = fmt, enc, typed
        for n in order:
            if n in assigned:
                continue
            p = plans[n]
            r = rng.random()
            if r < 0.2 and n in small:
                p.fmt, p.encoding, p.typed = "xlsx", None, bool(rng.random() < 0.5)
            elif r < 0.5:
                p.fmt, p.encoding, p.typed = "parquet", None, bool(rng.random() < 0.5)
            else:
                p.fmt, p.encoding = "csv", encs[int(rng.integers(0, 3))]
    else:
        for i, n in enumerate(order):
            p = plans[n]
            if formats == "csv" or (formats == "xlsx" and n not in small):
                p.fmt, p.encoding = "csv", encs[i % 3]
            elif formats == "xlsx":
                p.fmt, p.encoding, p.typed = "xlsx", None, i % 2 == 0
            else:
                p.fmt, p.encoding, p.typed = "parquet", None, i % 2 == 0
    for n in order:
        p = plans[n]
        p.header = "zh" if rng.random() < 0.5 else "en"
        p.shuffle_columns = bool(rng.random() < 0.5)
        if rng.random() < 0.25:
            p.extra_column = EXTRA_COLUMNS[int(rng.integers(0, len(EXTRA_COLUMNS)))]
        if p.fmt == "csv":
            crlf = 0.7 if p.encoding == "gb18030" else 0.15
            p.line_end = "\r\n" if rng.random() < crlf else "\n"
        p.empty = n in empty
    if rate > 0:
        for n in order:
            p = plans[n]
            if p.empty:  # a header-only file has no rows, defective or not
                continue
            p.totals_row = bool(rng.random() < min(1.0, rate * 15))
            p.blank_row = p.fmt != "xlsx" and bool(rng.random() < min(1.0, rate * 15))
            if p.fmt == "csv" and rng.random() < min(1.0, rate * 15):
                p.ragged_rows = int(rng.integers(1, 3))
            p.duplicate_rows = int(rng.binomial(sizes[n], rate * 0.01)) + int(rng.random() < 0.5)
        # every whole-file defect at least once per delivery
        nonempty = [n for n in order if not plans[n].empty and sizes[n] > 5]
        if not any(plans[n].totals_row for n in nonempty):
            plans[nonempty[0]].totals_row = True
        if not any(plans[n].blank_row for n in nonempty):
            n = next((n for n in nonempty if plans[n].fmt != "xlsx"), None)
            if n:
                plans[n].blank_row = True
        if not any(plans[n].ragged_rows for n in nonempty):
            n = next((n for n in nonempty if plans[n].fmt == "csv"), None)
            if n:
                plans[n].ragged_rows = 1
        if not any(plans[n].duplicate_rows for n in nonempty):
            plans[nonempty[-1]].duplicate_rows = 1
        if formats == "mixed":
            cand = [n for n in order if plans[n].fmt == "csv" and n in small and not plans[n].empty]
            if cand:
                plans[cand[0]].wrong_extension = True
    return plans


def generate(
    population: int,
    seed: int,
    as_of: dt.date,
    out_dir: Path,
    *,
    defect_rate: float = 0.02,
    formats: str = "mixed",
    empty_extracts: Sequence[str] = (),
) -> SynthReport:
    """Generate a synthetic city: a delivery of the 17 extracts and its answer key.

    Args:
        population: people in ``hukou_registry``.
        seed: the run is fully determined by the seed (byte-identical files).
        as_of: the run date the city is built around (payments up to the month before).
        out_dir: receives ``delivery/<department>/<extract>.<ext>`` and
            ``answer_key/{cases.csv,links.csv,defects.csv,manifest.json}``.
        defect_rate: share of background rows given a value defect.
        formats: ``mixed`` (every format and encoding), ``csv``, ``parquet`` or ``xlsx``
            (xlsx only where the extract fits; csv otherwise).
        empty_extracts: extracts delivered as header-only files (their cases are dropped).

    Returns:
        A :class:`SynthReport`.

    Raises:
        ValueError: on an unknown format or extract name.
        RuntimeError: when the population is too small for the planted cases.

    Example:
        >>> generate(5000, 20261128, dt.date(2026, 11, 28), Path("sample_data"))  # doctest: +SKIP
    """
    if formats not in FORMATS:
        raise ValueError(f"formats must be one of {FORMATS}, not {formats!r}")
    unknown = set(empty_extracts) - set(BY_NAME)
    if unknown:
        raise ValueError(f"unknown extracts: {sorted(unknown)}")
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    delivery = out_dir / "delivery"
    key_dir = out_dir / "answer_key"
    for d in (delivery, key_dir):
        d.mkdir(parents=True, exist_ok=True)
    rng = np.random.Generator(np.random.PCG64(seed))
    ctx = Ctx.of(as_of)
    pop = make_population(population, date_to_days(as_of), rng)
    city = City(pop, ctx, rng)
    per_cell, per_decoy, n_bg = _scale(population)
    planter = Planter(city)
    planter.plant_all(per_cell)
    planter.decoy_all(per_decoy)
    _background_houses(city, n_bg)
    if city.renames:
        idx = sorted(city.renames)
        pop.name = pop.name.scatter(idx, [city.renames[i] for i in idx])
    build_recipient_tables(city)
    bg = Background(city)
    expected = bg.expected_rows()
    sizes = {name: tb.n + expected.get(name, 0) for name, tb in city.tables.items()}
    plans = _plans(sizes, rng, formats, defect_rate, empty_extracts)
    written: dict[str, Written] = {}

    def flush(name: str) -> None:
        written[name] = write_table(
            city.tables[name], plans[name], delivery, defect_rate, rng, must_cover=defect_rate > 0
        )

    for name in ("recipients_households", "recipients_members", "benefit_payments"):
        flush(name)
    for name, draw in bg.steps():
        draw()
        flush(name)
    assert set(written) == set(BY_NAME)

    cases_df = cases_frame(city, written, set(empty_extracts))
    links_df = links_frame(city, written, set(empty_extracts))
    defects_df = defects_frame(city, written)
    write_key_csv(cases_df, key_dir / "cases.csv")
    write_key_csv(links_df, key_dir / "links.csv")
    write_key_csv(defects_df, key_dir / "defects.csv")

    planted = cases_df.filter(pl.col("kind") == "planted")
    decoys = cases_df.filter(pl.col("kind") == "decoy")
    planted_n = {r: planted.filter(pl.col("rule_id") == r).height for r in RULES}
    decoy_n = {r: decoys.filter(pl.col("rule_id") == r).height for r in RULES}
    defect_n = dict(sorted(Counter(defects_df["defect"].to_list()).items()))
    files = {n: plans[n].filename for n in plans}
    rows = {n: written[n].records for n in written}
    n_members = sum(h.size for h in city.houses)
    manifest = {
        "generator": "relief_match.synth",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "population": population,
        "as_of": as_of.isoformat(),
        "defect_rate": defect_rate,
        "formats": formats,
        "empty_extracts": sorted(empty_extracts),
        "recent_window": [ms(ctx.win_lo), ms(ctx.win_hi)],
        "payment_history": [ms(ctx.first_pay_m), ms(ctx.last_pay_m)],
        "low_income_standard": {
            str(y): {str(d): v for d, v in by.items()} for y, by in LOW_INCOME_STANDARD.items()
        },
        "provident_to_wage_ratio": 0.24,
        "background_rates_per_person": RATES,
        "scale": {"planted_per_rule_and_difficulty": per_cell, "decoys_per_kind": per_decoy},
        "recipient_households": len(city.houses),
        "recipient_members": n_members,
        "files": {n: plans[n].describe() for n in plans},
        "rows": rows,
        "counts": {
            "planted_by_rule": planted_n,
            "decoys_by_rule": decoy_n,
            "decoys_by_kind": dict(
                sorted(Counter(near_miss_kind(s) for s in decoys["note"].to_list()).items())
            ),
            "planted_by_difficulty": dict(
                sorted(Counter(planted["link_difficulty"].to_list()).items())
            ),
            "defects_by_kind": defect_n,
            "links_by_kind": dict(sorted(Counter(links_df["kind"].to_list()).items())),
        },
        "defect_kinds": list(ALL_KINDS),
        "decoy_kinds": ["namesake", *DECOY_KINDS],
        "exact_amount_rules": list(EXACT_RULES),
    }
    (key_dir / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return SynthReport(
        out_dir=str(out_dir),
        population=population,
        seed=seed,
        as_of=as_of.isoformat(),
        defect_rate=defect_rate,
        formats=formats,
        recipient_households=len(city.houses),
        recipient_members=n_members,
        files=files,
        rows=rows,
        planted=planted_n,
        decoys=decoy_n,
        defects=defect_n,
        seconds=round(time.perf_counter() - t0, 2),
    )
