"""The rules engine, the 14 checks and their case files (tests/rules_cases/<RULE_ID>.yaml)."""

from __future__ import annotations

import datetime as dt
import random
import re
import textwrap
from pathlib import Path

import duckdb
import pytest
import sqlglot
import yaml
from sqlglot import exp

from relief_match.errors import InternalError
from relief_match.rules import (
    FINDINGS_COLUMNS,
    RELATIONS,
    CheckSet,
    RuleConfigError,
    RuleRunError,
    load_checks,
    run_checks,
)
from relief_match.rules.fragments import Fragment, FragmentError, expand_fragments
from relief_match.rules.loader import load_fragments
from relief_match.rules.schema import RM_TABLES, contract_extracts, create_empty_table
from rules_harness import build_case_db, compare, load_case, run_case

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
SCHEMAS = ROOT / "schemas"
CASES = ROOT / "tests" / "rules_cases"

CONTRACT_RULES = {
    "DECEASED",
    "DUPLICATE_ENROLLMENT",
    "PAID_AFTER_EXIT",
    "OVERPAID",
    "VEHICLE",
    "REAL_ESTATE",
    "ENTERPRISE",
    "INDIVIDUAL_BUSINESS",
    "PUBLIC_EMPLOYEE",
    "INCOME_OVER_STANDARD",
    "UNDECLARED_EMPLOYMENT",
    "INCARCERATED",
    "HUKOU_MOVED",
    "UNDECLARED_SPOUSE",
}
RULE_FILES = sorted(p.stem for p in (RULES / "checks").glob("*.yaml"))
CASE_FILES = sorted(p.stem for p in CASES.glob("*.yaml"))
EXTRACTS = contract_extracts()


@pytest.fixture(scope="module")
def checks() -> CheckSet:
    return load_checks(RULES, SCHEMAS)


# --------------------------------------------------------------------------- the rule set


def test_the_fourteen_contract_checks_are_defined(checks: CheckSet) -> None:
    assert set(checks.ids) == CONTRACT_RULES


def test_rules_load_without_schemas_too() -> None:
    checks = load_checks(RULES, None)
    assert set(checks.ids) == CONTRACT_RULES
    assert all(c.output_columns is None for c in checks)


def test_every_check_binds_and_returns_the_required_columns(checks: CheckSet) -> None:
    for check in checks:
        assert check.output_columns is not None, check.id
        for col in ("household_id", "person_id", "amount_at_risk", "evidence_row"):
            assert col in check.output_columns, (check.id, col)


def test_no_threshold_is_written_into_the_sql(checks: CheckSet) -> None:
    numbers = {
        str(p.value)
        for p in checks.params.values()
        if isinstance(p.value, float) and not isinstance(p.value, bool)
    }
    for check in checks:
        literals = set(re.findall(r"(?<![\w.])\d+\.\d+(?![\w.])", check.spec.sql))
        assert not literals & numbers, (check.id, literals & numbers)


def test_every_parameter_has_a_source_and_valid_from(checks: CheckSet) -> None:
    for name, p in checks.params.items():
        assert p.source.strip(), name
        assert isinstance(p.valid_from, dt.date), name


def test_params_include_the_briefed_thresholds(checks: CheckSet) -> None:
    p = checks.params
    assert p["min_link_probability"].value == 0.9
    assert p["recent_months"].value == 6
    assert p["provident_to_wage_ratio"].value == 0.24
    assert p["overpaid_tolerance"].value == 0.005
    assert p["min_residential_properties"].value == 2
    exempt = p["exempt_vehicle_types"].value
    assert isinstance(exempt, list)
    assert set(exempt) == {"摩托车", "低速货车", "三轮汽车", "残疾人专用车"}
    table = p["low_income_standard"].table
    assert table is not None
    assert {r["district_code"] for r in table} == {"441302", "441303", "441322", "441323", "441324"}
    assert all(900 <= float(r["monthly_amount"]) <= 1300 for r in table)


# --------------------------------------------------------------------------- documentation


