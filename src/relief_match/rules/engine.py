"""The rules engine: load and check the rule files, run them, collect findings.

Two entry points:

* :func:`load_checks` reads ``rules/checks/*.yaml`` and ``rules/params.yaml``,
  validates every file (pydantic for the shape; sqlglot for the SQL: one
  SELECT, only staged extracts and ``_rm_*`` tables, only known columns; and a
  dry run that binds the SQL in DuckDB against empty staged tables) and
  raises one :class:`~relief_match.rules.spec.RuleConfigError` listing every
  problem in every file.
* :func:`run_checks` runs the checks on the run's DuckDB connection. A check
  whose required extracts were not delivered is skipped with a reason; an
  extract that is only one of several alternatives (``requires_any``) or
  ``optional`` is replaced by an empty table of the staged shape for the
  duration of the check. Findings go to ``_rm_findings`` (see
  :data:`FINDINGS_COLUMNS`), the per-check outcome to ``_rm_checks``.

Parameter binding: every ``$name`` in a check's SQL is bound as a value, never
spliced into the text. Scalars and lists come from ``params.yaml`` (lists
become DuckDB lists, used with ``list_contains``); table parameters become the
temp table ``_rm_param_<name>``; ``$as_of``, ``$as_of_month`` and
``$window_start`` are derived from the run date (see
:data:`~relief_match.rules.spec.DERIVED_PARAMS`).

Example:
    >>> checks = load_checks(Path("rules"), Path("schemas"))
    >>> report = run_checks(con, checks, date(2026, 11, 15), {"recipients_members", ...})
    >>> print(report.asstr())
"""

from __future__ import annotations

import datetime as dt
import json
import math
import string
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import sqlglot
import yaml
from pydantic import ValidationError
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError
from sqlglot.optimizer.qualify import qualify

from relief_match.errors import InternalError
from relief_match.output.masking import mask_id
from relief_match.rules.schema import (
    EXTRACTS,
    PARAM_TABLE_PREFIX,
    RM_TABLES,
    Layout,
    create_empty_table,
    load_staged_layouts,
    quote_ident,
)
from relief_match.rules.spec import (
    DERIVED_PARAMS,
    REQUIRED_OUTPUT_COLUMNS,
    CheckSet,
    CheckSpec,
    LoadedCheck,
    ParamsFile,
    ParamSpec,
    RuleConfigError,
)

#: Columns of ``_rm_findings`` and their DuckDB types.
FINDINGS_COLUMNS: dict[str, str] = {
    "rule_id": "VARCHAR",
    "household_id": "VARCHAR",
    "person_id": "VARCHAR",
    "member_id_no": "VARCHAR",
    "member_name": "VARCHAR",
    "amount_at_risk": "DOUBLE",
    "amount_is_estimate": "BOOLEAN",
    "route": "VARCHAR",
    "match_probability": "DOUBLE",
    "match_evidence": "VARCHAR",
    "evidence_extract": "VARCHAR",
    "evidence_row": "BIGINT",
    "evidence_file": "VARCHAR",
    "reason_zh": "VARCHAR",
    "evidence": "VARCHAR",
    "district_code": "VARCHAR",
    "benefit_type": "VARCHAR",
}

#: Columns of ``_rm_checks`` (one row per check: metadata and outcome).
CHECKS_COLUMNS: dict[str, str] = {
    "rule_id": "VARCHAR",
    "title_zh": "VARCHAR",
    "title_en": "VARCHAR",
    "weight": "DOUBLE",
    "amount_kind": "VARCHAR",
    "status": "VARCHAR",
    "n_findings": "BIGINT",
    "seconds": "DOUBLE",
    "reason": "VARCHAR",
    "substituted": "VARCHAR",
}

#: Link routes a finding may carry (``None``: the finding rests on no person link).
ROUTES: frozenset[str] = frozenset({"exact", "repaired_id", "probabilistic"})

#: Names a ``reason_zh`` template may use besides the SQL's output columns and
#: the scalar parameters: filled in by the engine.
TEMPLATE_EXTRAS: frozenset[str] = frozenset(
    {"member_id_masked", "district_code", "benefit_type", "title_zh", "as_of"}
)

