"""Orchestration of the link stage: persons, ID routes, Splink route, one-to-one."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import duckdb

from relief_match.link import exact, features, probabilistic, training
from relief_match.link.exact import EXACT, MEMBER_SRC, UNRESOLVED, lit, q, table_exists
from relief_match.link.spec import (
    LinkReport,
    LinkSettings,
    PersonRefSpec,
    TrainReport,
    load_settings,
)

NAMES = "_rm_link_names"
RIGHT = "_rm_link_right"
REF_FEAT = "_rm_link_ref_feat"
RAW = "_rm_link_raw"
RAW_FEAT = "_rm_link_raw_feat"
LEFT = "_rm_link_left"
TF = "_rm_link_tf_name"
PRIOR = "_rm_link_prior"
CAND = "_rm_link_cand"
PROB = "_rm_link_prob"
TRAIN_LEFT = "_rm_link_train_left"
TRAIN_LEFT_U = "_rm_link_train_left_u"
TRAIN_LEFT_L = "_rm_link_train_left_l"

_WORK_TABLES = (
    NAMES,
    RIGHT,
    REF_FEAT,
    RAW,
    RAW_FEAT,
    LEFT,
    TF,
    PRIOR,
    CAND,
    PROB,
    TRAIN_LEFT,
    TRAIN_LEFT_U,
    TRAIN_LEFT_L,
    EXACT,
    UNRESOLVED,
    MEMBER_SRC,
    exact.PERSON_IDS,
    exact.KEYS,
    exact.NBKEYS,
    probabilistic.PAIRS,
    training.TRAIN_SRC,
)

LINKS_COLUMNS = (
    "extract",
    "row",
    "role",
    "person_id",
    "route",
    "match_probability",
    "match_weight",
    "evidence",
    "id_match",
    "name_match",
    "birth_match",
    "sex_match",
    "district_match",
    "n_candidates",
)


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    for t in _WORK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {t}")


def _partition_specs(
    con: duckdb.DuckDBPyConnection, person_refs: list[PersonRefSpec], settings: LinkSettings
) -> tuple[list[PersonRefSpec], list[str], PersonRefSpec | None]:
    seen: set[tuple[str, str]] = set()
    specs: list[PersonRefSpec] = []
    skipped: list[str] = []
    for s in sorted(person_refs, key=lambda s: (s.extract, s.role, s.id_no)):
        if (s.extract, s.role) in seen:
            raise ValueError(f"duplicate person reference {s.extract}.{s.role}")
        seen.add((s.extract, s.role))
        if table_exists(con, s.extract):
            specs.append(s)
        else:
            skipped.append(f"{s.extract}.{s.role}")
    anchor_ref = next((s for s in specs if s.extract == settings.anchor.extract), None)
    return specs, skipped, anchor_ref


def _features_table(
    con: duckdb.DuckDBPyConnection,
    src: str,
    out: str,
    settings: LinkSettings,
    select: str,
    id_valid_sql: str,
) -> None:
    sql = features.features_sql(
        src,
        birth_year_min=settings.birth_year_min,
        birth_year_max=settings.birth_year_max,
        names_table=NAMES,
        id_valid_sql=id_valid_sql,
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT {select} FROM ({sql}) ORDER BY 1")


def _feature_cols() -> str:
    return ", ".join(features.FEATURE_COLUMNS)


def _build_tf(
    con: duckdb.DuckDBPyConnection,
    specs: list[PersonRefSpec],
    settings: LinkSettings,
    left: str,
    right: str,
) -> None:
    """Term frequencies of names: the population extract if delivered, else left+right."""
    source = next(
        (s for s in specs if s.extract == settings.tf_name_source and s.name is not None), None
    )
    if source is not None and source.name in exact.table_columns(con, source.extract):
        pop = f"""SELECT regexp_replace(CAST({q(source.name)} AS VARCHAR), '\\s+', '', 'g') AS name
                  FROM {q(source.extract)} WHERE {q(source.name)} IS NOT NULL"""
    else:
        pop = f"SELECT name FROM {left} WHERE name IS NOT NULL UNION ALL SELECT name FROM {right} WHERE name IS NOT NULL"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {TF} AS
        WITH pop AS ({pop}),
        total AS (SELECT greatest(count(*), 1) AS n FROM pop),
        wanted AS (SELECT name FROM {left} WHERE name IS NOT NULL
                   UNION SELECT name FROM {right} WHERE name IS NOT NULL),
        cnt AS (SELECT name, count(*) AS c FROM pop WHERE name IN (SELECT name FROM wanted) GROUP BY name)
        SELECT w.name, CAST(coalesce(cnt.c, 1) AS DOUBLE) / total.n AS tf_name
        FROM wanted w LEFT JOIN cnt USING (name), total
        ORDER BY w.name"""
    )


