"""Anchor persons and the ID routes (``exact`` / ``repaired_id``), in DuckDB SQL.

A reference whose staged ID is valid links to the member person with that ID
and to nobody else; a valid ID that matches no member is not linked at all
(a namesake with another ID is another person). References whose ID is
missing or invalid are collected for the probabilistic route.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from relief_match.db import table_exists
from relief_match.link.features import id17_sql, id_check_sql
from relief_match.link.references import PersonReference
from relief_match.link.settings import AnchorSpec
from relief_match.sqlident import quote_ident as q

PERSON_IDS = "_rm_link_person_ids"
MEMBER_SRC = "_rm_link_member_src"
EXACT = "_rm_link_exact"
UNRESOLVED = "_rm_link_unresolved"
KEYS = "_rm_link_keys"
NBKEYS = "_rm_link_nb_keys"
HITS = "_rm_link_hits"
LEGACY = "_rm_link_legacy"
TAIL = "_rm_link_tail"


def legacy_body_sql(cols: set[str], idc: str, clean: str) -> str:
    """SQL: the cleaned ID of extract row ``t``, cut to its 17-digit body when
    it was delivered as a legacy 15-digit number (whose check character the
    upgrade computed from the digits as typed, so it says nothing)."""
    raw = f"{idc}_raw"
    if raw not in cols:
        return clean
    return f"""(CASE WHEN {is_legacy_sql(f"t.{q(raw)}")} THEN substr({clean}, 1, 17)
                ELSE {clean} END)"""


def is_legacy_sql(raw: str) -> str:
    """SQL: the delivered ID ``raw`` has 15 digits (a legacy number)."""
    return f"length(regexp_replace(CAST({raw} AS VARCHAR), '[^0-9]', '', 'g')) = 15"


def lit(value: str) -> str:
    """Quote an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def table_columns(con: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    """Column names of a table or view."""
    return {r[0] for r in con.execute(f"DESCRIBE {q(name)}").fetchall()}


def col_or_null(cols: set[str], col: str | None, cast: str) -> str:
    """SQL: column ``col`` of the extract aliased ``t`` cast to ``cast``, or a typed NULL
    when the extract has no such column."""
    if col and col in cols:
        return f"CAST(t.{q(col)} AS {cast})"
    return f"CAST(NULL AS {cast})"


@dataclass(frozen=True)
class RefCounts:
    """Row counts of one person reference, used for the report and the prior."""

    rows: int
    valid: int
    matched: int
    unresolved: int
    near_miss: int = 0


def build_members(
    con: duckdb.DuckDBPyConnection,
    anchor: AnchorSpec,
    member_ref: PersonReference | None,
    population: PersonReference | None = None,
) -> int:
    """Create ``_rm_persons``, ``_rm_member_person`` and the member feature source.

    One person per distinct valid member ID (``person_id`` = the ID); a member
    row without a valid ID is its own person ``M<_row>``. Two member rows with
    the same valid ID share one person (duplicate enrolment is visible as one
    ``person_id`` in two households). Returns the number of member rows.
    """
    ref = member_ref or anchor.as_ref()
    if not table_exists(con, ref.extract):
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {MEMBER_SRC} (
                member_row BIGINT, person_id VARCHAR, household_id VARCHAR, id_valid VARCHAR,
                id_src VARCHAR, name_in VARCHAR, sex_in VARCHAR, birth_in DATE,
                district VARCHAR)"""
        )
    else:
        cols = table_columns(con, ref.extract)
        idc = ref.id_no
        hh = (
            f"CAST(t.{q(anchor.household_id)} AS VARCHAR)"
            if anchor.household_id in cols
            else "CAST(NULL AS VARCHAR)"
        )
        district = "CAST(NULL AS VARCHAR)"
        join = ""
        if (
            anchor.household_id in cols
            and table_exists(con, anchor.households_extract)
            and {anchor.household_id, anchor.households_district_code}
            <= table_columns(con, anchor.households_extract)
        ):
            join = f"""LEFT JOIN (
                SELECT CAST({q(anchor.household_id)} AS VARCHAR) AS hh_id,
                       min(CAST({q(anchor.households_district_code)} AS VARCHAR)) AS hh_district
                FROM {q(anchor.households_extract)} GROUP BY 1) h
                ON h.hh_id = CAST(t.{q(anchor.household_id)} AS VARCHAR)"""
            district = "h.hh_district"
        clean = f"t.{q(idc + '_clean')}" if f"{idc}_clean" in cols else "CAST(NULL AS VARCHAR)"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {MEMBER_SRC} AS
            SELECT CAST(t._row AS BIGINT) AS member_row,
                coalesce(CAST(t.{q(idc)} AS VARCHAR), 'M' || CAST(t._row AS VARCHAR)) AS person_id,
                {hh} AS household_id,
                CAST(t.{q(idc)} AS VARCHAR) AS id_valid,
                coalesce(CAST(t.{q(idc)} AS VARCHAR), {legacy_body_sql(cols, idc, clean)}) AS id_src,
                {col_or_null(cols, ref.name, "VARCHAR")} AS name_in,
                {col_or_null(cols, ref.sex, "VARCHAR")} AS sex_in,
                {col_or_null(cols, ref.birth_date, "DATE")} AS birth_in,
                {district} AS district
            FROM {q(ref.extract)} t {join}
            ORDER BY member_row"""
        )
    _unknown_legacy_members(con, ref, population)
    con.execute(
        f"""CREATE OR REPLACE TABLE _rm_member_person AS
        SELECT member_row, person_id, household_id, person_id AS resolved_person_id
        FROM {MEMBER_SRC} ORDER BY member_row"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {PERSON_IDS} AS
        SELECT DISTINCT id_valid AS person_id FROM {MEMBER_SRC} WHERE id_valid IS NOT NULL"""
    )
    # The ID-route keys: every member person's valid ID ('p'), plus every
    # valid ID within one mistyped digit or one adjacent swap of a member whose
    # *own* ID is invalid ('v'). A department's valid ID equal to a 'v' key may
    # be that member (the member's ID is the broken one), so such references
    # go to the probabilistic route, paired only with members without a valid
    # ID. Generating the ~170 neighbours per broken member ID keeps the ID
    # route one hash join per extract.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {KEYS} AS
        WITH m AS (
            SELECT DISTINCT {id17_sql("id_src")} AS b FROM {MEMBER_SRC} WHERE id_valid IS NULL
        ), bodies AS (
            SELECT substr(b, 1, p) || CAST(d AS VARCHAR) || substr(b, p + 2) AS body
            FROM m, range(17) r(p), range(10) s(d) WHERE b IS NOT NULL
            UNION
            SELECT substr(b, 1, p) || substr(b, p + 2, 1) || substr(b, p + 1, 1) || substr(b, p + 3)
            FROM m, range(16) r(p) WHERE b IS NOT NULL
        )
        SELECT person_id AS id, 'p' AS kind FROM {PERSON_IDS}
        UNION ALL
        SELECT DISTINCT body || {id_check_sql("body")}, 'v' FROM bodies
        WHERE body || {id_check_sql("body")} NOT IN (SELECT person_id FROM {PERSON_IDS})"""
    )
    # (name, birth date) of members with no usable ID at all (missing or not
    # even 17 digits): a department's valid ID cannot contradict a member who
    # has none, so references with such a name and birth date go to the
    # probabilistic route too (paired only with members without a valid ID),
    # as a reference without an ID would. (A member whose ID is merely
    # invalid is reached through the 'v' keys; any other valid ID would score
    # as a different ID anyway.)
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {NBKEYS} AS
        SELECT DISTINCT name_in AS name, birth_in AS birth FROM {MEMBER_SRC}
        WHERE id_valid IS NULL AND {id17_sql("id_src")} IS NULL
          AND name_in IS NOT NULL AND birth_in IS NOT NULL"""
    )
    row = con.execute(f"SELECT count(*) FROM {MEMBER_SRC}").fetchall()[0]
    return int(row[0]) if row else 0