#: Extracts that are the recipients' own records; every other extract is a
#: department register and must be reached through ``_rm_links``.
OWN_EXTRACTS: frozenset[str] = frozenset(
    {"recipients_households", "recipients_members", "benefit_payments"}
)

_TABLE_FUNCTIONS = (exp.GenerateSeries, exp.Unnest)
_FORBIDDEN_NODES: tuple[type[exp.Expr], ...] = tuple(
    getattr(exp, n)
    for n in (
        "DDL",
        "DML",
        "Command",
        "Copy",
        "Pragma",
        "Attach",
        "Detach",
        "Set",
        "Use",
        "Transaction",
        "Commit",
        "Rollback",
        "Install",
        "Load",
        "Kill",
    )
    if hasattr(exp, n)
)
_FORBIDDEN_FUNCTION_PREFIXES = (
    "read_",
    "parquet_",
    "glob",
    "getenv",
    "query",
    "sniff_",
    "json_execute",
)
_LINK_PARAM = "min_link_probability"


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def load_checks(rules_dir: Path, schemas_dir: Path | None = None) -> CheckSet:
    """Load and validate every check and the parameters.

    Args:
        rules_dir: the ``rules/`` directory (holds ``checks/`` and ``params.yaml``).
        schemas_dir: the ``schemas/`` directory. With it, every column the SQL
            references is checked and the SQL is bound against empty staged
            tables; without it only the SQL's shape and tables are checked.

    Returns:
        The validated :class:`CheckSet`, checks ordered by id.

    Raises:
        RuleConfigError: listing every problem in every file at once.

    Example:
        >>> checks = load_checks(Path("rules"), Path("schemas"))
        >>> checks.get("VEHICLE").spec.weight
        0.7
    """
    problems: list[tuple[Path, str]] = []
    layouts: dict[str, Layout] | None = None
    if schemas_dir is not None:
        layouts, schema_problems = load_staged_layouts(schemas_dir)
        problems += schema_problems
        if not layouts:
            problems.append((schemas_dir, "no schemas/<department>/<extract>.yaml files found"))
            layouts = None

    params_path = rules_dir / "params.yaml"
    params = _load_params(params_path, problems)

    checks_dir = rules_dir / "checks"
    files = sorted(checks_dir.glob("*.yaml")) if checks_dir.is_dir() else []
    if not files:
        problems.append((checks_dir, "no check files (rules/checks/<RULE_ID>.yaml) found"))

    specs: list[tuple[Path, CheckSpec]] = []
    seen: dict[str, Path] = {}
    for path in files:
        spec = _load_spec(path, problems)
        if spec is None:
            continue
        if spec.id != path.stem:
            problems.append((path, f"id {spec.id!r} does not match the file name {path.stem!r}"))
        if spec.id in seen:
            problems.append((path, f"id {spec.id!r} already defined in {seen[spec.id]}"))
            continue
        seen[spec.id] = path
        specs.append((path, spec))

    known_extracts = set(layouts) if layouts is not None else set(EXTRACTS)
    bind_con = _bind_connection(layouts, params) if layouts is not None else None
    loaded: list[LoadedCheck] = []
    try:
        for path, spec in specs:
            check = _analyse(spec, path, params, layouts, known_extracts, bind_con, problems)
            if check is not None:
                loaded.append(check)
    finally:
        if bind_con is not None:
            bind_con.close()

    if problems:
        raise RuleConfigError(problems)
    loaded.sort(key=lambda c: c.id)
    return CheckSet(checks=tuple(loaded), params=params, layouts=layouts, rules_dir=rules_dir)


