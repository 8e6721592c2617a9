"""Tests of the link stage (relief_match.link) on hand-built staged tables."""

from __future__ import annotations

import datetime as dt
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from link_city import CITY_REFS, CityShape, evaluate, make_staged_city
from relief_match.errors import EXIT_CONFIG, ConfigError
from relief_match.ingest.normalize import id_checksum_char
from relief_match.link import (
    LINKS_COLUMNS,
    LINKS_LAYOUT,
    PersonReference,
    load_settings,
    run_linking,
    train_linker,
    write_link_table,
)
from relief_match.link.prepare import TF, build_name_term_frequencies
from relief_match.text import data_fingerprint, fold_name, name_pinyin

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ROOT / "rules" / "linkage" / "settings.yaml"
MODEL = ROOT / "rules" / "linkage" / "model.json"


def make_id(region: str, birth: str, seq: str) -> str:
    body = region + birth + seq
    return body + id_checksum_char(body)


def typo(id_no: str, pos: int) -> str:
    """Mistype digit ``pos`` (0-based) of an ID."""
    d = str((int(id_no[pos]) + 3) % 10)
    return id_no[:pos] + d + id_no[pos + 1 :]


def swap(id_no: str, pos: int) -> str:
    """Swap digits ``pos`` and ``pos + 1`` (0-based)."""
    return id_no[:pos] + id_no[pos + 1] + id_no[pos] + id_no[pos + 2 :]


def id_cols(col: str, id_no: str | None, kind: str = "ok") -> dict[str, Any]:
    """The staged columns of one ID cell (design.md §3) for a defect ``kind``."""
    birth = sex = None
    if id_no is not None:
        birth = dt.date(int(id_no[6:10]), int(id_no[10:12]), int(id_no[12:14]))
        sex = "男" if int(id_no[16]) % 2 else "女"
    if kind == "ok":
        vals = (id_no, id_no, id_no, "ok", birth, sex)
    elif kind == "id15":
        assert id_no is not None
        raw15 = id_no[:6] + id_no[8:17]
        vals = (id_no, raw15, id_no, "repaired", birth, sex)
    elif kind in ("typo", "swap", "garbled"):
        assert id_no is not None
        vals = (None, id_no, id_no, "invalid", None, None)
    elif kind == "missing":
        vals = (None, "无", None, "missing", None, None)
    else:  # pragma: no cover
        raise ValueError(kind)
    keys = (col, f"{col}_raw", f"{col}_clean", f"{col}_status", f"{col}_birth", f"{col}_sex")
    return dict(zip(keys, vals, strict=True))


def name_cols(col: str, name: str | None, raw: str | None = None) -> dict[str, Any]:
    return {col: name, f"{col}_raw": raw if raw is not None else name, f"{col}_note": None}


def create(
    con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]], file: str
) -> None:
    recs = [{"_row": i + 2, "_file": file, **r} for i, r in enumerate(rows)]
    frame = pl.DataFrame(recs, infer_schema_length=None)
    con.register("_frame", frame)
    con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _frame")
    con.unregister("_frame")


# people --------------------------------------------------------------------
A = make_id("441302", "19650304", "123")  # 张伟, member of H1 and H2 (duplicate)
B = make_id("441303", "19720811", "242")  # 陈丽
C = make_id("441322", "19801120", "311")  # 王芳
D = make_id("441323", "19581205", "455")  # 刘洋, also enrolled in H4 under a mistyped ID
E = make_id("441302", "19880101", "517")  # 张伟 namesake (not a member)
F = make_id("441324", "19900214", "628")  # 王芳 namesake, same birth year (not a member)
G = make_id("441324", "19660707", "731")  # 李娜, member whose own ID was mistyped
G_BAD = typo(G, 15)
H = make_id("441322", "19700101", "913")  # 周杰, member enrolled without any ID
D_BAD = swap(D, 8)

