"""A staged-table city for testing and benchmarking the linker (a test helper,
imported by tests/test_link*.py and benchmarks/bench_link.py).

``make_staged_city`` writes, straight into DuckDB (SQL ``range()`` and
hash-based pseudo-randomness, so a 6 M-person city takes seconds), tables
shaped like the stage step's output (design.md §3): ``recipients_households``,
``recipients_members``, ``hukou_registry``, ``motor_vehicles``,
``death_certificates``, ``social_insurance``, ``benefit_payments``,
``marriage_registrations`` with the ``_row/_file`` meta columns and the
``c/_raw/_clean/_status/_birth/_sex`` ID columns. Defects follow the data
contract §3: mistyped digits, adjacent swaps, wrong check digits, missing IDs,
15-digit IDs, traditional characters, homophones, pinyin and ``?`` in names.

It also writes ``_city_truth(extract, row, role, true_id, difficulty, kind)``:
the population ID behind every reference row, so that precision and recall
can be measured (``evaluate``). It is independent of ``relief_match.synth``
(the delivery-level generator) and exists so that the link stage can be
tested and benchmarked on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from relief_match.link import PersonReference
from relief_match.link.features import id_check_sql
from relief_match.text import char_pinyin

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国文辉玲红斌宇浩凯俊峰鹏飞燕雪琳晨欣怡佳颖婷慧瑶"
    "梦雨思涵子轩博泽一诺梓萱然桐嘉晓东海波志春梅玉珍金凤淑德胜永爱世家豪振少冬云龙林成荣新利清亮宏光"
)
HOMOPHONE = {
    "伟": "玮",
    "芳": "方",
    "丽": "莉",
    "军": "君",
    "明": "铭",
    "华": "桦",
    "红": "虹",
    "平": "萍",
    "静": "婧",
    "杰": "洁",
    "涛": "滔",
    "勇": "永",
    "玲": "铃",
    "霞": "侠",
    "斌": "彬",
    "峰": "锋",
    "鹏": "朋",
    "飞": "菲",
    "婷": "亭",
    "颖": "莹",
}
TRADITIONAL = {
    "陈": "陳",
    "刘": "劉",
    "张": "張",
    "杨": "楊",
    "黄": "黃",
    "赵": "趙",
    "吴": "吳",
    "郑": "鄭",
    "伟": "偉",
    "丽": "麗",
    "华": "華",
    "军": "軍",
    "国": "國",
    "红": "紅",
    "龙": "龍",
    "东": "東",
    "马": "馬",
    "孙": "孫",
    "凤": "鳳",
    "兰": "蘭",
}
DISTRICTS = ("441302", "441303", "441322", "441323", "441324")


@dataclass(frozen=True)
class CityShape:
    """Sizes and defect rates of a generated city (rates are per reference row)."""

    population: int = 20_000
    members: int = 600
    vehicle_share: float = 0.15
    death_share: float = 0.03
    insured_share: float = 0.25
    insured_months: int = 12
    pension_share: float = 0.0
    pension_months: int = 12
    married_share: float = 0.05
    member_ref_boost: float = 4.0  # members appear in department extracts more often
    id_typo: float = 0.01
    id_swap: float = 0.006
    id_check: float = 0.004
    id_missing: float = 0.01
    id_15: float = 0.01
    id_spaces: float = 0.01
    death_id_missing: float = 0.4
    name_traditional: float = 0.02
    name_homophone: float = 0.01
    name_pinyin: float = 0.005
    name_qmark: float = 0.005
    member_id_typo: float = 0.02
    member_id_missing: float = 0.01
    duplicate_enrolment: float = 0.01
    decoy_namesakes: float = 0.05
    extracts: tuple[str, ...] = (
        "hukou_registry",
        "motor_vehicles",
        "death_certificates",
        "social_insurance",
        "benefit_payments",
        "marriage_registrations",
    )
    extra: dict[str, Any] = field(default_factory=dict)


CITY_REFS: tuple[PersonReference, ...] = (
    PersonReference("recipients_members", "member", "id_no", "name", "sex", "birth_date"),
    PersonReference(
        "hukou_registry", "resident", "id_no", "name", "sex", "birth_date", "district_code"
    ),
    PersonReference("motor_vehicles", "owner", "owner_id_no", "owner_name"),
    PersonReference(
        "death_certificates", "deceased", "id_no", "name", "sex", "birth_date", "district_code"
    ),
    PersonReference("social_insurance", "insured", "id_no", "name"),
    PersonReference("pension_payments", "pensioner", "id_no", "name"),
    PersonReference("benefit_payments", "payee", "payee_id_no"),
    PersonReference("marriage_registrations", "party_a", "party_a_id_no", "party_a_name"),
    PersonReference("marriage_registrations", "party_b", "party_b_id_no", "party_b_name"),
)


def _u(key: str, tag: str, seed: int) -> str:
    """A uniform [0, 1) pseudo-random number from a key expression."""
    return f"((hash({key}, {seed}, '{tag}') % 1000003) / 1000003.0)"


def _pick(chars: str, u: str) -> str:
    return f"substr('{chars}', 1 + CAST(floor({len(chars)} * {u}) AS INTEGER), 1)"


def _translate_sql(expr: str, mapping: dict[str, str]) -> str:
    return f"translate({expr}, '{''.join(mapping)}', '{''.join(mapping.values())}')"


def _register_pinyin(con: duckdb.DuckDBPyConnection) -> None:
    chars = sorted(set(SURNAMES + GIVEN + "".join(HOMOPHONE.values())))
    con.execute("CREATE OR REPLACE TEMP TABLE _city_py (ch VARCHAR, py VARCHAR)")
    con.executemany("INSERT INTO _city_py VALUES (?, ?)", [(c, char_pinyin(c)) for c in chars])


def _population(con: duckdb.DuckDBPyConnection, shape: CityShape, seed: int) -> None:
    n = shape.population
    u = lambda tag: _u("i", tag, seed)  # noqa: E731
    region = (
        f"CASE WHEN {u('out')} < 0.1 THEN '445102' ELSE "
        f"list_element({list(DISTRICTS)}, 1 + CAST(floor(5 * {u('reg')}) AS INTEGER)) END"
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _city_pop0 AS
        SELECT i,
            {region} AS region,
            DATE '1930-01-01' + CAST(floor(31000 * {u("birth")}) AS INTEGER) AS birth,
            lpad(CAST(CAST(floor(1000 * {u("seq")}) AS INTEGER) AS VARCHAR), 3, '0') AS seq,
            {_pick(SURNAMES, f"pow({u('sur')}, 2)")} AS surname,
            {_pick(GIVEN, f"pow({u('g1')}, 1.6)")} AS g1,
            CASE WHEN {u("g2n")} < 0.7 THEN {_pick(GIVEN, f"pow({u('g2')}, 1.6)")} ELSE '' END AS g2
        FROM range({n}) t(i)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _city_pop AS
        WITH a AS (
            SELECT *, region || strftime(birth, '%Y%m%d') || seq AS s17,
                   surname || g1 || g2 AS name,
                   CASE WHEN CAST(substr(seq, 3, 1) AS INTEGER) % 2 = 1 THEN '男' ELSE '女' END AS sex
            FROM _city_pop0
        )
        SELECT i, s17 || {id_check_sql("s17")} AS id, name, sex, birth,
               CASE WHEN region = '445102' THEN
                   list_element({list(DISTRICTS)}, 1 + CAST(floor(5 * {u("dist")}) AS INTEGER))
                   ELSE region END AS district
        FROM a
        QUALIFY row_number() OVER (PARTITION BY s17 ORDER BY i) = 1"""
    )
    con.execute("DROP TABLE _city_pop0")


