"""``rules/linkage/settings.yaml``: the linker's comparisons, blocking rules,
thresholds and training knobs, read into frozen records.

Nothing here touches DuckDB or Splink.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from relief_match.link.references import PersonReference

ANCHOR_EXTRACT = "recipients_members"


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
    #: agreement at this level repeats what another comparison already
    #: counted: training sets its m to its u (weight 0)
    neutral: bool = False


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

    def as_ref(self) -> PersonReference:
        """The anchor as a person reference (role ``member``)."""
        return PersonReference(
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
    outside_population_odds: float
    competitor_extracts: tuple[str, ...] | None
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
                [
                    [lv.label, lv.sql, lv.is_null, lv.tf_column, lv.branch]
                    + (["neutral"] if lv.neutral else [])
                    for lv in c.levels
                ],
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
                neutral=bool(lv.get("neutral", False)),
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
    comp_ex = link.get("competitor_extracts")
    if comp_ex is not None and not isinstance(comp_ex, list):
        raise ValueError(f"{path}: link.competitor_extracts must be a list of extracts")
    odds = float(link.get("outside_population_odds", 1.0))
    if not 0.0 < odds <= 1.0:
        raise ValueError(f"{path}: link.outside_population_odds must be in (0, 1]")
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
        outside_population_odds=odds,
        competitor_extracts=(tuple(str(e) for e in comp_ex) if isinstance(comp_ex, list) else None),
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
