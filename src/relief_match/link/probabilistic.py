"""The probabilistic route: a Splink 5 model on the run's DuckDB connection.

This is the only module that imports Splink. It turns the comparisons and
blocking rules of ``settings.yaml`` into a Splink settings dict, trains the
m/u parameters (``train``) and scores candidate pairs (``predict_pairs``)
between two feature tables built by ``relief_match.link.features``. The
model file itself is :mod:`relief_match.link.model_file`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import duckdb

from relief_match.link.model_file import LoadedModel
from relief_match.link.settings import LinkSettings

PAIRS = "_rm_link_pairs"
BLOCKED = "_rm_link_blocked"
REFS = "refs"
MEMBERS = "members"


def _quiet_splink() -> None:
    for name in ("splink", "splink.internals"):
        logging.getLogger(name).setLevel(logging.WARNING)


def gamma_values(settings: LinkSettings) -> dict[str, dict[str, int]]:
    """Splink's comparison-vector value of each level: null level -1, then n-1 .. 0."""
    out: dict[str, dict[str, int]] = {}
    for comp in settings.comparisons:
        n = sum(1 for lv in comp.levels if not lv.is_null)
        counter = n - 1
        values: dict[str, int] = {}
        for lv in comp.levels:
            if lv.is_null:
                values[lv.label] = -1
            else:
                values[lv.label] = counter
                counter -= 1
        out[comp.name] = values
    return out


def splink_settings(settings: LinkSettings, lam: float) -> dict[str, Any]:
    """The untrained Splink settings dict built from ``settings.yaml``."""
    comparisons = []
    for comp in settings.comparisons:
        levels: list[dict[str, Any]] = []
        for lv in comp.levels:
            level: dict[str, Any] = {"sql_condition": lv.sql, "label_for_charts": lv.label}
            if lv.is_null:
                level["is_null_level"] = True
            if lv.tf_column:
                level["tf_adjustment_column"] = lv.tf_column
                level["tf_adjustment_weight"] = 1.0
                level["tf_minimum_u_value"] = settings.tf_minimum_u
            levels.append(level)
        comparisons.append(
            {
                "output_column_name": comp.name,
                "comparison_description": comp.zh or comp.name,
                "comparison_levels": levels,
            }
        )
    return {
        "link_type": "link_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": lam,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": list(settings.blocking_rules),
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": False,
        "linker_uid": "relief_match",
    }


def _make_linker(
    con: duckdb.DuckDBPyConnection,
    left: str,
    right: str,
    sp: dict[str, Any],
    tf_table: str | None,
) -> tuple[Any, Any]:
    from splink import DuckDBAPI, Linker

    _quiet_splink()
    db_api = DuckDBAPI(con)
    sdf_l = db_api.register(left, dataset_display_name=REFS)
    sdf_r = db_api.register(right, dataset_display_name=MEMBERS)
    linker = Linker([sdf_l, sdf_r], sp, log_level=None, validate_settings=False)
    if tf_table is not None:
        tf_sdf = db_api.register(tf_table, dataset_display_name="tf_name")
        linker.table_management.register_term_frequency_lookup(tf_sdf, "name")
    return db_api, linker