def test_every_check_is_documented_in_rules_readme(checks: CheckSet) -> None:
    from relief_match.rules import docs
    from relief_match.rules.docs import current_block, render_checks

    readme = (RULES / "README.md").read_text(encoding="utf-8")
    for check in checks:
        head = f"### {check.id} — {check.spec.title_zh}"
        assert head in readme, head
        section = readme.split(head, 1)[1].split("\n### ", 1)[0]
        assert "What it finds" in section and "Near misses" in section, check.id
        assert "amount **" in section and "Policy source:" in section, check.id
        for near in check.spec.near_misses:
            assert f"`{near.id}`" in section, (check.id, near.id)
    assert current_block(readme) == render_checks(checks), (
        "rules/README.md is out of date: run python -m relief_match.rules.docs"
    )
    relations = current_block(readme, docs.RELATIONS_START, docs.RELATIONS_END)
    assert relations == docs.render_relations(), (
        "rules/README.md is out of date: run python -m relief_match.rules.docs"
    )
    fragments = current_block(readme, docs.FRAGMENTS_START, docs.FRAGMENTS_END)
    assert fragments == docs.render_fragments(load_fragments(RULES / "fragments.yaml", [])), (
        "rules/README.md is out of date: run python -m relief_match.rules.docs"
    )


def test_rules_readme_documents_the_score_formula() -> None:
    readme = (RULES / "README.md").read_text(encoding="utf-8")
    assert "score = round(100 × weight × p × min(1, A(amount)), 1)" in readme


# --------------------------------------------------------------------------- case files


def test_every_check_has_a_case_file() -> None:
    assert set(RULE_FILES) <= set(CASE_FILES), set(RULE_FILES) - set(CASE_FILES)
    assert set(CASE_FILES) <= set(RULE_FILES), set(CASE_FILES) - set(RULE_FILES)


@pytest.mark.parametrize("rule_id", RULE_FILES)
def test_case_file_covers_every_near_miss_of_its_check(checks: CheckSet, rule_id: str) -> None:
    case = load_case(CASES / f"{rule_id}.yaml")
    assert case.rule_id == rule_id
    spec = checks.get(rule_id).spec
    near = [e for e in case.expected if e.kind == "near_miss"]
    assert near, f"{rule_id}: no near_miss entry"
    assert any(e.kind == "finding" for e in case.expected), f"{rule_id}: no positive case"
    declared = {n.id for n in spec.near_misses}
    covered = {e.near_miss for e in near}
    assert declared <= covered, f"{rule_id}: near misses without a case: {declared - covered}"
    assert covered <= declared, f"{rule_id}: undeclared near misses {covered - declared}"


@pytest.mark.parametrize("rule_id", CASE_FILES)
def test_check_finds_exactly_the_expected_findings(checks: CheckSet, rule_id: str) -> None:
    case = load_case(CASES / f"{rule_id}.yaml")
    findings = run_case(case, checks)
    problems = compare(case, findings)
    assert not problems, "\n".join(problems)
    for f in findings:
        assert f["reason_zh"] and "—" not in f["reason_zh"], f["reason_zh"]
        kind = checks.get(rule_id).spec.amount_kind
        if kind == "none":
            assert f["amount_at_risk"] is None and f["amount_is_estimate"] is None
        else:
            assert f["amount_at_risk"] is not None
            assert f["amount_is_estimate"] is (kind == "estimate")


@pytest.mark.parametrize("rule_id", CASE_FILES)
def test_shuffled_input_rows_give_the_same_findings_and_evidence(
    checks: CheckSet, rule_id: str
) -> None:
    """Every tie a check breaks (arg_max, row_number, ...) is broken on content:
    the order in which rows sit in the tables changes no finding and no cited row."""
    case = load_case(CASES / f"{rule_id}.yaml")

    def findings(seed: int | None) -> list[tuple[object, ...]]:
        shuffle = None if seed is None else random.Random(seed)
        return sorted(tuple(map(repr, f.values())) for f in run_case(case, checks, shuffle))

    reference = findings(None)
    for seed in range(4):
        assert findings(seed) == reference, f"{rule_id}: findings depend on row order (seed {seed})"


