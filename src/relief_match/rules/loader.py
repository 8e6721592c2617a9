"""Loading the rule files: ``rules/checks/*.yaml``, ``rules/params.yaml``, ``rules/fragments.yaml``.

:func:`load_checks` validates every file (pydantic for the shape, then expands
the SQL fragments a check calls, then
:func:`~relief_match.rules.analyse.analyse_check` for the expanded SQL) and raises one
:class:`~relief_match.rules.spec.RuleConfigError` listing every problem in
every file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from relief_match.rules.analyse import RuleSet, analyse_check, forbidden_statement_classes
from relief_match.rules.dry_run import bind_connection
from relief_match.rules.fragments import Fragment, FragmentError, FragmentsFile, expand_fragments
from relief_match.rules.schema import Layout, contract_extracts, load_staged_layouts
from relief_match.rules.spec import (
    DERIVED_PARAMS,
    CheckSet,
    CheckSpec,
    LoadedCheck,
    ParamsFile,
    ParamSpec,
    RuleConfigError,
)

Problems = list[tuple[Path, str]]


def load_checks(rules_dir: Path, schemas_dir: Path | None = None) -> CheckSet:
    """Load and validate every check and the parameters.

    Args:
        rules_dir: the ``rules/`` directory (holds ``checks/`` and ``params.yaml``).
        schemas_dir: the ``schemas/`` directory. With it, every column the SQL
            references is checked and the SQL is bound against empty staged
            tables; without it only the SQL's shape and tables are checked
            (against the extracts of the shipped catalog).

    Returns:
        The validated :class:`CheckSet`, checks ordered by id.

    Raises:
        RuleConfigError: listing every problem in every file at once.
        InternalError: the installed sqlglot lacks a class the SQL guard needs.

    Example:
        >>> checks = load_checks(Path("rules"), Path("schemas"))
        >>> checks.get("VEHICLE").spec.weight
        0.7
    """
    forbidden = forbidden_statement_classes()
    problems: Problems = []
    layouts = _load_layouts(schemas_dir, problems)
    params = _load_params(rules_dir / "params.yaml", problems)
    fragments = load_fragments(rules_dir / "fragments.yaml", problems)
    specs = _expand_specs(_load_specs(rules_dir / "checks", problems), fragments, problems)
    known = set(layouts) if layouts is not None else contract_extracts()
    bind_con = bind_connection(layouts, params) if layouts is not None else None
    rules = RuleSet(params, layouts, known, forbidden, bind_con)
    loaded: list[LoadedCheck] = []
    try:
        for path, spec in specs:
            check = analyse_check(spec, path, rules, problems)
            if check is not None:
                loaded.append(check)
    finally:
        if bind_con is not None:
            bind_con.close()
    if problems:
        raise RuleConfigError(problems)
    loaded.sort(key=lambda c: c.id)
    return CheckSet(checks=tuple(loaded), params=params, layouts=layouts)


def _load_layouts(schemas_dir: Path | None, problems: Problems) -> dict[str, Layout] | None:
    if schemas_dir is None:
        return None
    layouts, schema_problems = load_staged_layouts(schemas_dir)
    problems += schema_problems
    if not layouts:
        problems.append((schemas_dir, "no schemas/<department>/<extract>.yaml files found"))
        return None
    return layouts


def load_fragments(path: Path, problems: Problems) -> dict[str, Fragment]:
    """The named SQL fragments of ``path`` (none when the file does not exist).

    Problems (unreadable file, wrong shape) are appended to ``problems``.
    """
    if not path.is_file():
        return {}
    raw = _load_yaml(path, problems)
    if raw is None:
        return {}
    try:
        return dict(FragmentsFile.model_validate(raw).fragments)
    except ValidationError as err:
        problems += _pydantic_problems(path, err)
        return {}


def _expand_specs(
    specs: list[tuple[Path, CheckSpec]], fragments: dict[str, Fragment], problems: Problems
) -> list[tuple[Path, CheckSpec]]:
    """Each spec with its SQL's fragment calls expanded; a bad call is a problem of its file."""
    out = []
    for path, spec in specs:
        try:
            sql = expand_fragments(spec.sql, fragments)
        except FragmentError as exc:
            problems.append((path, f"sql: {exc}"))
            continue
        out.append((path, spec.model_copy(update={"sql": sql})))
    return out


def _load_yaml(path: Path, problems: Problems) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append((path, f"cannot read YAML: {exc}"))
        return None


def _pydantic_problems(path: Path, err: ValidationError) -> Problems:
    out = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(file)"
        out.append((path, f"{loc}: {e['msg']}"))
    return out


def _load_params(path: Path, problems: Problems) -> dict[str, ParamSpec]:
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


def _load_spec(path: Path, problems: Problems) -> CheckSpec | None:
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


def _load_specs(checks_dir: Path, problems: Problems) -> list[tuple[Path, CheckSpec]]:
    """Every check file that parses, with a unique id matching its file name."""
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
    return specs
