"""rank stage: score = f(check weight, match probability, amount at risk); household roll-up."""

from __future__ import annotations

from relief_match.rank.score import (
    AMOUNT_CAP,
    AMOUNT_UNIT,
    FLAGS_COLUMNS,
    HOUSEHOLDS_COLUMNS,
    RankReport,
    amount_factor,
    rank_findings,
    score,
)

__all__ = [
    "AMOUNT_CAP",
    "AMOUNT_UNIT",
    "FLAGS_COLUMNS",
    "HOUSEHOLDS_COLUMNS",
    "RankReport",
    "amount_factor",
    "rank_findings",
    "score",
]
