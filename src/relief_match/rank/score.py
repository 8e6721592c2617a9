"""Scoring and ranking of findings, and the household roll-up.

Score of one finding (0-100, one decimal)::

    score = round(100 × weight × p × min(1, A(amount)), 1)

    A(a)  = (1 + log10(1 + a / AMOUNT_UNIT)) / (1 + log10(1 + AMOUNT_CAP / AMOUNT_UNIT))

* ``weight``: the check's severity (``rules/checks/<ID>.yaml``, 0-1);
* ``p``: the finding's ``match_probability`` (1 when the finding rests on no
  person link, e.g. a household-level payment check);
* ``a``: ``amount_at_risk`` in yuan (0 when the check has no amount or it is
  empty); ``AMOUNT_UNIT`` = 1,000 yuan, ``AMOUNT_CAP`` = 100,000 yuan.

``A`` grows with the logarithm of the money at stake, so that a 50,000-yuan
case outranks a 500-yuan case of the same check without drowning every other
check: ``A(0) = 0.333``, ``A(1,000) = 0.433``, ``A(10,000) = 0.679``,
``A(100,000) = 1`` (and stays 1 above the cap). The normaliser
``1 + log10(1 + AMOUNT_CAP / AMOUNT_UNIT)`` keeps the score within 0-100.

Ranking of findings (``_rm_flags.rank``, 1 = review first) is deterministic:
score descending, then amount descending (empty last), then household_id,
rule_id, member_id_no, evidence_extract, evidence_row, person_id ascending.

The review stage's columns (:data:`REVIEW_COLUMNS`: ``finding_key``,
``finding_id`` and the caseworkers' latest outcome) are carried from
``_rm_findings`` to ``_rm_flags`` unchanged, NULL when that stage did not run.

Household roll-up (``_rm_households``): total_score = sum of its findings'
scores; max_score; n_findings; n_checks (distinct rule ids); rule_ids and
rule_titles_zh in the order of their best finding; amount_exact and
amount_estimate summed separately over the findings (estimates of different
checks may overlap, so they are not added to the exact amount); ranked by
total_score, then total amount, then max_score descending, then household_id.

Example:
    >>> score(1.0, 1.0, 3300.0)
    54.4
    >>> report = rank_findings(con)   # reads _rm_findings + _rm_checks
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from relief_match.review.outcomes import EARLIER_COLUMN
from relief_match.review.outcomes import REVIEW_COLUMNS as OUTCOME_COLUMNS

#: Amount that adds one "unit" to the logarithm (yuan).
AMOUNT_UNIT = 1000.0
#: Amount at which the amount factor reaches 1 (yuan).
AMOUNT_CAP = 100_000.0


def amount_factor(
    amount: float | None, unit: float = AMOUNT_UNIT, cap: float = AMOUNT_CAP
) -> float:
    """The amount factor ``A(a)`` of the score, between 1/normaliser and 1."""
    a = max(amount or 0.0, 0.0)
    return min(1.0, (1.0 + math.log10(1.0 + a / unit)) / (1.0 + math.log10(1.0 + cap / unit)))


def score(
    weight: float,
    match_probability: float | None,
    amount: float | None,
    unit: float = AMOUNT_UNIT,
    cap: float = AMOUNT_CAP,
) -> float:
    """Score one finding (the Python twin of the SQL in :func:`rank_findings`).

    Args:
        weight: the check's weight (0-1).
        match_probability: the link probability; ``None`` means 1.
        amount: amount at risk in yuan; ``None`` means 0.

    Returns:
        The score, 0-100, rounded half up to one decimal.
    """
    p = 1.0 if match_probability is None else match_probability
    raw = 100.0 * weight * p * amount_factor(amount, unit, cap)
    return math.floor(raw * 10.0 + 0.5) / 10.0


#: Pseudo-reviews the declared weight counts for in the hit-rate blend.
PRIOR_STRENGTH = 10.0


def blend_weight(
    weight: float, confirmed: int, reviewed: int, prior_strength: float = PRIOR_STRENGTH
) -> float:
    """A check's weight blended with its observed confirmed share (rules/README.md).

    The declared weight is the mean of a Beta prior worth ``prior_strength``
    reviews; the result is the posterior mean after ``confirmed`` of
    ``reviewed`` findings were confirmed, rounded to 4 decimals::

        (prior_strength × weight + confirmed) / (prior_strength + reviewed)

    >>> blend_weight(0.7, 0, 0), blend_weight(0.7, 1, 10), blend_weight(0.7, 30, 30)
    (0.7, 0.4, 0.925)
    """
    w = min(max(weight, 0.0), 1.0)
    return round((prior_strength * w + confirmed) / (prior_strength + reviewed), 4)


def rank_weights(
    con: duckdb.DuckDBPyConnection,
    observed: Mapping[str, tuple[int, int]] | None = None,
    prior_strength: float = PRIOR_STRENGTH,
) -> dict[str, tuple[float, float]] | None:
    """Write ``_rm_rank_weights``: one row per check of ``_rm_checks`` with the weight rank uses.

    Without ``observed`` the weight is the declared one; with it, every check's
    weight is :func:`blend_weight` of its declared weight and its
    ``(confirmed, reviewed)`` (a check without reviews keeps its weight).
    Returns ``rule_id -> (declared, blended)`` when blended, else None.
    """
    con.execute(
        """
        CREATE OR REPLACE TABLE _rm_rank_weights AS
        SELECT rule_id, any_value(title_zh) AS title_zh, any_value(title_en) AS title_en,
               any_value(weight) AS weight, any_value(amount_kind) AS amount_kind
        FROM _rm_checks GROUP BY rule_id
        """
    )
    if observed is None:
        return None
    if prior_strength <= 0:
        raise ValueError("prior_strength must be positive")
    declared = con.execute("SELECT rule_id, weight FROM _rm_rank_weights ORDER BY rule_id")
    blended = {
        rule: (float(w), blend_weight(float(w), *observed.get(rule, (0, 0)), prior_strength))
        for rule, w in declared.fetchall()
    }
    con.executemany(
        "UPDATE _rm_rank_weights SET weight = ? WHERE rule_id = ?",
        [[b, rule] for rule, (_, b) in blended.items()],
    )
    return blended


#: Columns of ``_rm_flags`` (in order).
FLAGS_COLUMNS: tuple[str, ...] = (
    "rank",
    "household_rank",
    "household_id",
    "rule_id",
    "rule_title_zh",
    "rule_title_en",
    "score",
    "weight",
    "amount_at_risk",
    "amount_is_estimate",
    "amount_kind",
    "member_name",
    "member_id_no",
    "person_id",
    "route",
    "match_probability",
    "match_evidence",
    "reason_zh",
    "evidence_extract",
    "evidence_row",
    "evidence_file",
    "evidence",
    "district_code",
    "benefit_type",
    "finding_key",
    "finding_id",
    "review_outcome",
    "review_date",
    "reviewer",
    "review_note",
    "earlier_outcome",
)

#: Columns the review stage may add to ``_rm_findings`` and rank carries through to
#: ``_rm_flags`` (their type when the review stage did not run: then they are NULL).
REVIEW_COLUMNS: dict[str, str] = {
    "finding_key": "VARCHAR",
    "finding_id": "VARCHAR",
    **OUTCOME_COLUMNS,
    EARLIER_COLUMN: "VARCHAR",
}

#: Columns of ``_rm_households`` (in order).
HOUSEHOLDS_COLUMNS: tuple[str, ...] = (
    "rank",
    "household_id",
    "district_code",
    "benefit_type",
    "total_score",
    "max_score",
    "n_findings",
    "n_checks",
    "rule_ids",
    "rule_titles_zh",
    "amount_exact",
    "amount_estimate",
    "member_names",
)


@dataclass(frozen=True)
class RankReport:
    """What the rank stage wrote."""

    n_flags: int
    n_households: int
    top_score: float | None
    #: rule_id -> (declared, blended) weight, when the hit rate was blended in
    weights: dict[str, tuple[float, float]] | None = None

    def asdict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        d: dict[str, Any] = {
            "n_flags": self.n_flags,
            "n_households": self.n_households,
            "top_score": self.top_score,
        }
        if self.weights is not None:
            d["hit_rate_weights"] = {
                r: {"declared": w, "blended": b} for r, (w, b) in self.weights.items()
            }
        return d

    def asstr(self) -> str:
        """One line for people."""
        top = "-" if self.top_score is None else f"{self.top_score:.1f}"
        return f"rank: {self.n_flags} flags in {self.n_households} households (top score {top})"


_FLAGS_SQL = """
CREATE OR REPLACE TABLE _rm_flags AS
WITH scored AS (
    SELECT f.*, c.title_zh AS rule_title_zh, c.title_en AS rule_title_en,
           c.weight, c.amount_kind,
           floor(
               100.0 * c.weight * coalesce(f.match_probability, 1.0)
               * least(1.0, (1.0 + log10(1.0 + greatest(coalesce(f.amount_at_risk, 0.0), 0.0) / $unit))
                            / (1.0 + log10(1.0 + $cap / $unit)))
               * 10.0 + 0.5) / 10.0 AS score
    FROM _rm_findings AS f
    JOIN _rm_rank_weights AS c ON c.rule_id = f.rule_id
),
ranked AS (
    SELECT *, row_number() OVER (
        ORDER BY score DESC, amount_at_risk DESC NULLS LAST, household_id, rule_id,
                 member_id_no NULLS LAST, evidence_extract NULLS LAST, evidence_row NULLS LAST,
                 person_id NULLS LAST, reason_zh) AS rank
    FROM scored
)
SELECT rank, CAST(NULL AS BIGINT) AS household_rank, household_id, rule_id, rule_title_zh,
       rule_title_en, score, weight, amount_at_risk, amount_is_estimate, amount_kind,
       member_name, member_id_no, person_id, route, match_probability, match_evidence,
       reason_zh, evidence_extract, evidence_row, evidence_file, evidence,
       district_code, benefit_type, {review_columns}