def _prepare_members_and_routes(
    con: duckdb.DuckDBPyConnection,
    specs: list[PersonRefSpec],
    anchor_ref: PersonRefSpec | None,
    settings: LinkSettings,
) -> tuple[int, dict[tuple[str, str], exact.RefCounts]]:
    n_member_rows = exact.build_members(con, settings.anchor, anchor_ref)
    exact.init_route_tables(con)
    counts: dict[tuple[str, str], exact.RefCounts] = {}
    for spec in specs:
        counts[(spec.extract, spec.role)] = exact.route_reference(
            con, spec, is_anchor=spec.extract == settings.anchor.extract
        )
    return n_member_rows, counts


def _reference_member_share(
    counts: dict[tuple[str, str], exact.RefCounts], anchor_extract: str
) -> float:
    valid = sum(c.valid for (ex, _), c in counts.items() if ex != anchor_extract)
    matched = sum(c.matched for (ex, _), c in counts.items() if ex != anchor_extract)
    return (matched + 0.5) / (valid + 1.0)


# --------------------------------------------------------------------------
# run
# --------------------------------------------------------------------------


def run_linking(
    con: duckdb.DuckDBPyConnection,
    person_refs: list[PersonRefSpec],
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
        ValueError: settings or model are inconsistent, or a reference column
            is not staged.

    Example:
        >>> report = run_linking(con, specs, Path("rules/linkage/settings.yaml"),
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
    model = probabilistic.load_model(model_path, settings)
    specs, skipped, anchor_ref = _partition_specs(con, person_refs, settings)
    n_member_rows, counts = _prepare_members_and_routes(con, specs, anchor_ref, settings)
    lap("id_routes")

    features.build_names_table(
        con,
        f"SELECT DISTINCT name_in FROM {MEMBER_SRC} UNION SELECT DISTINCT name_in FROM {UNRESOLVED}",
        NAMES,
    )
    lap("names")
    _features_table(
        con,
        MEMBER_SRC,
        RIGHT,
        settings,
        f"member_row AS unique_id, {_feature_cols()}, id_valid IS NOT NULL AS id_ok",
        "id_valid IS NOT NULL",
    )
    n_persons = exact.write_persons(con, RIGHT)
    # features once per distinct raw input tuple (monthly extracts repeat a
    # person's row), then one profile per distinct feature tuple
    raw_cols = ("id_src", "name_in", "sex_in", "birth_in", "district", "id_ok")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {RAW} AS
        SELECT row_number() OVER (ORDER BY {", ".join(raw_cols)}) AS raw_id, *,
               hash({", ".join(raw_cols)}) AS h
        FROM (SELECT DISTINCT {", ".join(raw_cols)} FROM {UNRESOLVED})"""
    )
    _features_table(
        con,
        RAW,
        RAW_FEAT,
        settings,
        f"""raw_id, {_feature_cols()}, id_ok,
            dense_rank() OVER (ORDER BY id17, name, birth, sex, district, id_ok) AS profile_id""",
        "id_ok",
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {LEFT} AS
        SELECT DISTINCT profile_id AS unique_id, {_feature_cols()}, id_ok FROM {RAW_FEAT}
        WHERE id17 IS NOT NULL OR name IS NOT NULL
        ORDER BY unique_id"""
    )
    same = " AND ".join(f"u.{c} IS NOT DISTINCT FROM r.{c}" for c in raw_cols)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {REF_FEAT} AS
        SELECT u.extract, u."row", u.role, u.own_person, u.id_ok, f.profile_id
        FROM {UNRESOLVED} u
        JOIN {RAW} r ON r.h = hash({", ".join("u." + c for c in raw_cols)}) AND {same}
        JOIN {RAW_FEAT} f ON f.raw_id = r.raw_id"""
    )
    n_unresolved = sum(c.unresolved for c in counts.values())
    row = con.execute(f"SELECT count(*) FROM {LEFT}").fetchall()[0]
    n_profiles = int(row[0]) if row else 0
    # prior per (extract, role)
    _build_prior(con, counts, settings, model, n_persons)
    lap("features")

    n_pairs = 0
    gv = probabilistic.gamma_values(settings)
    if n_profiles and n_persons:
        _build_tf(con, specs, settings, LEFT, RIGHT)
        lap("term_frequencies")
        row = con.execute(f"SELECT coalesce(max(adj), 0) FROM {PRIOR}").fetchall()[0]
        max_adj = float(row[0]) if row else 0.0
        n_pairs = probabilistic.predict_pairs(
            con,
            LEFT,
            RIGHT,
            model,
            TF,
            min_weight=settings.min_candidate_weight - max(max_adj, 0.0),
        )
    else:
        cols = ", ".join(f"CAST(NULL AS INTEGER) AS gamma_{c}" for c in gv)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {probabilistic.PAIRS} AS
            SELECT CAST(NULL AS BIGINT) AS unique_id_l, CAST(NULL AS BIGINT) AS unique_id_r,
                   CAST(NULL AS DOUBLE) AS match_weight, {cols} LIMIT 0"""
        )
    lap("predict")
    _select_one_to_one(con, settings, gv)
    _write_links(con, settings, gv)
    lap("one_to_one")

    _drop_work_tables(con)
    durations["total"] = time.perf_counter() - t_start
    return _report(
        con,
        model.model_version,
        settings,
        n_persons,
        n_member_rows,
        counts,
        n_unresolved,
        n_profiles,
        n_pairs,
        skipped,
        durations,
    )


