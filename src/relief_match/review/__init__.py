"""review stage: what caseworkers and earlier runs know about a finding.

The outcome store, import, suppression and hit rates live in
:mod:`~relief_match.review.store`, :mod:`~relief_match.review.importer`,
:mod:`~relief_match.review.outcomes` and :mod:`~relief_match.review.hitrate`.

Between the checks and the ranking: :mod:`~relief_match.review.identity`
gives every finding a stable ``finding_key`` and ``finding_id``;
:mod:`~relief_match.review.history` compares a run's findings with the
previous published run's (``change``, ``_rm_resolved``) and two run folders
with each other (``relief-match diff``).
"""

from __future__ import annotations

from relief_match.review.identity import AMOUNT_TOLERANCE, assign_finding_ids

__all__ = ["AMOUNT_TOLERANCE", "assign_finding_ids"]
