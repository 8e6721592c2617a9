"""``relief-match whatif``: the checks rerun on the latest run with parameters replaced,
and the what-if parameters of VEHICLE and INCOME_OVER_STANDARD on their case files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from relief_match.cli import app
from relief_match.errors import EXIT_CONFIG, EXIT_OK, EXIT_USAGE
from relief_match.privacy import mask_id
from relief_match.rules import CheckSet, load_checks
from rules_harness import Expectation, load_case, run_case

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 28)
#: Appended to the sample's motor_vehicles.csv: a second counted car for the
#: owner of 粤L570DE (that household keeps its finding with one vehicle
#: exempt) and a motorcycle, which is not counted, for the owner of 粤L570DG.
EXTRA_VEHICLES = (
    "非营运,粤L9W001,正常,441322199110049875,王永华,2019-05-01,小型汽车\n"
    "非营运,粤L9W002,正常,441302199403248362,黄晓英,2019-05-01,摩托车\n"
)


@pytest.fixture(scope="module")
def checks() -> CheckSet:
    return load_checks(ROOT / "rules", ROOT / "schemas")


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    delivery = tmp_path_factory.mktemp("delivery") / "delivery"
    shutil.copytree(ROOT / "sample_data" / "delivery", delivery)
    vehicles = delivery / "public_security" / "motor_vehicles.csv"
    text = vehicles.read_text(encoding="utf-8")
    vehicles.write_text(text + ("" if text.endswith("\n") else "\n") + EXTRA_VEHICLES, "utf-8")
    out = tmp_path_factory.mktemp("out")
    res = CliRunner().invoke(
        app, ["run", str(delivery), "--out", str(out), "--as-of", AS_OF.isoformat()]
    )
    assert res.exit_code == EXIT_OK, res.output
    return out


def _tree_digest(root: Path) -> dict[str, str]:
    """Every file under ``root`` (symlinks by target) -> its SHA-256."""
    digest = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            digest[str(p.relative_to(root))] = "->" + str(p.readlink())
        elif p.is_file():
            digest[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return digest


def _single_vehicle_households(run_dir: Path, checks: CheckSet) -> set[str]:
    """Households whose linked members own exactly one vehicle VEHICLE counts,
    computed from the run's database without the check's SQL."""
    p = checks.params
    con = duckdb.connect(str(run_dir / "relief_match.duckdb"), read_only=True)
    try:
        rows = con.execute(
            """
            SELECT mp.household_id, count(DISTINCT v._row)
            FROM motor_vehicles AS v
            JOIN _rm_links AS l ON l.extract = 'motor_vehicles' AND l.row = v._row
            JOIN _rm_member_person AS mp ON mp.person_id = l.person_id
            WHERE l.match_probability >= ? AND list_contains(?, v.status)
              AND NOT list_contains(?, v.vehicle_type)
              AND (v.registration_date IS NULL OR v.registration_date <= ?)
            GROUP BY mp.household_id
            """,
            [
                p["min_link_probability"].value,
                p["counted_vehicle_statuses"].value,
                p["exempt_vehicle_types"].value,
                AS_OF,
            ],
        ).fetchall()
    finally:
        con.close()
    return {h for h, n in rows if n == 1}


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def test_one_exempt_vehicle_removes_exactly_the_single_vehicle_households(
    out: Path, checks: CheckSet, tmp_path: Path
) -> None:
    run_dir = (out / "latest").resolve()
    before = _tree_digest(out)
    alt = tmp_path / "alt.yaml"
    alt.write_text("params:\n  exempt_vehicles_per_household: 1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["whatif", "--params", str(alt), "--out", str(out), "--json"])
    assert res.exit_code == EXIT_OK, res.output
    report = json.loads(res.stdout)

    single = _single_vehicle_households(run_dir, checks)
    flags = _csv(run_dir / "flags.csv")
    vehicle = [f for f in flags if f["规则编号"] == "VEHICLE"]
    expected = {(f["家庭编号"], f["成员身份证号"]) for f in vehicle if f["家庭编号"] in single}
    assert expected and len(expected) < len(vehicle)  # the two-vehicle household stays

    rows = _csv(Path(report["out_dir"]) / "whatif.csv")
    findings = [r for r in rows if r["对象"] == "疑点"]
    assert {r["规则编号"] for r in findings} == {"VEHICLE"}
    assert {r["变化"] for r in findings} == {"移除"}
    assert {(r["家庭编号"], r["成员身份证号"]) for r in findings} == expected
    two_cars = next(
        f["家庭编号"] for f in vehicle if f["成员身份证号"] == mask_id("441322199110049875")
    )
    assert two_cars not in single
    households = {r["家庭编号"] for r in rows if r["对象"] == "家庭" and r["变化"] == "移除"}
    only_vehicle = {f["家庭编号"] for f in vehicle} - {
        f["家庭编号"] for f in flags if f["规则编号"] != "VEHICLE"
    }
    assert households == {h for h, _ in expected} & only_vehicle

    by_check = {c["rule_id"]: c for c in report["checks"]}
    assert by_check["VEHICLE"]["removed"] == len(expected)
    assert by_check["VEHICLE"]["whatif"] == len(vehicle) - len(expected)
    assert all(c["published"] == c["whatif"] for k, c in by_check.items() if k != "VEHICLE")
    summary = _csv(Path(report["out_dir"]) / "whatif_summary.csv")
    assert {s["规则编号"]: int(s["移除"]) for s in summary}["VEHICLE"] == len(expected)

    after = _tree_digest(out)
    assert {k: v for k, v in after.items() if not k.startswith("whatif/")} == before
    assert not (out / "review").exists()


def test_unchanged_parameters_change_nothing(out: Path, tmp_path: Path) -> None:
    alt = tmp_path / "alt.yaml"
    alt.write_text("exempt_vehicles_per_household: 0\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["whatif", "--params", str(alt), "--out", str(out), "--json"])
    assert res.exit_code == EXIT_OK, res.output
    report = json.loads(res.stdout)
    assert _csv(Path(report["out_dir"]) / "whatif.csv") == []
    assert all(c["added"] == c["removed"] == c["changed"] == 0 for c in report["checks"])


def test_unknown_parameter_is_a_configuration_error(out: Path, tmp_path: Path) -> None:
    alt = tmp_path / "alt.yaml"
    alt.write_text("params:\n  no_such_param: 1\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["whatif", "--params", str(alt), "--out", str(out)])
    assert res.exit_code == EXIT_CONFIG, res.output


def test_whatif_without_a_published_run_is_a_usage_error(tmp_path: Path) -> None:
    alt = tmp_path / "alt.yaml"
    alt.write_text("exempt_vehicles_per_household: 1\n", encoding="utf-8")
    (tmp_path / "out").mkdir()
    res = CliRunner().invoke(app, ["whatif", "--params", str(alt), "--out", str(tmp_path / "out")])
    assert res.exit_code == EXIT_USAGE, res.output


# --------------------------------------------------------------------------- the parameters on case files


def _found(rule_id: str, checks: CheckSet, params: dict[str, object]) -> set[str]:
    case = load_case(ROOT / "tests" / "rules_cases" / f"{rule_id}.yaml")
    case = case.model_copy(update={"params": params})
    return {f["household_id"] for f in run_case(case, checks)}


def test_exempt_vehicles_per_household_keeps_that_many_counted_vehicles(checks: CheckSet) -> None:
    everyone = _found("VEHICLE", checks, {})
    assert everyone == {"H01", "H05", "H06", "H08", "H09", "H10"}
    # H05's member owns two counted vehicles; H01 and H06 one each (plus an exempt one)
    assert _found("VEHICLE", checks, {"exempt_vehicles_per_household": 1}) == {"H05"}
    assert _found("VEHICLE", checks, {"exempt_vehicles_per_household": 2}) == set()


def test_income_gate_on_the_minimum_wage(checks: CheckSet) -> None:
    low_income = _found("INCOME_OVER_STANDARD", checks, {})
    rows = [
        {"district_code": d, "year": 2026, "monthly_amount": 1900.0}
        for d in ("441302", "441303", "441322", "441323", "441324")
    ]
    case = load_case(ROOT / "tests" / "rules_cases" / "INCOME_OVER_STANDARD.yaml")
    params = {"income_standard_basis": "minimum_wage", "minimum_wage": rows}
    findings = run_case(case.model_copy(update={"params": params}), checks)
    gated = {f["household_id"] for f in findings}
    assert gated < low_income
    assert "H02" in low_income - gated  # 1205.56 a head: above 1150, below 1900
    assert {"H01", "H08", "H09"} <= gated  # 2000 a head
    assert all("2026年最低工资标准1,900.00元" in f["reason_zh"] for f in findings)


def test_case_expectations_can_be_restated_for_the_new_parameters(checks: CheckSet) -> None:
    """The case-file format carries one parameter set; its expectations, restated for
    exempt_vehicles_per_household = 1, pass the harness's comparison."""
    from rules_harness import compare

    case = load_case(ROOT / "tests" / "rules_cases" / "VEHICLE.yaml")
    kept = [e for e in case.expected if e.kind == "near_miss" or e.household_id == "H05"]
    gone = [
        Expectation(kind="near_miss", household_id=e.household_id, note="one counted vehicle")
        for e in case.expected
        if e.kind == "finding" and e.household_id != "H05"
    ]
    variant = case.model_copy(
        update={"params": {"exempt_vehicles_per_household": 1}, "expected": kept + gone}
    )
    assert compare(variant, run_case(variant, checks)) == []