def _unknown_legacy_members(
    con: duckdb.DuckDBPyConnection, ref: PersonReference, population: PersonReference | None
) -> None:
    """A member row delivered with a legacy 15-digit ID whose upgrade is nobody's
    (no other member row's, nobody's in ``population``) is possibly mistyped:
    it becomes its own person ``M<_row>`` with an invalid ID (its 17-digit
    body), to be resolved like any member row with a broken ID."""
    raw = f"{ref.id_no}_raw"
    if not table_exists(con, ref.extract) or raw not in table_columns(con, ref.extract):
        return
    others = f"""SELECT id_valid FROM {MEMBER_SRC} o
        WHERE o.id_valid = m.id_valid AND o.member_row <> m.member_row"""
    known = "FALSE"
    if population is not None and table_exists(con, population.extract):
        pid = f"CAST(h.{q(population.id_no)} AS VARCHAR)"
        known = f"""m.id_valid IN (SELECT {pid} FROM {q(population.extract)} h
                                   SEMI JOIN {MEMBER_SRC} g ON g.id_valid = {pid})"""
    con.execute(
        f"""UPDATE {MEMBER_SRC} m
        SET person_id = 'M' || CAST(m.member_row AS VARCHAR), id_valid = NULL,
            id_src = substr(m.id_src, 1, 17)
        FROM {q(ref.extract)} t
        WHERE t._row = m.member_row AND m.id_valid IS NOT NULL
          AND {is_legacy_sql(f"t.{q(raw)}")}
          AND NOT EXISTS ({others}) AND NOT ({known})"""
    )


