"""Comparison features for the linker: folded name, pinyin, ID / birth / sex.

The features are computed once per distinct value (names, folded by
:mod:`relief_match.text`, the same rules as the ingest stage) or in DuckDB SQL
(IDs, dates), never per row in Python. Both sides of the probabilistic route
(unresolved references and recipient members) go through the same functions,
so that a comparison always compares like with like.
"""

from __future__ import annotations

import duckdb
import polars as pl

from relief_match.text import fold_name, name_pinyin

# bump when the meaning of a feature column changes: models trained on the old
# features are then refused (part of the comparisons fingerprint)
FEATURES_VERSION = 6

FEATURE_COLUMNS = (
    "id17",
    "chk",
    "name",
    "name_py",
    "name_pyt",
    "name_key",
    "birth",
    "birth_rec",
    "sex",
    "district",
)


def build_names_table(
    con: duckdb.DuckDBPyConnection, distinct_names_sql: str, table: str, *, pinyin: bool = True
) -> int:
    """Create ``table(name_in, name, name_py)`` for the names the SQL returns.

    ``distinct_names_sql`` must return one VARCHAR column ``name_in`` (distinct
    or not); ``name`` is its folded form (:func:`relief_match.text.fold_name`),
    ``name_py`` the pinyin of that (left out when ``pinyin`` is False). Folding
    and pinyin run in Python once per distinct value. Returns the number of
    distinct names.
    """
    names = sorted({r[0] for r in con.execute(distinct_names_sql).fetchall() if r[0] is not None})
    folded = [fold_name(n) for n in names]
    columns: dict[str, list[str | None]] = {"name_in": list(names), "name": folded}
    if pinyin:
        columns["name_py"] = [name_pinyin(f) for f in folded]
        columns["name_pyt"] = [name_pinyin(f, tones=True) for f in folded]
    frame = pl.DataFrame(columns, schema=dict.fromkeys(columns, pl.String))
    con.register("_rm_link_names_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _rm_link_names_frame")
    finally:
        con.unregister("_rm_link_names_frame")
    return len(names)


def id17_sql(id_src: str) -> str:
    """SQL: the first 17 digits of a cleaned ID string, or NULL.

    18 digits (last may be X) -> first 17; 17 digits -> as is (dropped check
    digit); 15 digits -> 18-digit body (``19`` inserted); anything else, or
    all zeros -> NULL.
    """
    return f"""(CASE
        WHEN {id_src} IS NULL OR regexp_full_match({id_src}, '0+') THEN NULL
        WHEN regexp_full_match({id_src}, '[0-9]{{17}}[0-9X]') THEN substr({id_src}, 1, 17)
        WHEN regexp_full_match({id_src}, '[0-9]{{17}}') THEN {id_src}
        WHEN regexp_full_match({id_src}, '[0-9]{{15}}')
            THEN substr({id_src}, 1, 6) || '19' || substr({id_src}, 7, 9)
        END)"""


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_sql(body17: str) -> str:
    """SQL: the GB 11643 check character of a 17-digit string expression."""
    terms = " + ".join(
        f"CAST(substr({body17}, {k + 1}, 1) AS INTEGER) * {w}" for k, w in enumerate(_ID_WEIGHTS)
    )
    return f"substr('10X98765432', 1 + ({terms}) % 11, 1)"


def features_sql(
    src: str,
    *,
    birth_year_min: int,
    birth_year_max: int,
    names_table: str,
    id_valid_sql: str = "FALSE",
) -> str:
    """SQL selecting the comparison features from ``src``.

    ``src`` must have columns ``id_src`` (valid ID or cleaned string),
    ``name_in``, ``sex_in``, ``birth_in`` (DATE), ``district`` plus any
    pass-through columns (selected as ``s.*`` minus the raw inputs).
    ``birth`` is the birth-date column when it lies within the year bounds,
    else the ID's birth segment (digits 7-14) as delivered; ``birth_rec`` is
    the birth-date column alone (so that a record's own birth date can
    contradict a candidate whose ID agrees with the record's ID).
    ``name_key`` is the folded name's characters sorted, middle dots dropped. ``sex`` is the
    sex column, else the ID's sex digit only when the ID is valid
    (``id_valid_sql``, an expression over ``src``'s columns): a typo in digit
    17 would otherwise be counted twice, by the ID and by the sex comparison.
    """
    return f"""
    WITH b AS (
        SELECT s.*, {id17_sql("s.id_src")} AS id17
        FROM {src} s
    ), c AS (
        SELECT b.*,
            -- the ID's birth segment even when it is no real date (a mistyped
            -- digit there still agrees in 7 of 8 digits with the member's)
            substr(id17, 7, 8) AS id_birth,
            CASE WHEN id17 IS NOT NULL AND ({id_valid_sql}) THEN
                CASE WHEN CAST(substr(id17, 17, 1) AS INTEGER) % 2 = 1 THEN '男' ELSE '女' END
            END AS id_sex
        FROM b
    )
    SELECT c.* EXCLUDE (id_src, name_in, sex_in, birth_in, id_birth, id_sex, district),
        CASE WHEN c.id17 IS NOT NULL AND regexp_full_match(c.id_src, '[0-9]{{17}}[0-9X]')
             THEN substr(c.id_src, 18, 1) END AS chk,
        n.name AS name,
        n.name_py AS name_py,
        n.name_pyt AS name_pyt,
        -- the folded name's characters in order, without middle dots: equal for
        -- swapped given-name characters and a dropped or extra dot
        array_to_string(list_sort(str_split(replace(n.name, '·', ''), '')), '') AS name_key,
        coalesce(
            CASE WHEN year(c.birth_in) BETWEEN {birth_year_min} AND {birth_year_max}
                 THEN strftime(c.birth_in, '%Y%m%d') END,
            c.id_birth) AS birth,
        CASE WHEN year(c.birth_in) BETWEEN {birth_year_min} AND {birth_year_max}
             THEN strftime(c.birth_in, '%Y%m%d') END AS birth_rec,
        coalesce(CASE WHEN c.sex_in IN ('男', '女') THEN c.sex_in END, c.id_sex) AS sex,
        CASE WHEN regexp_full_match(CAST(c.district AS VARCHAR), '[0-9]{{6}}')
            THEN CAST(c.district AS VARCHAR) END AS district
    FROM c LEFT JOIN {names_table} n ON n.name_in = c.name_in
    """