MEMBERS = [
    # rows 2..9
    {
        "household_id": "H1",
        **id_cols("id_no", A),
        **name_cols("name", "张伟"),
        "sex": "男",
        "birth_date": dt.date(1965, 3, 4),
    },
    {
        "household_id": "H1",
        **id_cols("id_no", B),
        **name_cols("name", "陈丽"),
        "sex": "女",
        "birth_date": dt.date(1972, 8, 11),
    },
    {
        "household_id": "H2",
        **id_cols("id_no", A),
        **name_cols("name", "张伟"),
        "sex": "男",
        "birth_date": dt.date(1965, 3, 4),
    },
    {
        "household_id": "H3",
        **id_cols("id_no", C),
        **name_cols("name", "王芳"),
        "sex": "女",
        "birth_date": dt.date(1980, 11, 20),
    },
    {
        "household_id": "H3",
        **id_cols("id_no", G_BAD, "typo"),
        **name_cols("name", "李娜"),
        "sex": "女",
        "birth_date": dt.date(1966, 7, 7),
    },
    {
        "household_id": "H4",
        **id_cols("id_no", D),
        **name_cols("name", "刘洋"),
        "sex": "男",
        "birth_date": dt.date(1958, 12, 5),
    },
    {
        "household_id": "H5",
        **id_cols("id_no", D_BAD, "swap"),
        **name_cols("name", "刘洋"),
        "sex": "男",
        "birth_date": dt.date(1958, 12, 5),
    },
    {
        "household_id": "H6",
        **id_cols("id_no", None, "missing"),
        **name_cols("name", "周杰"),
        "sex": "男",
        "birth_date": dt.date(1970, 1, 1),
    },
]
HOUSEHOLDS = [
    {"household_id": h, "district_code": d, "status": "在保"}
    for h, d in (
        ("H1", "441302"),
        ("H2", "441302"),
        ("H3", "441322"),
        ("H4", "441323"),
        ("H5", "441323"),
        ("H6", "441322"),
    )
]


def hukou_row(
    id_no: str | None,
    kind: str,
    name: str,
    sex: str,
    birth: dt.date,
    district: str,
    raw: str | None = None,
) -> dict[str, Any]:
    return {
        **id_cols("id_no", id_no, kind),
        **name_cols("name", name, raw),
        "sex": sex,
        "birth_date": birth,
        "district_code": district,
        "status": "正常",
    }


HUKOU = [
    hukou_row(A, "ok", "张伟", "男", dt.date(1965, 3, 4), "441302"),  # 2 exact
    hukou_row(B, "id15", "陈丽", "女", dt.date(1972, 8, 11), "441303"),  # 3 repaired_id
    hukou_row(typo(C, 9), "typo", "王芳", "女", dt.date(1980, 11, 20), "441322"),  # 4 typo
    hukou_row(swap(A, 13), "swap", "张伟", "男", dt.date(1965, 3, 4), "441302"),  # 5 swap
    hukou_row(None, "missing", "陈丽", "女", dt.date(1972, 8, 11), "441303"),  # 6 no ID
    hukou_row(
        None, "missing", "陈丽", "女", dt.date(1972, 8, 11), "441303", raw="陳麗"
    ),  # 7 traditional
    hukou_row(E, "ok", "张伟", "男", dt.date(1988, 1, 1), "441302"),  # 8 namesake, other valid ID
    hukou_row(
        F, "ok", "王芳", "女", dt.date(1990, 2, 14), "441322"
    ),  # 9 valid ID, no member, same name
    hukou_row(
        None, "missing", "张伟", "男", dt.date(1988, 1, 1), "441302"
    ),  # 10 namesake, no ID, other birth
    hukou_row(
        G, "ok", "李娜", "女", dt.date(1966, 7, 7), "441324"
    ),  # 11 valid ID; the member's own ID is the broken one
    hukou_row(None, "missing", "Chen Li", "女", dt.date(1972, 8, 11), "441303"),  # 12 pinyin name
    hukou_row(
        H, "ok", "周杰", "男", dt.date(1970, 1, 1), "441322"
    ),  # 13 valid ID of a member without ID
    hukou_row(
        make_id("441322", "19700102", "913"), "ok", "周杰", "男", dt.date(1970, 1, 2), "441322"
    ),  # 14 namesake, next day
]

