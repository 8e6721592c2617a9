"""Running the checks on the run's DuckDB connection.

:func:`run_checks` builds the shared relations (:mod:`relief_match.rules.relations`)
once, then runs every check. A check whose required extracts were not delivered
is skipped with a reason; an extract that is only one of several alternatives
(``requires_any``) or ``optional`` is replaced by an empty table of the staged
shape for the duration of the check. Findings go to ``_rm_findings`` (see
:data:`~relief_match.rules.findings.FINDINGS_COLUMNS`), the per-check outcome
to ``_rm_checks``.

Example:
    >>> checks = load_checks(Path("rules"), Path("schemas"))
    >>> report = run_checks(con, checks, date(2026, 11, 15), {"recipients_members", ...})
    >>> print(report.asstr())
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import duckdb

from relief_match.rules.analyse import LINK_PARAM
from relief_match.rules.binding import bind_values, check_sql, register_param_table
from relief_match.rules.findings import (
    FINDINGS_COLUMNS,
    FindingError,
    fill_context,
    insert_findings,
    to_findings,
)
from relief_match.rules.relations import RELATIONS_BY_NAME, build_relations
from relief_match.rules.report import CheckRun, RuleRunError, RulesReport, write_checks_table
from relief_match.rules.schema import PARAM_TABLE_PREFIX, RM_TABLES, Layout, create_empty_table
from relief_match.rules.spec import CheckSet, LoadedCheck
from relief_match.sqlident import quote_ident


def _existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {str(r[0]) for r in rows}


def run_checks(
    con: duckdb.DuckDBPyConnection,
    checks: CheckSet,
    as_of: dt.date,
    available: Iterable[str],
    *,
    raise_on_failure: bool = True,
    unusable: Mapping[str, str] | None = None,
) -> RulesReport:
    """Run every check on the staged and linked tables; write ``_rm_findings`` and ``_rm_checks``.

    Args:
        con: the run's DuckDB connection, holding the staged extracts and the
            link tables ``_rm_persons``, ``_rm_member_person``, ``_rm_links``.
        checks: from :func:`~relief_match.rules.loader.load_checks`.
        as_of: the run date, bound as ``$as_of``.
        available: names of the extracts delivered tonight (their tables exist,
            possibly empty).
        raise_on_failure: raise :class:`RuleRunError` at the end when any check
            failed (the other checks still run and their findings are written).
        unusable: extract -> why it is not usable tonight (``missing``,
            ``header_only``…), for the reasons of the checks that cannot run.

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
            register_param_table(con, name, spec)
    _build_shared_relations(con, checks, {t for t in existing if t in available or t in RM_TABLES})

    min_p = checks.params.get(LINK_PARAM)
    min_link = (
        float(min_p.value) if min_p is not None and isinstance(min_p.value, int | float) else 0.0
    )
    why = dict(unusable or {})
    runs = [
        _run_one(con, check, checks, as_of, available, existing, min_link, why) for check in checks
    ]
    fill_context(con, _existing_tables(con))
    report = RulesReport(as_of=as_of, runs=tuple(runs))
    write_checks_table(con, checks, report)
    if raise_on_failure and report.failed:
        details = "; ".join(f"{r.rule_id}: {r.reason}" for r in runs if r.status == "failed")
        raise RuleRunError(f"{len(report.failed)} check(s) failed: {details}", report)
    return report


def _build_shared_relations(
    con: duckdb.DuckDBPyConnection, checks: CheckSet, usable: set[str]
) -> None:
    """Build the shared relations the checks read, from the delivered extracts."""
    read = {t for c in checks for t in c.tables if t in RELATIONS_BY_NAME}
    try:
        build_relations(con, checks.params, read, usable)
    except duckdb.Error as exc:
        raise RuleRunError(f"a shared relation could not be built: {exc}") from exc


