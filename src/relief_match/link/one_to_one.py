"""One-to-one: at most one person per reference, from the scored candidate pairs.

Candidates of member rows that are confidently one person enrolled twice
count as one candidate; competing candidates are renormalised (settings
``competing_candidates``) and the best is kept when its probability reaches
``link.min_probability``. The anchor's own rows resolve ``_rm_member_person``.
"""

from __future__ import annotations

import duckdb

from relief_match.link import probabilistic
from relief_match.link.exact import MEMBER_SRC, lit
from relief_match.link.prepare import CAND, PRIOR, PROB, REF_FEAT
from relief_match.link.settings import LinkSettings


def select_one_to_one(
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