def predict_pairs(
    con: duckdb.DuckDBPyConnection,
    left: str,
    right: str,
    model: LoadedModel,
    tf_table: str | None,
    min_weight: float,
    out: str = PAIRS,
    pairs: str | None = None,
    *,
    use_rules: bool = True,
) -> int:
    """Score blocked pairs between ``left`` (references) and ``right`` (persons).

    Creates ``out(unique_id_l, unique_id_r, match_weight, gamma_*)`` (default
    ``_rm_link_pairs``) holding the pairs with a model match weight of at
    least ``min_weight`` and returns the number of blocked candidate pairs.
    ``pairs``, a table ``(unique_id_l, unique_id_r)``, adds pairs found
    outside Splink's blocking rules; with ``use_rules=False`` only those are
    scored.
    """
    if use_rules:
        _block_rule_by_rule(con, left, right, model.splink, tf_table)
    else:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {BLOCKED}"
            " (match_key VARCHAR, join_key_l VARCHAR, join_key_r VARCHAR)"
        )
    if pairs is not None:
        # Splink's own join keys: '<dataset>-__-<unique_id>', the datasets in name order
        con.execute(
            f"""INSERT INTO {BLOCKED}
            SELECT 'pairs', k_l, k_r FROM (
                SELECT '{MEMBERS}-__-' || CAST(unique_id_r AS VARCHAR) AS k_l,
                       '{REFS}-__-' || CAST(unique_id_l AS VARCHAR) AS k_r
                FROM {pairs}) p
            WHERE NOT EXISTS (SELECT 1 FROM {BLOCKED} b
                              WHERE b.join_key_l = p.k_l AND b.join_key_r = p.k_r)"""
        )
    n_blocked = int(con.execute(f"SELECT count(*) FROM {BLOCKED}").fetchall()[0][0])
    db_api, linker = _make_linker(con, left, right, model.splink, tf_table)
    try:
        linker.table_management.register_blocked_pairs_for_predict(
            db_api.register(BLOCKED, dataset_display_name="blocked_pairs")
        )
        pred = linker.inference.predict(threshold_match_weight=min_weight, warning_mode="never")
        gammas = ", ".join(f"gamma_{c['output_column_name']}" for c in model.splink["comparisons"])
        # Splink orders the two datasets of a pair by its own rule: map the
        # pair back to (reference, member) by source dataset
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {out} AS
            SELECT CAST(CASE WHEN source_dataset_l = '{REFS}' THEN unique_id_l ELSE unique_id_r END
                        AS BIGINT) AS unique_id_l,
                   CAST(CASE WHEN source_dataset_l = '{REFS}' THEN unique_id_r ELSE unique_id_l END
                        AS BIGINT) AS unique_id_r,
                   match_weight, {gammas}
            FROM {pred.physical_name}
            ORDER BY unique_id_l, unique_id_r"""
        )
    finally:
        db_api.delete_tables_created_by_splink_from_db()
        con.execute(f"DROP TABLE IF EXISTS {BLOCKED}")
    return n_blocked


def _block_rule_by_rule(
    con: duckdb.DuckDBPyConnection,
    left: str,
    right: str,
    sp: dict[str, Any],
    tf_table: str | None,
) -> int:
    """Splink's candidate pairs, one blocking rule per query, into ``BLOCKED``.

    Splink blocks with one UNION ALL of a hash join per rule, and DuckDB
    holds every join's hash table at once: about 10 MB each on two threads,
    whatever the data size, and none of it can spill, so a low
    ``memory_limit`` failed there ("failed to pin block"). One query per rule
    needs one hash table at a time. Rule *i* keeps only the pairs no earlier
    rule found (as Splink does), so the pairs are the same. Returns their
    number.
    """
    rules = [str(r) for r in sp["blocking_rules_to_generate_predictions"]]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {BLOCKED}"
        " (match_key VARCHAR, join_key_l VARCHAR, join_key_r VARCHAR)"
    )
    for i, rule in enumerate(rules):
        earlier = " OR ".join(f"coalesce(({r}), false)" for r in rules[:i])
        cond = f"({rule}) AND NOT ({earlier})" if earlier else rule
        one = dict(sp, blocking_rules_to_generate_predictions=[cond])
        db_api, linker = _make_linker(con, left, right, one, tf_table)
        try:
            pairs = linker.inference.compute_blocked_pairs_for_predict()
            con.execute(
                f"""INSERT INTO {BLOCKED}
                SELECT '{i}', join_key_l, join_key_r FROM {pairs.physical_name}"""
            )
        finally:
            db_api.delete_tables_created_by_splink_from_db()
    row = con.execute(f"SELECT count(*) FROM {BLOCKED}").fetchall()[0]
    return int(row[0]) if row else 0


def train(
    con: duckdb.DuckDBPyConnection,
    left_unlabelled: str,
    left_labelled: str,
    right: str,
    settings: LinkSettings,
    *,
    lam: float,
    tf_table: str | None,
    seed: int,
) -> dict[str, Any]:
    """Estimate u by seeded random sampling and m from the ``truth`` label column.

    u comes from ``left_unlabelled`` x ``right`` only (references with a valid
    ID matching no member: certain non-matches), so that the labelled matches,
    which are heavily over-represented in the training references, do not
    leak into u; m comes from the pairs of ``left_labelled`` x ``right`` with
    equal ``truth``. Returns the trained Splink settings dict with floors
    applied (``training.m_floor`` / ``u_floor``) and each comparison's
    probabilities renormalised.
    """
    sp = splink_settings(settings, lam)
    db_api, linker = _make_linker(con, left_unlabelled, right, sp, tf_table)
    try:
        linker.training.estimate_u_using_random_sampling(
            max_pairs=settings.training.u_max_pairs, seed=seed, min_count_per_level=None
        )
        with_u = linker.misc.save_model_to_json()
    finally:
        db_api.delete_tables_created_by_splink_from_db()
    db_api, linker = _make_linker(con, left_labelled, right, with_u, tf_table)
    try:
        linker.training.estimate_m_from_label_column("truth")
        trained = linker.misc.save_model_to_json()
    finally:
        db_api.delete_tables_created_by_splink_from_db()
    trained["probability_two_random_records_match"] = lam
    trained["linker_uid"] = "relief_match"
    branches = {(c.name, lv.label): lv.branch for c in settings.comparisons for lv in c.levels}
    neutral = {(c.name, lv.label) for c in settings.comparisons for lv in c.levels if lv.neutral}
    for comp in trained["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        for key, floor in (
            ("m_probability", settings.training.m_floor),
            ("u_probability", settings.training.u_floor),
        ):
            vals = []
            for lv in levels:
                v = lv.get(key)
                vals.append(max(float(v), floor) if isinstance(v, (int, float)) else floor)
            total = sum(vals)
            for lv, v in zip(levels, vals, strict=True):
                lv[key] = v / total
        _balance_branches(comp, levels, branches)
        for lv in levels:
            if (str(comp["output_column_name"]), str(lv["label_for_charts"])) in neutral:
                lv["m_probability"] = lv["u_probability"]
        for lv in levels:
            for key in ("m_probability", "u_probability"):
                lv[key] = round(lv[key], 12)
    return trained


def _balance_branches(
    comp: dict[str, Any],
    levels: list[dict[str, Any]],
    branches: dict[tuple[str, str], str | None],
) -> None:
    """Rescale m so that every branch has the same probability mass as under u.

    A comparison whose levels fall into branches (e.g. "both sides have an
    ID" vs "one side has none") would otherwise carry in each level's weight
    the ratio P(branch | match) / P(branch | non-match) of the *training
    samples*, which differ in their mix of extracts; which branch a pair takes
    is no evidence of a match.
    """
    name = str(comp["output_column_name"])
    groups: dict[str, list[dict[str, Any]]] = {}
    for lv in levels:
        b = branches.get((name, str(lv["label_for_charts"])))
        if b is None:
            return
        groups.setdefault(b, []).append(lv)
    if len(groups) < 2:
        return
    for lvs in groups.values():
        m_mass = sum(lv["m_probability"] for lv in lvs)
        u_mass = sum(lv["u_probability"] for lv in lvs)
        for lv in lvs:
            lv["m_probability"] = lv["m_probability"] * u_mass / m_mass


def parameters_summary(trained: dict[str, Any]) -> dict[str, dict[str, dict[str, float | None]]]:
    """m, u and match weight per comparison level, for reports."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for comp in trained["comparisons"]:
        levels: dict[str, dict[str, float | None]] = {}
        for lv in comp["comparison_levels"]:
            if lv.get("is_null_level"):
                continue
            m, u = lv.get("m_probability"), lv.get("u_probability")
            w = math.log2(m / u) if m and u else None
            levels[str(lv["label_for_charts"])] = {"m": m, "u": u, "match_weight": w}
        out[str(comp["output_column_name"])] = levels
    return out


def prior_logit2(lam: float) -> float:
    """log2 odds of a prior probability (used to swap the model's prior)."""
    lam = min(max(lam, 1e-15), 1 - 1e-15)
    return math.log2(lam / (1.0 - lam))