def _build_prior(
    con: duckdb.DuckDBPyConnection,
    counts: dict[tuple[str, str], exact.RefCounts],
    settings: LinkSettings,
    model: probabilistic.LoadedModel,
    n_persons: int,
) -> None:
    """log2-odds adjustment from the model's prior to each (extract, role)'s prior.

    share = (matched + k * s0) / (valid + k), k = 50 pseudo-references at the
    model's share s0; prior = share / persons.
    """
    rows = []
    base = probabilistic.prior_logit2(model.lam)
    s0 = model.reference_member_share
    k = 50.0
    for (ex, role), c in sorted(counts.items()):
        per_extract = settings.prior_mode == "per_extract"
        share = (c.matched + k * s0) / (c.valid + k) if per_extract else s0
        share = min(max(share, settings.prior_floor_share), settings.prior_ceiling_share)
        lam = min(share / max(n_persons, 1), 0.5)
        rows.append((ex, role, probabilistic.prior_logit2(lam) - base))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PRIOR} (extract VARCHAR, role VARCHAR, adj DOUBLE)")
    if rows:
        con.executemany(f"INSERT INTO {PRIOR} VALUES (?, ?, ?)", rows)


def _select_one_to_one(
    con: duckdb.DuckDBPyConnection, settings: LinkSettings, gv: dict[str, dict[str, int]]
) -> None:
    """Pick at most one person per reference (see settings ``competing_candidates``)."""
    gammas = ", ".join(f"p.gamma_{c}" for c in gv)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CAND} AS
        SELECT f.extract, f."row", f.role, f.own_person, m.person_id, m.member_row,
               p.match_weight + pr.adj AS mw, {gammas}
        FROM {probabilistic.PAIRS} p
        JOIN {REF_FEAT} f ON f.profile_id = p.unique_id_l
        JOIN {MEMBER_SRC} m ON m.member_row = p.unique_id_r
        JOIN {PRIOR} pr ON pr.extract = f.extract AND pr.role = f.role
        WHERE (f.own_person IS NULL OR m.person_id <> f.own_person)
          AND NOT (f.id_ok AND m.id_valid IS NOT NULL)
          AND p.match_weight + pr.adj >= {settings.min_candidate_weight}
        QUALIFY row_number() OVER (
            PARTITION BY f.extract, f."row", f.role, m.person_id
            ORDER BY p.match_weight DESC, m.member_row) = 1"""
    )
    renorm = "TRUE" if settings.renormalise else "FALSE"
    anchor = settings.anchor
    # step 1: member rows without a valid ID that are confidently another person
    # (enrolled twice); their persons are grouped with that person below.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _rm_link_canon AS
        WITH c AS (
            SELECT *, pow(2.0, least(mw, 1000)) AS odds,
                   sum(pow(2.0, least(mw, 1000))) OVER (PARTITION BY extract, "row", role) AS tot
            FROM {CAND} WHERE extract = {lit(anchor.extract)} AND role = {lit(anchor.role)}
        ), s AS (
            SELECT own_person, person_id,
                   CASE WHEN {renorm} THEN mw - log2(1 + tot - odds) ELSE mw END AS w
            FROM c
            QUALIFY row_number() OVER (PARTITION BY extract, "row", role
                                       ORDER BY mw DESC, person_id) = 1
        )
        SELECT own_person AS person_from, person_id AS person_to FROM s
        WHERE 1 / (1 + pow(2.0, -w)) >= {settings.min_probability}"""
    )
    # each person's group: the least person id among itself and the persons it
    # is linked with in either direction (valid IDs sort before M<row>)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _rm_link_canon AS
        WITH e AS (
            SELECT person_from AS a, person_to AS b FROM _rm_link_canon
            UNION SELECT person_to, person_from FROM _rm_link_canon
        )
        SELECT a AS person_from, least(a, min(b)) AS person_to FROM e GROUP BY a"""
    )
    # step 2: every reference; candidates of one canonical person are one group
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {PROB} AS
        WITH g AS (
            SELECT c.*, coalesce(k.person_to, c.person_id) AS grp
            FROM {CAND} c LEFT JOIN _rm_link_canon k ON k.person_from = c.person_id
        ), gb AS (
            SELECT *, max(mw) OVER (PARTITION BY extract, "row", role, grp) AS grp_mw
            FROM g
            QUALIFY row_number() OVER (
                PARTITION BY extract, "row", role, grp
                ORDER BY (person_id = grp) DESC, mw DESC, person_id) = 1
        ), t AS (
            SELECT *, sum(pow(2.0, least(grp_mw, 1000))) OVER (PARTITION BY extract, "row", role) AS tot,
                   count(*) OVER (PARTITION BY extract, "row", role) AS n_candidates
            FROM gb
        ), w AS (
            SELECT *, CASE WHEN {renorm}
                           THEN grp_mw - log2(1 + tot - pow(2.0, least(grp_mw, 1000)))
                           ELSE grp_mw END AS w
            FROM t
            QUALIFY row_number() OVER (PARTITION BY extract, "row", role
                                       ORDER BY grp_mw DESC, grp) = 1
        )
        SELECT *, 1 / (1 + pow(2.0, -w)) AS p FROM w
        WHERE 1 / (1 + pow(2.0, -w)) >= {settings.min_probability}"""
    )
    con.execute(
        f"""UPDATE _rm_member_person mp SET resolved_person_id = p.person_id
        FROM {PROB} p
        WHERE p.extract = {lit(anchor.extract)} AND p.role = {lit(anchor.role)}
          AND mp.member_row = p."row" """
    )
    con.execute("DROP TABLE IF EXISTS _rm_link_canon")


