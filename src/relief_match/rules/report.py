"""What the rules stage did: one :class:`CheckRun` per check, kept in ``_rm_checks``.

Use :meth:`RulesReport.asdict` for machines (the run summary JSON) and
:meth:`RulesReport.asstr` for people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb

from relief_match.errors import InternalError
from relief_match.rules.schema import create_empty_table
from relief_match.rules.spec import CheckSet

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
                line += f"  (not usable tonight, ran without: {', '.join(r.substituted)})"
            lines.append(line)
        return "\n".join(lines)


def write_checks_table(
    con: duckdb.DuckDBPyConnection, checks: CheckSet, report: RulesReport
) -> None:
    """Write ``_rm_checks``: each check's metadata and outcome, in check order."""
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