FROM ranked
ORDER BY rank
"""

_HOUSEHOLDS_SQL = """
CREATE OR REPLACE TABLE _rm_households AS
WITH per_rule AS (
    SELECT household_id, rule_id, any_value(rule_title_zh) AS title_zh, min(rank) AS best
    FROM _rm_flags GROUP BY household_id, rule_id
),
rules AS (
    SELECT household_id,
           string_agg(rule_id, ',' ORDER BY best) AS rule_ids,
           string_agg(title_zh, '、' ORDER BY best) AS rule_titles_zh
    FROM per_rule GROUP BY household_id
),
per_member AS (
    SELECT household_id, member_name, min(rank) AS best
    FROM _rm_flags WHERE member_name IS NOT NULL GROUP BY household_id, member_name
),
members AS (
    SELECT household_id, string_agg(member_name, '、' ORDER BY best) AS member_names
    FROM per_member GROUP BY household_id
),
totals AS (
    SELECT household_id,
           any_value(district_code) AS district_code,
           any_value(benefit_type) AS benefit_type,
           round(sum(score), 1) AS total_score,
           max(score) AS max_score,
           count(*) AS n_findings,
           count(DISTINCT rule_id) AS n_checks,
           round(coalesce(sum(amount_at_risk) FILTER (WHERE amount_kind = 'exact'), 0), 2) AS amount_exact,
           round(coalesce(sum(amount_at_risk) FILTER (WHERE amount_kind = 'estimate'), 0), 2) AS amount_estimate
    FROM _rm_flags GROUP BY household_id
)
SELECT row_number() OVER (
           ORDER BY t.total_score DESC, t.amount_exact + t.amount_estimate DESC,
                    t.max_score DESC, t.household_id) AS rank,
       t.household_id, t.district_code, t.benefit_type, t.total_score, t.max_score,
       t.n_findings, t.n_checks, r.rule_ids, r.rule_titles_zh,
       t.amount_exact, t.amount_estimate, m.member_names