def test_exact_amounts_are_asserted_in_every_exact_case(checks: CheckSet) -> None:
    for check in checks:
        if check.spec.amount_kind != "exact":
            continue
        case = load_case(CASES / f"{check.id}.yaml")
        for e in case.expected:
            if e.kind == "finding":
                assert e.amount_at_risk is not None, (check.id, e)


# --------------------------------------------------------------------------- engine behaviour


def _empty_db(checks: CheckSet, extracts: set[str]) -> duckdb.DuckDBPyConnection:
    assert checks.layouts is not None
    con = duckdb.connect(":memory:")
    for name in extracts:
        create_empty_table(con, name, checks.layouts[name])
    for name, layout in RM_TABLES.items():
        create_empty_table(con, name, layout)
    return con


def test_a_check_whose_extract_was_not_delivered_is_skipped_with_a_reason(checks: CheckSet) -> None:
    delivered = set(EXTRACTS) - {"motor_vehicles"}
    con = _empty_db(checks, delivered)
    report = run_checks(con, checks, dt.date(2026, 11, 15), delivered)
    run = {r.rule_id: r for r in report.runs}
    assert run["VEHICLE"].status == "skipped"
    assert "motor_vehicles" in (run["VEHICLE"].reason or "")
    assert set(report.ran) == CONTRACT_RULES - {"VEHICLE"}
    assert report.n_findings == 0
    status = dict(con.execute("SELECT rule_id, status FROM _rm_checks").fetchall())
    assert status["VEHICLE"] == "skipped" and status["DECEASED"] == "ran"


def test_findings_table_has_the_documented_columns(checks: CheckSet) -> None:
    con = _empty_db(checks, set(EXTRACTS))
    run_checks(con, checks, dt.date(2026, 11, 15), set(EXTRACTS))
    cols = [r[0] for r in con.execute("DESCRIBE _rm_findings").fetchall()]
    assert cols == list(FINDINGS_COLUMNS)


def test_every_check_runs_on_empty_tables(checks: CheckSet) -> None:
    con = _empty_db(checks, set(EXTRACTS))
    report = run_checks(con, checks, dt.date(2026, 11, 15), set(EXTRACTS))
    assert set(report.ran) == CONTRACT_RULES
    assert report.asdict()["checks_ran"] == 14
    text = report.asstr()
    assert "14 ran" in text and "DECEASED" in text


def test_deceased_runs_on_hukou_alone_when_death_certificates_are_missing(checks: CheckSet) -> None:
    case = load_case(CASES / "DECEASED.yaml")
    tables = {k: v for k, v in case.tables.items() if k != "death_certificates"}
    case = case.model_copy(update={"tables": tables, "expected": []})
    selected = checks.select(["DECEASED"])
    con, available = build_case_db(case, selected)
    assert "death_certificates" not in available
    report = run_checks(con, selected, case.as_of, available)
    assert report.runs[0].status == "ran"
    assert report.runs[0].substituted == ("death_certificates",)
    found = {r[0] for r in con.execute("SELECT household_id FROM _rm_findings").fetchall()}
    assert found == {"H02", "H03"}
    # the stand-in table is gone afterwards
    tables_left = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert "death_certificates" not in tables_left


def test_deceased_is_skipped_when_neither_death_source_was_delivered(checks: CheckSet) -> None:
    delivered = set(EXTRACTS) - {"death_certificates", "hukou_registry"}
    con = _empty_db(checks, delivered)
    report = run_checks(con, checks.select(["DECEASED"]), dt.date(2026, 11, 15), delivered)
    assert report.skipped == ["DECEASED"]
    assert "death_certificates or hukou_registry" in (report.runs[0].reason or "")


