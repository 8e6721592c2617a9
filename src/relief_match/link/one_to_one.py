"""One-to-one: at most one person per reference, from the scored candidate pairs.

Candidates are member persons and the non-members who compete with them
(:mod:`~relief_match.link.population`). Candidates of member rows that are
confidently one person enrolled twice (or a member row and the person its
broken ID belongs to) count as one candidate; competing candidates are
renormalised (settings ``competing_candidates``) and the best is kept when
its probability reaches ``link.min_probability`` *and* it is a recipient
member. A reference whose best candidate alone would reach the threshold but
loses it to a rival is *too close to call* (``CLOSE``): no link, counted and
listed for analysts. The anchor's own rows resolve ``_rm_member_person``.
"""

from __future__ import annotations

import duckdb

from relief_match.link import population, probabilistic
from relief_match.link.exact import MEMBER_SRC, lit
from relief_match.link.prepare import CAND, CLOSE, OTHER, PRIOR, PROB, REF_FEAT
from relief_match.link.settings import LinkSettings

#: The references too close to call (kept after the run for ``links.parquet``).
UNDECIDED = "_rm_link_undecided"


def select_one_to_one(
    con: duckdb.DuckDBPyConnection, settings: LinkSettings, gv: dict[str, dict[str, int]]
) -> tuple[int, int]:
    """Pick at most one person per reference (see settings ``competing_candidates``).

    Returns (references too close to call, references whose best person is
    not a recipient member). The close calls are kept in ``_rm_link_undecided``
    (reference, best candidate person, its renormalised probability and
    weight, number of candidates).
    """
    gammas = ", ".join(f"p.gamma_{c}" for c in gv)
    adj = "CASE WHEN m.is_member THEN pr.adj ELSE pr.adj_other END"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CAND} AS
        SELECT f.extract, f."row", f.role, f.own_person, m.person_id, m.unique_id AS member_row,
               m.is_member, f.profile_id IN (SELECT unique_id FROM {population.CONTESTED}) AS searched,
               p.match_weight + {adj} AS mw, {gammas}
        FROM {probabilistic.PAIRS} p
        JOIN {REF_FEAT} f ON f.profile_id = p.unique_id_l
        JOIN ({population.right_persons_sql()}) m ON m.unique_id = p.unique_id_r
        JOIN {PRIOR} pr ON pr.extract = f.extract AND pr.role = f.role
        WHERE (f.own_person IS NULL OR m.person_id <> f.own_person)
          AND NOT (f.id_ok AND m.id_valid IS NOT NULL)
          AND p.match_weight + {adj} >= {settings.min_candidate_weight}
        QUALIFY row_number() OVER (
            PARTITION BY f.extract, f."row", f.role, m.person_id
            ORDER BY p.match_weight DESC, m.unique_id) = 1"""
    )
    renorm = "TRUE" if settings.renormalise else "FALSE"
    resid = float(settings.outside_population_odds)
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
        WITH gm AS (
            -- the member person of a group (a member row resolved to a non-member
            -- person makes that person a member)
            SELECT person_to AS grp, person_from AS member FROM _rm_link_canon
            WHERE person_from IN (SELECT person_id FROM {MEMBER_SRC})
        ), g AS (
            SELECT c.*, coalesce(k.person_to, c.person_id) AS grp
            FROM {CAND} c LEFT JOIN _rm_link_canon k ON k.person_from = c.person_id
        ), gb AS (
            SELECT *, max(mw) OVER (PARTITION BY extract, "row", role, grp) AS grp_mw
            FROM g
            QUALIFY row_number() OVER (
                PARTITION BY extract, "row", role, grp
                ORDER BY is_member DESC, (person_id = grp) DESC, mw DESC, person_id) = 1
        ), t AS (
            SELECT *, sum(pow(2.0, least(grp_mw, 1000))) OVER (PARTITION BY extract, "row", role) AS tot,
                   count(*) OVER (PARTITION BY extract, "row", role) AS n_candidates,
                   -- the odds that the record is someone else: anyone (1), or, when
                   -- the whole population was searched for rivals, someone the
                   -- delivery does not know
                   CASE WHEN searched THEN {resid} ELSE 1.0 END AS resid
            FROM gb
        ), w AS (
            SELECT *, CASE WHEN {renorm}
                           THEN grp_mw - log2(resid + tot - pow(2.0, least(grp_mw, 1000)))
                           ELSE grp_mw - log2(resid) END AS w
            FROM t
            QUALIFY row_number() OVER (PARTITION BY extract, "row", role
                                       ORDER BY grp_mw DESC, grp) = 1
        )
        , wm AS (
            -- a member row's own person is not another member of its group
            SELECT w.*, (SELECT min(gm.member) FROM gm WHERE gm.grp = w.grp
                         AND gm.member IS DISTINCT FROM w.own_person) AS gm_member
            FROM w
        )
        SELECT wm.* EXCLUDE (gm_member, resid) REPLACE (
                   CASE WHEN is_member THEN person_id ELSE coalesce(gm_member, person_id) END
                       AS person_id,
                   is_member OR gm_member IS NOT NULL AS is_member),
               1 / (1 + pow(2.0, -w)) AS p
        FROM wm
        WHERE 1 / (1 + pow(2.0, -w)) >= {settings.min_probability}
           OR (n_candidates > 1
               AND 1 / (1 + resid * pow(2.0, -grp_mw)) >= {settings.min_probability})"""
    )
    # too close to call: the best alone would be linked, its rivals make it
    # uncertain; no link
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {CLOSE} AS
        SELECT * FROM {PROB} WHERE p < {settings.min_probability} ORDER BY extract, "row", role"""
    )
    # a reference whose best person is not a recipient member makes no link
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {OTHER} AS
        SELECT * FROM {PROB} WHERE p >= {settings.min_probability} AND NOT is_member"""
    )
    con.execute(f"DELETE FROM {PROB} WHERE p < {settings.min_probability} OR NOT is_member")
    con.execute(
        f"""CREATE OR REPLACE TABLE {UNDECIDED} AS
        SELECT extract, "row", role, person_id, is_member,
               CAST(round(p, 6) AS DOUBLE) AS match_probability,
               CAST(round(w, 4) AS DOUBLE) AS match_weight, n_candidates
        FROM {CLOSE} ORDER BY extract, "row", role"""
    )
    con.execute(
        f"""UPDATE _rm_member_person mp SET resolved_person_id = p.person_id
        FROM {PROB} p
        WHERE p.extract = {lit(anchor.extract)} AND p.role = {lit(anchor.role)}
          AND mp.member_row = p."row" """
    )
    con.execute("DROP TABLE IF EXISTS _rm_link_canon")
    counts = con.execute(f"SELECT (SELECT count(*) FROM {CLOSE}), (SELECT count(*) FROM {OTHER})")
    row = counts.fetchall()[0]
    return int(row[0]), int(row[1])