def _members(con: duckdb.DuckDBPyConnection, shape: CityShape, seed: int) -> None:
    n_pop = shape.population
    step = max(n_pop // max(shape.members, 1), 1)
    # members: every step-th person (deterministic spread), grouped 2-3 per household
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _city_mem0 AS
        SELECT row_number() OVER (ORDER BY i) - 1 AS k, p.*
        FROM _city_pop p WHERE i % {step} = {seed % step} AND i < {step * shape.members}"""
    )
    u = lambda tag: _u("k", tag, seed)  # noqa: E731
    typo = _typo_sql("id", u("mtp"), u("mtp2"))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _city_members AS
        WITH base AS (
            SELECT k, i, id, name, sex, birth, district, 'H' || lpad(CAST(k // 2 AS VARCHAR), 6, '0') AS household_id,
                   {u("mtypo")} < {shape.member_id_typo} AS bad_id,
                   {u("mtypo")} >= {shape.member_id_typo}
                   AND {u("mtypo")} < {shape.member_id_typo + shape.member_id_missing} AS no_id,
                   FALSE AS dup
            FROM _city_mem0
            UNION ALL
            SELECT k, i, id, name, sex, birth, district,
                   'H' || lpad(CAST(100000 + k AS VARCHAR), 6, '0') AS household_id,
                   {u("dupbad")} < 0.5 AS bad_id, FALSE AS no_id, TRUE AS dup
            FROM _city_mem0 WHERE {u("dup")} < {shape.duplicate_enrolment}
        )
        SELECT row_number() OVER (ORDER BY dup, k) + 1 AS _row, *,
               CASE WHEN bad_id THEN {typo} ELSE id END AS id_given
        FROM base"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE recipients_households AS
        SELECT household_id, any_value(district ORDER BY k) AS district_code, '在保' AS status,
               row_number() OVER (ORDER BY household_id) + 1 AS _row,
               'civil_affairs/recipients_households.csv' AS _file
        FROM _city_members GROUP BY household_id ORDER BY household_id"""
    )
    con.execute(
        """CREATE OR REPLACE TABLE recipients_members AS
        SELECT _row, 'civil_affairs/recipients_members.csv' AS _file, household_id,
            CASE WHEN bad_id OR no_id THEN NULL ELSE id END AS id_no,
            CASE WHEN no_id THEN '' ELSE id_given END AS id_no_raw,
            CASE WHEN no_id THEN NULL ELSE id_given END AS id_no_clean,
            CASE WHEN bad_id THEN 'invalid' WHEN no_id THEN 'missing' ELSE 'ok' END AS id_no_status,
            CASE WHEN bad_id OR no_id THEN NULL ELSE birth END AS id_no_birth,
            CASE WHEN bad_id OR no_id THEN NULL ELSE sex END AS id_no_sex,
            name, name AS name_raw, CAST(NULL AS VARCHAR) AS name_note,
            sex, birth AS birth_date, '户主' AS relation
        FROM _city_members ORDER BY _row"""
    )
    con.execute("DROP TABLE _city_mem0")