def init_route_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the (empty) exact-link, unresolved-reference and legacy-ID work tables."""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {EXACT} (
            extract VARCHAR, "row" BIGINT, role VARCHAR, person_id VARCHAR, route VARCHAR)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {UNRESOLVED} (
            extract VARCHAR, "row" BIGINT, role VARCHAR, own_person VARCHAR, id_ok BOOLEAN,
            id_src VARCHAR, name_in VARCHAR, sex_in VARCHAR, birth_in DATE, district VARCHAR)"""
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE {LEGACY} AS SELECT * FROM {UNRESOLVED} LIMIT 0")


def queue_unknown_legacy_ids(
    con: duckdb.DuckDBPyConnection, population: PersonReference | None
) -> int:
    """Queue the legacy 15-digit IDs whose 18-digit upgrade belongs to nobody
    (no member, nobody in the ``population`` extract) for the probabilistic
    route, as invalid IDs: a mistyped legacy number still upgrades to a valid
    18-digit one, with a check digit computed from the typo. Only the 17-digit
    body is kept (the legacy number had no check digit to compare). Returns
    the number of references queued. ``LEGACY`` keeps them: their upgraded
    numbers are nobody's, so they make no person either."""
    nobody = "TRUE"
    if population is not None and table_exists(con, population.extract):
        # probe the (large) population with the (few) legacy IDs
        pid = f"CAST(h.{q(population.id_no)} AS VARCHAR)"
        nobody = f"""id_src NOT IN (SELECT {pid} FROM {q(population.extract)} h
                                   SEMI JOIN {LEGACY} g ON g.id_src = {pid})"""
    before = int(con.execute(f"SELECT count(*) FROM {UNRESOLVED}").fetchall()[0][0])
    con.execute(f"DELETE FROM {LEGACY} WHERE NOT ({nobody})")
    con.execute(
        f"""INSERT INTO {UNRESOLVED}
        SELECT * REPLACE (substr(id_src, 1, 17) AS id_src) FROM {LEGACY}"""
    )
    after = int(con.execute(f"SELECT count(*) FROM {UNRESOLVED}").fetchall()[0][0])
    return after - before


