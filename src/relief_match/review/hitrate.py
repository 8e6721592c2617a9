"""Hit rate per check, from the outcome store: is a check worth its reviewers' time?

For each check, over the latest outcome of every finding_id in the store
(:func:`~relief_match.review.store.latest_sql`):

* ``reviewed``: findings with a final outcome (属实 + 不属实 + 有合理解释);
  ``in_progress`` (核查中) ones are counted apart and are not reviewed yet;
* ``confirmed_share`` = confirmed / reviewed, with its 95 % Wilson score
  interval (:func:`wilson`), which stays inside 0-1 and is honest for a
  handful of reviews;
* ``recovered``: the sum of 追回金额 recorded with those outcomes (yuan).

``observed()`` gives ``(confirmed, reviewed)`` per check for the opt-in
weight blend of :func:`relief_match.rank.score.blend_weight`.

Example:
    >>> rep = hit_rates(Path("out"))          # reads OUT/review/outcomes.duckdb
    >>> rep.asdict()["checks"][0]["confirmed_share"]
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from relief_match.review.store import latest_sql, open_store, store_path

#: Column headers of :meth:`HitRateReport.rows`.
HEADER = (
    "check",
    "reviewed",
    "confirmed",
    "false pos.",
    "explained",
    "in progress",
    "confirmed [95% CI]",
    "recovered ¥",
)
#: z of a two-sided 95 % interval.
Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval of ``k`` successes in ``n`` trials (None when n = 0)."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class CheckHitRate:
    """One check's outcomes."""

    rule_id: str
    reviewed: int
    confirmed: int
    false_positive: int
    explained: int
    in_progress: int
    recovered: float
    confirmed_share: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @classmethod
    def of(cls, rule_id: str, counts: dict[str, int], recovered: float) -> CheckHitRate:
        """From the outcome counts of one check."""
        c, fp, ex = (counts.get(o, 0) for o in ("confirmed", "false_positive", "explained"))
        n = c + fp + ex
        ci = wilson(c, n)
        return cls(
            rule_id,
            n,
            c,
            fp,
            ex,
            counts.get("in_progress", 0),
            round(recovered, 2),
            None if n == 0 else round(c / n, 4),
            None if ci is None else round(ci[0], 4),
            None if ci is None else round(ci[1], 4),
        )


@dataclass(frozen=True)
class HitRateReport:
    """Hit rate of every check with an outcome in the store."""

    store: str | None
    checks: list[CheckHitRate] = field(default_factory=list)

    def observed(self) -> dict[str, tuple[int, int]]:
        """rule_id -> (confirmed, reviewed), for the rank's weight blend."""
        return {c.rule_id: (c.confirmed, c.reviewed) for c in self.checks}

    def asdict(self) -> dict[str, Any]:
        """JSON-ready (for run_summary.json and ``review status --json``)."""
        return {"store": self.store, "checks": [asdict(c) for c in self.checks]}

    def rows(self) -> list[list[str]]:
        """The table people see: one row per check."""
        out = []
        for c in self.checks:
            share = (
                "-"
                if c.confirmed_share is None
                else f"{c.confirmed_share:.0%} [{c.ci_low:.0%}-{c.ci_high:.0%}]"
            )
            out.append(
                [
                    c.rule_id,
                    str(c.reviewed),
                    str(c.confirmed),
                    str(c.false_positive),
                    str(c.explained),
                    str(c.in_progress),
                    share,
                    f"{c.recovered:,.2f}",
                ]
            )
        return out

    def asstr(self) -> str:
        """Plain lines for the run's console report."""
        if self.store is None:
            return "hit rate: no outcomes imported yet"
        if not self.checks:
            return "hit rate: no outcomes in the store"
        lines = ["hit rate per check (latest outcome per finding):"]
        lines += ["  " + " | ".join(r) for r in self.rows()]
        return "\n".join(lines)


def hit_rates(out: Path) -> HitRateReport:
    """The hit rate per check of output folder ``out``'s outcome store (empty without one)."""
    path = store_path(out)
    if not path.is_file():
        return HitRateReport(None)
    with open_store(out, read_only=True) as con:
        rows = con.execute(
            f"""
            SELECT coalesce(rule_id, '?'), outcome, count(*),
                   coalesce(sum(recovered_amount), 0)
            FROM ({latest_sql()}) GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
    counts: dict[str, dict[str, int]] = {}
    recovered: dict[str, float] = {}
    for rule, outcome, n, amount in rows:
        counts.setdefault(rule, {})[outcome] = int(n)
        recovered[rule] = recovered.get(rule, 0.0) + float(amount)
    return HitRateReport(
        str(path), [CheckHitRate.of(r, counts[r], recovered[r]) for r in sorted(counts)]
    )