VEHICLES = [
    {
        **id_cols("owner_id_no", C),
        **name_cols("owner_name", "王芳"),
        "plate_no": "粤L00001",
    },  # 2 exact
    {
        **id_cols("owner_id_no", typo(D, 3), "typo"),
        **name_cols("owner_name", "刘洋"),
        "plate_no": "粤L00002",
    },  # 3 typo, no birth column
    {
        **id_cols("owner_id_no", None, "missing"),
        **name_cols("owner_name", "刘洋"),
        "plate_no": "粤L00003",
    },  # 4 name only: not linkable
    {
        **id_cols("owner_id_no", F),
        **name_cols("owner_name", "王芳"),
        "plate_no": "粤L00004",
    },  # 5 namesake with valid ID
]

PAYMENTS = [
    {
        "household_id": "H1",
        **id_cols("payee_id_no", A),
        "pay_month": dt.date(2024, 1, 1),
        "amount": 500.0,
    },
    {
        "household_id": "H3",
        **id_cols("payee_id_no", swap(C, 2), "swap"),
        "pay_month": dt.date(2024, 1, 1),
        "amount": 500.0,
    },
]

SHAREHOLDERS = [
    {
        "credit_code": "X1",
        **name_cols("holder_name", "张伟"),
        **id_cols("holder_id_no", A),
        "holder_type": "自然人",
    },
    {
        "credit_code": "X2",
        **name_cols("holder_name", "张伟"),
        **id_cols("holder_id_no", A),
        "holder_type": "法人",
    },
]

SPECS = [
    PersonReference("recipients_members", "member", "id_no", "name", "sex", "birth_date"),
    PersonReference(
        "hukou_registry", "resident", "id_no", "name", "sex", "birth_date", "district_code"
    ),
    PersonReference("motor_vehicles", "owner", "owner_id_no", "owner_name"),
    PersonReference("benefit_payments", "payee", "payee_id_no"),
    PersonReference(
        "shareholders",
        "shareholder",
        "holder_id_no",
        "holder_name",
        only_when="holder_type = '自然人'",
    ),
    PersonReference(
        "death_certificates", "deceased", "id_no", "name", "sex", "birth_date", "district_code"
    ),
]


def staged(con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    con = con or duckdb.connect()
    create(con, "recipients_households", HOUSEHOLDS, "civil_affairs/recipients_households.csv")
    create(con, "recipients_members", MEMBERS, "civil_affairs/recipients_members.csv")
    create(con, "hukou_registry", HUKOU, "public_security/hukou_registry.csv")
    create(con, "motor_vehicles", VEHICLES, "public_security/motor_vehicles.xlsx")
    create(con, "benefit_payments", PAYMENTS, "civil_affairs/benefit_payments.csv")
    create(con, "shareholders", SHAREHOLDERS, "market_regulation/shareholders.csv")
    return con


@pytest.fixture(scope="module")
def linked() -> duckdb.DuckDBPyConnection:
    con = staged()
    run_linking(con, SPECS, SETTINGS, MODEL)
    return con


def links(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int, str], tuple[str, str, float]]:
    return {
        (e, r, ro): (p, route, prob)
        for e, r, ro, p, route, prob in con.execute(
            'SELECT extract, "row", role, person_id, route, match_probability FROM _rm_links'
        ).fetchall()
    }


# --------------------------------------------------------------------------


