"""Resolving against everyone (relief_match.link.population) and the clerks'
harder errors: two mistyped digits, a mistyped legacy 15-digit number, swapped
given-name characters, close calls. Hand-built staged tables as in
tests/test_link.py (one small delivery, linked once)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from relief_match.ingest.normalize import id_checksum_char
from relief_match.link import LinkReport, run_linking, write_link_table
from test_link import (
    HOUSEHOLDS,
    HUKOU,
    MEMBERS,
    MODEL,
    SETTINGS,
    SPECS,
    create,
    hukou_row,
    id_cols,
    make_id,
    name_cols,
)

# 赵敏, a recipient, and 赵敏, a non-recipient one year older; the death
# certificate is the non-recipient's, its ID mistyped in the year digit so
# that its birth segment is the recipient's, its birth-date field the
# non-recipient's (issue 13)
P = make_id("441302", "19700506", "124")
Q = make_id("441302", "19710506", "388")
Q_BAD = Q[:9] + "0" + Q[10:]
# two recipients whose IDs differ in one sequence digit; a payment with no
# name whose ID is one digit from both
X = make_id("441303", "19600101", "215")
Y = make_id("441303", "19600101", "235")
XY_BAD = X[:15] + "7" + X[16:17]  # no check character: it cannot tell them apart
# a recipient whose vehicle record has two mistyped digits
T = make_id("441322", "19750815", "402")
T_BAD = T[:8] + str((int(T[8]) + 4) % 10) + T[9:15] + str((int(T[15]) + 5) % 10) + T[16:]
# a recipient whose vehicle record has a legacy 15-digit number with a typo
L = make_id("441323", "19620202", "616")
L15_BAD = L[:6] + L[8:10] + "3" + L[11:17]  # month 02 -> 32 is no date: typo in the 15
L15_BAD2 = L[:6] + L[8:12] + "09" + L[14:17]  # day 02 -> 09: still a date
# a recipient whose vehicle record has a typo and the given-name characters swapped
S = make_id("441324", "19850303", "518")
S_BAD = S[:14] + str((int(S[14]) + 1) % 10) + S[15:]


def _legacy(col: str, fifteen: str) -> dict[str, Any]:
    """Staged columns of a legacy 15-digit number the normaliser upgraded."""
    body = fifteen[:6] + "19" + fifteen[6:]
    full = body + id_checksum_char(body)
    birth = dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    sex = "男" if int(body[16]) % 2 else "女"
    keys = (col, f"{col}_raw", f"{col}_clean", f"{col}_status", f"{col}_birth", f"{col}_sex")
    return dict(zip(keys, (full, fifteen, full, "repaired", birth, sex), strict=True))


def _invalid_legacy(col: str, fifteen: str) -> dict[str, Any]:
    """Staged columns of a legacy number whose date is impossible (invalid)."""
    body = fifteen[:6] + "19" + fifteen[6:]
    full = body + id_checksum_char(body)
    keys = (col, f"{col}_raw", f"{col}_clean", f"{col}_status", f"{col}_birth", f"{col}_sex")
    return dict(zip(keys, (None, fifteen, full, "invalid", None, None), strict=True))


def _member(hh: str, id_no: str, name: str, sex: str, birth: dt.date) -> dict[str, Any]:
    return {
        "household_id": hh,
        **id_cols("id_no", id_no),
        **name_cols("name", name),
        "sex": sex,
        "birth_date": birth,
    }


def _vehicle(ids: dict[str, Any], name: str | None, plate: str) -> dict[str, Any]:
    return {**ids, **name_cols("owner_name", name), "plate_no": plate}


@pytest.fixture(scope="module")
def linked() -> tuple[duckdb.DuckDBPyConnection, LinkReport]:
    con = duckdb.connect()
    members = [
        *MEMBERS,
        _member("H7", P, "赵敏", "女", dt.date(1970, 5, 6)),  # row 10
        _member("H8", X, "钱军", "男", dt.date(1960, 1, 1)),  # row 11
        _member("H9", Y, "孙强", "男", dt.date(1960, 1, 1)),  # row 12
        _member("H10", T, "郑建国", "男", dt.date(1975, 8, 15)),  # row 13
        _member("H11", L, "冯秀英", "女", dt.date(1962, 2, 2)),  # row 14
        _member("H12", S, "何建华", "男", dt.date(1985, 3, 3)),  # row 15
    ]
    households = [
        *HOUSEHOLDS,
        *(
            {"household_id": f"H{i}", "district_code": "441302", "status": "在保"}
            for i in range(7, 13)
        ),
    ]
    hukou = [
        *HUKOU,
        hukou_row(Q, "ok", "赵敏", "女", dt.date(1971, 5, 6), "441302"),  # row 16
    ]
    create(con, "recipients_households", households, "civil_affairs/recipients_households.csv")
    create(con, "recipients_members", members, "civil_affairs/recipients_members.csv")
    create(con, "hukou_registry", hukou, "public_security/hukou_registry.csv")
    create(
        con,
        "death_certificates",
        [
            {
                **id_cols("id_no", Q_BAD, "typo"),
                **name_cols("name", "赵敏"),
                "sex": "女",
                "birth_date": dt.date(1971, 5, 6),
                "district_code": "441302",
                "death_date": dt.date(2026, 9, 1),
            }
        ],
        "health/death_certificates.csv",
    )
    create(
        con,
        "motor_vehicles",
        [
            _vehicle(id_cols("owner_id_no", T_BAD, "typo"), "郑建国", "粤L1"),  # 2 two typos
            _vehicle(_legacy("owner_id_no", L15_BAD2), "冯秀英", "粤L2"),  # 3 legacy typo
            _vehicle(id_cols("owner_id_no", S_BAD, "typo"), "何华建", "粤L3"),  # 4 swapped
            _vehicle(_invalid_legacy("owner_id_no", L15_BAD), "冯秀英", "粤L4"),  # 5 bad date
        ],
        "public_security/motor_vehicles.xlsx",
    )
    create(
        con,
        "benefit_payments",
        [
            {
                "household_id": "H8",
                **id_cols("payee_id_no", XY_BAD, "typo"),
                "pay_month": dt.date(2026, 10, 1),
                "amount": 500.0,
            }
        ],
        "civil_affairs/benefit_payments.csv",
    )
    rep = run_linking(con, SPECS, SETTINGS, MODEL)
    return con, rep


def _links(con: duckdb.DuckDBPyConnection, extract: str) -> dict[int, tuple[str, str]]:
    rows = con.execute(
        'SELECT "row", person_id, route FROM _rm_links WHERE extract = ?', [extract]
    ).fetchall()
    return {int(r): (str(p), str(route)) for r, p, route in rows}


def test_a_record_of_a_non_recipient_is_not_given_to_a_recipient_namesake(
    linked: tuple[duckdb.DuckDBPyConnection, LinkReport],
) -> None:
    con, rep = linked
    assert Q_BAD[6:14] == P[6:14]  # the mistyped ID carries the recipient's birth date
    assert _links(con, "death_certificates") == {}
    assert rep.other_person >= 1 and rep.competitors >= 1


def test_two_typos_a_legacy_typo_and_swapped_given_names_are_linked(
    linked: tuple[duckdb.DuckDBPyConnection, LinkReport],
) -> None:
    con, _rep = linked
    got = _links(con, "motor_vehicles")
    assert got[2] == (T, "probabilistic")
    assert got[3] == (L, "probabilistic")  # the upgrade of the mistyped number is nobody's
    assert got[4] == (S, "probabilistic")
    assert got[5] == (L, "probabilistic")


def test_a_close_call_is_not_linked_but_counted_and_listed(
    linked: tuple[duckdb.DuckDBPyConnection, LinkReport], tmp_path: Path
) -> None:
    con, rep = linked
    assert _links(con, "benefit_payments") == {}
    assert rep.close_calls == 1
    assert "1 too close to call" in rep.asstr()
    out = tmp_path / "links.parquet"
    write_link_table(con, out)
    listed = pl.read_parquet(out).filter(pl.col("route") == "too_close_to_call")
    assert listed["extract"].to_list() == ["benefit_payments"]
    assert listed["person_id"].to_list()[0] in (X, Y)
    assert listed["match_probability"].to_list()[0] < 0.9
