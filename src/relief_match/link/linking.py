"""``run_linking``: person references -> recipient-member persons.

The ID routes (:mod:`~relief_match.link.exact`), then the probabilistic route
for the rest: one feature profile per distinct reference, a prior per
(extract, role), Splink scores (:mod:`~relief_match.link.probabilistic`), the
one-to-one choice (:mod:`~relief_match.link.one_to_one`) and the ``_rm_links``
table (:mod:`~relief_match.link.links_table`).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import duckdb

from relief_match.db import table_exists
from relief_match.link import exact, idnear, population, probabilistic
from relief_match.link.exact import UNRESOLVED
from relief_match.link.links_table import write_links
from relief_match.link.model_file import LoadedModel, load_model
from relief_match.link.one_to_one import select_one_to_one
from relief_match.link.prepare import (
    FEATURE_COLS,
    LEFT,
    NAMES,
    NEAR,
    PRIOR,
    RAW,
    RAW_FEAT,
    REF_FEAT,
    RIGHT,
    TF,
    build_name_term_frequencies,
    build_names,
    drop_work_tables,
    extend_name_term_frequencies,
    features_table,
    member_features,
    members_and_id_routes,
    partition_references,
)
from relief_match.link.references import PersonReference
from relief_match.link.reports import LinkReport, link_report
from relief_match.link.settings import LinkSettings, load_settings
from relief_match.sqlident import quote_ident as q

#: The raw inputs of a reference's features: monthly extracts repeat them.
_RAW_COLS = ("id_src", "name_in", "sex_in", "birth_in", "district", "id_ok")


def run_linking(
    con: duckdb.DuckDBPyConnection,
    person_refs: list[PersonReference],
    settings_path: Path,
    model_path: Path,
) -> LinkReport:
    """Link every person reference to the recipient-member persons.

    Writes ``_rm_persons``, ``_rm_member_person`` and ``_rm_links`` (design.md
    §4) on ``con`` and returns a :class:`LinkReport`. References whose extract
    has no table on ``con`` are skipped and reported. The model at
    ``model_path`` is loaded, never retrained.

    Raises:
        FileNotFoundError: the model file is missing.
        ConfigError: the model does not fit the settings or this installation.
        ValueError: the settings are inconsistent, or a reference column is
            not staged.

    Example:
        >>> report = run_linking(con, refs, Path("rules/linkage/settings.yaml"),
        ...                      Path("rules/linkage/model.json"))  # doctest: +SKIP
    """
    t_start = time.perf_counter()
    durations: dict[str, float] = {}
    last = [t_start]

    def lap(step: str) -> None:
        now = time.perf_counter()
        durations[step] = durations.get(step, 0.0) + now - last[0]
        last[0] = now

    settings = load_settings(settings_path)
    model = load_model(model_path, settings)
    refs, skipped, anchor_ref = partition_references(con, person_refs, settings)
    n_member_rows, counts = members_and_id_routes(con, refs, anchor_ref, settings)
    lap("id_routes")

    build_names(con, UNRESOLVED)
    lap("names")
    n_persons = member_features(con, settings, "id_valid IS NOT NULL AS id_ok")
    n_profiles = _reference_profiles(con, settings)
    _build_prior(con, counts, settings, model, n_persons)
    lap("features")

    n_pairs = 0
    counts_out: dict[str, int] = {"contested_profiles": 0, "competitors": 0}
    population.init(con)
    gv = probabilistic.gamma_values(settings)
    if n_profiles and n_persons:
        build_name_term_frequencies(con, refs, settings, LEFT, RIGHT)
        lap("term_frequencies")
        row = con.execute(f"SELECT coalesce(max(adj), 0) FROM {PRIOR}").fetchall()[0]
        max_adj = float(row[0]) if row else 0.0
        min_weight = settings.min_candidate_weight - max(max_adj, 0.0)
        idnear.near_id_pairs(con, LEFT, RIGHT, NEAR)
        n_pairs = probabilistic.predict_pairs(
            con, LEFT, RIGHT, model, TF, min_weight=min_weight, pairs=NEAR
        )
        lap("predict")
        n_pairs += _competitor_pairs(con, refs, settings, model, min_weight, counts_out)
        lap("competitors")
    else:
        cols = ", ".join(f"CAST(NULL AS INTEGER) AS gamma_{c}" for c in gv)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {probabilistic.PAIRS} AS
            SELECT CAST(NULL AS BIGINT) AS unique_id_l, CAST(NULL AS BIGINT) AS unique_id_r,
                   CAST(NULL AS DOUBLE) AS match_weight, {cols} LIMIT 0"""
        )
    lap("predict")
    counts_out["close_calls"], counts_out["other_person"] = select_one_to_one(con, settings, gv)
    write_links(con, settings, gv)
    lap("one_to_one")

    drop_work_tables(con)
    durations["total"] = time.perf_counter() - t_start
    return link_report(
        con,
        model_version=model.model_version,
        min_probability=settings.min_probability,
        n_persons=n_persons,
        n_member_rows=n_member_rows,
        counts=counts,
        n_profiles=n_profiles,
        n_pairs=n_pairs,
        skipped=skipped,
        durations=durations,
        resolution=counts_out,
    )