def _load_yaml(path: Path, problems: list[tuple[Path, str]]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append((path, f"cannot read YAML: {exc}"))
        return None


def _pydantic_problems(path: Path, err: ValidationError) -> list[tuple[Path, str]]:
    out = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(file)"
        out.append((path, f"{loc}: {e['msg']}"))
    return out


def _load_params(path: Path, problems: list[tuple[Path, str]]) -> dict[str, ParamSpec]:
    if not path.is_file():
        problems.append((path, "params file not found"))
        return {}
    raw = _load_yaml(path, problems)
    if raw is None:
        return {}
    try:
        parsed = ParamsFile.model_validate(raw)
    except ValidationError as err:
        problems += _pydantic_problems(path, err)
        return {}
    for name in parsed.params:
        if name in DERIVED_PARAMS:
            problems.append((path, f"{name}: reserved name (bound by the engine)"))
        if not name.isidentifier() or name.lower() != name:
            problems.append((path, f"{name}: parameter names must be lower-case identifiers"))
    return dict(parsed.params)


def _load_spec(path: Path, problems: list[tuple[Path, str]]) -> CheckSpec | None:
    raw = _load_yaml(path, problems)
    if raw is None:
        if not problems or problems[-1][0] != path:
            problems.append((path, "empty file"))
        return None
    try:
        return CheckSpec.model_validate(raw)
    except ValidationError as err:
        problems += _pydantic_problems(path, err)
        return None


def _param_table_types(spec: ParamSpec) -> dict[str, str]:
    assert spec.table is not None
    types: dict[str, str] = {}
    for col in spec.table[0]:
        values = [row[col] for row in spec.table]
        if all(isinstance(v, bool) for v in values):
            types[col] = "BOOLEAN"
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            types[col] = "BIGINT"
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            types[col] = "DOUBLE"
        elif all(isinstance(v, dt.date) for v in values):
            types[col] = "DATE"
        else:
            types[col] = "VARCHAR"
    return types


def _register_param_table(con: duckdb.DuckDBPyConnection, name: str, spec: ParamSpec) -> None:
    assert spec.table is not None
    types = _param_table_types(spec)
    table = PARAM_TABLE_PREFIX + name
    create_empty_table(con, table, types, temp=True)
    cols = list(types)
    placeholders = ", ".join("?" for _ in cols)
    rows = [[str(r[c]) if types[c] == "VARCHAR" else r[c] for c in cols] for r in spec.table]
    con.executemany(f"INSERT INTO {quote_ident(table)} VALUES ({placeholders})", rows)


def _bind_connection(
    layouts: Mapping[str, Layout], params: Mapping[str, ParamSpec]
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    for name, layout in {**layouts, **RM_TABLES}.items():
        create_empty_table(con, name, layout)
    for name, spec in params.items():
        if spec.is_table:
            _register_param_table(con, name, spec)
    return con


def _func_name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__.lower()


def _template_fields(template: str) -> set[str]:
    names: set[str] = set()
    for _, field_name, _, _ in string.Formatter().parse(template):
        if field_name is None:
            continue
        root = field_name.split(".")[0].split("[")[0]
        if not root or root.isdigit():
            raise ValueError("positional fields ({} or {0}) are not allowed; name the column")
        names.add(root)
    return names


def _analyse(
    spec: CheckSpec,
    path: Path,
    params: Mapping[str, ParamSpec],
    layouts: Mapping[str, Layout] | None,
    known_extracts: set[str],
    bind_con: duckdb.DuckDBPyConnection | None,
    problems: list[tuple[Path, str]],
) -> LoadedCheck | None:
    """Check one spec against params, schemas and its own SQL; append problems."""
    n_before = len(problems)

    def bad(message: str) -> None:
        problems.append((path, message))

    # Declared extracts and params.
    for name in spec.extracts:
        if name not in known_extracts:
            bad(f"requires unknown extract {name!r}")
    for name in spec.params:
        if name not in params:
            bad(f"params: {name!r} is not defined in params.yaml")

    sql = spec.sql.strip().rstrip(";").strip()
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        bad(f"sql does not parse: {str(exc).splitlines()[0]}")
        return None
    if len(statements) != 1:
        bad(f"sql must be exactly one statement, found {len(statements)}")
        return None
    stmt = statements[0]
    if not isinstance(stmt, exp.Query):
        bad(f"sql must be a SELECT, found {type(stmt).__name__}")
        return None
    for node in stmt.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            bad(f"sql contains a forbidden statement: {type(node).__name__}")
        if isinstance(node, exp.Func):
            fname = _func_name(node)
            if fname.startswith(_FORBIDDEN_FUNCTION_PREFIXES):
                bad(f"sql calls a forbidden function {fname!r} (checks read staged tables only)")

    # Tables.
    cte_names = {cte.alias_or_name for cte in stmt.find_all(exp.CTE)}
    table_params = {p for p in spec.params if p in params and params[p].is_table}
    allowed = set(spec.extracts) | set(RM_TABLES) | {PARAM_TABLE_PREFIX + p for p in table_params}
    tables: set[str] = set()
    n_link_refs = 0
    for t in stmt.find_all(exp.Table):
        if not isinstance(t.this, exp.Identifier):
            if not isinstance(t.this, _TABLE_FUNCTIONS):
                bad(f"sql reads from a table function {_func_name(t.this)!r}; not allowed")
            continue
        if t.args.get("db") is not None or t.args.get("catalog") is not None:
            bad(f"sql names a qualified table {t.sql(dialect='duckdb')!r}; use the bare table name")
            continue
        name = t.name
        if name in cte_names:
            continue
        if name == "_rm_links":
            n_link_refs += 1
        tables.add(name)
        if name in allowed:
            continue
        if name in known_extracts:
            bad(f"sql reads {name!r}, which is not declared in requires/requires_any/optional")
        elif name.startswith(PARAM_TABLE_PREFIX):
            bad(
                f"sql reads {name!r}, but {name[len(PARAM_TABLE_PREFIX) :]!r} is not a declared table parameter"
            )
        else:
            bad(
                f"sql reads unknown table {name!r} (allowed: staged extracts and {sorted(RM_TABLES)})"
            )
    for name in spec.extracts:
        if name in known_extracts and name not in tables:
            bad(f"declares extract {name!r} but the sql never reads it")
    for p in table_params:
        if PARAM_TABLE_PREFIX + p not in tables:
            bad(f"declares table parameter {p!r} but the sql never reads {PARAM_TABLE_PREFIX + p}")

    # Placeholders.
    placeholders: set[str] = set()
    n_link_params = 0
    for ph in stmt.find_all(exp.Placeholder):
        ph_name = ph.this if isinstance(ph.this, str) else None
        if not ph_name or ph_name.isdigit():
            bad("sql uses a positional parameter (? or $1); use $name")
            continue
        placeholders.add(ph_name)
        if ph_name == _LINK_PARAM:
            n_link_params += 1
    for name in sorted(placeholders):
        if name in DERIVED_PARAMS:
            base = DERIVED_PARAMS[name]
            if base is not None and base not in spec.params:
                bad(f"sql uses ${name}, derived from {base!r}; add {base!r} to params")
        elif name not in spec.params:
            bad(f"sql uses ${name} but params does not declare it")
        elif name in params and params[name].is_table:
            bad(f"${name} is a table parameter; read it as {PARAM_TABLE_PREFIX + name}")
    for name in spec.params:
        if name in params and not params[name].is_table and name not in placeholders:
            base_of = [d for d, b in DERIVED_PARAMS.items() if b == name]
            if not any(d in placeholders for d in base_of):
                bad(f"declares parameter {name!r} but the sql never uses ${name}")

    # Department records only through _rm_links, each reference filtered by probability.
    dept = sorted(t for t in tables if t in known_extracts and t not in OWN_EXTRACTS)
    if dept and "_rm_links" not in tables:
        bad(f"reads department extract(s) {dept} without going through _rm_links")
    if n_link_refs:
        if _LINK_PARAM not in spec.params:
            bad(f"reads _rm_links but does not declare the {_LINK_PARAM!r} parameter")
        if n_link_params < n_link_refs:
            bad(
                f"reads _rm_links {n_link_refs} time(s) but filters on ${_LINK_PARAM} only "
                f"{n_link_params} time(s); filter every link reference"
            )

    try:
        template_fields = _template_fields(spec.reason_zh)
    except ValueError as exc:
        bad(f"reason_zh is not a valid template: {exc}")
        template_fields = set()

    output_columns: tuple[str, ...] | None = None
    if layouts is not None and bind_con is not None and len(problems) == n_before:
        output_columns = _bind_check(spec, sql, stmt, tables, params, layouts, bad, bind_con)
        if output_columns is not None:
            missing = [c for c in REQUIRED_OUTPUT_COLUMNS if c not in output_columns]
            if missing:
                bad(f"sql result lacks required column(s) {missing}")
            dupes = sorted({c for c in output_columns if output_columns.count(c) > 1})
            if dupes:
                bad(f"sql result has duplicate column name(s) {dupes}")
            scalars = {p for p in spec.params if p in params and not params[p].is_table}
            unknown = template_fields - set(output_columns) - TEMPLATE_EXTRAS - scalars
            if unknown:
                bad(f"reason_zh uses {sorted(unknown)}, which the sql does not return")

    if len(problems) != n_before:
        return None
    return LoadedCheck(
        spec=spec,
        path=path,
        placeholders=frozenset(placeholders),
        tables=frozenset(tables),
        output_columns=output_columns,
    )


def _bind_check(
    spec: CheckSpec,
    sql: str,
    stmt: exp.Query,
    tables: set[str],
    params: Mapping[str, ParamSpec],
    layouts: Mapping[str, Layout],
    bad: Any,
    bind_con: duckdb.DuckDBPyConnection,
) -> tuple[str, ...] | None:
    """Column check with sqlglot, then a dry run in DuckDB; return the output columns."""
    schema: dict[str, object] = {}
    for name in tables:
        if name in layouts:
            schema[name] = dict(layouts[name])
        elif name in RM_TABLES:
            schema[name] = dict(RM_TABLES[name])
        elif name.startswith(PARAM_TABLE_PREFIX):
            schema[name] = _param_table_types(params[name[len(PARAM_TABLE_PREFIX) :]])
    try:
        qualify(
            stmt.copy(),
            schema=schema,
            dialect="duckdb",
            validate_qualify_columns=True,
        )
    except OptimizeError as exc:
        bad(f"sql column check: {exc}")
        return None
    except Exception:
        # sqlglot could not analyse a construct: the DuckDB dry run below decides.
        pass

    bind = bind_values(spec, params, dt.date.today())
    try:
        cur = bind_con.execute(f"SELECT * FROM ({sql}) AS _rm_q LIMIT 0", bind)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        bad(f"sql does not bind against the staged schemas: {first}")
        return None
    return tuple(d[0] for d in cur.description or [])


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def bind_values(spec: CheckSpec, params: Mapping[str, ParamSpec], as_of: dt.date) -> dict[str, Any]:
    """The values bound to a check's ``$name`` placeholders for a run on ``as_of``.

    Args:
        spec: the check.
        params: all parameters.
        as_of: the run date.

    Returns:
        name -> value for every scalar/list parameter the check declares, plus
        the derived ``as_of``, ``as_of_month`` and ``window_start``. Only names
        that occur in the SQL are kept (DuckDB rejects unused named parameters).
    """
    as_of_month = as_of.replace(day=1)
    values: dict[str, Any] = {"as_of": as_of, "as_of_month": as_of_month}
    recent = params.get("recent_months")
    if recent is not None and isinstance(recent.value, int):
        values["window_start"] = _add_months(as_of_month, -recent.value)
    for name in spec.params:
        p = params.get(name)
        if p is not None and not p.is_table:
            values[name] = list(p.value) if isinstance(p.value, list) else p.value
    used = _placeholders(spec.sql)
    return {k: v for k, v in values.items() if k in used}


def _placeholders(sql: str) -> set[str]:
    try:
        stmt = sqlglot.parse_one(sql.strip().rstrip(";"), read="duckdb")
    except ParseError:
        return set()
    return {ph.this for ph in stmt.find_all(exp.Placeholder) if isinstance(ph.this, str)}


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


class RuleRunError(InternalError):
    """A check could not run (SQL error, bad result) or the link tables are missing.

    Attributes:
        report: the :class:`RulesReport` of the run so far (``None`` when the
            run could not start).
    """

    def __init__(self, message: str, report: RulesReport | None = None) -> None:
        super().__init__(message, hint="see the failed checks in the run summary")
        self.report = report


CheckStatus = Literal["ran", "skipped", "failed"]


@dataclass(frozen=True)
class CheckRun:
    """The outcome of one check in one run.

    Attributes:
        rule_id: the check.
        title_zh: its Chinese title.
        status: ``ran``, ``skipped`` (an extract it needs was not delivered) or
            ``failed`` (an error; see ``reason``).
        n_findings: findings written.
        seconds: wall time of the SQL and its post-processing.
        reason: why it was skipped or failed, else ``None``.
        substituted: extracts that were not delivered and were replaced by an
            empty table (alternatives and optional inputs): the check ran on
            partial evidence.
    """

    rule_id: str
    title_zh: str
    status: CheckStatus
    n_findings: int = 0
    seconds: float = 0.0
    reason: str | None = None
    substituted: tuple[str, ...] = ()


@dataclass(frozen=True)
class RulesReport:
    """What the rules stage did: one :class:`CheckRun` per check.

    Use :meth:`asdict` for machines (the run summary JSON) and :meth:`asstr`
    for people.
    """

    as_of: dt.date
    runs: tuple[CheckRun, ...] = field(default_factory=tuple)

    @property
    def n_findings(self) -> int:
        """Total findings over all checks."""
        return sum(r.n_findings for r in self.runs)

    @property
    def ran(self) -> list[str]:
        """Ids of the checks that ran."""
        return [r.rule_id for r in self.runs if r.status == "ran"]

    @property
    def skipped(self) -> list[str]:
        """Ids of the checks skipped for missing extracts."""
        return [r.rule_id for r in self.runs if r.status == "skipped"]

    @property
    def failed(self) -> list[str]:
        """Ids of the checks that failed."""
        return [r.rule_id for r in self.runs if r.status == "failed"]

    def asdict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "as_of": self.as_of.isoformat(),
            "n_findings": self.n_findings,
            "checks_ran": len(self.ran),
            "checks_skipped": len(self.skipped),
            "checks_failed": len(self.failed),
            "checks": [
                {
                    "rule_id": r.rule_id,
                    "title_zh": r.title_zh,
                    "status": r.status,
                    "n_findings": r.n_findings,
                    "seconds": round(r.seconds, 3),
                    "reason": r.reason,
                    "substituted": list(r.substituted),
                }
                for r in self.runs
            ],
        }

    def asstr(self) -> str:
        """A short text table for analysts."""
        lines = [
            f"rules (as of {self.as_of.isoformat()}): {len(self.ran)} ran, "
            f"{len(self.skipped)} skipped, {len(self.failed)} failed, {self.n_findings} findings"
        ]
        for r in self.runs:
            line = f"  {r.rule_id:<22} {r.title_zh:<10} {r.status:<7} {r.n_findings:>6}  {r.seconds:6.2f}s"
            if r.reason:
                line += f"  {r.reason}"
            if r.substituted:
                line += f"  (not delivered, ran without: {', '.join(r.substituted)})"
            lines.append(line)
        return "\n".join(lines)


class _ReasonFormatter(string.Formatter):
    """str.format that renders missing values as '—' and dates without a time."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        if isinstance(value, dt.datetime) and value.time() == dt.time(0):
            value = value.date()
        if isinstance(value, Decimal):
            value = float(value)
        return super().format_field(value, format_spec)


_FORMATTER = _ReasonFormatter()


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {str(r[0]) for r in rows}


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def run_checks(
    con: duckdb.DuckDBPyConnection,
    checks: CheckSet,
    as_of: dt.date,
    available: Iterable[str],
    *,
    raise_on_failure: bool = True,
) -> RulesReport:
    """Run every check on the staged and linked tables; write ``_rm_findings`` and ``_rm_checks``.

    Args:
        con: the run's DuckDB connection, holding the staged extracts and the
            link tables ``_rm_persons``, ``_rm_member_person``, ``_rm_links``.
        checks: from :func:`load_checks`.
        as_of: the run date, bound as ``$as_of``.
        available: names of the extracts delivered tonight (their tables exist,
            possibly empty).
        raise_on_failure: raise :class:`RuleRunError` at the end when any check
            failed (the other checks still run and their findings are written).

    Returns:
        A :class:`RulesReport` with per-check counts, durations and skip reasons.

    Raises:
        RuleRunError: when link tables a check needs are missing, or (with
            ``raise_on_failure``) when a check failed.
    """
    available = set(available)
    existing = _existing_tables(con)
    needed_rm = sorted({t for c in checks for t in c.tables if t in RM_TABLES} - existing)
    if needed_rm:
        raise RuleRunError(
            f"link tables missing: {', '.join(needed_rm)}; run the link stage before the rules"
        )

    create_empty_table(con, "_rm_findings", FINDINGS_COLUMNS)
    for name, spec in checks.params.items():
        if spec.is_table and any(PARAM_TABLE_PREFIX + name in c.tables for c in checks):
            _register_param_table(con, name, spec)

    min_p = checks.params.get(_LINK_PARAM)
    min_link = (
        float(min_p.value) if min_p is not None and isinstance(min_p.value, int | float) else 0.0
    )
    runs: list[CheckRun] = []
    for check in checks:
        runs.append(_run_one(con, check, checks, as_of, available, existing, min_link))

    _fill_context(con, _existing_tables(con))
    report = RulesReport(as_of=as_of, runs=tuple(runs))
    _write_checks_table(con, checks, report)
    if raise_on_failure and report.failed:
        details = "; ".join(f"{r.rule_id}: {r.reason}" for r in runs if r.status == "failed")
        raise RuleRunError(f"{len(report.failed)} check(s) failed: {details}", report)
    return report


def _run_one(
    con: duckdb.DuckDBPyConnection,
    check: LoadedCheck,
    checks: CheckSet,
    as_of: dt.date,
    available: set[str],
    existing: set[str],
    min_link: float,
) -> CheckRun:
    spec = check.spec
    missing = [x for x in spec.requires if x not in available]
    for group in spec.requires_any:
        if not any(x in available for x in group):
            missing.append(" or ".join(group))
    if missing:
        return CheckRun(
            spec.id, spec.title_zh, "skipped", reason=f"not delivered: {', '.join(missing)}"
        )
    substitutes = [x for x in spec.extracts if x not in available]
    absent = [x for x in spec.extracts if x in available and x not in existing]
    if absent:
        return CheckRun(
            spec.id,
            spec.title_zh,
            "failed",
            reason=f"marked delivered but no staged table: {', '.join(absent)}",
        )
    if substitutes and checks.layouts is None:
        return CheckRun(
            spec.id,
            spec.title_zh,
            "skipped",
            reason=f"not delivered: {', '.join(substitutes)} (no schema to stand in an empty table)",
        )

    started = time.perf_counter()
    created: list[str] = []
    try:
        for name in substitutes:
            if name in existing:  # a stale table of an undelivered extract must not be read
                return CheckRun(
                    spec.id,
                    spec.title_zh,
                    "failed",
                    reason=f"{name} not delivered but a table of that name exists",
                )
            assert checks.layouts is not None
            create_empty_table(con, name, checks.layouts[name], temp=True)
            created.append(name)
        sql = spec.sql.strip().rstrip(";")
        cur = con.execute(sql, bind_values(spec, checks.params, as_of))
        columns = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
        findings = _to_findings(check, columns, rows, checks, as_of, min_link)
        _insert_findings(con, findings)
    except (duckdb.Error, _FindingError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CheckRun(
            spec.id,
            spec.title_zh,
            "failed",
            seconds=time.perf_counter() - started,
            reason=message,
            substituted=tuple(substitutes),
        )
    finally:
        for name in created:
            con.execute(f"DROP TABLE IF EXISTS temp.main.{quote_ident(name)}")
    return CheckRun(
        spec.id,
        spec.title_zh,
        "ran",
        n_findings=len(findings),
        seconds=time.perf_counter() - started,
        substituted=tuple(substitutes),
    )


class _FindingError(Exception):
    """A check returned a row that breaks the findings contract."""


def _to_findings(
    check: LoadedCheck,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    checks: CheckSet,
    as_of: dt.date,
    min_link: float,
) -> list[dict[str, Any]]:
    spec = check.spec
    missing = [c for c in REQUIRED_OUTPUT_COLUMNS if c not in columns]
    if missing:
        raise _FindingError(f"result lacks required column(s) {missing}")
    scalars = {
        name: p.value for name, p in checks.params.items() if name in spec.params and not p.is_table
    }
    core = set(FINDINGS_COLUMNS) | {"amount_is_estimate"}
    out: list[dict[str, Any]] = []
    for values in rows:
        row = dict(zip(columns, values, strict=True))
        if row["household_id"] is None:
            raise _FindingError("a finding has no household_id")
        route = row["route"]
        prob = row["match_probability"]
        if route is not None and route not in ROUTES:
            raise _FindingError(f"unknown route {route!r}")
        if prob is not None:
            prob = float(prob)
            if route is not None and prob < min_link - 1e-9:
                raise _FindingError(
                    f"finding for household {row['household_id']} rests on a link with "
                    f"probability {prob} < {min_link}"
                )
        amount = row["amount_at_risk"]
        if spec.amount_kind == "none":
            amount = None
        elif amount is not None:
            amount = round(float(amount), 2)
        row["amount_at_risk"] = amount
        member_id = row["member_id_no"]
        context = {
            **scalars,
            "as_of": as_of,
            "title_zh": spec.title_zh,
            "member_id_masked": mask_id(member_id),
            "district_code": row.get("district_code"),
            "benefit_type": row.get("benefit_type"),
            **row,
        }
        try:
            reason = _FORMATTER.vformat(spec.reason_zh, (), context)
        except (KeyError, ValueError, IndexError, AttributeError, TypeError) as exc:
            raise _FindingError(f"reason_zh cannot be formatted: {exc!r}") from exc
        extra = {k: v for k, v in row.items() if k not in core}
        evidence_row = row["evidence_row"]
        out.append(
            {
                "rule_id": spec.id,
                "household_id": str(row["household_id"]),
                "person_id": None if row["person_id"] is None else str(row["person_id"]),
                "member_id_no": None if member_id is None else str(member_id),
                "member_name": None if row["member_name"] is None else str(row["member_name"]),
                "amount_at_risk": amount,
                "amount_is_estimate": None
                if spec.amount_kind == "none"
                else spec.amount_kind == "estimate",
                "route": route,
                "match_probability": prob,
                "match_evidence": row.get("match_evidence"),
                "evidence_extract": row["evidence_extract"],
                "evidence_row": None if evidence_row is None else int(evidence_row),
                "evidence_file": None,
                "reason_zh": reason,
                "evidence": json.dumps(
                    extra, ensure_ascii=False, default=_json_default, sort_keys=True
                ),
                "district_code": row.get("district_code"),
                "benefit_type": row.get("benefit_type"),
            }
        )
    return out


_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "BIGINT": pa.int64(),
}


def _insert_findings(con: duckdb.DuckDBPyConnection, findings: list[dict[str, Any]]) -> None:
    if not findings:
        return
    schema = pa.schema([(c, _ARROW_TYPES[t]) for c, t in FINDINGS_COLUMNS.items()])
    batch = pa.Table.from_pylist(findings, schema=schema)
    con.register("_rm_findings_batch", batch)
    try:
        con.execute("INSERT INTO _rm_findings SELECT * FROM _rm_findings_batch")
    finally:
        con.unregister("_rm_findings_batch")


def _fill_context(con: duckdb.DuckDBPyConnection, existing: set[str]) -> None:
    """Add district, benefit type and the evidence file to the findings."""
    if "recipients_households" in existing:
        con.execute(
            """
            UPDATE _rm_findings AS f
            SET district_code = coalesce(f.district_code, h.district_code),
                benefit_type = coalesce(f.benefit_type, h.benefit_type)
            FROM (
                SELECT household_id, any_value(district_code) AS district_code,
                       any_value(benefit_type) AS benefit_type
                FROM recipients_households GROUP BY household_id
            ) AS h
            WHERE h.household_id = f.household_id
            """
        )
    extracts = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT evidence_extract FROM _rm_findings WHERE evidence_extract IS NOT NULL"
        ).fetchall()
    ]
    for name in extracts:
        if name not in existing or name not in EXTRACTS:
            continue
        cols = {
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
            ).fetchall()
        }
        if not {"_row", "_file"} <= cols:
            continue
        con.execute(
            f"""
            UPDATE _rm_findings AS f SET evidence_file = t._file
            FROM {quote_ident(name)} AS t
            WHERE f.evidence_extract = ? AND t._row = f.evidence_row
            """,
            [name],
        )


def _write_checks_table(
    con: duckdb.DuckDBPyConnection, checks: CheckSet, report: RulesReport
) -> None:
    create_empty_table(con, "_rm_checks", CHECKS_COLUMNS)
    by_id = {r.rule_id: r for r in report.runs}
    rows = []
    for check in checks:
        r = by_id[check.id]
        rows.append(
            [
                check.id,
                check.spec.title_zh,
                check.spec.title_en,
                check.spec.weight,
                check.spec.amount_kind,
                r.status,
                r.n_findings,
                r.seconds,
                r.reason,
                ",".join(r.substituted) or None,
            ]
        )
    if rows:
        con.executemany(
            f"INSERT INTO _rm_checks VALUES ({', '.join('?' for _ in CHECKS_COLUMNS)})", rows
        )
