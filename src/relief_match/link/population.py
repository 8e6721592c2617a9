"""Resolve against everyone: the persons a reference may belong to who are not
recipient members.

A reference is linked to the person it fits best in the whole delivery, and a
finding is made only when that person is a recipient member. Scoring every
unresolved reference against every person known to the delivery would cost a
Python fold per distinct population name and millions of pairs, so the
non-members are brought in only where they matter: for the *contested*
profiles, those that have at least one candidate member. Their competitors are
the persons with a valid ID in the delivered references of
``link.competitor_extracts`` (the hukou registry holds everyone with a hukou
in the city; other extracts add persons who only appear there; monthly
payment streams, whose people are in the hukou registry or are recipients,
are left out by default as scanning them costs most) who

- have an ID within two mistyped digits, or one adjacent swap plus one
  mistyped digit, of the profile's (blocked by masked windows of the ID, see
  :func:`id_window_keys`), or
- have the profile's name (as staged) and birth date.

The competitors get the members' features and are scored with the same model
(``COMP`` -> pairs appended to :data:`relief_match.link.probabilistic.PAIRS`
with negative right ids), so the one-to-one step weighs members and
non-members alike.
"""

from __future__ import annotations

import duckdb

from relief_match.link import features, probabilistic
from relief_match.link.exact import LEGACY, MEMBER_SRC, PERSON_IDS, col_or_null, lit, table_columns
from relief_match.link.references import PersonReference
from relief_match.link.settings import LinkSettings
from relief_match.sqlident import quote_ident as q

CONTESTED = "_rm_link_contested"
WKEYS = "_rm_link_wkeys"
NKEYS = "_rm_link_comp_nkeys"
COMP_SRC = "_rm_link_comp_src"
COMP_NAMES = "_rm_link_comp_names"
COMP = "_rm_link_comp"
COMP_PAIRS = "_rm_link_comp_pairs"
COMP_BLOCK = "_rm_link_comp_block"

WORK_TABLES = (CONTESTED, WKEYS, NKEYS, COMP_SRC, COMP_NAMES, COMP, COMP_PAIRS, COMP_BLOCK)


def contested_profiles(
    con: duckdb.DuckDBPyConnection, left: str, ref_feat: str, prior: str, min_weight: float
) -> int:
    """``CONTESTED``: the profiles of ``left`` without a valid ID whose best
    member pair reaches ``min_weight`` with its reference's prior adjustment
    (``prior``: only such a member could be linked, so only there do rivals
    matter), and those of member rows without a valid ID (a member row with a
    broken ID is resolved to the person it belongs to, so that the department
    records of that person and the row count as one candidate). A reference
    with a valid ID is never compared with another valid ID, so it has no
    competitors."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CONTESTED} AS
        WITH adj AS (
            SELECT f.profile_id, max(pr.adj) AS adj, bool_or(f.own_person IS NOT NULL) AS anchor
            FROM {ref_feat} f JOIN {prior} pr USING (extract, role) GROUP BY f.profile_id
        )
        SELECT l.* FROM {left} l JOIN adj a ON a.profile_id = l.unique_id
        WHERE NOT l.id_ok AND (a.anchor OR l.unique_id IN (
            SELECT unique_id_l FROM {probabilistic.PAIRS} p
            WHERE p.unique_id_l = l.unique_id AND p.match_weight + a.adj >= {min_weight}))
        ORDER BY l.unique_id"""
    )
    row = con.execute(f"SELECT count(*) FROM {CONTESTED}").fetchall()[0]
    return int(row[0]) if row else 0


def init(con: duckdb.DuckDBPyConnection) -> None:
    """Empty contested-profile and competitor tables (a run without contested profiles)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CONTESTED} (unique_id BIGINT)")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {COMP_SRC} (
            unique_id BIGINT, person_id VARCHAR, id_valid VARCHAR, id_src VARCHAR,
            name_in VARCHAR, sex_in VARCHAR, birth_in DATE, district VARCHAR)"""
    )


