"""rules stage: checks as data (``rules/checks/*.yaml``), run as SQL on DuckDB.

Public API::

    from relief_match.rules import load_checks, run_checks
    checks = load_checks(Path("rules"), Path("schemas"))      # raises RuleConfigError
    report = run_checks(con, checks, as_of, available)          # writes _rm_findings, _rm_checks

Modules, in the order a run uses them: :mod:`~relief_match.rules.spec` (the
rule files as pydantic models), :mod:`~relief_match.rules.schema` (table
layouts), :mod:`~relief_match.rules.relations` (shared ``_rm_*`` relations the
checks read), :mod:`~relief_match.rules.loader` (load and validate),
:mod:`~relief_match.rules.analyse` and :mod:`~relief_match.rules.dry_run`
(static checks of the SQL), :mod:`~relief_match.rules.binding` (``$name``
parameters), :mod:`~relief_match.rules.runner` (run the checks),
:mod:`~relief_match.rules.findings` (``_rm_findings``),
:mod:`~relief_match.rules.report` (``_rm_checks`` and the report),
:mod:`~relief_match.rules.docs` (the generated part of ``rules/README.md``).
"""

from __future__ import annotations

from relief_match.rules.findings import FINDINGS_COLUMNS
from relief_match.rules.loader import load_checks
from relief_match.rules.relations import RELATIONS, Relation
from relief_match.rules.report import CHECKS_COLUMNS, CheckRun, RuleRunError, RulesReport
from relief_match.rules.runner import run_checks
from relief_match.rules.spec import CheckSet, CheckSpec, LoadedCheck, ParamSpec, RuleConfigError

__all__ = [
    "CHECKS_COLUMNS",
    "FINDINGS_COLUMNS",
    "RELATIONS",
    "CheckRun",
    "CheckSet",
    "CheckSpec",
    "LoadedCheck",
    "ParamSpec",
    "Relation",
    "RuleConfigError",
    "RuleRunError",
    "RulesReport",
    "load_checks",
    "run_checks",
]
