"""Stable finding ids and "since the last run" (issue 11).

Unit tests of :mod:`relief_match.review.identity`, then two synthetic nights
built from the bundled sample and run by the CLI into the same output folder:
night 2 has one household exited (status 退出, no payments any more), one new
death certificate for a member of a household without a DECEASED finding,
and every extract's rows shuffled. Night 2 must list the death as new
(新增), everything else as still open (持续), and the exited household's
findings as gone (已消失) with reason ``household_exited``; ``relief-match
diff`` must say the same.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from relief_match.rank.score import FLAGS_COLUMNS, rank_findings
from relief_match.review.history import (
    CHANGE_ZH,
    EVIDENCE_CHANGED_ZH,
    REASON_ZH,
    RESOLVED_COLUMNS,
    compare_with_previous,
)
from relief_match.review.identity import (
    amount_bucket,
    assign_finding_ids,
    finding_id,
    finding_key,
)
from relief_match.rules.findings import FINDINGS_COLUMNS

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "delivery"
AS_OF = "2026-11-28"
HOUSEHOLDS = "civil_affairs/recipients_households"
PAYMENTS = "civil_affairs/benefit_payments"
DEATHS = "health/death_certificates"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# --- identity: pure functions ------------------------------------------------------------

VEHICLE = {
    "plate_no": "粤L570DQ",
    "registration_date": "2020-06-05",
    "use_type": "非营运",
    "vehicle_status": "正常",
    "vehicle_type": "小型汽车",
    "n_records": 1,
    "paid_zh": "该户2024-11至2026-10共领取救助金56,000.00元",
}
DEATH = {
    "death_date": "2026-08-05",
    "source_zh": "卫健死亡医学证明（证明编号44130220260900010）",
    "first_month": "2026-09",
    "last_month": "2026-10",
    "n_months": 2,
}


def _fid(rule: str, evidence: dict[str, Any], amount: float | None = 1000.0) -> str:
    key = finding_key("H1", rule, "441302199001011231")
    return finding_id(key, rule, "x", evidence, amount)


def test_the_id_ignores_running_figures_and_follows_the_evidence() -> None:
    base = _fid("VEHICLE", VEHICLE, 56000.0)
    assert base.startswith("F") and len(base) == 13
    later = {**VEHICLE, "paid_zh": "该户2024-12至2026-11共领取救助金58,000.00元"}
    assert _fid("VEHICLE", later, 58000.0) == base  # a month later, same car
    assert _fid("VEHICLE", {**VEHICLE, "plate_no": "粤L999XX"}, 56000.0) != base
    d = _fid("DECEASED", DEATH, 12000.0)
    running = {**DEATH, "last_month": "2026-11", "n_months": 3}
    assert _fid("DECEASED", running, 18000.0) == d
    assert _fid("DECEASED", {**DEATH, "death_date": "2026-07-05"}, 12000.0) != d
    other_cert = {**DEATH, "source_zh": "卫健死亡医学证明（证明编号44130220260900011）"}
    assert _fid("DECEASED", other_cert, 12000.0) != d
    k = finding_key("H1", "VEHICLE", "441302199001011231")  # household | check | member
    assert k.startswith("K") and k != finding_key("H2", "VEHICLE", "441302199001011231")
    assert k != finding_key("H1", "VEHICLE", "441302199001019999")


def test_amounts_that_are_levels_enter_the_id_within_a_tolerance() -> None:
    ev = {"monthly_amount": 2160.0}
    assert _fid("OVERPAID", ev, 458.0) == _fid("OVERPAID", ev, 460.0)
    assert _fid("OVERPAID", ev, 458.0) != _fid("OVERPAID", ev, 916.0)
    assert amount_bucket(None) == "" and amount_bucket(0.0) == "0"
    assert amount_bucket(1000.0) == amount_bucket(1001.0)
    assert amount_bucket(1000.0) != amount_bucket(1200.0)


def _findings_db(rows: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    cols = ", ".join(f"{c} {t}" for c, t in FINDINGS_COLUMNS.items())
    con.execute(f"CREATE TABLE _rm_findings ({cols})")
    for r in rows:
        values = [r.get(c) for c in FINDINGS_COLUMNS]
        con.execute(f"INSERT INTO _rm_findings VALUES ({', '.join('?' * len(values))})", values)
    con.execute(
        "CREATE TABLE _rm_checks AS SELECT * FROM (VALUES ('VEHICLE', '名下有车', 'vehicle',"
        " 0.7, 'estimate')) AS t(rule_id, title_zh, title_en, weight, amount_kind)"
    )
    return con


def _vehicle(household: str, member: str, plate: str, row: int) -> dict[str, Any]:
    evidence = json.dumps({**VEHICLE, "plate_no": plate}, ensure_ascii=False)
    return dict(
        rule_id="VEHICLE", household_id=household, member_id_no=member, member_name="成员",
        amount_at_risk=1000.0, evidence_extract="motor_vehicles", evidence_row=row,
        evidence=evidence,
    )  # fmt: skip


def test_ids_do_not_depend_on_row_order_or_row_numbers() -> None:
    rows = [_vehicle("H1", "A", "粤L1", 10), *[_vehicle("H2", "B", "粤L2", r) for r in (11, 12)]]
    shuffled = [{**rows[2], "evidence_row": 3}, {**rows[0], "evidence_row": 99}, rows[1]]
    ids = []
    for batch in (rows, shuffled):
        con = _findings_db(batch)
        assert assign_finding_ids(con) == 3
        ids.append(
            sorted(con.execute("SELECT finding_key, finding_id FROM _rm_findings").fetchall())
        )
    assert ids[0] == ids[1]
    assert len({i for _, i in ids[0]}) == 3  # the repeated finding gets its own id


def test_without_a_previous_run_everything_is_new() -> None:
    con = _findings_db([_vehicle("H1", "A", "粤L1", 10)])
    assign_finding_ids(con)
    rank_findings(con)
    flag_cols = [d[0] for d in con.execute("SELECT * FROM _rm_flags").description]
    assert flag_cols == list(FLAGS_COLUMNS)
    report = compare_with_previous(con, None)
    assert (report.new, report.open, report.resolved) == (1, 0, {})
    assert con.execute("SELECT change FROM _rm_flags").fetchall() == [("new",)]
    assert con.execute("SELECT change FROM _rm_households").fetchall() == [("new",)]
    cols = [d[0] for d in con.execute("SELECT * FROM _rm_resolved").description]
    assert cols == list(RESOLVED_COLUMNS)


# --- two nights ----------------------------------------------------------------------------


def _find(delivery: Path, stem: str) -> Path:
    (path,) = [p for p in (delivery / stem).parent.iterdir() if p.stem == Path(stem).name]
    return path


def _read(path: Path) -> pl.DataFrame:
    """An extract file as text columns (CSV in UTF-8 or GB18030, xlsx or parquet)."""
    if path.suffix == ".parquet":
        df = pl.read_parquet(path)
    elif path.suffix == ".xlsx":
        df = pl.read_excel(path)
    else:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("gb18030")
        df = pl.read_csv(io.StringIO(text), infer_schema=False)
    return df.with_columns(pl.all().cast(pl.String))


def _rewrite(delivery: Path, stem: str, df: pl.DataFrame) -> None:
    """Replace an extract's file by ``df`` as parquet (its headers kept)."""
    _find(delivery, stem).unlink()
    df.write_parquet(delivery / f"{stem}.parquet")