FROM totals AS t
JOIN rules AS r USING (household_id)
LEFT JOIN members AS m USING (household_id)
ORDER BY rank
"""


def _review_columns(con: duckdb.DuckDBPyConnection) -> str:
    """The select list of :data:`REVIEW_COLUMNS`: carried through, or NULL when absent."""
    present = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = '_rm_findings'"
        ).fetchall()
    }
    return ", ".join(
        name if name in present else f"CAST(NULL AS {kind}) AS {name}"
        for name, kind in REVIEW_COLUMNS.items()
    )


def rank_findings(
    con: duckdb.DuckDBPyConnection,
    *,
    amount_unit: float = AMOUNT_UNIT,
    amount_cap: float = AMOUNT_CAP,
    observed: Mapping[str, tuple[int, int]] | None = None,
    prior_strength: float = PRIOR_STRENGTH,
) -> RankReport:
    """Score and rank ``_rm_findings``; write ``_rm_flags`` and ``_rm_households``.

    Args:
        con: the run's connection, holding ``_rm_findings`` and ``_rm_checks``
            (written by :func:`relief_match.rules.run_checks`).
        amount_unit: see the module docstring.
        amount_cap: see the module docstring.
        observed: ``rule_id -> (confirmed, reviewed)`` from the review outcomes
            (:meth:`relief_match.review.hitrate.HitRateReport.observed`): blend
            each check's weight with its hit rate (:func:`blend_weight`). None
            (the default): the declared weights.
        prior_strength: pseudo-reviews of the declared weight in the blend.

    Returns:
        A :class:`RankReport`.

    Raises:
        duckdb.CatalogException: when the rules stage has not run.
    """
    if amount_unit <= 0 or amount_cap <= 0:
        raise ValueError("amount_unit and amount_cap must be positive")
    weights = rank_weights(con, observed, prior_strength)
    con.execute(
        _FLAGS_SQL.format(review_columns=_review_columns(con)),
        {"unit": float(amount_unit), "cap": float(amount_cap)},
    )
    con.execute(_HOUSEHOLDS_SQL)
    con.execute(
        """
        UPDATE _rm_flags AS f SET household_rank = h.rank
        FROM _rm_households AS h WHERE h.household_id = f.household_id
        """
    )
    row = con.execute(
        "SELECT (SELECT count(*) FROM _rm_flags), (SELECT count(*) FROM _rm_households), "
        "(SELECT max(score) FROM _rm_flags)"
    ).fetchone()
    assert row is not None
    return RankReport(
        n_flags=int(row[0]),
        n_households=int(row[1]),
        top_score=None if row[2] is None else float(row[2]),
        weights=weights,
    )