def test_links_table_has_the_design_layout(linked: duckdb.DuckDBPyConnection) -> None:
    described = {r[0]: r[1] for r in linked.execute("DESCRIBE _rm_links").fetchall()}
    assert described == LINKS_LAYOUT
    cols = list(described)
    assert tuple(cols) == LINKS_COLUMNS
    assert cols[:8] == [
        "extract",
        "row",
        "role",
        "person_id",
        "route",
        "match_probability",
        "match_weight",
        "evidence",
    ]


def test_clean_id_links_exactly(linked: duckdb.DuckDBPyConnection) -> None:
    assert links(linked)[("hukou_registry", 2, "resident")] == (A, "exact", 1.0)
    assert links(linked)[("motor_vehicles", 2, "owner")] == (C, "exact", 1.0)
    assert links(linked)[("benefit_payments", 2, "payee")] == (A, "exact", 1.0)


def test_fifteen_digit_id_links_by_repaired_route(linked: duckdb.DuckDBPyConnection) -> None:
    assert links(linked)[("hukou_registry", 3, "resident")] == (B, "repaired_id", 1.0)


def test_mistyped_digit_links_probabilistically(linked: duckdb.DuckDBPyConnection) -> None:
    person, route, p = links(linked)[("hukou_registry", 4, "resident")]
    assert (person, route) == (C, "probabilistic")
    assert p >= 0.99
    # no birth column: the ID's own birth segment and the name carry it
    person, route, p = links(linked)[("motor_vehicles", 3, "owner")]
    assert (person, route) == (D, "probabilistic") and p >= 0.9


def test_adjacent_swap_links_probabilistically(linked: duckdb.DuckDBPyConnection) -> None:
    person, route, p = links(linked)[("hukou_registry", 5, "resident")]
    assert (person, route) == (A, "probabilistic") and p >= 0.99
    # an ID alone (payee has no name column), swapped digits
    person, route, p = links(linked)[("benefit_payments", 3, "payee")]
    assert (person, route) == (C, "probabilistic") and p >= 0.9


def test_missing_id_links_on_name_sex_birth_district(linked: duckdb.DuckDBPyConnection) -> None:
    person, route, p = links(linked)[("hukou_registry", 6, "resident")]
    assert (person, route) == (B, "probabilistic") and p >= 0.9


def test_traditional_and_pinyin_names_link(linked: duckdb.DuckDBPyConnection) -> None:
    assert links(linked)[("hukou_registry", 7, "resident")][:2] == (B, "probabilistic")
    assert links(linked)[("hukou_registry", 12, "resident")][:2] == (B, "probabilistic")


def test_namesake_with_other_valid_id_is_not_linked(linked: duckdb.DuckDBPyConnection) -> None:
    got = links(linked)
    assert ("hukou_registry", 8, "resident") not in got
    assert ("hukou_registry", 9, "resident") not in got
    assert ("motor_vehicles", 5, "owner") not in got


def test_namesake_without_id_and_other_birth_date_is_not_linked(
    linked: duckdb.DuckDBPyConnection,
) -> None:
    assert ("hukou_registry", 10, "resident") not in links(linked)


def test_name_alone_is_not_enough(linked: duckdb.DuckDBPyConnection) -> None:
    assert ("motor_vehicles", 4, "owner") not in links(linked)


def test_valid_id_near_miss_of_a_broken_member_id_links_to_that_member(
    linked: duckdb.DuckDBPyConnection,
) -> None:
    person, route, p = links(linked)[("hukou_registry", 11, "resident")]
    assert person == "M6" and route == "probabilistic" and p >= 0.9


def test_valid_id_of_a_member_enrolled_without_id_links_on_name_and_birth(
    linked: duckdb.DuckDBPyConnection,
) -> None:
    person, route, p = links(linked)[("hukou_registry", 13, "resident")]
    assert person == "M9" and route == "probabilistic" and p >= 0.9
    # same name, other birth date: not even a candidate
    assert ("hukou_registry", 14, "resident") not in links(linked)