def test_enterprise_checks_legal_representatives_without_the_shareholder_extract(
    checks: CheckSet,
) -> None:
    case = load_case(CASES / "ENTERPRISE.yaml")
    tables = {k: v for k, v in case.tables.items() if k != "shareholders"}
    case = case.model_copy(update={"tables": tables})
    selected = checks.select(["ENTERPRISE"])
    con, available = build_case_db(case, selected)
    report = run_checks(con, selected, case.as_of, available)
    assert report.runs[0].substituted == ("shareholders",)
    found = {r[0] for r in con.execute("SELECT household_id FROM _rm_findings").fetchall()}
    assert found == {"H01"}


def test_parameters_are_bound_so_changing_params_changes_results(checks: CheckSet) -> None:
    case = load_case(CASES / "VEHICLE.yaml")
    stricter = checks.with_params(
        {"exempt_vehicle_types": ["摩托车", "低速货车", "三轮汽车", "残疾人专用车", "小型汽车"]},
    )
    found = {f["household_id"] for f in run_case(case, stricter)}
    assert found == {"H05"}  # only the lorries are left


def test_a_weaker_link_threshold_lets_the_weak_link_through(checks: CheckSet) -> None:
    case = load_case(CASES / "VEHICLE.yaml")
    looser = checks.with_params({"min_link_probability": 0.8})
    found = {f["household_id"] for f in run_case(case, looser)}
    assert "H04" in found


def test_findings_carry_district_benefit_type_and_evidence_file(checks: CheckSet) -> None:
    case = load_case(CASES / "DECEASED.yaml")
    tables = dict(case.tables)
    tables["death_certificates"] = [
        {**r, "_file": "health/death_certificates.csv"} for r in tables["death_certificates"]
    ]
    case = case.model_copy(update={"tables": tables})
    f = {x["household_id"]: x for x in run_case(case, checks)}
    assert f["H01"]["district_code"] == "441302"
    assert f["H01"]["benefit_type"] == "低保"
    assert f["H01"]["evidence_file"] == "health/death_certificates.csv"
    assert '"death_date": "2026-06-10"' in f["H01"]["evidence"]


def test_missing_link_tables_stop_the_run(checks: CheckSet) -> None:
    assert checks.layouts is not None
    con = duckdb.connect(":memory:")
    for name in EXTRACTS:
        create_empty_table(con, name, checks.layouts[name])
    with pytest.raises(RuleRunError, match="_rm_links"):
        run_checks(con, checks, dt.date(2026, 11, 15), set(EXTRACTS))


# --------------------------------------------------------------------------- loader problems

_PARAMS = """
params:
  min_link_probability: {value: 0.9, source: test, valid_from: 2026-01-01}
  counted_vehicle_statuses: {value: [正常], source: test, valid_from: 2026-01-01}
  active_household_statuses: {value: [在保], source: test, valid_from: 2026-01-01}
"""

_GOOD = """
id: {id}
title_zh: 测试
title_en: Test
description: test
weight: 0.5
amount_kind: estimate
policy_source: test
requires: [recipients_members, benefit_payments, motor_vehicles]
params: [min_link_probability, counted_vehicle_statuses]
near_misses: [{id: x, zh: 测试}]
sql: |
  SELECT m.household_id, l.person_id, m.name AS member_name, m.id_no AS member_id_no,
         0.0 AS amount_at_risk, l.route, l.match_probability,
         'motor_vehicles' AS evidence_extract, v._row AS evidence_row, v.plate_no
  FROM motor_vehicles AS v
  JOIN _rm_links AS l ON l.extract = 'motor_vehicles' AND l.row = v._row
  JOIN _rm_member_person AS mp ON mp.person_id = l.person_id
  JOIN recipients_members AS m ON m._row = mp.member_row
  JOIN benefit_payments AS p ON p.household_id = m.household_id
  WHERE l.match_probability >= $min_link_probability
    AND list_contains($counted_vehicle_statuses, v.status)
reason_zh: "车辆{plate_no}"
"""


