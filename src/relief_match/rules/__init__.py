"""rules stage: checks as data (``rules/checks/*.yaml``), run as SQL on DuckDB.

Public API::

    from relief_match.rules import load_checks, run_checks
    checks = load_checks(Path("rules"), Path("schemas"))      # raises RuleConfigError
    report = run_checks(con, checks, as_of, available)          # writes _rm_findings, _rm_checks
"""

from __future__ import annotations

from relief_match.rules.engine import (
    CHECKS_COLUMNS,
    FINDINGS_COLUMNS,
    CheckRun,
    RuleRunError,
    RulesReport,
    load_checks,
    run_checks,
)
from relief_match.rules.spec import CheckSet, CheckSpec, LoadedCheck, ParamSpec, RuleConfigError

__all__ = [
    "CHECKS_COLUMNS",
    "FINDINGS_COLUMNS",
    "CheckRun",
    "CheckSet",
    "CheckSpec",
    "LoadedCheck",
    "ParamSpec",
    "RuleConfigError",
    "RuleRunError",
    "RulesReport",
    "load_checks",
    "run_checks",
]