def _write_links(
    con: duckdb.DuckDBPyConnection, settings: LinkSettings, gv: dict[str, dict[str, int]]
) -> None:
    label_cols = []
    agree_items = []
    diff_items = []
    for comp in settings.comparisons:
        col = f"p.gamma_{comp.name}"
        whens = " ".join(
            f"WHEN {gv[comp.name][lv.label]} THEN {lit(lv.label)}" for lv in comp.levels
        )
        label_cols.append(f"CASE {col} {whens} END AS {q(comp.name + '_match')}")
        agree_vals = [gv[comp.name][lv.label] for lv in comp.levels if lv.agrees]
        if agree_vals:
            agree_items.append(
                f"CASE WHEN {col} IN ({', '.join(map(str, agree_vals))}) THEN {lit(comp.zh)} END"
            )
        diff_whens = " ".join(
            f"WHEN {gv[comp.name][lv.label]} THEN {lit(lv.zh)}"
            for lv in comp.levels
            if not lv.agrees and not lv.is_null
        )
        if diff_whens:
            diff_items.append(f"CASE {col} {diff_whens} END")
    agrees = f"list_filter([{', '.join(agree_items)}], lambda x: x IS NOT NULL)"
    diffs = f"list_filter([{', '.join(diff_items)}], lambda x: x IS NOT NULL)"
    evidence = f"""concat_ws('，',
        CASE WHEN len({agrees}) > 0 THEN array_to_string({agrees}, '、') || '一致' END,
        CASE WHEN len({diffs}) > 0 THEN array_to_string({diffs}, '，') END)"""
    known = {c.name for c in settings.comparisons}
    detail = []
    for name in ("id_no", "name", "birth", "sex", "district"):
        out = "id_match" if name == "id_no" else f"{name}_match"
        detail.append(f"{q(name + '_match')} AS {out}" if name in known else f"NULL AS {out}")
    con.execute(
        f"""CREATE OR REPLACE TABLE _rm_links AS
        SELECT * FROM (
            SELECT extract, "row", role, person_id, route,
                   CAST(1.0 AS DOUBLE) AS match_probability,
                   CAST(NULL AS DOUBLE) AS match_weight,
                   CASE WHEN route = 'exact' THEN '身份证号一致'
                        ELSE '身份证号修复后一致' END AS evidence,
                   CASE WHEN route = 'exact' THEN 'exact' ELSE 'repaired' END AS id_match,
                   CAST(NULL AS VARCHAR) AS name_match, CAST(NULL AS VARCHAR) AS birth_match,
                   CAST(NULL AS VARCHAR) AS sex_match, CAST(NULL AS VARCHAR) AS district_match,
                   CAST(1 AS BIGINT) AS n_candidates
            FROM {EXACT}
            UNION ALL
            SELECT extract, "row", role, person_id, 'probabilistic' AS route,
                   CAST(round(p, 6) AS DOUBLE) AS match_probability,
                   CAST(round(w, 4) AS DOUBLE) AS match_weight,
                   evidence, {", ".join(detail)}, n_candidates
            FROM (SELECT p.*, {evidence} AS evidence, {", ".join(label_cols)} FROM {PROB} p)
        ) ORDER BY extract, "row", role"""
    )