def _write_rules(tmp_path: Path, files: dict[str, str]) -> Path:
    rules = tmp_path / "rules"
    (rules / "checks").mkdir(parents=True)
    (rules / "params.yaml").write_text(_PARAMS, encoding="utf-8")
    for name, text in files.items():
        (rules / "checks" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return rules


def test_a_well_formed_check_loads(tmp_path: Path) -> None:
    rules = _write_rules(tmp_path, {"GOOD": _GOOD.replace("{id}", "GOOD")})
    checks = load_checks(rules, SCHEMAS)
    assert checks.ids == ("GOOD",)
    assert checks.get("GOOD").tables >= {"motor_vehicles", "_rm_links"}


def test_the_loader_reports_every_problem_in_every_file_at_once(tmp_path: Path) -> None:
    good = _GOOD.replace("{id}", "X")
    files = {
        "UNKNOWN_TABLE": good.replace("id: X", "id: UNKNOWN_TABLE").replace(
            "FROM motor_vehicles AS v", "FROM secret_table AS v"
        ),
        "UNKNOWN_COLUMN": good.replace("id: X", "id: UNKNOWN_COLUMN").replace(
            "v.plate_no\n", "v.plate_number\n"
        ),
        "NOT_SELECT": good.replace("id: X", "id: NOT_SELECT").replace(
            "sql: |\n  SELECT", "sql: |\n  DELETE FROM motor_vehicles; SELECT"
        ),
        "NO_LINKS": good.replace("id: X", "id: NO_LINKS")
        .replace(
            "JOIN _rm_links AS l ON l.extract = 'motor_vehicles' AND l.row = v._row\n",
            "",
        )
        .replace("mp.person_id = l.person_id", "m.name = v.owner_name")
        .replace("l.person_id,", "mp.person_id,")
        .replace("l.route, l.match_probability,", "NULL AS route, 1.0 AS match_probability,")
        .replace("WHERE l.match_probability >= $min_link_probability\n    AND", "WHERE"),
        "UNDECLARED_PARAM": good.replace("id: X", "id: UNDECLARED_PARAM").replace(
            "list_contains($counted_vehicle_statuses, v.status)",
            "list_contains($exempt_vehicle_types, v.vehicle_type)",
        ),
        "BAD_TEMPLATE": good.replace("id: X", "id: BAD_TEMPLATE").replace(
            '"车辆{plate_no}"', '"车辆{plate_no}{no_such_column}"'
        ),
        "MISNAMED": good,
        "BAD_WEIGHT": good.replace("id: X", "id: BAD_WEIGHT").replace("weight: 0.5", "weight: 3"),
        "READS_FILE": good.replace("id: X", "id: READS_FILE").replace(
            "FROM motor_vehicles AS v", "FROM read_csv('/etc/passwd') AS v"
        ),
    }
    rules = _write_rules(tmp_path, files)
    with pytest.raises(RuleConfigError) as err:
        load_checks(rules, SCHEMAS)
    by_file: dict[str, list[str]] = {}
    for path, message in err.value.problems:
        by_file.setdefault(Path(path).stem, []).append(message)
    assert set(by_file) == set(files), by_file
    assert any("secret_table" in m for m in by_file["UNKNOWN_TABLE"])
    assert any("plate_number" in m for m in by_file["UNKNOWN_COLUMN"])
    assert any("one statement" in m or "SELECT" in m for m in by_file["NOT_SELECT"])
    assert any("_rm_links" in m for m in by_file["NO_LINKS"])
    assert any("exempt_vehicle_types" in m for m in by_file["UNDECLARED_PARAM"])
    assert any("no_such_column" in m for m in by_file["BAD_TEMPLATE"])
    assert any("does not match the file name" in m for m in by_file["MISNAMED"])
    assert any("weight" in m for m in by_file["BAD_WEIGHT"])
    assert any("read_csv" in m for m in by_file["READS_FILE"])
    assert str(err.value).count("\n") == len(err.value.problems)


def test_a_param_missing_from_params_yaml_is_reported(tmp_path: Path) -> None:
    text = _GOOD.replace("{id}", "P").replace(
        "params: [min_link_probability, counted_vehicle_statuses]",
        "params: [min_link_probability, counted_vehicle_statuses, no_such_param]",
    )
    rules = _write_rules(tmp_path, {"P": text})
    with pytest.raises(RuleConfigError) as err:
        load_checks(rules, SCHEMAS)
    assert any("no_such_param" in m for _, m in err.value.problems)


def _problems_with_another_join(tmp_path: Path, join: str) -> list[str]:
    """Load the good check with one more JOIN line; return the loader's messages."""
    text = _GOOD.replace("{id}", "J").replace(
        "JOIN benefit_payments AS p ON p.household_id = m.household_id\n",
        f"JOIN benefit_payments AS p ON p.household_id = m.household_id\n  {join}\n",
    )
    rules = _write_rules(tmp_path, {"J": text})
    with pytest.raises(RuleConfigError) as err:
        load_checks(rules, SCHEMAS)
    return [m for _, m in err.value.problems]


def test_a_check_reading_a_link_unfiltered_by_probability_is_rejected(tmp_path: Path) -> None:
    messages = _problems_with_another_join(
        tmp_path, "JOIN _rm_links AS l2 ON l2.extract = 'motor_vehicles' AND l2.row = v._row"
    )
    assert any("filter every link reference" in m for m in messages), messages


def test_a_finding_on_a_link_below_the_threshold_fails_the_check(tmp_path: Path) -> None:
    text = _GOOD.replace("{id}", "LOW").replace(
        "WHERE l.match_probability >= $min_link_probability",
        "WHERE l.match_probability >= $min_link_probability * 0",
    )
    rules = _write_rules(tmp_path, {"LOW": text})
    checks = load_checks(rules, SCHEMAS)
    assert checks.layouts is not None
    con = duckdb.connect(":memory:")
    for name in ("recipients_members", "benefit_payments", "motor_vehicles"):
        create_empty_table(con, name, checks.layouts[name])
    for name, layout in RM_TABLES.items():
        create_empty_table(con, name, layout)
    con.execute("INSERT INTO recipients_members (_row, household_id, name) VALUES (2, 'H1', '甲')")
    con.execute("INSERT INTO benefit_payments (_row, household_id) VALUES (2, 'H1')")
    con.execute("INSERT INTO motor_vehicles (_row, plate_no, status) VALUES (2, '粤L1', '正常')")
    con.execute("INSERT INTO _rm_member_person VALUES (2, 'P1', 'H1')")
    con.execute(
        "INSERT INTO _rm_links (extract, row, role, person_id, route, match_probability) "
        "VALUES ('motor_vehicles', 2, 'owner', 'P1', 'probabilistic', 0.5)"
    )
    available = {"recipients_members", "benefit_payments", "motor_vehicles"}
    with pytest.raises(RuleRunError, match="LOW"):
        run_checks(con, checks, dt.date(2026, 11, 15), available)
    report = run_checks(con, checks, dt.date(2026, 11, 15), available, raise_on_failure=False)
    assert report.failed == ["LOW"]
    assert "probability 0.5" in (report.runs[0].reason or "")


def test_case_files_are_valid_yaml_with_rule_ids_matching_their_names() -> None:
    for path in CASES.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert data["rule_id"] == path.stem


# --------------------------------------------------------------------------- shared relations


def test_each_relation_declares_the_columns_and_sources_of_its_sql(checks: CheckSet) -> None:
    from relief_match.rules.dry_run import bind_connection

    assert checks.layouts is not None
    con = bind_connection(checks.layouts, checks.params)
    for relation in RELATIONS:
        described = {r[0]: r[1] for r in con.execute(f"DESCRIBE {relation.name}").fetchall()}
        assert described == relation.layout, relation.name
        read = {t.name for t in sqlglot.parse_one(relation.sql, read="duckdb").find_all(exp.Table)}
        assert read == set(relation.sources), relation.name
    con.close()


def test_checks_read_the_shared_relations_and_what_they_are_built_from(checks: CheckSet) -> None:
    readers = {r.name: [c.id for c in checks if r.name in c.tables] for r in RELATIONS}
    assert all(len(ids) >= 2 for ids in readers.values()), readers
    vehicle = checks.get("VEHICLE").tables
    assert {"_rm_member", "_rm_member_person", "recipients_members"} <= vehicle
    for check in checks:
        assert "mem AS (" not in check.spec.sql and "pay AS (" not in check.spec.sql, check.id


def test_check_sql_is_expanded_plain_sql_that_sqlglot_translates_to_spark(
    checks: CheckSet,
) -> None:
    fragments = load_fragments(RULES / "fragments.yaml", [])
    callers = {name: 0 for name in fragments}
    for path in sorted((RULES / "checks").glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))["sql"]
        for name in callers:
            callers[name] += f"@{name}" in raw
    for check in checks:
        assert "@" not in check.spec.sql.replace("'@", ""), check.id
        sqlglot.transpile(check.spec.sql, read="duckdb", write="spark")
    nested = {n for f in fragments.values() for n in fragments if f"@{n}" in f.sql}
    assert all(callers[n] >= 2 or n in nested for n in fragments), callers