def test_only_when_restricts_the_reference_rows(linked: duckdb.DuckDBPyConnection) -> None:
    got = links(linked)
    assert got[("shareholders", 2, "shareholder")][0] == A
    assert ("shareholders", 3, "shareholder") not in got


def test_persons_one_per_valid_id_and_duplicates_share_a_person(
    linked: duckdb.DuckDBPyConnection,
) -> None:
    persons = dict(linked.execute("SELECT person_id, n_households FROM _rm_persons").fetchall())
    assert persons[A] == 2  # enrolled in H1 and H2: duplicate enrolment by exact ID
    assert "M6" in persons and persons["M6"] == 1  # member row 6 has a mistyped ID
    assert set(persons) == {A, B, C, D, "M6", "M8", "M9"}
    mp = {r: p for r, p, _h, _rp in linked.execute("SELECT * FROM _rm_member_person").fetchall()}
    assert mp[2] == mp[4] == A


def test_member_enrolled_twice_under_a_mistyped_id_is_linked_to_the_other_enrolment(
    linked: duckdb.DuckDBPyConnection,
) -> None:
    person, route, p = links(linked)[("recipients_members", 8, "member")]
    assert (person, route) == (D, "probabilistic") and p >= 0.99
    resolved = dict(
        linked.execute("SELECT member_row, resolved_person_id FROM _rm_member_person").fetchall()
    )
    assert resolved[8] == D and resolved[7] == D
    # a member is never linked to its own person
    own = linked.execute(
        """SELECT count(*) FROM _rm_links l JOIN _rm_member_person m
           ON l.extract = 'recipients_members' AND m.member_row = l."row" AND m.person_id = l.person_id"""
    ).fetchall()[0][0]
    assert own == 0


def test_evidence_is_chinese_and_names_the_agreements(linked: duckdb.DuckDBPyConnection) -> None:
    ev = dict(
        linked.execute(
            """SELECT "row", evidence FROM _rm_links WHERE extract = 'hukou_registry'"""
        ).fetchall()
    )
    assert ev[2] == "身份证号一致"
    assert ev[3] == "身份证号修复后一致"
    assert "身份证号差一位" in ev[4] and "姓名" in ev[4]
    assert "身份证号相邻两位颠倒" in ev[5]
    assert ev[6].startswith("姓名、出生日期、性别、区县一致") or "出生日期" in ev[6]


def test_one_link_per_reference(linked: duckdb.DuckDBPyConnection) -> None:
    dup = linked.execute(
        'SELECT count(*) FROM (SELECT extract, "row", role FROM _rm_links GROUP BY ALL HAVING count(*) > 1)'
    ).fetchall()[0][0]
    assert dup == 0


def test_missing_extract_is_skipped_and_reported() -> None:
    con = staged()
    rep = run_linking(con, SPECS, SETTINGS, MODEL)
    assert rep.skipped_refs == ("death_certificates.deceased",)
    assert rep.links_by_route["exact"] >= 4
    d = rep.asdict()
    json.dumps(d)
    assert "probabilistic" in rep.asstr()


def test_two_runs_give_identical_links() -> None:
    a, b = staged(), staged()
    run_linking(a, SPECS, SETTINGS, MODEL)
    run_linking(b, list(reversed(SPECS)), SETTINGS, MODEL)
    q = 'SELECT * FROM _rm_links ORDER BY extract, "row", role'
    assert a.execute(q).fetchall() == b.execute(q).fetchall()
    q2 = "SELECT * FROM _rm_persons ORDER BY person_id"
    assert a.execute(q2).fetchall() == b.execute(q2).fetchall()


def test_no_members_gives_empty_link_tables() -> None:
    con = staged()
    con.execute("DROP TABLE recipients_members")
    rep = run_linking(con, SPECS, SETTINGS, MODEL)
    assert rep.n_persons == 0
    assert con.execute("SELECT count(*) FROM _rm_links").fetchall()[0][0] == 0
    assert con.execute("SELECT count(*) FROM _rm_persons").fetchall()[0][0] == 0