def route_reference(
    con: duckdb.DuckDBPyConnection, spec: PersonReference, *, is_anchor: bool
) -> RefCounts:
    """Run the ID route for one person reference and queue its unresolved rows.

    ``exact`` when ``<id>_status = 'ok'``, ``repaired_id`` when ``'repaired'``;
    both only when the ID equals a member person's ID. Rows with
    ``<id>_status`` in (``invalid``, ``missing``) go to the unresolved queue.
    For the anchor extract (role ``member``) no ID link is written: a member
    row's valid ID *is* its person; its unresolved rows are queued with their
    own person so that the probabilistic route can exclude it.
    """
    cols = table_columns(con, spec.extract)
    idc = spec.id_no
    if idc not in cols:
        raise ValueError(f"{spec.extract}: person reference column {idc!r} is not staged")
    status = f"t.{q(idc + '_status')}" if f"{idc}_status" in cols else None
    # the staged ID column holds a valid ID or NULL (design.md §3)
    unresolved_cond = (
        f"coalesce({status}, 'missing') IN ('invalid', 'missing')"
        if status
        else f"t.{q(idc)} IS NULL"
    )
    only = f"({spec.only_when})" if spec.only_when else "TRUE"
    ex, role = lit(spec.extract), lit(spec.role)
    tbl = q(spec.extract)
    idv = f"CAST(t.{q(idc)} AS VARCHAR)"
    rest = f"""{col_or_null(cols, spec.name, "VARCHAR")} AS name_in,
                {col_or_null(cols, spec.sex, "VARCHAR")} AS sex_in,
                {col_or_null(cols, spec.birth_date, "DATE")} AS birth_in,
                {col_or_null(cols, spec.district_code, "VARCHAR")} AS district"""

    n_rows, n_valid = (
        int(x)
        for x in con.execute(
            f"SELECT count(*), count(t.{q(idc)}) FROM {tbl} t WHERE {only}"
        ).fetchall()[0]
    )

    def _n_queued() -> int:
        return int(
            con.execute(
                f"SELECT count(*) FROM {UNRESOLVED} WHERE extract = {ex} AND role = {role}"
            ).fetchall()[0][0]
        )

    n_near = 0
    if is_anchor:
        row = con.execute(
            f"""SELECT count(*) FROM {MEMBER_SRC} a
                WHERE a.id_valid IS NOT NULL AND EXISTS (
                    SELECT 1 FROM {MEMBER_SRC} b
                    WHERE b.id_valid = a.id_valid AND b.member_row <> a.member_row)"""
        ).fetchall()[0]
        n_matched = int(row[0]) if row else 0
        own = "'M' || CAST(t._row AS VARCHAR)"
    else:
        st = status or "'ok'"
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {HITS} AS
            SELECT CAST(t._row AS BIGINT) AS "row", {idv} AS id, {st} AS status, k.kind
            FROM {tbl} t JOIN {KEYS} k ON k.id = {idv}
            WHERE {only}"""
        )
        con.execute(
            f"""INSERT INTO {EXACT}
            SELECT {ex}, "row", {role}, id,
                   CASE WHEN status = 'repaired' THEN 'repaired_id' ELSE 'exact' END
            FROM {HITS} WHERE kind = 'p'"""
        )
        n_matched, n_v = (
            int(x)
            for x in con.execute(
                f"SELECT count(*) FILTER (WHERE kind = 'p'), count(*) FILTER (WHERE kind = 'v') FROM {HITS}"
            ).fetchall()[0]
        )
        if n_v:
            con.execute(
                f"""INSERT INTO {UNRESOLVED}
                SELECT {ex}, CAST(t._row AS BIGINT), {role}, NULL, TRUE, {idv}, {rest}
                FROM {tbl} t
                WHERE t._row IN (SELECT "row" FROM {HITS} WHERE kind = 'v') AND {only}"""
            )
        n_nb = con.execute(f"SELECT count(*) FROM {NBKEYS}").fetchall()[0][0]
        if n_nb and spec.name and spec.name in cols:
            birth = (
                f"t.{q(spec.birth_date)}"
                if spec.birth_date and spec.birth_date in cols
                else (f"t.{q(idc + '_birth')}" if f"{idc}_birth" in cols else "NULL")
            )
            if f"{idc}_birth" in cols and birth != f"t.{q(idc + '_birth')}":
                birth = f"coalesce({birth}, t.{q(idc + '_birth')})"
            con.execute(
                f"""INSERT INTO {UNRESOLVED}
                SELECT {ex}, CAST(t._row AS BIGINT), {role}, NULL, TRUE, {idv}, {rest}
                FROM {tbl} t
                SEMI JOIN {NBKEYS} k
                  ON k.name = CAST(t.{q(spec.name)} AS VARCHAR) AND k.birth = CAST({birth} AS DATE)
                WHERE t.{q(idc)} IS NOT NULL AND {only}
                  AND t._row NOT IN (SELECT "row" FROM {HITS})"""
            )
        n_near = _n_queued()
        own = "CAST(NULL AS VARCHAR)"

    if is_anchor:
        # member rows whose legacy ID is nobody's are invalid too (build_members)
        unresolved_cond = f"""({unresolved_cond} OR t._row IN (
            SELECT member_row FROM {MEMBER_SRC} WHERE id_valid IS NULL))"""
    # a legacy 15-digit number whose upgrade is no member's is possibly
    # mistyped (queue_unknown_legacy_ids); found in the same scan
    raw = f"{idc}_raw"
    legacy = (
        f"({status} = 'repaired' AND {is_legacy_sql(f't.{q(raw)}')})"
        if status and raw in cols and not is_anchor
        else "FALSE"
    )
    clean = f"t.{q(idc + '_clean')}" if f"{idc}_clean" in cols else "CAST(NULL AS VARCHAR)"
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {TAIL} AS
        SELECT {ex} AS extract, CAST(t._row AS BIGINT) AS "row", {role} AS role,
            {own} AS own_person, FALSE AS id_ok,
            CAST({legacy_body_sql(cols, idc, clean)} AS VARCHAR) AS id_src, {rest},
            {legacy} AS legacy, {idv} AS id_valid
        FROM {tbl} t WHERE ({unresolved_cond} OR {legacy}) AND {only}"""
    )
    con.execute(
        f"INSERT INTO {UNRESOLVED} SELECT * EXCLUDE (legacy, id_valid) FROM {TAIL} WHERE NOT legacy"
    )
    if legacy != "FALSE":
        con.execute(
            f"""INSERT INTO {LEGACY}
            SELECT * EXCLUDE (legacy, id_valid) REPLACE (id_valid AS id_src) FROM {TAIL}
            WHERE legacy AND "row" NOT IN (SELECT "row" FROM {HITS})"""
        )
    for t in (TAIL, HITS):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    n_unres = _n_queued() - n_near
    return RefCounts(
        rows=n_rows, valid=n_valid, matched=n_matched, unresolved=n_unres, near_miss=n_near
    )