def test_an_unknown_fragment_or_a_wrong_call_is_a_config_error_naming_the_check(
    tmp_path: Path,
) -> None:
    good = _GOOD.replace("{id}", "F")
    rules = _write_rules(
        tmp_path,
        {
            "F": good.replace("SELECT ", "SELECT @nope, ", 1),
            "G": _GOOD.replace("{id}", "G").replace("SELECT ", "SELECT @pair(1) AS x, ", 1),
        },
    )
    (rules / "fragments.yaml").write_text(
        "fragments:\n  pair:\n    doc: two values\n    args: [a, b]\n    sql: '@a + @b'\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleConfigError) as err:
        load_checks(rules, SCHEMAS)
    problems = {(p.name, m) for p, m in err.value.problems}
    assert any(n == "F.yaml" and "unknown fragment @nope" in m for n, m in problems), problems
    assert any(n == "G.yaml" and "@pair takes 2 argument(s)" in m for n, m in problems), problems


def test_fragment_calls_expand_with_arguments_nested_calls_and_quoted_text() -> None:
    frags = {
        "span": Fragment(doc="d", args=["a", "b"], sql="f(@a, @b)"),
        "twice": Fragment(doc="d", args=["x"], sql="@span(@x, @x) || '@x'"),
    }
    assert expand_fragments("SELECT @twice(g(1, 2)), '@twice'", frags) == (
        "SELECT f(g(1, 2), g(1, 2)) || '@x', '@twice'"
    )
    loop = {"me": Fragment(doc="d", sql="@me")}
    with pytest.raises(FragmentError, match="cycle"):
        expand_fragments("SELECT @me", loop)


def test_a_check_reading_a_relation_requires_its_sources_and_declares_its_params(
    tmp_path: Path,
) -> None:
    messages = _problems_with_another_join(
        tmp_path, "JOIN _rm_active_household AS act ON act.household_id = m.household_id"
    )
    assert any("add 'recipients_households' to requires" in m for m in messages), messages
    assert any("add 'active_household_statuses' to params" in m for m in messages), messages


def test_the_statement_guard_fails_loudly_when_sqlglot_lacks_a_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from relief_match.rules import analyse

    monkeypatch.setattr(analyse, "FORBIDDEN_STATEMENTS", (*analyse.FORBIDDEN_STATEMENTS, "Nope"))
    with pytest.raises(InternalError, match="Nope"):
        load_checks(RULES, SCHEMAS)


def test_the_statement_guard_rejects_what_duckdb_could_run_besides_a_query() -> None:
    from relief_match.rules.analyse import forbidden_statement_classes

    forbidden = forbidden_statement_classes()
    for sql in ("LOAD httpfs", "INSTALL httpfs", "ATTACH 'x.db'", "COPY t TO 'x'", "SET threads=1"):
        stmt = sqlglot.parse_one(sql, read="duckdb")
        assert isinstance(stmt, forbidden), sql
