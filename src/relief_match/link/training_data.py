"""Training data for the probabilistic route, built from the ID route.

References whose valid ID equals a member's are labelled matches for free.
Their IDs are degraded deterministically (per reference, from a hash of
``extract|row|role|seed``) with the contract's ID defects, so that the
model learns how an ID that *failed* validation still agrees with the
member's; names, sex, birth-date and district columns stay as delivered, so
their m-values reflect real disagreement between departments (traditional
characters, homophones, pinyin, typos). Unlabelled references (valid IDs
matching no member) give realistic non-matching pairs for u.
"""

from __future__ import annotations

import duckdb

from relief_match.link.exact import PERSON_IDS, col_or_null, lit, table_columns
from relief_match.link.references import PersonReference
from relief_match.link.settings import LinkSettings
from relief_match.sqlident import quote_ident as q

POOL = "_rm_link_train_pool"
TRAIN_SRC = "_rm_link_train_src"


def _hash_sql(key_sql: str) -> str:
    """A 56-bit non-negative integer hash from md5 (stable across DuckDB versions)."""
    return f"CAST(('0x' || substr(md5({key_sql}), 1, 14)) AS BIGINT)"


def _valid_id_sql(spec: PersonReference, cols: set[str]) -> str:
    """SQL: the reference row's staged ID is valid (and the row is a reference)."""
    status = f"{spec.id_no}_status"
    valid = f"t.{q(status)} IN ('ok', 'repaired')" if status in cols else "TRUE"
    return f"{valid} AND ({spec.only_when})" if spec.only_when else valid