def _typo_sql(id_expr: str, u1: str, u2: str) -> str:
    """One mistyped digit among the first 17 (always breaks the checksum)."""
    pos = f"CAST(floor(17 * {u1}) AS INTEGER)"
    shift = f"(1 + CAST(floor(9 * {u2}) AS INTEGER))"
    return (
        f"(substr({id_expr}, 1, {pos}) || "
        f"CAST((CAST(substr({id_expr}, {pos} + 1, 1) AS INTEGER) + {shift}) % 10 AS VARCHAR) || "
        f"substr({id_expr}, {pos} + 2))"
    )


def _swap_sql(id_expr: str, u1: str) -> str:
    """Two adjacent digits among the first 17 swapped (picks a pair that differs)."""
    # try the chosen position, fall back to the first differing pair after it
    pos = f"CAST(floor(16 * {u1}) AS INTEGER)"
    return (
        f"(substr({id_expr}, 1, {pos}) || substr({id_expr}, {pos} + 2, 1) || "
        f"substr({id_expr}, {pos} + 1, 1) || substr({id_expr}, {pos} + 3))"
    )


def _ref_table(
    con: duckdb.DuckDBPyConnection,
    shape: CityShape,
    seed: int,
    *,
    extract: str,
    file: str,
    base_sql: str,
    id_col: str,
    name_col: str | None,
    extra_cols: str,
    id_missing: float | None = None,
    role: str,
) -> None:
    """Apply ID and name defects to ``base_sql`` (columns i, rk, id, name, sex, birth,
    district, extras...) and write the staged table plus truth rows."""
    u = lambda tag: _u("rk", tag, seed)  # noqa: E731
    p_missing = shape.id_missing if id_missing is None else id_missing
    cuts = []
    acc = 0.0
    for kind, p in (
        ("typo", shape.id_typo),
        ("swap", shape.id_swap),
        ("check", shape.id_check),
        ("missing", p_missing),
        ("id15", shape.id_15),
        ("spaces", shape.id_spaces),
    ):
        acc += p
        cuts.append(f"WHEN {u('iddef')} < {acc:.6f} THEN '{kind}'")
    id_kind = "CASE " + " ".join(cuts) + " ELSE 'ok' END"
    ncuts = []
    acc = 0.0
    for kind, p in (
        ("traditional", shape.name_traditional),
        ("homophone", shape.name_homophone),
        ("pinyin", shape.name_pinyin),
        ("qmark", shape.name_qmark),
    ):
        acc += p
        ncuts.append(f"WHEN {u('namedef')} < {acc:.6f} THEN '{kind}'")
    name_kind = "CASE " + " ".join(ncuts) + " ELSE 'ok' END"
    typo = _typo_sql("id", u("tp1"), u("tp2"))
    swap = _swap_sql("id", u("sw1"))
    wrong_check = (
        "substr(id, 1, 17) || CASE WHEN substr(id, 18, 1) = '9' THEN '0' "
        "WHEN substr(id, 18, 1) = 'X' THEN '1' "
        "ELSE CAST(CAST(substr(id, 18, 1) AS INTEGER) + 1 AS VARCHAR) END"
    )
    py = (
        "(SELECT upper(substr(p1.py, 1, 1)) || substr(p1.py, 2) FROM _city_py p1 WHERE p1.ch = substr(name, 1, 1))"
        " || ' ' || (SELECT upper(substr(p2.py, 1, 1)) || substr(p2.py, 2) FROM _city_py p2 WHERE p2.ch = substr(name, 2, 1))"
        " || coalesce((SELECT p3.py FROM _city_py p3 WHERE p3.ch = substr(name, 3, 1)), '')"
    )
    homophone = _translate_sql("substr(name, 2)", HOMOPHONE)
    n_sql = ""
    if name_col:
        n_sql = f""",
            CASE nk WHEN 'homophone' THEN
                    CASE WHEN {homophone} <> substr(name, 2) THEN substr(name, 1, 1) || {homophone}
                         ELSE substr(name, 1, length(name) - 1) || '?' END
                 WHEN 'pinyin' THEN {py}
                 WHEN 'qmark' THEN substr(name, 1, length(name) - 1) || '?'
                 ELSE name END AS {name_col},
            CASE nk WHEN 'traditional' THEN {_translate_sql("name", TRADITIONAL)}
                 WHEN 'homophone' THEN
                    CASE WHEN {homophone} <> substr(name, 2) THEN substr(name, 1, 1) || {homophone}
                         ELSE substr(name, 1, length(name) - 1) || '?' END
                 WHEN 'pinyin' THEN {py}
                 WHEN 'qmark' THEN substr(name, 1, length(name) - 1) || '?'
                 ELSE name END AS {name_col}_raw,
            CAST(NULL AS VARCHAR) AS {name_col}_note"""
    c = id_col
    # one pass straight into the staged table (city scale: tens of millions of
    # rows); the truth columns ride along and are dropped afterwards
    con.execute(
        f"""CREATE OR REPLACE TABLE {extract} AS
        WITH b AS (
            SELECT *, {id_kind} AS ik0, {name_kind if name_col else "'ok'"} AS nk FROM ({base_sql})
        ), b2 AS (
            SELECT * EXCLUDE (ik0),
                CASE WHEN ik0 = 'id15' AND year(birth) >= 2000 THEN 'ok'
                     -- a swap of two equal digits changes nothing
                     WHEN ik0 = 'swap' AND {swap} = id THEN 'ok'
                     ELSE ik0 END AS ik2
            FROM b
        )
        SELECT rk + 2 AS _row, '{file}' AS _file,
            CASE WHEN ik2 IN ('ok', 'id15', 'spaces') THEN id END AS {c},
            CASE ik2 WHEN 'typo' THEN {typo} WHEN 'swap' THEN {swap} WHEN 'check' THEN {wrong_check}
                WHEN 'missing' THEN '' WHEN 'id15' THEN substr(id, 1, 6) || substr(id, 9, 9)
                WHEN 'spaces' THEN substr(id, 1, 6) || ' ' || substr(id, 7, 8) || ' ' || substr(id, 15)
                ELSE id END AS {c}_raw,
            CASE ik2 WHEN 'typo' THEN {typo} WHEN 'swap' THEN {swap} WHEN 'check' THEN {wrong_check}
                WHEN 'missing' THEN NULL ELSE id END AS {c}_clean,
            CASE WHEN ik2 IN ('typo', 'swap', 'check') THEN 'invalid' WHEN ik2 = 'missing' THEN 'missing'
                WHEN ik2 IN ('id15', 'spaces') THEN 'repaired' ELSE 'ok' END AS {c}_status,
            CASE WHEN ik2 IN ('ok', 'id15', 'spaces') THEN birth END AS {c}_birth,
            CASE WHEN ik2 IN ('ok', 'id15', 'spaces') THEN sex END AS {c}_sex
            {n_sql},
            {extra_cols},
            id AS _t_true_id, ik2 AS _t_ik, nk AS _t_nk
        FROM b2"""
    )
    con.execute(
        f"""INSERT INTO _city_truth
        SELECT '{extract}', _row, '{role}', _t_true_id,
            CASE WHEN _t_ik IN ('typo') THEN 'fuzzy_typo' WHEN _t_ik = 'swap' THEN 'fuzzy_transposed'
                 WHEN _t_ik = 'check' THEN 'fuzzy_typo'
                 WHEN _t_ik = 'missing' THEN 'fuzzy_no_id'
                 WHEN _t_ik IN ('id15', 'spaces') THEN 'messy_id'
                 WHEN _t_nk = 'traditional' THEN 'traditional' ELSE 'clean' END,
            _t_nk
        FROM {extract}"""
    )
    for col in ("_t_true_id", "_t_ik", "_t_nk"):
        con.execute(f"ALTER TABLE {extract} DROP COLUMN {col}")