#: GB 11643 weights of the 17 body digits, and the check character by sum mod 11.
_W = "[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]"
_CHECK = "'10X98765432'"


def _digit(b: str, p: str) -> str:
    return f"CAST(substr({b}, {p} + 1, 1) AS INTEGER)"


def _neighbour_ids(con: duckdb.DuckDBPyConnection, right: str) -> None:
    """``WKEYS(id, profile)``: the valid IDs within one edit (a mistyped digit, an
    adjacent swap) of a contested profile's ID body, and within two (two
    mistyped digits, a swap plus a mistyped digit) for the profiles whose
    nearest plausible candidate member (match weight >= 0) is two edits
    away (a competitor one edit away would be closer than such a
    member anyway). The check character
    follows from the body's weighted sum, updated per edit."""
    w = f"{_W}[p + 1]"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {WKEYS} AS
        WITH c AS (
            SELECT c.unique_id AS profile, c.id17 AS b,
                   coalesce(min(damerau_levenshtein(c.id17, r.id17)), 17) = 2 AS far
            FROM {CONTESTED} c
            LEFT JOIN {probabilistic.PAIRS} p
                ON p.unique_id_l = c.unique_id AND p.match_weight >= 0
            LEFT JOIN {right} r ON r.unique_id = p.unique_id_r
            WHERE c.id17 IS NOT NULL GROUP BY c.unique_id, c.id17
        ), c0 AS (
            SELECT profile, b, far, list_sum([{_digit("b", "p")} * {w} FOR p IN range(17)]) AS s FROM c
        ), one AS (
            SELECT profile, substr(b, 1, p) || CAST(d AS VARCHAR) || substr(b, p + 2) AS b, far, p,
                   s + {w} * (d - {_digit("b", "p")}) AS s, FALSE AS swapped
            FROM c0, range(17) r(p), range(10) t(d)
            UNION ALL
            SELECT profile,
                   substr(b, 1, p) || substr(b, p + 2, 1) || substr(b, p + 1, 1) || substr(b, p + 3),
                   far, p, s + ({w} - {_W}[p + 2]) * ({_digit("b", "p + 1")} - {_digit("b", "p")}),
                   TRUE
            FROM c0, range(16) r(p)
        ), two AS (
            SELECT profile, b, s FROM one
            UNION ALL
            SELECT o.profile, substr(o.b, 1, q) || CAST(d AS VARCHAR) || substr(o.b, q + 2),
                   o.s + {_W}[q + 1] * (d - {_digit("o.b", "q")})
            FROM (SELECT * FROM one WHERE far) o, range(17) r(q), range(10) t(d)
            WHERE o.swapped OR q > o.p
        )
        SELECT DISTINCT b || substr({_CHECK}, CAST(1 + ((s % 11) + 11) % 11 AS BIGINT), 1) AS id,
            profile
        FROM two"""
    )


def collect_competitors(
    con: duckdb.DuckDBPyConnection,
    refs: list[PersonReference],
    settings: LinkSettings,
    names_table: str,
    right: str,
) -> int:
    """``COMP_SRC``: one row per non-member person with a valid ID that may
    compete with a member for a contested profile, and ``COMP_BLOCK``: the
    (profile, competitor) pairs to score. Returns the number of competitors.

    ``names_table`` maps staged names (``name_in``) to folded ones: a
    contested profile's folded name is looked up under every staged spelling
    seen in this run. ``right`` is the members' feature table.
    """
    _neighbour_ids(con, right)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {NKEYS} AS
        SELECT DISTINCT n.name_in AS name, c.birth, c.unique_id AS profile FROM {CONTESTED} c
        JOIN {names_table} n ON n.name = c.name
        WHERE c.birth IS NOT NULL"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {COMP_SRC} (
            profile BIGINT, pref INTEGER, extract VARCHAR, "row" BIGINT, id_valid VARCHAR,
            name_in VARCHAR, sex_in VARCHAR, birth_in DATE, district VARCHAR)"""
    )
    wanted = settings.competitor_extracts
    for ref in refs:
        if ref.extract == settings.anchor.extract or (
            wanted is not None and ref.extract not in wanted
        ):
            continue
        cols = table_columns(con, ref.extract)
        idv = f"CAST(t.{q(ref.id_no)} AS VARCHAR)"
        only = f"({ref.only_when})" if ref.only_when else "TRUE"
        pref = 0 if ref.extract == settings.tf_name_source else 1
        select = f"""{pref}, {lit(ref.extract)}, CAST(t._row AS BIGINT), {idv},
            {col_or_null(cols, ref.name, "VARCHAR")}, {col_or_null(cols, ref.sex, "VARCHAR")},
            {col_or_null(cols, ref.birth_date, "DATE")},
            {col_or_null(cols, ref.district_code, "VARCHAR")}"""
        # members are no competitors; nor are the upgrades of mistyped legacy
        # numbers (nobody's, exact.queue_unknown_legacy_ids)
        mine = f"""{idv} IS NOT NULL AND {only}
            AND {idv} NOT IN (SELECT person_id FROM {PERSON_IDS})
            AND {idv} NOT IN (SELECT id_src FROM {LEGACY})"""
        con.execute(
            f"""INSERT INTO {COMP_SRC} SELECT w.profile, {select} FROM {q(ref.extract)} t
            JOIN {WKEYS} w ON w.id = {idv} WHERE {mine}"""
        )
        if ref.name and ref.name in cols:
            con.execute(
                f"""INSERT INTO {COMP_SRC} SELECT k.profile, {select} FROM {q(ref.extract)} t
                JOIN {NKEYS} k
                  ON k.name = CAST(t.{q(ref.name)} AS VARCHAR) AND k.birth = substr({idv}, 7, 8)
                WHERE {mine}"""
            )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {COMP_BLOCK} AS
        SELECT DISTINCT profile, id_valid FROM {COMP_SRC}"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {COMP_SRC} AS
        SELECT -row_number() OVER (ORDER BY id_valid) AS unique_id, id_valid AS person_id,
               id_valid, id_valid AS id_src, name_in, sex_in, birth_in, district
        FROM {COMP_SRC}
        QUALIFY row_number() OVER (PARTITION BY id_valid ORDER BY pref, extract, "row") = 1"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {COMP_BLOCK} AS
        SELECT b.profile AS unique_id_l, c.unique_id AS unique_id_r
        FROM {COMP_BLOCK} b JOIN {COMP_SRC} c USING (id_valid)
        ORDER BY 1, 2"""
    )
    row = con.execute(f"SELECT count(*) FROM {COMP_SRC}").fetchall()[0]
    return int(row[0]) if row else 0


def competitor_features(con: duckdb.DuckDBPyConnection, settings: LinkSettings) -> None:
    """``COMP``: the competitors' comparison features (as the members')."""
    features.build_names_table(con, f"SELECT DISTINCT name_in FROM {COMP_SRC}", COMP_NAMES)
    sql = features.features_sql(
        COMP_SRC,
        birth_year_min=settings.birth_year_min,
        birth_year_max=settings.birth_year_max,
        names_table=COMP_NAMES,
        id_valid_sql="TRUE",
    )
    cols = ", ".join(features.FEATURE_COLUMNS)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {COMP} AS
        SELECT unique_id, {cols}, TRUE AS id_ok FROM ({sql}) ORDER BY unique_id"""
    )


def right_persons_sql() -> str:
    """SQL: every scored right-hand record, member rows and competitors alike:
    ``(unique_id, person_id, id_valid, is_member)``."""
    return f"""SELECT member_row AS unique_id, person_id, id_valid, TRUE AS is_member
        FROM {MEMBER_SRC}
        UNION ALL
        SELECT unique_id, person_id, id_valid, FALSE FROM {COMP_SRC}"""


def drop(con: duckdb.DuckDBPyConnection) -> None:
    """Drop this module's work tables."""
    for t in WORK_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {t}")