def test_write_link_table_adds_households(
    linked: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    out = tmp_path / "links.parquet"
    n = write_link_table(linked, out)
    df = pl.read_parquet(out)
    assert n == df.height
    assert "household_id" in df.columns
    # person A is in H1 and H2: one row per household
    hh = df.filter((pl.col("extract") == "hukou_registry") & (pl.col("row") == 2))[
        "household_id"
    ].to_list()
    assert sorted(hh) == ["H1", "H2"]


def _edited_model(tmp_path: Path, **training: Any) -> Path:
    doc = json.loads(MODEL.read_text(encoding="utf-8"))
    doc["training"].update(training)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_model_for_other_comparisons_is_refused(tmp_path: Path) -> None:
    doc = json.loads(MODEL.read_text(encoding="utf-8"))
    doc["comparisons_fingerprint"] = "0" * 16
    bad = tmp_path / "model.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ConfigError, match="trained for comparisons") as exc:
        run_linking(staged(), SPECS, SETTINGS, bad)
    assert exc.value.exit_code == EXIT_CONFIG
    assert "relief-match train-linker" in exc.value.one_line()
    with pytest.raises(FileNotFoundError):
        run_linking(staged(), SPECS, SETTINGS, tmp_path / "none.json")


def test_model_saved_under_another_splink_major_version_is_refused(tmp_path: Path) -> None:
    bad = _edited_model(tmp_path, splink_version="4.0.7")
    with pytest.raises(ConfigError, match=r"Splink 4\.0\.7") as exc:
        run_linking(staged(), SPECS, SETTINGS, bad)
    assert exc.value.exit_code == EXIT_CONFIG
    line = exc.value.one_line()
    assert str(bad) in line and "relief-match train-linker" in line


@pytest.mark.parametrize("text_data", ["opencc=0.9;pypinyin=0.40", None])
def test_model_folded_with_other_text_data_is_refused(
    tmp_path: Path, text_data: str | None
) -> None:
    bad = _edited_model(tmp_path, text_data=text_data)
    with pytest.raises(ConfigError, match="text data") as exc:
        run_linking(staged(), SPECS, SETTINGS, bad)
    line = exc.value.one_line()
    assert str(bad) in line and "relief-match train-linker" in line
    assert data_fingerprint() in line


def test_shipped_model_records_splink_and_text_data() -> None:
    training = json.loads(MODEL.read_text(encoding="utf-8"))["training"]
    assert training["text_data"] == data_fingerprint()
    assert training["splink_version"].split(".")[0] == version("splink").split(".")[0]


def test_settings_load_and_threshold() -> None:
    s = load_settings(SETTINGS)
    assert s.min_probability == 0.9
    assert [c.name for c in s.comparisons] == [
        "id_birth",
        "birth_record",
        "name",
        "sex",
        "district",
    ]
    assert 0 < s.outside_population_odds <= 1
    assert len(s.blocking_rules) >= 7


@pytest.mark.parametrize(
    ("raw", "folded", "py"),
    [
        ("陳 偉", "陈伟", "chenwei"),
        ("王＊", "王?", "wang?"),
        ("Wang Wei", "WangWei", "wangwei"),
        ("阿依古丽•买买提", "阿依古丽·买买提", "ayigulimaimaiti"),
        # the ingest stage's rules: 乾 is kept, 〇 is an unreadable character
        ("李乾", "李乾", "liqian"),
        ("王〇", "王?", "wang?"),
    ],
)
def test_name_folding_and_pinyin(raw: str, folded: str, py: str) -> None:
    assert fold_name(raw) == folded
    assert name_pinyin(folded) == py


def test_name_term_frequencies_are_counted_by_folded_name() -> None:
    """A name the population extract writes unfolded (``王*``) counts for its
    folded form (``王?``), the key the comparison looks it up by."""
    con = duckdb.connect()
    con.execute(
        """CREATE TABLE hukou_registry AS SELECT * FROM (VALUES
            ('王*'), ('王*'), ('王？'), ('张伟'), ('张 伟'), ('陈丽'), (NULL)) t(name)"""
    )
    con.execute("CREATE TABLE l AS SELECT * FROM (VALUES ('王?'), ('张伟')) t(name)")
    con.execute("CREATE TABLE r AS SELECT * FROM (VALUES ('陈丽'), ('刘洋')) t(name)")
    refs = [PersonReference("hukou_registry", "resident", "id_no", "name")]
    build_name_term_frequencies(con, refs, load_settings(SETTINGS), "l", "r")
    tf = dict(con.execute(f"SELECT name, tf_name FROM {TF}").fetchall())
    assert tf == {"王?": 3 / 6, "张伟": 2 / 6, "陈丽": 1 / 6, "刘洋": 1 / 6}


def test_homophone_has_the_same_pinyin() -> None:
    assert name_pinyin("王伟") == name_pinyin("王玮")


# -- generated city: training and quality ------------------------------------


def test_training_is_reproducible_and_the_model_links_a_city(tmp_path: Path) -> None:
    shape = CityShape(population=8000, members=300)
    con = duckdb.connect()
    make_staged_city(con, shape, seed=5)
    # fewer u pairs than the shipped settings, to keep the test fast
    settings = tmp_path / "settings.yaml"
    text = SETTINGS.read_text(encoding="utf-8")
    assert "u_max_pairs: 1.0e7" in text
    settings.write_text(text.replace("u_max_pairs: 1.0e7", "u_max_pairs: 2.0e6"), encoding="utf-8")
    m1, m2 = tmp_path / "m1.json", tmp_path / "m2.json"
    rep = train_linker(con, list(CITY_REFS), settings, m1, seed=42)
    train_linker(con, list(CITY_REFS), settings, m2, seed=42)
    assert m1.read_bytes() == m2.read_bytes()
    assert rep.labelled_refs > 0 and rep.model_version.startswith("lm-")
    assert "id_one_digit" in rep.asstr()
    # link a different city with the freshly trained model
    con2 = duckdb.connect()
    make_staged_city(con2, shape, seed=9)
    run_linking(con2, list(CITY_REFS), settings, m1)
    q = evaluate(con2)
    assert q.precision >= 0.99, q.asstr()
    assert q.recall >= 0.98, q.asstr()
    assert q.decoys_linked == 0, q.asstr()
    fuzzy_found = sum(f for d, (f, _e) in q.recall_by_difficulty.items() if d.startswith("fuzzy"))
    fuzzy_expected = sum(
        e for d, (_f, e) in q.recall_by_difficulty.items() if d.startswith("fuzzy")
    )
    assert fuzzy_found / fuzzy_expected >= 0.95, q.asstr()


def test_shipped_model_on_a_generated_city() -> None:
    con = duckdb.connect()
    make_staged_city(con, CityShape(population=30000, members=800), seed=21)
    rep = run_linking(con, list(CITY_REFS), SETTINGS, MODEL)
    q = evaluate(con)
    assert rep.links_by_route.get("probabilistic", 0) > 0
    assert q.precision >= 0.99 and q.recall >= 0.98 and q.decoys_linked == 0, q.asstr()


# -- train-linker: where the model goes, and how it compares -----------------


def test_train_linker_never_overwrites_the_shipped_model(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from relief_match.cli import app
    from relief_match.errors import EXIT_USAGE
    from relief_match.link.model_file import is_shipped_rules_dir

    assert is_shipped_rules_dir(ROOT / "rules")
    assert is_shipped_rules_dir(ROOT / "rules" / ".." / "rules")
    assert not is_shipped_rules_dir(tmp_path)
    shipped = MODEL.read_bytes()
    runner = CliRunner()
    res = runner.invoke(app, ["train-linker", "--out", str(tmp_path / "o")])
    assert res.exit_code == EXIT_USAGE, res.output
    assert "--model-out" in res.output and "shipped" in res.output
    existing = tmp_path / "model.json"
    existing.write_text("{}", encoding="utf-8")
    res = runner.invoke(
        app, ["train-linker", "--out", str(tmp_path / "o"), "--model-out", str(existing)]
    )
    assert res.exit_code == EXIT_USAGE, res.output
    assert "already exists" in res.output and "--force" in res.output
    assert existing.read_text(encoding="utf-8") == "{}"
    assert MODEL.read_bytes() == shipped
    assert not (tmp_path / "o" / "relief_match.duckdb").exists()  # refused before any work


def _link_keys(links_parquet: Path) -> dict[tuple[str, int, str], str]:
    frame = pl.read_parquet(links_parquet).select("extract", "row", "role", "person_id").unique()
    return {(e, r, ro): p for e, r, ro, p in frame.iter_rows()}


@pytest.mark.slow
def test_train_linker_writes_model_out_and_counts_agreement(tmp_path: Path) -> None:
    """A bureau's own rules folder with a weakened model: retraining on the
    sample writes <rules>/linkage/model.json (only with --force) and reports
    the links it adds, removes and changes, counted here from links.parquet."""
    import shutil

    from typer.testing import CliRunner

    from relief_match.cli import app
    from relief_match.errors import EXIT_USAGE

    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    settings = rules / "linkage" / "settings.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(text.replace("u_max_pairs: 1.0e7", "u_max_pairs: 2.0e6"), encoding="utf-8")
    model = rules / "linkage" / "model.json"
    doc = json.loads(model.read_text(encoding="utf-8"))
    for comp in doc["splink_settings"]["comparisons"]:
        for lv in comp["comparison_levels"]:
            if comp["output_column_name"] != "id_birth" and "u_probability" in lv:
                # the current model ignores names, sex, district and record birth dates
                lv["m_probability"] = lv["u_probability"]
    model.write_text(json.dumps(doc), encoding="utf-8")
    env = {"RELIEF_MATCH_RULES_DIR": str(rules), "RELIEF_MATCH_AS_OF": "2026-11-28"}
    runner = CliRunner()

    res = runner.invoke(app, ["link", "--out", str(tmp_path / "cur")], env=env)
    assert res.exit_code == 0, res.output
    current = _link_keys(tmp_path / "cur" / "latest-link" / "links.parquet")
    res = runner.invoke(app, ["train-linker", "--out", str(tmp_path / "t")], env=env)
    assert res.exit_code == EXIT_USAGE and "already exists" in res.output
    res = runner.invoke(
        app, ["train-linker", "--out", str(tmp_path / "t"), "--force", "--json"], env=env
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)  # the log lines go to stderr
    assert report["model_path"] == str(model)
    assert json.loads(model.read_text(encoding="utf-8"))["model_version"] == report["model_version"]
    res = runner.invoke(app, ["link", "--out", str(tmp_path / "new")], env=env)
    assert res.exit_code == 0, res.output
    new = _link_keys(tmp_path / "new" / "latest-link" / "links.parquet")

    both = current.keys() & new.keys()
    expected = {
        "current_links": len(current),
        "new_links": len(new),
        "kept": sum(current[k] == new[k] for k in both),
        "added": len(new.keys() - current.keys()),
        "removed": len(current.keys() - new.keys()),
        "changed": sum(current[k] != new[k] for k in both),
        "new_model": report["model_version"],
    }
    got = report["agreement"]
    assert {k: got[k] for k in expected} == expected
    assert got["added"] > 0, got  # the weakened model missed links the retrained one makes