def _report(
    con: duckdb.DuckDBPyConnection,
    model_version: str,
    settings: LinkSettings,
    n_persons: int,
    n_member_rows: int,
    counts: dict[tuple[str, str], exact.RefCounts],
    n_unresolved: int,
    n_profiles: int,
    n_pairs: int,
    skipped: list[str],
    durations: dict[str, float],
) -> LinkReport:
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
        min_probability=settings.min_probability,
        n_persons=n_persons,
        n_member_rows=n_member_rows,
        refs_by_extract={f"{ex}.{role}": c.rows for (ex, role), c in sorted(counts.items())},
        links_by_route=by_route,
        links_by_extract=by_extract,
        unresolved_refs=n_unresolved,
        profiles=n_profiles,
        candidate_pairs=n_pairs,
        skipped_refs=tuple(skipped),
        valid_id_candidates=sum(c.near_miss for c in counts.values()),
        durations_s={k: round(v, 3) for k, v in durations.items()},
    )


def write_link_table(con: duckdb.DuckDBPyConnection, out_path: Path) -> int:
    """Write ``_rm_links`` joined with the person's household(s) to parquet.

    One row per (link, household of the linked person); returns the number
    of rows written.
    """
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sql = """SELECT l.*, mp.household_id
        FROM _rm_links l
        LEFT JOIN (SELECT DISTINCT person_id, household_id FROM _rm_member_person) mp
            USING (person_id)
        ORDER BY l.extract, l."row", l.role, mp.household_id"""
    con.execute(f"COPY ({sql}) TO {lit(str(out))} (FORMAT parquet)")
    row = con.execute(f"SELECT count(*) FROM read_parquet({lit(str(out))})").fetchall()[0]
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------


