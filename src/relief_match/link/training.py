"""``train_linker``: estimate the Splink model's parameters on a staged
delivery and save them as ``model.json``.

The references the ID route matches are the labelled set
(:mod:`~relief_match.link.training_data` degrades their IDs); u comes from
seeded random sampling of reference x member pairs.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import duckdb

from relief_match.errors import ConfigError
from relief_match.link import probabilistic, training_data
from relief_match.link.agreement import compare_links, keep_links
from relief_match.link.exact import RefCounts
from relief_match.link.linking import run_linking
from relief_match.link.model_file import write_model
from relief_match.link.prepare import (
    FEATURE_COLS,
    RIGHT,
    TF,
    TRAIN_LEFT,
    TRAIN_LEFT_L,
    TRAIN_LEFT_U,
    build_name_term_frequencies,
    build_names,
    drop_work_tables,
    features_table,
    member_features,
    members_and_id_routes,
    partition_references,
)
from relief_match.link.references import PersonReference
from relief_match.link.reports import TrainReport
from relief_match.link.settings import load_settings


def _reference_member_share(counts: dict[tuple[str, str], RefCounts], anchor_extract: str) -> float:
    """Share of the ID-bearing references (other than the anchor's) that are members."""
    valid = sum(c.valid for (ex, _), c in counts.items() if ex != anchor_extract)
    matched = sum(c.matched for (ex, _), c in counts.items() if ex != anchor_extract)
    return (matched + 0.5) / (valid + 1.0)


def train_linker(
    con: duckdb.DuckDBPyConnection,
    person_refs: list[PersonReference],
    settings_path: Path,
    model_path: Path,
    seed: int = 42,
    *,
    data_source: str | None = None,
) -> TrainReport:
    """Train the Splink model on the staged tables of ``con`` and save it.

    The exact-ID matches are the labelled set (their IDs degraded as in
    ``training.id_defect_mix``); u comes from seeded random sampling of
    reference x member pairs. The same data and seed give a byte-identical
    model file. ``data_source`` (free text, e.g. which delivery) is recorded
    in the model's training metadata. Returns a :class:`TrainReport`.

    Raises:
        ValueError: no member persons or no labelled references.
    """
    t0 = time.perf_counter()
    settings = load_settings(settings_path)
    refs, _skipped, anchor_ref = partition_references(con, person_refs, settings)
    _n_member_rows, counts = members_and_id_routes(con, refs, anchor_ref, settings)
    ref_refs = [r for r in refs if r.extract != settings.anchor.extract]
    n_lab, n_unlab = training_data.build_training_source(con, ref_refs, settings, seed)
    if n_lab == 0:
        drop_work_tables(con)
        raise ValueError("no reference matches a member by ID: nothing to train on")

    build_names(con, training_data.TRAIN_SRC)
    n_persons = member_features(con, settings, "person_id AS truth")
    features_table(
        con,
        training_data.TRAIN_SRC,
        TRAIN_LEFT,
        settings,
        f"unique_id, {FEATURE_COLS}, truth",
        "FALSE",
    )
    for part, cond in ((TRAIN_LEFT_U, "LIKE"), (TRAIN_LEFT_L, "NOT LIKE")):
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {part} AS
            SELECT * FROM {TRAIN_LEFT} WHERE truth {cond} 'U%' ORDER BY unique_id"""
        )
    build_name_term_frequencies(con, refs, settings, TRAIN_LEFT, RIGHT)
    share = _reference_member_share(counts, settings.anchor.extract)
    lam = min(share / max(n_persons, 1), 0.5)
    trained = probabilistic.train(
        con, TRAIN_LEFT_U, TRAIN_LEFT_L, RIGHT, settings, lam=lam, tf_table=TF, seed=seed
    )
    model_version = write_model(
        model_path,
        settings,
        trained,
        lam,
        data_source=data_source,
        seed=seed,
        details={
            "method": (
                "u: estimate_u_using_random_sampling(seeded); "
                "m: estimate_m_from_label_column on exact-ID matches with degraded IDs"
            ),
            "labelled_refs": n_lab,
            "unlabelled_refs": n_unlab,
            "u_max_pairs": settings.training.u_max_pairs,
            "id_defect_mix": dict(settings.training.id_defect_mix),
            "persons": n_persons,
            "reference_member_share": round(share, 9),
            "refs_by_extract": {
                f"{ex}.{role}": {"rows": c.rows, "valid": c.valid, "matched": c.matched}
                for (ex, role), c in sorted(counts.items())
            },
        },
    )
    drop_work_tables(con)
    return TrainReport(
        model_path=str(Path(model_path)),
        model_version=model_version,
        seed=seed,
        labelled_refs=n_lab,
        unlabelled_refs=n_unlab,
        u_max_pairs=settings.training.u_max_pairs,
        probability_two_random_records_match=lam,
        parameters=probabilistic.parameters_summary(trained),
        duration_s=round(time.perf_counter() - t0, 3),
    )


def train_and_compare(
    con: duckdb.DuckDBPyConnection,
    person_refs: list[PersonReference],
    settings_path: Path,
    current_model: Path,
    model_out: Path,
    seed: int = 42,
    *,
    data_source: str | None = None,
) -> TrainReport:
    """:func:`train_linker` to ``model_out``, with the agreement of its links
    with those of ``current_model`` on the same staged delivery.

    The current model links first (``model_out`` may be the same file); a
    missing or unusable current model is reported in ``agreement_note``.
    """
    try:
        before = run_linking(con, person_refs, settings_path, current_model)
        keep_links(con, "_rm_links_current")
    except (FileNotFoundError, ConfigError) as exc:
        why = exc.one_line() if isinstance(exc, ConfigError) else str(exc)
        rep = train_linker(
            con, person_refs, settings_path, model_out, seed, data_source=data_source
        )
        return replace(rep, agreement_note=f"not compared: {why}")
    rep = train_linker(con, person_refs, settings_path, model_out, seed, data_source=data_source)
    after = run_linking(con, person_refs, settings_path, model_out)
    keep_links(con, "_rm_links_new")
    agreement = compare_links(
        con,
        "_rm_links_current",
        "_rm_links_new",
        current_model=before.model_version,
        new_model=after.model_version,
    )
    return replace(rep, agreement=agreement)
