"""What the link stage reports: :class:`LinkReport` (read back from
``_rm_links``) and :class:`TrainReport`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from relief_match.link.exact import RefCounts


@dataclass(frozen=True)
class LinkReport:
    """What ``run_linking`` did.

    ``links_by_route`` and ``links_by_extract`` count rows of ``_rm_links``;
    ``refs_by_extract`` counts reference rows read per ``extract.role``;
    ``unresolved_refs`` are references that went to the probabilistic route
    with a missing or invalid ID, ``valid_id_candidates`` those with a valid
    ID that may be a member without a valid ID of their own (near miss of the
    member's broken ID, or name and birth date of a member without ID);
    ``profiles`` are their distinct feature tuples and ``candidate_pairs``
    the blocked pairs Splink scored. ``contested_profiles`` are the profiles
    scored against non-members too, ``competitors`` those non-members (persons
    with a valid ID in any extract), ``close_calls`` the references whose two
    best persons were too close to call (no link; listed in ``links.parquet``)
    and ``other_person`` the references whose best person is not a recipient
    member (no link).
    """

    model_version: str
    min_probability: float
    n_persons: int
    n_member_rows: int
    refs_by_extract: dict[str, int]
    links_by_route: dict[str, int]
    links_by_extract: dict[str, dict[str, int]]
    unresolved_refs: int
    profiles: int
    candidate_pairs: int
    skipped_refs: tuple[str, ...]
    valid_id_candidates: int = 0
    contested_profiles: int = 0
    competitors: int = 0
    close_calls: int = 0
    other_person: int = 0
    durations_s: dict[str, float] = field(default_factory=dict)

    def asdict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        d = asdict(self)
        d["skipped_refs"] = list(self.skipped_refs)
        return d

    def asstr(self) -> str:
        """A short human-readable summary."""
        lines = [
            f"linking (model {self.model_version}, min probability {self.min_probability}):",
            f"  persons {self.n_persons} from {self.n_member_rows} member rows",
            "  links: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.links_by_route.items()))
            + f" (total {sum(self.links_by_route.values())})",
            f"  probabilistic: {self.unresolved_refs} unresolved refs "
            f"(+{self.valid_id_candidates} valid IDs near members without one), "
            f"{self.profiles} profiles, {self.candidate_pairs} candidate pairs",
            f"  resolved against everyone: {self.contested_profiles} contested profiles, "
            f"{self.competitors} non-member competitors; {self.other_person} refs belong to "
            f"a non-member, {self.close_calls} too close to call (not linked)",
        ]
        for ex, routes in sorted(self.links_by_extract.items()):
            lines.append(f"    {ex}: " + ", ".join(f"{k} {v}" for k, v in sorted(routes.items())))
        if self.skipped_refs:
            lines.append("  skipped (no table): " + ", ".join(self.skipped_refs))
        lines.append("  time: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.durations_s.items()))
        return "\n".join(lines)


@dataclass(frozen=True)
class TrainReport:
    """What ``train_linker`` did and where the model went."""

    model_path: str
    model_version: str
    seed: int
    labelled_refs: int
    unlabelled_refs: int
    u_max_pairs: float
    probability_two_random_records_match: float
    parameters: dict[str, dict[str, dict[str, float | None]]]
    duration_s: float
    #: the new model's links against the current model's on the same
    #: delivery (:class:`~relief_match.link.agreement.LinkAgreement`), or
    #: why they could not be compared
    agreement: Any = None
    agreement_note: str | None = None

    def asdict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        d = asdict(self)
        d["agreement"] = self.agreement.asdict() if self.agreement is not None else None
        return d

    def asstr(self) -> str:
        """A short human-readable summary with the match weights per level."""
        lines = [
            f"trained linkage model {self.model_version} -> {self.model_path}",
            f"  seed {self.seed}, {self.labelled_refs} labelled refs, "
            f"{self.unlabelled_refs} unlabelled refs, u from <= {self.u_max_pairs:.0f} pairs, "
            f"{self.duration_s:.1f}s",
        ]
        for comp, levels in self.parameters.items():
            parts = []
            for label, p in levels.items():
                w = p.get("match_weight")
                parts.append(f"{label} {w:+.1f}" if w is not None else f"{label} n/a")
            lines.append(f"  {comp}: " + ", ".join(parts))
        if self.agreement is not None:
            lines.append(self.agreement.asstr())
        if self.agreement_note:
            lines.append(f"agreement with the current model: {self.agreement_note}")
        return "\n".join(lines)


def link_report(
    con: duckdb.DuckDBPyConnection,
    *,
    model_version: str,
    min_probability: float,
    n_persons: int,
    n_member_rows: int,
    counts: dict[tuple[str, str], RefCounts],
    n_profiles: int,
    n_pairs: int,
    skipped: list[str],
    durations: dict[str, float],
    resolution: dict[str, int] | None = None,
) -> LinkReport:
    """The :class:`LinkReport` of a linking run, counting the rows of ``_rm_links``."""
    by_route = {
        str(r): int(n)
        for r, n in con.execute(
            "SELECT route, count(*) FROM _rm_links GROUP BY route ORDER BY route"
        ).fetchall()
    }
    by_extract: dict[str, dict[str, int]] = {}
    for ex, route, n in con.execute(
        "SELECT extract, route, count(*) FROM _rm_links GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        by_extract.setdefault(str(ex), {})[str(route)] = int(n)
    return LinkReport(
        model_version=model_version,
        min_probability=min_probability,
        n_persons=n_persons,
        n_member_rows=n_member_rows,
        refs_by_extract={f"{ex}.{role}": c.rows for (ex, role), c in sorted(counts.items())},
        links_by_route=by_route,
        links_by_extract=by_extract,
        unresolved_refs=sum(c.unresolved for c in counts.values()),
        profiles=n_profiles,
        candidate_pairs=n_pairs,
        skipped_refs=tuple(skipped),
        valid_id_candidates=sum(c.near_miss for c in counts.values()),
        **(resolution or {}),
        durations_s={k: round(v, 3) for k, v in durations.items()},
    )