def train_linker(
    con: duckdb.DuckDBPyConnection,
    person_refs: list[PersonRefSpec],
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
    import splink

    t0 = time.perf_counter()
    settings = load_settings(settings_path)
    specs, _skipped, anchor_ref = _partition_specs(con, person_refs, settings)
    _n_member_rows, counts = _prepare_members_and_routes(con, specs, anchor_ref, settings)
    ref_specs = [s for s in specs if s.extract != settings.anchor.extract]
    n_lab, n_unlab = training.build_training_source(con, ref_specs, settings, seed)
    if n_lab == 0:
        _drop_work_tables(con)
        raise ValueError("no reference matches a member by ID: nothing to train on")

    features.build_names_table(
        con,
        f"SELECT DISTINCT name_in FROM {MEMBER_SRC} UNION SELECT DISTINCT name_in FROM {training.TRAIN_SRC}",
        NAMES,
    )
    _features_table(
        con,
        MEMBER_SRC,
        RIGHT,
        settings,
        f"member_row AS unique_id, {_feature_cols()}, person_id AS truth",
        "id_valid IS NOT NULL",
    )
    n_persons = exact.write_persons(con, RIGHT)
    _features_table(
        con,
        training.TRAIN_SRC,
        TRAIN_LEFT,
        settings,
        f"unique_id, {_feature_cols()}, truth",
        "FALSE",
    )
    for part, cond in ((TRAIN_LEFT_U, "LIKE"), (TRAIN_LEFT_L, "NOT LIKE")):
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {part} AS
            SELECT * FROM {TRAIN_LEFT} WHERE truth {cond} 'U%' ORDER BY unique_id"""
        )
    _build_tf(con, specs, settings, TRAIN_LEFT, RIGHT)
    share = _reference_member_share(counts, settings.anchor.extract)
    lam = min(share / max(n_persons, 1), 0.5)
    trained = probabilistic.train(
        con, TRAIN_LEFT_U, TRAIN_LEFT_L, RIGHT, settings, lam=lam, tf_table=TF, seed=seed
    )
    params = probabilistic.parameters_summary(trained)
    version_src = json.dumps(
        {"p": trained["comparisons"], "lam": lam}, sort_keys=True, ensure_ascii=False
    )
    model_version = "lm-" + hashlib.sha256(version_src.encode()).hexdigest()[:12]
    doc: dict[str, Any] = {
        "format": probabilistic.MODEL_FORMAT,
        "model_version": model_version,
        "comparisons_fingerprint": settings.comparisons_fingerprint(),
        "training": {
            "data_source": data_source,
            "seed": seed,
            "splink_version": splink.__version__,
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
        "splink_settings": trained,
    }
    out = Path(model_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _drop_work_tables(con)
    return TrainReport(
        model_path=str(out),
        model_version=model_version,
        seed=seed,
        labelled_refs=n_lab,
        unlabelled_refs=n_unlab,
        u_max_pairs=settings.training.u_max_pairs,
        probability_two_random_records_match=lam,
        parameters=params,
        duration_s=round(time.perf_counter() - t0, 3),
    )
