"""Plain records of the link stage: reference specs, settings, reports.

Nothing here touches DuckDB or Splink; the records are frozen dataclasses so
that they can be hashed, compared and serialised with ``asdict()``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

ANCHOR_EXTRACT = "recipients_members"


@dataclass(frozen=True)
class PersonRefSpec:
    """One person reference in one extract (a ``person_refs`` entry of a schema).

    Attributes:
        extract: staged table name, e.g. ``motor_vehicles``.
        role: free label, e.g. ``owner``; ``member`` for the anchor extract.
        id_no: name of the ``id_no`` column (staged with ``_raw/_clean/_status/
            _birth/_sex`` companions).
        name: name of the ``name`` column, or None when the extract has none
            (e.g. ``benefit_payments.payee_id_no``).
        sex, birth_date, district_code: optional column names in the extract.
        only_when: optional SQL condition over the extract's staged columns
            restricting which rows are person references (e.g.
            ``holder_type = '自然人'`` for shareholders).

    Example:
        ``PersonRefSpec("motor_vehicles", "owner", "owner_id_no", "owner_name")``
    """

    extract: str
    role: str
    id_no: str
    name: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    district_code: str | None = None
    only_when: str | None = None

    @classmethod
    def from_mapping(cls, extract: str, ref: dict[str, Any]) -> PersonRefSpec:
        """Build a spec from a schema YAML ``person_refs`` entry."""
        return cls(
            extract=extract,
            role=str(ref["role"]),
            id_no=str(ref["id_no"]),
            name=ref.get("name"),
            sex=ref.get("sex"),
            birth_date=ref.get("birth_date"),
            district_code=ref.get("district_code"),
            only_when=ref.get("only_when"),
        )


# --------------------------------------------------------------------------
# settings.yaml
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelSpec:
    """One comparison level: a SQL condition over ``l.``/``r.`` feature columns."""

    label: str
    sql: str
    zh: str
    is_null: bool = False
    agrees: bool = False
    tf_column: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class ComparisonSpec:
    """One comparison (``output_column_name``) with its ordered levels."""

    name: str
    zh: str
    levels: tuple[LevelSpec, ...]


@dataclass(frozen=True)
class AnchorSpec:
    """Where the anchor persons (recipient members) come from."""

    extract: str = ANCHOR_EXTRACT
    role: str = "member"
    id_no: str = "id_no"
    name: str | None = "name"
    sex: str | None = "sex"
    birth_date: str | None = "birth_date"
    household_id: str = "household_id"
    households_extract: str = "recipients_households"
    households_district_code: str = "district_code"

    def as_ref(self) -> PersonRefSpec:
        """The anchor as a reference spec (role ``member``)."""
        return PersonRefSpec(
            self.extract, self.role, self.id_no, self.name, self.sex, self.birth_date
        )


@dataclass(frozen=True)
class TrainingSpec:
    """Training knobs (see settings.yaml for the meaning of each)."""

    max_labelled_refs: int = 100_000
    max_unlabelled_refs: int = 100_000
    u_max_pairs: float = 5e6
    id_defect_mix: tuple[tuple[str, float], ...] = (
        ("typo", 0.30),
        ("swap", 0.20),
        ("check_digit", 0.10),
        ("two_typos", 0.05),
        ("missing", 0.35),
    )
    m_floor: float = 1e-4
    u_floor: float = 1e-7


@dataclass(frozen=True)
class LinkSettings:
    """Parsed ``rules/linkage/settings.yaml``."""

    min_probability: float
    min_candidate_weight: float
    prior_mode: str
    prior_floor_share: float
    prior_ceiling_share: float
    renormalise: bool
    tf_name_source: str | None
    tf_minimum_u: float
    birth_year_min: int
    birth_year_max: int
    anchor: AnchorSpec
    comparisons: tuple[ComparisonSpec, ...]
    blocking_rules: tuple[str, ...]
    training: TrainingSpec
    source: str = ""

    def comparisons_fingerprint(self) -> str:
        """A hash of everything in the comparisons that a trained model depends on."""
        from relief_match.link.features import FEATURES_VERSION

        payload: list[Any] = [
            [
                c.name,
                [[lv.label, lv.sql, lv.is_null, lv.tf_column, lv.branch] for lv in c.levels],
            ]
            for c in self.comparisons
        ]
        payload.append(FEATURES_VERSION)
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:16]


def load_settings(path: Path) -> LinkSettings:
    """Read and check ``settings.yaml``; raises ``ValueError`` naming the problem."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    link = raw.get("link", {})
    prior = link.get("prior", {})
    tf = raw.get("term_frequencies", {})
    feats = raw.get("features", {})
    anchor_raw = raw.get("anchor", {})
    anchor = AnchorSpec(**anchor_raw)
    comps: list[ComparisonSpec] = []
    for c in raw.get("comparisons", []):
        levels = tuple(
            LevelSpec(
                label=str(lv["label"]),
                sql=str(lv["sql"]),
                zh=str(lv.get("zh", "")),
                is_null=bool(lv.get("is_null", False)),
                agrees=bool(lv.get("agrees", False)),
                tf_column=lv.get("tf_column"),
                branch=lv.get("branch"),
            )
            for lv in c["levels"]
        )
        if not levels or not levels[0].is_null:
            raise ValueError(f"{path}: comparison {c['name']!r} must start with its null level")
        comps.append(ComparisonSpec(name=str(c["name"]), zh=str(c.get("zh", "")), levels=levels))
    if not comps:
        raise ValueError(f"{path}: no comparisons")
    brs = tuple(str(b) for b in raw.get("blocking_rules", []))
    if not brs:
        raise ValueError(f"{path}: no blocking_rules")
    tr = raw.get("training", {})
    mix = tr.get("id_defect_mix")
    training = TrainingSpec(
        max_labelled_refs=int(tr.get("max_labelled_refs", TrainingSpec.max_labelled_refs)),
        max_unlabelled_refs=int(tr.get("max_unlabelled_refs", TrainingSpec.max_unlabelled_refs)),
        u_max_pairs=float(tr.get("u_max_pairs", TrainingSpec.u_max_pairs)),
        id_defect_mix=(
            tuple((str(k), float(v)) for k, v in mix.items()) if mix else TrainingSpec.id_defect_mix
        ),
        m_floor=float(tr.get("m_floor", TrainingSpec.m_floor)),
        u_floor=float(tr.get("u_floor", TrainingSpec.u_floor)),
    )
    total = sum(v for _, v in training.id_defect_mix)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{path}: training.id_defect_mix must sum to 1 (got {total})")
    known = {"typo", "swap", "check_digit", "two_typos", "missing"}
    unknown = {k for k, _ in training.id_defect_mix} - known
    if unknown:
        raise ValueError(f"{path}: unknown id defect kinds {sorted(unknown)}")
    min_p = float(link.get("min_probability", 0.9))
    if not 0.0 < min_p < 1.0:
        raise ValueError(f"{path}: link.min_probability must be in (0, 1)")
    mode = str(prior.get("mode", "per_extract"))
    if mode not in {"per_extract", "model"}:
        raise ValueError(f"{path}: link.prior.mode must be per_extract or model")
    return LinkSettings(
        min_probability=min_p,
        min_candidate_weight=float(link.get("min_candidate_weight", -10.0)),
        prior_mode=mode,
        prior_floor_share=float(prior.get("floor_share", 1e-4)),
        prior_ceiling_share=float(prior.get("ceiling_share", 0.99)),
        renormalise=str(link.get("competing_candidates", "renormalise")) == "renormalise",
        tf_name_source=tf.get("name_source_extract"),
        tf_minimum_u=float(tf.get("minimum_u", 1e-6)),
        birth_year_min=int(feats.get("birth_year_min", 1900)),
        birth_year_max=int(feats.get("birth_year_max", 2100)),
        anchor=anchor,
        comparisons=tuple(comps),
        blocking_rules=brs,
        training=training,
        source=str(path),
    )


# --------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------


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
    the blocked pairs Splink scored.
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

    def asdict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)

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
        return "\n".join(lines)