def _not_runnable(
    check: LoadedCheck,
    checks: CheckSet,
    available: set[str],
    existing: set[str],
    why: Mapping[str, str],
) -> CheckRun | None:
    """A skipped or failed run when the check's inputs are not there, else ``None``."""
    spec = check.spec
    missing = [x for x in spec.requires if x not in available]
    for group in spec.requires_any:
        if not any(x in available for x in group):
            missing.append(" or ".join(group))
    if missing:
        reason = "not usable tonight: " + ", ".join(
            f"{x} ({why[x]})" if x in why else x for x in missing
        )
        return CheckRun(spec.id, spec.title_zh, "skipped", reason=reason)
    absent = [x for x in spec.extracts if x in available and x not in existing]
    if absent:
        reason = f"marked delivered but no staged table: {', '.join(absent)}"
        return CheckRun(spec.id, spec.title_zh, "failed", reason=reason)
    substitutes = [x for x in spec.extracts if x not in available]
    if substitutes and checks.layouts is None:
        reason = f"not delivered: {', '.join(substitutes)} (no schema to stand in an empty table)"
        return CheckRun(spec.id, spec.title_zh, "skipped", reason=reason)
    stale = [x for x in substitutes if x in existing]
    if stale:  # a stale table of an undelivered extract must not be read
        reason = f"{stale[0]} not delivered but a table of that name exists"
        return CheckRun(spec.id, spec.title_zh, "failed", reason=reason)
    return None


class CheckEngine(Protocol):
    """Where a check's SQL runs (the run's DuckDB here; Spark in :mod:`relief_match.spark.checks`)."""

    #: what a failing check raises (the check fails, the others still run)
    errors: tuple[type[Exception], ...]

    def stand_in(self, name: str, layout: Layout) -> None:
        """An empty table ``name`` of ``layout`` for an undelivered optional extract."""

    def drop(self, name: str) -> None:
        """Drop the stand-in ``name``."""

    def query(
        self, check: LoadedCheck, values: dict[str, Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The check's result: column names and rows."""
        ...


class DuckDBChecks:
    """:class:`CheckEngine` on the run's DuckDB connection."""

    errors: tuple[type[Exception], ...] = (duckdb.Error,)

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def stand_in(self, name: str, layout: Layout) -> None:
        create_empty_table(self.con, name, layout, temp=True)

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS temp.main.{quote_ident(name)}")

    def query(
        self, check: LoadedCheck, values: dict[str, Any]
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self.con.execute(check_sql(check.spec.sql), values)
        return [d[0] for d in cur.description or []], cur.fetchall()


def _run_one(
    con: duckdb.DuckDBPyConnection,
    check: LoadedCheck,
    checks: CheckSet,
    as_of: dt.date,
    available: set[str],
    existing: set[str],
    min_link: float,
    why: Mapping[str, str],
    engine: CheckEngine | None = None,
) -> CheckRun:
    """Run one check on ``engine`` (default: ``con``); its findings go to ``con``."""
    engine = engine or DuckDBChecks(con)
    spec = check.spec
    blocked = _not_runnable(check, checks, available, existing, why)
    if blocked is not None:
        return blocked
    substitutes = tuple(x for x in spec.extracts if x not in available)
    started = time.perf_counter()
    caught: tuple[type[Exception], ...] = (*engine.errors, FindingError)
    try:
        for name in substitutes:
            assert checks.layouts is not None
            engine.stand_in(name, checks.layouts[name])
        columns, rows = engine.query(check, bind_values(spec, checks.params, as_of))
        findings = to_findings(check, columns, rows, checks, as_of, min_link)
        insert_findings(con, findings)
    except caught as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return CheckRun(
            spec.id,
            spec.title_zh,
            "failed",
            seconds=time.perf_counter() - started,
            reason=message,
            substituted=substitutes,
        )
    finally:
        for name in substitutes:
            engine.drop(name)
    return CheckRun(
        spec.id,
        spec.title_zh,
        "ran",
        n_findings=len(findings),
        seconds=time.perf_counter() - started,
        substituted=substitutes,
    )
