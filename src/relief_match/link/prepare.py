"""Steps the linking and the training runs share: which references to use,
member persons and the ID routes, feature tables, name term frequencies, and
the work tables they leave behind."""

from __future__ import annotations

import duckdb

from relief_match.db import table_exists
from relief_match.link import exact, features, population, probabilistic, training_data
from relief_match.link.exact import MEMBER_SRC, table_columns
from relief_match.link.references import PersonReference
from relief_match.link.settings import LinkSettings
from relief_match.sqlident import quote_ident as q

# work tables (all dropped by drop_work_tables)
NAMES = "_rm_link_names"
RIGHT = "_rm_link_right"
REF_FEAT = "_rm_link_ref_feat"
RAW = "_rm_link_raw"
RAW_FEAT = "_rm_link_raw_feat"
LEFT = "_rm_link_left"
TF = "_rm_link_tf_name"
TF_POP = "_rm_link_tf_pop"
TF_FOLD = "_rm_link_tf_fold"
PRIOR = "_rm_link_prior"
CAND = "_rm_link_cand"
PROB = "_rm_link_prob"
CLOSE = "_rm_link_close"
NEAR = "_rm_link_near"
OTHER = "_rm_link_other"
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
    TF_POP,
    TF_FOLD,
    PRIOR,
    CAND,
    PROB,
    CLOSE,
    NEAR,
    OTHER,
    TRAIN_LEFT,
    TRAIN_LEFT_U,
    TRAIN_LEFT_L,
    exact.EXACT,
    exact.UNRESOLVED,
    exact.MEMBER_SRC,
    exact.PERSON_IDS,
    exact.KEYS,
    exact.NBKEYS,
    exact.LEGACY,
    probabilistic.PAIRS,
    training_data.TRAIN_SRC,
    *population.WORK_TABLES,
)

FEATURE_COLS = ", ".join(features.FEATURE_COLUMNS)


def drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every work table of the link stage (its outputs stay)."""
    for t in _WORK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {t}")


def partition_references(
    con: duckdb.DuckDBPyConnection, person_refs: list[PersonReference], settings: LinkSettings
) -> tuple[list[PersonReference], list[str], PersonReference | None]:
    """The references whose extract is staged (in a stable order), the skipped
    ones as ``extract.role``, and the anchor extract's reference if given.

    Raises:
        ValueError: an (extract, role) is given twice.
    """
    seen: set[tuple[str, str]] = set()
    refs: list[PersonReference] = []
    skipped: list[str] = []
    for r in sorted(person_refs, key=lambda r: (r.extract, r.role, r.id_no)):
        if (r.extract, r.role) in seen:
            raise ValueError(f"duplicate person reference {r.extract}.{r.role}")
        seen.add((r.extract, r.role))
        if table_exists(con, r.extract):
            refs.append(r)
        else:
            skipped.append(f"{r.extract}.{r.role}")
    anchor_ref = next((r for r in refs if r.extract == settings.anchor.extract), None)
    return refs, skipped, anchor_ref


def members_and_id_routes(
    con: duckdb.DuckDBPyConnection,
    refs: list[PersonReference],
    anchor_ref: PersonReference | None,
    settings: LinkSettings,
) -> tuple[int, dict[tuple[str, str], exact.RefCounts]]:
    """Build the member persons and run the ID routes of every reference.

    Returns the number of member rows and the counts per (extract, role).
    """
    population_ref = next((r for r in refs if r.extract == settings.tf_name_source), None)
    n_member_rows = exact.build_members(con, settings.anchor, anchor_ref, population_ref)
    exact.init_route_tables(con)
    counts: dict[tuple[str, str], exact.RefCounts] = {}
    for ref in refs:
        counts[(ref.extract, ref.role)] = exact.route_reference(
            con, ref, is_anchor=ref.extract == settings.anchor.extract
        )
    exact.queue_unknown_legacy_ids(con, population_ref)
    return n_member_rows, counts


def build_names(con: duckdb.DuckDBPyConnection, reference_src: str) -> None:
    """The folded names and pinyin of the members' and ``reference_src``'s names."""
    features.build_names_table(
        con,
        f"SELECT DISTINCT name_in FROM {MEMBER_SRC} "
        f"UNION SELECT DISTINCT name_in FROM {reference_src}",
        NAMES,
    )


def features_table(
    con: duckdb.DuckDBPyConnection,
    src: str,
    out: str,
    settings: LinkSettings,
    select: str,
    id_valid_sql: str,
) -> None:
    """Create ``out`` with ``select`` over the comparison features of ``src``."""
    sql = features.features_sql(
        src,
        birth_year_min=settings.birth_year_min,
        birth_year_max=settings.birth_year_max,
        names_table=NAMES,
        id_valid_sql=id_valid_sql,
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT {select} FROM ({sql}) ORDER BY 1")


def member_features(con: duckdb.DuckDBPyConnection, settings: LinkSettings, extra: str) -> int:
    """The members' feature table ``RIGHT`` (plus ``extra`` columns) and
    ``_rm_persons``; returns the number of persons."""
    features_table(
        con,
        MEMBER_SRC,
        RIGHT,
        settings,
        f"member_row AS unique_id, {FEATURE_COLS}, {extra}",
        "id_valid IS NOT NULL",
    )
    return write_persons(con, RIGHT)


def build_name_term_frequencies(
    con: duckdb.DuckDBPyConnection,
    refs: list[PersonReference],
    settings: LinkSettings,
    left: str,
    right: str,
) -> None:
    """Term frequencies of the folded names of ``left`` and ``right`` (table ``TF``).

    Counted over the population extract's names if it is delivered, else over
    ``left`` + ``right``; always by folded name (:func:`relief_match.text.fold_name`),
    the key they are looked up by (a name written differently in the
    population extract still counts). The folded counts stay in ``TF_POP``
    so that :func:`extend_name_term_frequencies` can add names later.
    """
    source = next(
        (r for r in refs if r.extract == settings.tf_name_source and r.name is not None), None
    )
    if source is not None and source.name in table_columns(con, source.extract):
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {TF_FOLD} AS
            SELECT CAST({q(source.name)} AS VARCHAR) AS name_in, count(*) AS c
            FROM {q(source.extract)} WHERE {q(source.name)} IS NOT NULL GROUP BY 1"""
        )
        features.build_names_table(con, f"SELECT name_in FROM {TF_FOLD}", TF_POP, pinyin=False)
        pop = f"""SELECT f.name, sum(p.c) AS c FROM {TF_FOLD} p JOIN {TF_POP} f USING (name_in)
                  WHERE f.name IS NOT NULL GROUP BY f.name"""
    else:
        pop = f"""SELECT name, count(*) AS c FROM (
                  SELECT name FROM {left} WHERE name IS NOT NULL
                  UNION ALL SELECT name FROM {right} WHERE name IS NOT NULL) GROUP BY name"""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TF_POP} AS {pop}")
    con.execute(f"DROP TABLE IF EXISTS {TF_FOLD}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {TF} (name VARCHAR, tf_name DOUBLE)")
    extend_name_term_frequencies(con, left, right)


