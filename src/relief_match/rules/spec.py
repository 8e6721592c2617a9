"""The rule files as data: pydantic models of ``rules/checks/*.yaml`` and ``rules/params.yaml``.

A check file (design.md §5)::

    id: VEHICLE
    title_zh: 拥有机动车
    title_en: Member owns a motor vehicle
    description: ...            # what it finds, and every interpretation we chose
    weight: 0.7                 # severity, 0 < weight <= 1
    amount_kind: estimate       # exact | estimate | none
    policy_source: 《最低生活保障审核确认办法》(民发〔2021〕57号)
    requires: [recipients_members, benefit_payments, motor_vehicles]
    requires_any: []            # groups of alternatives: at least one per group
    optional: []                # used when delivered, replaced by an empty table otherwise
    params: [min_link_probability, exempt_vehicle_types, counted_vehicle_statuses]
    near_misses:
      - {id: exempt_vehicle, zh: 摩托车等豁免车型}
    sql: |
      SELECT ...
    reason_zh: "公安机动车登记显示成员{member_name}名下..."

``params.yaml``::

    params:
      min_link_probability:
        value: 0.9
        source: ...
        valid_from: 2026-01-01
      low_income_standard:       # a table parameter
        table:
          - {district_code: "441302", year: 2025, monthly_amount: 1180.0}
        source: ...
        valid_from: 2025-01-01

The loader (:func:`relief_match.rules.loader.load_checks`) turns these into a
:class:`CheckSet`; any problem in any file is collected into one
:class:`RuleConfigError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from relief_match.errors import ConfigError
from relief_match.rules.schema import Layout

Scalar = bool | int | float | str | dt.date
ParamValue = Scalar | list[Scalar]
AmountKind = Literal["exact", "estimate", "none"]

#: Columns every check's SQL must return (design.md §5). ``amount_is_estimate``
#: is not among them: the engine derives it from ``amount_kind``.
REQUIRED_OUTPUT_COLUMNS: tuple[str, ...] = (
    "household_id",
    "person_id",
    "member_name",
    "member_id_no",
    "amount_at_risk",
    "route",
    "match_probability",
    "evidence_extract",
    "evidence_row",
)

#: Parameters the engine binds for every check, derived from ``as_of`` and params.
#: ``as_of`` is the run date; ``as_of_month`` the first day of its month;
#: ``window_start`` the first day of the month ``recent_months`` before it.
#: The window is ``[window_start, as_of_month)``.
DERIVED_PARAMS: dict[str, str | None] = {
    "as_of": None,
    "as_of_month": None,
    "window_start": "recent_months",
}


class RuleConfigError(ConfigError):
    """One or more rule or parameter files are invalid (exit code of ``ConfigError``).

    Attributes:
        problems: every problem found, as ``(path, message)``, across all files.
    """

    def __init__(self, problems: list[tuple[Path, str]]) -> None:
        wide: list[tuple[Path | str, str]] = list(problems)
        super().__init__(wide, hint="fix every rule file listed; the run did not start")


class ParamSpec(BaseModel):
    """One threshold or list in ``rules/params.yaml``: a scalar/list ``value`` or a ``table``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: ParamValue | None = None
    table: list[dict[str, Scalar]] | None = None
    source: str = Field(min_length=1, description="policy document the value comes from")
    valid_from: dt.date
    unit: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _one_of_value_or_table(self) -> ParamSpec:
        if (self.value is None) == (self.table is None):
            raise ValueError("give exactly one of `value` or `table`")
        if self.table is not None:
            if not self.table:
                raise ValueError("`table` must have at least one row")
            keys = set(self.table[0])
            for i, row in enumerate(self.table):
                if set(row) != keys:
                    raise ValueError(
                        f"table row {i} has columns {sorted(row)}, expected {sorted(keys)}"
                    )
        if isinstance(self.value, list) and len({type(v) for v in self.value}) > 1:
            raise ValueError("list values must all have the same type")
        return self

    @property
    def is_table(self) -> bool:
        """True for a table-valued parameter (registered as ``_rm_param_<name>``)."""
        return self.table is not None