def _competitor_pairs(
    con: duckdb.DuckDBPyConnection,
    refs: list[PersonReference],
    settings: LinkSettings,
    model: LoadedModel,
    min_weight: float,
    counts_out: dict[str, int],
) -> int:
    """Score the contested profiles against the non-members who compete with
    their candidate members (:mod:`~relief_match.link.population`) and append
    those pairs to ``PAIRS``; returns the number of blocked pairs."""
    # only a member whose own odds reach link.min_probability (against someone
    # outside the delivery) can be linked
    p = settings.min_probability
    least = math.log2(p / (1 - p) * settings.outside_population_odds)
    n = population.contested_profiles(con, LEFT, REF_FEAT, PRIOR, least)
    counts_out["contested_profiles"] = n
    if not n:
        return 0
    n_comp = population.collect_competitors(con, refs, settings, NAMES, RIGHT)
    counts_out["competitors"] = n_comp
    if not n_comp:
        return 0
    population.competitor_features(con, settings)
    extend_name_term_frequencies(con, population.COMP)
    n_pairs = probabilistic.predict_pairs(
        con,
        population.CONTESTED,
        population.COMP,
        model,
        TF,
        min_weight,
        out=population.COMP_PAIRS,
        pairs=population.COMP_BLOCK,
        use_rules=False,
    )
    con.execute(f"INSERT INTO {probabilistic.PAIRS} SELECT * FROM {population.COMP_PAIRS}")
    return n_pairs


def _reference_profiles(con: duckdb.DuckDBPyConnection, settings: LinkSettings) -> int:
    """Features of the unresolved references: once per distinct raw input
    tuple, then one profile per distinct feature tuple (table ``LEFT``, the
    Splink input) and each reference's profile (``REF_FEAT``). Returns the
    number of profiles."""
    raw = ", ".join(_RAW_COLS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {RAW} AS
        SELECT row_number() OVER (ORDER BY {raw}) AS raw_id, *, hash({raw}) AS h
        FROM (SELECT DISTINCT {raw} FROM {UNRESOLVED})"""
    )
    features_table(
        con,
        RAW,
        RAW_FEAT,
        settings,
        f"""raw_id, {FEATURE_COLS}, id_ok,
            dense_rank() OVER (ORDER BY {FEATURE_COLS}, id_ok) AS profile_id""",
        "id_ok",
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {LEFT} AS
        SELECT DISTINCT profile_id AS unique_id, {FEATURE_COLS}, id_ok FROM {RAW_FEAT}
        WHERE id17 IS NOT NULL OR name IS NOT NULL
        ORDER BY unique_id"""
    )
    same = " AND ".join(f"u.{c} IS NOT DISTINCT FROM r.{c}" for c in _RAW_COLS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {REF_FEAT} AS
        SELECT u.extract, u."row", u.role, u.own_person, u.id_ok, f.profile_id
        FROM {UNRESOLVED} u
        JOIN {RAW} r ON r.h = hash({", ".join("u." + c for c in _RAW_COLS)}) AND {same}
        JOIN {RAW_FEAT} f ON f.raw_id = r.raw_id"""
    )
    row = con.execute(f"SELECT count(*) FROM {LEFT}").fetchall()[0]
    return int(row[0]) if row else 0


def _build_prior(
    con: duckdb.DuckDBPyConnection,
    counts: dict[tuple[str, str], exact.RefCounts],
    settings: LinkSettings,
    model: LoadedModel,
    n_persons: int,
) -> None:
    """log2-odds adjustment from the model's prior to each (extract, role)'s prior.

    share = (matched + k * s0) / (valid + k), k = 50 pseudo-references at the
    model's share s0; prior = share / persons for a member (``adj``), and
    (1 - share) / non-members for a person who is not one (``adj_other``;
    non-members: the rows of the population extract ``tf_name_source`` less
    the members, at least as many as the members). A payment extract's
    reference is then a member rather than a non-member with an equally close
    ID; a hukou row is either.
    """
    src = settings.tf_name_source
    n_pop = 0
    if src and table_exists(con, src):
        n_pop = int(con.execute(f"SELECT count(*) FROM {q(src)}").fetchall()[0][0])
    n_other = max(n_pop - n_persons, n_persons, 1)
    rows = []
    base = probabilistic.prior_logit2(model.lam)
    s0 = model.reference_member_share
    k = 50.0
    for (ex, role), c in sorted(counts.items()):
        per_extract = settings.prior_mode == "per_extract"
        share = (c.matched + k * s0) / (c.valid + k) if per_extract else s0
        share = min(max(share, settings.prior_floor_share), settings.prior_ceiling_share)
        lam = min(share / max(n_persons, 1), 0.5)
        lam_other = min((1.0 - share) / n_other, 0.5)
        rows.append(
            (
                ex,
                role,
                probabilistic.prior_logit2(lam) - base,
                probabilistic.prior_logit2(lam_other) - base,
            )
        )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {PRIOR}
        (extract VARCHAR, role VARCHAR, adj DOUBLE, adj_other DOUBLE)"""
    )
    if rows:
        con.executemany(f"INSERT INTO {PRIOR} VALUES (?, ?, ?, ?)", rows)