def build_training_source(
    con: duckdb.DuckDBPyConnection,
    specs: list[PersonReference],
    settings: LinkSettings,
    seed: int,
) -> tuple[int, int]:
    """Create the training reference table ``_rm_link_train_src``.

    Columns: ``unique_id``, ``truth`` (the true person for labelled rows, a
    unique ``U<n>`` otherwise), ``id_src`` (the degraded ID body), ``name_in``,
    ``sex_in``, ``birth_in``, ``district``. Returns (labelled, unlabelled).
    """
    tr = settings.training
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {POOL} (
            kind VARCHAR, extract VARCHAR, "row" BIGINT, role VARCHAR, id_no VARCHAR,
            name_in VARCHAR, sex_in VARCHAR, birth_in DATE, district VARCHAR, h BIGINT)"""
    )
    totals = []
    for spec in specs:
        cols = table_columns(con, spec.extract)
        valid = _valid_id_sql(spec, cols)
        row = con.execute(
            f"SELECT count(*) FROM {q(spec.extract)} t WHERE t.{q(spec.id_no)} IS NOT NULL AND {valid}"
        ).fetchall()[0]
        totals.append(int(row[0]) if row else 0)
    total_valid = max(sum(totals), 1)
    # pre-thin the unlabelled rows so that the final ORDER BY h LIMIT is cheap
    keep_ppm = min(1_000_000, int(3 * tr.max_unlabelled_refs / total_valid * 1_000_000) + 1)
    for spec in specs:
        cols = table_columns(con, spec.extract)
        valid = _valid_id_sql(spec, cols)
        key = (
            f"{lit(spec.extract + '|')} || CAST(t._row AS VARCHAR) || "
            f"{lit('|' + spec.role + '|' + str(seed))}"
        )
        select = f"""{lit(spec.extract)}, CAST(t._row AS BIGINT), {lit(spec.role)},
            CAST(t.{q(spec.id_no)} AS VARCHAR),
            {col_or_null(cols, spec.name, "VARCHAR")}, {col_or_null(cols, spec.sex, "VARCHAR")},
            {col_or_null(cols, spec.birth_date, "DATE")}, {col_or_null(cols, spec.district_code, "VARCHAR")},
            {_hash_sql(key)} AS h"""
        idv = f"CAST(t.{q(spec.id_no)} AS VARCHAR)"
        con.execute(
            f"""INSERT INTO {POOL}
            SELECT 'L', {select} FROM {q(spec.extract)} t
            WHERE {valid} AND {idv} IN (SELECT person_id FROM {PERSON_IDS})"""
        )
        con.execute(
            f"""INSERT INTO {POOL}
            SELECT * FROM (
                SELECT 'U', {select} FROM {q(spec.extract)} t
                WHERE {valid} AND t.{q(spec.id_no)} IS NOT NULL
                  AND {idv} NOT IN (SELECT person_id FROM {PERSON_IDS})
            ) WHERE h % 1000000 < {keep_ppm}"""
        )

    # cumulative thresholds of the defect mix, in the order settings.yaml gives
    cases = []
    acc = 0.0
    exprs = {
        "typo": "_rm_typo(s, p1, sh)",
        "swap": "_rm_swap(s, p2)",
        "check_digit": "s",
        "two_typos": "_rm_typo(_rm_typo(s, p1, sh), (p1 + 1 + p3) % 17, sh)",
        "missing": "NULL",
    }
    for kind, share in tr.id_defect_mix:
        acc += share
        cases.append(f"WHEN u < {acc:.9f} THEN {exprs[kind]}")
    corrupt = "CASE " + " ".join(cases) + " ELSE NULL END"
    acc = 0.0
    wrong_check = "FALSE"
    for kind, share in tr.id_defect_mix:
        if kind == "check_digit":
            wrong_check = f"(u >= {acc:.9f} AND u < {acc + share:.9f})"
        acc += share
    other_check = (
        "substr('0123456789X', 1 + ((instr('0123456789X', substr(id_no, 18, 1)) + sh - 1) % 11), 1)"
    )

    con.execute(
        """CREATE OR REPLACE TEMP MACRO _rm_typo(s, p, sh) AS
        substr(s, 1, p) || CAST((CAST(substr(s, p + 1, 1) AS INTEGER) + sh) % 10 AS VARCHAR)
        || substr(s, p + 2)"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP MACRO _rm_swap(s, p) AS
        substr(s, 1, p) || substr(s, p + 2, 1) || substr(s, p + 1, 1) || substr(s, p + 3)"""
    )
    h2 = _hash_sql(
        f"'defect|' || extract || '|' || CAST(\"row\" AS VARCHAR) || '|' || role || '|{seed}'"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {TRAIN_SRC} AS
        WITH picked AS (
            (SELECT * FROM {POOL} WHERE kind = 'L'
             ORDER BY h, extract, "row", role LIMIT {int(tr.max_labelled_refs)})
            UNION ALL
            (SELECT * FROM {POOL} WHERE kind = 'U'
             ORDER BY h, extract, "row", role LIMIT {int(tr.max_unlabelled_refs)})
        ), k AS (
            SELECT *, substr(id_no, 1, 17) AS s, {h2} AS hh FROM picked
        ), k2 AS (
            SELECT *, (hh % 10000) / 10000.0 AS u, (hh // 10000) % 17 AS p1,
                   (hh // 170000) % 16 AS p2, 1 + (hh // 2720000) % 9 AS sh,
                   (hh // 24480000) % 16 AS p3
            FROM k
        )
        SELECT row_number() OVER (ORDER BY kind, h, extract, "row", role) AS unique_id,
            kind, id_no AS truth_id,
            -- a mistyped body digit or a swap keeps the true check character;
            -- the check_digit defect replaces it
            ({corrupt}) || CASE WHEN {wrong_check} THEN {other_check} ELSE substr(id_no, 18, 1) END
                AS id_src,
            name_in, sex_in, birth_in, district
        FROM k2
        ORDER BY unique_id"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {TRAIN_SRC} AS
        SELECT unique_id,
            CASE WHEN kind = 'L' THEN truth_id ELSE 'U' || CAST(unique_id AS VARCHAR) END AS truth,
            id_src, name_in, sex_in, birth_in, district
        FROM {TRAIN_SRC} ORDER BY unique_id"""
    )
    row = con.execute(
        f"""SELECT count(*) FILTER (WHERE truth NOT LIKE 'U%'), count(*) FILTER (WHERE truth LIKE 'U%')
            FROM {TRAIN_SRC}"""
    ).fetchall()[0]
    assert row is not None
    con.execute(f"DROP TABLE IF EXISTS {POOL}")
    return int(row[0]), int(row[1])