def make_staged_city(
    con: duckdb.DuckDBPyConnection, shape: CityShape | None = None, seed: int = 7
) -> CityShape:
    """Write a staged city onto ``con`` (see module docstring); returns the shape used."""
    shape = shape or CityShape()
    _register_pinyin(con)
    _population(con, shape, seed)
    _members(con, shape, seed)
    con.execute(
        """CREATE OR REPLACE TABLE _city_truth (
            extract VARCHAR, "row" BIGINT, role VARCHAR, true_id VARCHAR,
            difficulty VARCHAR, name_kind VARCHAR)"""
    )
    # members' own rows: truth is their person
    con.execute(
        """INSERT INTO _city_truth
        SELECT 'recipients_members', _row, 'member', id,
               CASE WHEN bad_id THEN 'fuzzy_typo' WHEN no_id THEN 'fuzzy_no_id' ELSE 'clean' END, 'ok'
        FROM _city_members"""
    )
    boost = shape.member_ref_boost
    is_member = "(p.i IN (SELECT i FROM _city_members))"
    sel = lambda tag, share: (  # noqa: E731
        f"({_u('p.i', tag, seed)} < {share} * CASE WHEN {is_member} THEN {boost} ELSE 1 END)"
    )
    # decoy namesakes: a person with a member's name and sex, another birth date and ID
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _city_decoys AS
        SELECT 10000000000 + m.k AS i,
            substr(m.id, 1, 6) || strftime(m.birth + 400 + CAST(floor(3000 * {_u("m.k", "db", seed)}) AS INTEGER), '%Y%m%d')
              || lpad(CAST(CAST(floor(500 * {_u("m.k", "ds", seed)}) AS INTEGER) * 2
                      + CASE WHEN m.sex = '男' THEN 1 ELSE 0 END AS VARCHAR), 3, '0') AS s17,
            m.name, m.sex,
            m.birth + 400 + CAST(floor(3000 * {_u("m.k", "db", seed)}) AS INTEGER) AS birth,
            m.district
        FROM _city_members m WHERE NOT m.dup AND {_u("m.k", "decoy", seed)} < {shape.decoy_namesakes}"""
    )
    con.execute(
        f"""INSERT INTO _city_pop
        SELECT i, s17 || {id_check_sql("s17")}, name, sex, birth, district FROM _city_decoys"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _city_decoy_ids AS
        SELECT i FROM _city_pop WHERE i >= 10000000000"""
    )
    is_decoy = "(p.i >= 10000000000)"
    if "hukou_registry" in shape.extracts:
        _ref_table(
            con,
            shape,
            seed,
            extract="hukou_registry",
            file="public_security/hukou_registry.csv",
            base_sql="SELECT p.i, p.i AS rk, p.id, p.name, p.sex, p.birth, p.district FROM _city_pop p",
            id_col="id_no",
            name_col="name",
            extra_cols="sex, birth AS birth_date, district AS district_code, '正常' AS status",
            role="resident",
        )
    if "motor_vehicles" in shape.extracts:
        _ref_table(
            con,
            shape,
            seed + 1,
            extract="motor_vehicles",
            file="public_security/motor_vehicles.csv",
            base_sql=f"""SELECT p.i, p.i AS rk, p.id, p.name, p.sex, p.birth, p.district
                FROM _city_pop p WHERE {sel("veh", shape.vehicle_share)} OR {is_decoy}""",
            id_col="owner_id_no",
            name_col="owner_name",
            extra_cols="'粤L' || lpad(CAST(i % 100000 AS VARCHAR), 5, '0') AS plate_no, '小型汽车' AS vehicle_type, '正常' AS status",
            role="owner",
        )
    if "death_certificates" in shape.extracts:
        _ref_table(
            con,
            shape,
            seed + 2,
            extract="death_certificates",
            file="health/death_certificates.csv",
            base_sql=f"""SELECT p.i, p.i AS rk, p.id, p.name, p.sex, p.birth, p.district
                FROM _city_pop p WHERE {sel("death", shape.death_share)} OR {is_decoy}""",
            id_col="id_no",
            name_col="name",
            extra_cols="sex, birth AS birth_date, district AS district_code, DATE '2024-03-01' AS death_date",
            id_missing=shape.death_id_missing,
            role="deceased",
        )
    if "social_insurance" in shape.extracts:
        months = shape.insured_months
        _ref_table(
            con,
            shape,
            seed + 3,
            extract="social_insurance",
            file="human_resources/social_insurance.csv",
            base_sql=f"""SELECT p.i, p.i * {months} + m AS rk, p.id, p.name, p.sex, p.birth, p.district, m
                FROM _city_pop p, range({months}) t(m) WHERE {sel("ins", shape.insured_share)}""",
            id_col="id_no",
            name_col="name",
            extra_cols="'职工养老' AS insurance_type, DATE '2024-01-01' + INTERVAL (m) MONTH AS contribution_month",
            role="insured",
        )
    if shape.pension_share > 0:
        months = shape.pension_months
        _ref_table(
            con,
            shape,
            seed + 6,
            extract="pension_payments",
            file="human_resources/pension_payments.csv",
            base_sql=f"""SELECT p.i, p.i * {months} + m AS rk, p.id, p.name, p.sex, p.birth, p.district, m
                FROM _city_pop p, range({months}) t(m) WHERE {sel("pen", shape.pension_share)}""",
            id_col="id_no",
            name_col="name",
            extra_cols="'企业职工' AS pension_type, DATE '2024-01-01' + INTERVAL (m) MONTH AS pay_month, 2000.0 AS amount",
            role="pensioner",
        )
    if "benefit_payments" in shape.extracts:
        _ref_table(
            con,
            shape,
            seed + 4,
            extract="benefit_payments",
            file="civil_affairs/benefit_payments.csv",
            base_sql="""SELECT m.i, m._row * 12 + t.mo AS rk, m.id, m.name, m.sex, m.birth, m.district,
                    m.household_id, t.mo FROM _city_members m, range(12) t(mo)
                WHERE m.k % 2 = 0 AND NOT m.dup""",
            id_col="payee_id_no",
            name_col=None,
            extra_cols="household_id, DATE '2024-01-01' + INTERVAL (mo) MONTH AS pay_month, 500.0 AS amount",
            role="payee",
        )
    if "marriage_registrations" in shape.extracts:
        # party_a: a (male) person; party_b: someone else
        _ref_table(
            con,
            shape,
            seed + 5,
            extract="marriage_registrations",
            file="civil_affairs/marriage_registrations.csv",
            base_sql=f"""SELECT p.i, p.i AS rk, p.id, p.name, p.sex, p.birth, p.district
                FROM _city_pop p WHERE {sel("mar", shape.married_share)} AND p.sex = '男'""",
            id_col="party_a_id_no",
            name_col="party_a_name",
            extra_cols="'结婚' AS reg_type, DATE '2020-05-20' AS reg_date",
            role="party_a",
        )
        # party_b columns: a clean second party (a random female), no defects
        con.execute(
            """CREATE OR REPLACE TABLE marriage_registrations AS
            SELECT r.* EXCLUDE (n), q.id AS party_b_id_no, q.id AS party_b_id_no_raw, q.id AS party_b_id_no_clean,
                'ok' AS party_b_id_no_status, q.birth AS party_b_id_no_birth, q.sex AS party_b_id_no_sex,
                q.name AS party_b_name, q.name AS party_b_name_raw, CAST(NULL AS VARCHAR) AS party_b_name_note
            FROM (SELECT row_number() OVER (ORDER BY _row) AS n, * FROM marriage_registrations) r
            JOIN (SELECT row_number() OVER (ORDER BY i) AS n, * FROM _city_pop WHERE sex = '女' AND i < 10000000000) q
              ON q.n = r.n
            ORDER BY r._row"""
        )
        con.execute(
            """INSERT INTO _city_truth
            SELECT 'marriage_registrations', _row, 'party_b', party_b_id_no, 'clean', 'ok'
            FROM marriage_registrations"""
        )
    # kind: planted (belongs to a member), decoy (namesake of a member), background
    con.execute(
        """CREATE OR REPLACE TABLE _city_truth AS
        SELECT t.*, CASE WHEN t.true_id IN (SELECT id FROM _city_members) THEN 'planted'
                         WHEN t.true_id IN (SELECT id FROM _city_pop WHERE i >= 10000000000) THEN 'decoy'
                         ELSE 'background' END AS kind
        FROM _city_truth t ORDER BY extract, "row", role"""
    )
    # acceptable persons for each true ID: the member persons of that human
    con.execute(
        """CREATE OR REPLACE TABLE _city_person_truth AS
        SELECT DISTINCT id AS true_id,
               CASE WHEN bad_id OR no_id THEN 'M' || CAST(_row AS VARCHAR) ELSE id END AS person_id,
               no_id
        FROM _city_members"""
    )
    for t in ("_city_decoys", "_city_decoy_ids", "_city_py"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return shape


@dataclass(frozen=True)
class LinkQuality:
    """Precision / recall of ``_rm_links`` against ``_city_truth``."""

    links: int
    correct: int
    wrong: int
    expected: int
    found: int
    precision: float
    recall: float
    recall_by_difficulty: dict[str, tuple[int, int]]
    decoys_linked: int

    def asstr(self) -> str:
        """One line per figure."""
        lines = [
            f"links {self.links}: correct {self.correct}, wrong {self.wrong}, "
            f"precision {self.precision:.4f}",
            f"recall {self.recall:.4f} ({self.found}/{self.expected}); decoys linked {self.decoys_linked}",
        ]
        for d, (f, e) in sorted(self.recall_by_difficulty.items()):
            lines.append(f"  {d}: {f}/{e} = {f / e if e else 1.0:.4f}")
        return "\n".join(lines)


def _quality(con: duckdb.DuckDBPyConnection, decoy_linked: str) -> LinkQuality:
    """Summarise ``_city_eval``; ``decoy_linked`` is the SQL condition of a linked decoy."""
    row = con.execute(
        f"""SELECT count(*) FILTER (WHERE is_linked),
                  count(*) FILTER (WHERE is_linked AND ok),
                  count(*) FILTER (WHERE is_linked AND NOT ok),
                  count(*) FILTER (WHERE expected),
                  count(*) FILTER (WHERE expected AND is_linked AND ok),
                  count(*) FILTER (WHERE {decoy_linked})
           FROM _city_eval"""
    ).fetchall()[0]
    links, correct, wrong, expected, found, decoys = (int(x) for x in row)
    by_diff = {
        str(d): (int(f), int(e))
        for d, f, e in con.execute(
            """SELECT difficulty, count(*) FILTER (WHERE is_linked AND ok), count(*)
               FROM _city_eval WHERE expected GROUP BY difficulty ORDER BY difficulty"""
        ).fetchall()
    }
    return LinkQuality(
        links=links,
        correct=correct,
        wrong=wrong,
        expected=expected,
        found=found,
        precision=correct / links if links else 1.0,
        recall=found / expected if expected else 1.0,
        recall_by_difficulty=by_diff,
        decoys_linked=decoys,
    )


def evaluate(con: duckdb.DuckDBPyConnection, linkable_only: bool = True) -> LinkQuality:
    """Compare ``_rm_links`` with the city's truth.

    A link is correct when the linked person is one of the member persons of
    the reference's true person. Expected links: every reference of a member
    (other than a member row's link to its own person); with
    ``linkable_only`` a reference whose ID is missing and that has neither a
    birth date column nor a usable name is not expected (nothing to link on).
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _city_eval AS
        SELECT t.*, l.person_id AS linked, l.route,
            l.person_id IS NOT NULL AS is_linked,
            EXISTS (SELECT 1 FROM _city_person_truth pt
                    WHERE pt.true_id = t.true_id AND pt.person_id = l.person_id) AS ok,
            EXISTS (SELECT 1 FROM _city_person_truth pt WHERE pt.true_id = t.true_id
                    AND NOT (t.extract = 'recipients_members'
                             AND pt.person_id = (SELECT person_id FROM _rm_member_person mp
                                                 WHERE mp.member_row = t."row"))) AS expected
        FROM _city_truth t
        LEFT JOIN _rm_links l ON l.extract = t.extract AND l."row" = t."row" AND l.role = t.role"""
    )
    if linkable_only:
        # no ID and nothing but a name: not linkable by design
        con.execute(
            """UPDATE _city_eval SET expected = FALSE
            WHERE extract = 'recipients_members' AND difficulty = 'clean'"""
        )
        # an ID alone (no name) of a member enrolled without any ID
        con.execute(
            """UPDATE _city_eval SET expected = FALSE
            WHERE extract = 'benefit_payments' AND true_id NOT IN (
                SELECT person_id FROM _city_person_truth WHERE person_id NOT LIKE 'M%')
              AND true_id IN (SELECT true_id FROM _city_person_truth WHERE no_id)"""
        )
        con.execute(
            """UPDATE _city_eval SET expected = FALSE
            WHERE difficulty = 'fuzzy_no_id'
              AND extract NOT IN ('hukou_registry', 'death_certificates', 'recipients_members')"""
        )
    return _quality(con, "kind = 'decoy' AND is_linked")


def evaluate_answer_key(
    con: duckdb.DuckDBPyConnection,
    links_csv: str,
    *,
    anchor_extract: str = "recipients_members",
    name_columns: dict[str, bool] | None = None,
    specs: list[PersonReference] | None = None,
) -> LinkQuality:
    """Compare ``_rm_links`` with a synthetic delivery's ``answer_key/links.csv``.

    ``links.csv`` (design.md §7) lists every reference row that belongs to a
    recipient member, with the member's true ID, plus the decoy namesakes'
    rows (with the namesake's own ID). The acceptable persons of a reference
    are the persons of the member rows whose true ID is the reference's (for
    a member row: other than its own person). A link is correct when it goes
    to one of them; a link on a row that is not in the answer key is wrong. A
    reference is expected to be linked when it has an acceptable person,
    except (``name_columns[extract]`` False) a reference with neither ID nor
    name, and a row outside its spec's ``only_when`` (``specs``).
    ``decoys_linked`` counts linked rows whose true person is no member.
    """
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _key AS
        SELECT extract, CAST("row" AS BIGINT) AS "row", role, true_id_no AS true_id,
               link_difficulty AS difficulty, kind
        FROM read_csv({"'" + links_csv.replace("'", "''") + "'"}, all_varchar = true, header = true)"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _key_persons AS
        SELECT DISTINCT k.true_id, mp.person_id
        FROM _key k JOIN _rm_member_person mp
          ON k.extract = '{anchor_extract}' AND mp.member_row = k."row"
        UNION SELECT person_id, person_id FROM _rm_persons WHERE id_no IS NOT NULL"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _city_eval AS
        WITH k AS (
            SELECT k.*,
                (SELECT mp.person_id FROM _rm_member_person mp
                 WHERE k.extract = '{anchor_extract}' AND mp.member_row = k."row") AS own
            FROM _key k
        )
        SELECT coalesce(k.extract, l.extract) AS extract, coalesce(k."row", l."row") AS "row",
            coalesce(k.role, l.role) AS role, k.true_id,
            coalesce(k.difficulty, 'not_in_key') AS difficulty,
            coalesce(k.kind, 'not_in_key') AS kind, l.person_id AS linked, l.route,
            l.person_id IS NOT NULL AS is_linked,
            EXISTS (SELECT 1 FROM _key_persons kp WHERE kp.true_id = k.true_id
                    AND kp.person_id = l.person_id AND kp.person_id IS DISTINCT FROM k.own) AS ok,
            EXISTS (SELECT 1 FROM _key_persons kp WHERE kp.true_id = k.true_id
                    AND kp.person_id IS DISTINCT FROM k.own) AS expected,
            NOT EXISTS (SELECT 1 FROM _key_persons kp WHERE kp.true_id = k.true_id) AS non_member
        FROM k FULL OUTER JOIN _rm_links l
          ON l.extract = k.extract AND l."row" = k."row" AND l.role = k.role"""
    )
    quarantined = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = '_rm_quarantine'"
    ).fetchall()[0][0]
    if quarantined:
        # rows rejected by validation never reach the linker
        con.execute(
            """UPDATE _city_eval SET expected = FALSE
            WHERE (extract, "row") IN (SELECT extract, "row" FROM _rm_quarantine)"""
        )
    # a member row with a valid ID is its person; the link goes the other way
    # (from the enrolment with the broken ID to this person)
    con.execute(
        f"""UPDATE _city_eval SET expected = FALSE
        WHERE extract = '{anchor_extract}' AND NOT is_linked
          AND "row" IN (SELECT member_row FROM _rm_member_person WHERE person_id NOT LIKE 'M%')"""
    )
    for spec in specs or []:
        if spec.only_when:
            con.execute(
                f"""UPDATE _city_eval SET expected = FALSE
                WHERE extract = '{spec.extract}' AND role = '{spec.role}'
                  AND "row" IN (SELECT _row FROM {spec.extract} WHERE NOT ({spec.only_when}))"""
            )
    for extract, has_name in (name_columns or {}).items():
        if not has_name:
            con.execute(
                f"""UPDATE _city_eval SET expected = FALSE
                WHERE extract = '{extract}' AND difficulty = 'fuzzy_no_id'"""
            )
    return _quality(con, "kind = 'decoy' AND non_member AND is_linked")