def extend_name_term_frequencies(con: duckdb.DuckDBPyConnection, *tables: str) -> None:
    """Add to ``TF`` the folded names of ``tables`` it lacks (a name nobody in
    the population has counts once)."""
    wanted = " UNION ".join(f"SELECT name FROM {t} WHERE name IS NOT NULL" for t in tables)
    con.execute(
        f"""INSERT INTO {TF}
        WITH total AS (SELECT greatest(coalesce(sum(c), 0), 1) AS n FROM {TF_POP}),
        wanted AS ({wanted} EXCEPT SELECT name FROM {TF})
        SELECT w.name, CAST(coalesce(p.c, 1) AS DOUBLE) / total.n AS tf_name
        FROM wanted w LEFT JOIN {TF_POP} p USING (name), total
        ORDER BY w.name"""
    )


def write_persons(con: duckdb.DuckDBPyConnection, member_features: str) -> int:
    """Create ``_rm_persons`` from the member feature table; returns its row count.

    Name, sex, birth date and district come from the person's first member row
    (lowest ``_row``); sex and birth date fall back to the ID's.
    """
    con.execute(
        f"""CREATE OR REPLACE TABLE _rm_persons AS
        WITH m AS (
            SELECT s.member_row, s.person_id, s.household_id, s.id_valid, s.name_in,
                   f.sex, f.birth, f.district,
                   row_number() OVER (PARTITION BY s.person_id ORDER BY s.member_row) AS rn
            FROM {MEMBER_SRC} s JOIN {member_features} f ON f.unique_id = s.member_row
        )
        SELECT person_id,
            any_value(id_valid) FILTER (WHERE rn = 1) AS id_no,
            any_value(name_in) FILTER (WHERE rn = 1) AS name,
            any_value(sex) FILTER (WHERE rn = 1) AS sex,
            CAST(try_strptime(any_value(birth) FILTER (WHERE rn = 1), '%Y%m%d') AS DATE) AS birth_date,
            any_value(district) FILTER (WHERE rn = 1) AS district_code,
            count(DISTINCT household_id) AS n_households
        FROM m GROUP BY person_id ORDER BY person_id"""
    )
    row = con.execute("SELECT count(*) FROM _rm_persons").fetchall()[0]
    return int(row[0]) if row else 0