class ParamsFile(BaseModel):
    """The whole ``rules/params.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    params: dict[str, ParamSpec]


class NearMiss(BaseModel):
    """A near miss the check must not flag; each needs a case in ``tests/rules_cases``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str = Field(min_length=1)


class CheckSpec(BaseModel):
    """One ``rules/checks/<RULE_ID>.yaml`` file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    title_zh: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    description: str = Field(min_length=1)
    weight: float = Field(gt=0, le=1)
    amount_kind: AmountKind
    policy_source: str = Field(min_length=1)
    requires: list[str] = Field(min_length=1)
    requires_any: list[list[str]] = Field(default_factory=list)
    optional: list[str] = Field(default_factory=list)
    params: list[str] = Field(default_factory=list)
    near_misses: list[NearMiss] = Field(min_length=1)
    sql: str = Field(min_length=1)
    reason_zh: str = Field(min_length=1)

    @model_validator(mode="after")
    def _groups_not_empty(self) -> CheckSpec:
        for group in self.requires_any:
            if len(group) < 2:
                raise ValueError("each `requires_any` group needs at least two alternatives")
        return self

    @property
    def extracts(self) -> list[str]:
        """Every extract the check may read: required, alternatives and optional."""
        out = list(self.requires)
        for group in self.requires_any:
            out += group
        out += self.optional
        return list(dict.fromkeys(out))


@dataclass(frozen=True)
class LoadedCheck:
    """A validated check with what the loader learned from its SQL.

    Attributes:
        spec: the parsed file.
        path: where it came from.
        tables: the tables its SQL reads (CTE names excluded), with the
            tables the shared relations it reads are built from.
        output_columns: the SQL's result columns, when they could be bound
            against the staged schemas at load time (else ``None``).
    """

    spec: CheckSpec
    path: Path
    tables: frozenset[str]
    output_columns: tuple[str, ...] | None = None

    @property
    def id(self) -> str:
        """The rule id, e.g. ``VEHICLE``."""
        return self.spec.id


@dataclass(frozen=True)
class CheckSet:
    """All checks and parameters, validated together.

    Attributes:
        checks: the checks, ordered by rule id.
        params: parameter name -> spec.
        layouts: staged table layouts (from ``schemas/``), or ``None`` when the
            loader was given no schemas directory.
    """

    checks: tuple[LoadedCheck, ...]
    params: dict[str, ParamSpec]
    layouts: dict[str, Layout] | None = None
    ids: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(c.id for c in self.checks))

    def __iter__(self) -> Iterator[LoadedCheck]:
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)

    def get(self, rule_id: str) -> LoadedCheck:
        """Return the check with this id.

        Raises:
            KeyError: when there is no such check.
        """
        for check in self.checks:
            if check.id == rule_id:
                return check
        raise KeyError(rule_id)

    def with_params(self, overrides: Mapping[str, Any]) -> CheckSet:
        """A copy whose parameters are replaced by ``overrides`` (for a table
        parameter, the value is its list of rows).

        Raises:
            KeyError: a name that is not a parameter of ``params.yaml``.
        """
        if not overrides:
            return self
        params = dict(self.params)
        for name, value in overrides.items():
            field = "table" if params[name].is_table else "value"
            params[name] = params[name].model_copy(update={field: value})
        return replace(self, params=params)

    def select(self, rule_ids: list[str] | set[str]) -> CheckSet:
        """Return a CheckSet with only the given rule ids (unknown ids raise KeyError)."""
        wanted = set(rule_ids)
        unknown = wanted - set(self.ids)
        if unknown:
            raise KeyError(", ".join(sorted(unknown)))
        return replace(self, checks=tuple(c for c in self.checks if c.id in wanted))