def _shuffle_lines(path: Path) -> None:
    """Shuffle a CSV file's data lines (none of the sample's spans lines), bytes kept."""
    data = path.read_bytes()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    header, *lines = [line for line in data.split(newline) if line]
    random.Random(11).shuffle(lines)
    path.write_bytes(newline.join([header, *lines]) + newline)


def _col(df: pl.DataFrame, *names: str) -> str:
    return next(c for c in df.columns if c in names)


def _run(delivery: Path, out: Path, as_of: str = AS_OF) -> Path:
    cmd = [sys.executable, "-m", "relief_match", "run", str(delivery), "--out", str(out)]
    proc = subprocess.run(
        [*cmd, "--as-of", as_of], capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return (out / "latest").resolve()


def _db(run_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(run_dir / "relief_match.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def _flags(run_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(run_dir / "flags.parquet")


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("nights")
    night1 = base / "night1"
    shutil.copytree(SAMPLE, night1)
    _rewrite(night1, HOUSEHOLDS, _read(_find(night1, HOUSEHOLDS)))  # editable, same content
    out = base / "out"
    run1 = _run(night1, out)
    flags1 = _flags(run1)

    others = " ".join(flags1.filter(pl.col("rule_id") == "DUPLICATE_ENROLLMENT")["evidence"])
    vehicle = flags1.filter(pl.col("rule_id") == "VEHICLE").sort("household_id")
    exit_hh = next(h for h in vehicle["household_id"] if h not in others)
    deceased_hh = set(flags1.filter(pl.col("rule_id") == "DECEASED")["household_id"])
    victim = next(
        r
        for r in vehicle.iter_rows(named=True)
        if r["household_id"] not in deceased_hh | {exit_hh} and r["household_id"] not in others
    )

    night2 = base / "night2"
    shutil.copytree(night1, night2)
    hh = _read(_find(night2, HOUSEHOLDS))
    exiting = pl.col(_col(hh, "household_id", "家庭编号")) == exit_hh
    changes = {
        _col(hh, "status", "保障状态"): "退出",
        _col(hh, "end_date", "退出日期"): "2026-11-10",
    }
    hh = hh.with_columns(
        pl.when(exiting).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in changes.items()
    )
    _rewrite(night2, HOUSEHOLDS, hh)
    pay = _read(_find(night2, PAYMENTS))
    _rewrite(night2, PAYMENTS, pay.filter(pl.col(_col(pay, "household_id", "家庭编号")) != exit_hh))
    deaths = _read(_find(night2, DEATHS))
    row: dict[str, str | None] = dict.fromkeys(deaths.columns)
    new_death = {"证明编号": "44130220260800999", "死亡日期": "2026-08-20"}
    new_death |= {"身份证号": victim["member_id_no"], "姓名": victim["member_name"]}
    assert set(new_death) <= set(row)  # the sample's death file has Chinese headers
    row.update(new_death)
    _rewrite(night2, DEATHS, pl.concat([deaths, pl.DataFrame([row], schema=deaths.schema)]))
    for path in sorted(night2.rglob("*.*")):  # shuffle every extract's rows
        if path.suffix == ".csv":
            _shuffle_lines(path)
        elif path.suffix == ".parquet":
            stem = str(path.relative_to(night2).with_suffix(""))
            _rewrite(night2, stem, _read(path).sample(fraction=1.0, shuffle=True, seed=11))
    run2 = _run(night2, out)
    return dict(out=out, night1=night1, run1=run1, run2=run2, exit_hh=exit_hh, victim=victim)


def test_night_two_marks_new_open_and_gone(nights: dict[str, Any]) -> None:
    run1, run2 = nights["run1"], nights["run2"]
    assert run1 != run2
    flags1, flags2 = _flags(run1), _flags(run2)
    assert set(flags1["change"]) == {"new"}  # night 1 had no previous run
    victim = nights["victim"]
    new = flags2.filter(pl.col("change") == "new")
    assert new.select("rule_id", "household_id", "member_id_no").rows() == [
        ("DECEASED", victim["household_id"], victim["member_id_no"])
    ]
    # everything else is still open, under the same ids although every row moved
    still = flags2.filter(pl.col("change") == "open")
    exited = flags1.filter(pl.col("household_id") == nights["exit_hh"])
    assert exited.height >= 1
    assert set(still["finding_id"]) == set(flags1["finding_id"]) - set(exited["finding_id"])
    assert flags2.height == flags1.height - exited.height + 1
    households = dict(_db(run2, "SELECT household_id, change FROM _rm_households"))
    assert set(households.values()) == {"open"}  # the death's household had findings already
    assert nights["exit_hh"] not in households
    resolved = _db(
        run2,
        "SELECT finding_id, household_id, reason, reason_zh, previous_run_id FROM _rm_resolved",
    )
    assert sorted(r[0] for r in resolved) == sorted(exited["finding_id"])
    assert {r[1:] for r in resolved} == {
        (nights["exit_hh"], "household_exited", REASON_ZH["household_exited"], run1.name)
    }
    assert CHANGE_ZH["gone"] == "已消失"


def test_diff_prints_the_same_comparison(nights: dict[str, Any]) -> None:
    run1, out = nights["run1"], nights["out"]
    cmd = [sys.executable, "-m", "relief_match", "diff", str(run1), str(out / "latest")]
    proc = subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    flags2 = _flags(nights["run2"])
    assert {r["finding_id"] for r in got["new"]} == set(
        flags2.filter(pl.col("change") == "new")["finding_id"]
    )
    assert {r["finding_id"] for r in got["open"]} == set(
        flags2.filter(pl.col("change") == "open")["finding_id"]
    )
    resolved = dict(_db(nights["run2"], "SELECT finding_id, reason FROM _rm_resolved"))
    assert {r["finding_id"]: r["reason"] for r in got["gone"]} == resolved
    assert got["per_check"]["DECEASED"]["new"] == 1
    victim_id = nights["victim"]["member_id_no"]
    assert victim_id not in proc.stdout  # IDs masked
    text = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert text.returncode == 0
    assert f"{len(got['new'])} new (新增)" in text.stdout
    assert all(r["finding_id"] in text.stdout for r in got["new"] + got["gone"])
    assert victim_id not in text.stdout
    missing = subprocess.run(
        [*cmd[:-2], str(out / "nowhere"), str(out / "latest")], capture_output=True, text=True
    )
    assert missing.returncode == 2


def test_a_month_later_on_the_same_delivery_keeps_the_ids(
    nights: dict[str, Any], tmp_path: Path
) -> None:
    later = _run(nights["night1"], tmp_path / "out", as_of="2026-12-28")
    a, b = _flags(nights["run1"]), _flags(later)
    ids_a = dict(zip(a["finding_key"], a["finding_id"], strict=True))
    evidence_a = dict(zip(a["finding_key"], a["evidence"], strict=True))
    changed = []
    for r in b.iter_rows(named=True):
        if r["finding_key"] in ids_a and ids_a[r["finding_key"]] != r["finding_id"]:
            changed.append(r)
    assert len(set(b["finding_key"]) & set(ids_a)) >= 0.9 * a.height
    # only an income whose six-month average moved by the tolerance may change its id
    # (this delivery has no month after 2026-10, so the later window averages in a zero)
    for r in changed:
        assert r["rule_id"] == "INCOME_OVER_STANDARD"
        before = json.loads(evidence_a[r["finding_key"]])["per_head"]
        after = json.loads(r["evidence"])["per_head"]
        assert amount_bucket(before) != amount_bucket(after)


def test_each_gone_finding_gets_the_first_reason_that_applies(tmp_path: Path) -> None:
    night1 = [
        _vehicle(h, m, f"粤L{i}", i)
        for i, (h, m) in enumerate(
            [("H1", "A"), ("H2", "B"), ("H3", "C"), ("H4", "D"), ("H5", "E"), ("H6", "F")]
        )
    ]
    con = _findings_db(night1)
    assign_finding_ids(con)
    rank_findings(con)
    compare_with_previous(con, None)
    prev = tmp_path / "runs" / "night1"
    prev.mkdir(parents=True)
    con.execute(f"COPY _rm_flags TO '{prev / 'flags.parquet'}' (FORMAT parquet)")
    ids = dict(con.execute("SELECT household_id, finding_id FROM _rm_flags").fetchall())

    # night 2: H1 unchanged, H2 reviewed and suppressed, H3 exited, D left H4,
    # H5's car is gone, H6's car has a new plate
    con = _findings_db([night1[0], _vehicle("H6", "F", "粤L99", 5)])
    assign_finding_ids(con)
    con.execute("CREATE TABLE _rm_suppressed AS SELECT ? AS finding_id", [ids["H2"]])
    con.execute(
        "CREATE TABLE recipients_households AS SELECT * FROM (VALUES"
        " ('H1', '在保'), ('H2', '在保'), ('H3', '退出'), ('H4', '在保'), ('H5', '在保'),"
        " ('H6', '在保')) AS t(household_id, status)"
    )
    con.execute(
        "CREATE TABLE recipients_members AS SELECT * FROM (VALUES"
        " ('H1', 'A'), ('H2', 'B'), ('H3', 'C'), ('H4', 'X'), ('H5', 'E'), ('H6', 'F'))"
        " AS t(household_id, id_no) , (SELECT NULL AS id_no_clean, NULL AS id_no_raw,"
        " '成员' AS name, NULL AS name_raw)"
    )
    rank_findings(con)
    report = compare_with_previous(con, prev)
    assert (report.previous_run_id, report.new, report.open) == ("night1", 1, 1)
    got = {
        h: (reason, zh)
        for h, reason, zh in con.execute(
            "SELECT household_id, reason, reason_zh FROM _rm_resolved"
        ).fetchall()
    }
    assert {h: r for h, (r, _) in got.items()} == {
        "H2": "suppressed",
        "H3": "household_exited",
        "H4": "member_left",
        "H5": "evidence_gone",
        "H6": "evidence_gone",
    }
    assert got["H5"][1] == REASON_ZH["evidence_gone"]
    assert got["H6"][1] == EVIDENCE_CHANGED_ZH
    changes = dict(con.execute("SELECT household_id, change FROM _rm_households").fetchall())
    assert changes == {"H1": "open", "H6": "new"}
