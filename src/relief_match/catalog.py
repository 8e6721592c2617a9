"""Load and check the declarative extract schemas (``schemas/``).

Every extract of the data contract is one YAML file. This module turns them
into :class:`ExtractSpec` objects, checks them all, and reports every problem
at once with its file. Adding an extract means adding a file, not Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from relief_match.errors import ConfigError

ColumnType = Literal[
    "str",
    "id_no",
    "credit_code",
    "name",
    "sex",
    "enum",
    "district_code",
    "date",
    "month",
    "money",
    "int",
    "float",
]

#: Types whose empty value is acceptable unless the schema says otherwise:
#: person identifiers are often missing and the linker copes with that.
_NULLABLE_BY_DEFAULT = {"id_no", "name"}

#: Types that may declare a plausible range (``min``/``max``, in the column's
#: unit: yuan, or 万元 for ``unit: wan``); a value outside is quarantined.
_RANGED_TYPES = {"money", "int", "float"}

#: DuckDB type of the staged value column, by column type (default VARCHAR).
_DUCKDB_TYPES = {
    "date": "DATE",
    "month": "DATE",
    "money": "DOUBLE",
    "float": "DOUBLE",
    "int": "BIGINT",
}


class ColumnSpec(BaseModel):
    """One column of an extract: canonical name, Chinese header, type, checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str
    type: ColumnType
    nullable: bool | None = None
    values: tuple[str, ...] | None = None
    unit: Literal["yuan", "wan"] = "yuan"
    min: float | None = None
    max: float | None = None
    aliases: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _enum_has_values(self) -> ColumnSpec:
        if self.type == "enum" and not self.values:
            raise ValueError(f"column {self.name}: an enum needs 'values'")
        if self.type != "enum" and self.values:
            raise ValueError(f"column {self.name}: 'values' only applies to enum columns")
        if (self.min is not None or self.max is not None) and self.type not in _RANGED_TYPES:
            raise ValueError(
                f"column {self.name}: 'min'/'max' only apply to money, int and float columns"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name}: 'min' is above 'max'")
        return self

    @property
    def is_nullable(self) -> bool:
        if self.nullable is None:
            return self.type in _NULLABLE_BY_DEFAULT
        return self.nullable

    def staged_layout(self) -> dict[str, str]:
        """The staged columns this column becomes, with their DuckDB types (design §3)."""
        n = self.name
        if self.type == "id_no":
            return {
                n: "VARCHAR",
                f"{n}_raw": "VARCHAR",
                f"{n}_clean": "VARCHAR",
                f"{n}_status": "VARCHAR",
                f"{n}_birth": "DATE",
                f"{n}_sex": "VARCHAR",
            }
        if self.type == "name":
            return {n: "VARCHAR", f"{n}_raw": "VARCHAR", f"{n}_note": "VARCHAR"}
        if self.type == "credit_code":
            return {n: "VARCHAR", f"{n}_raw": "VARCHAR", f"{n}_status": "VARCHAR"}
        return {n: _DUCKDB_TYPES.get(self.type, "VARCHAR")}

    def staged_columns(self) -> list[str]:
        """Names of the columns this column becomes in the staged table."""
        return list(self.staged_layout())


class PersonRefSpec(BaseModel):
    """A person reference inside an extract, for the linker."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    id_no: str
    name: str | None = None
    sex: str | None = None
    birth_date: str | None = None
    district_code: str | None = None
    only_when: str | None = None


class ExtractSpec(BaseModel):
    """One extract of the contract, as declared in its schema file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    extract: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    department: str
    title_zh: str
    key: tuple[str, ...] = ()
    columns: tuple[ColumnSpec, ...] = Field(min_length=1)
    person_refs: tuple[PersonRefSpec, ...] = ()
    source: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> ExtractSpec:
        names = [c.name for c in self.columns]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate columns {sorted(dup)}")
        headers = [h for c in self.columns for h in (c.name, c.zh, *c.aliases)]
        duph = {h for h in headers if headers.count(h) > 1}
        if duph:
            raise ValueError(f"header names used twice {sorted(duph)}")
        for k in self.key:
            if k not in names:
                raise ValueError(f"key column {k!r} is not a column")
        by_name = {c.name: c for c in self.columns}
        for ref in self.person_refs:
            for field in ("id_no", "name", "sex", "birth_date", "district_code"):
                col = getattr(ref, field)
                if col is not None and col not in by_name:
                    raise ValueError(
                        f"person_ref {ref.role}: {field} column {col!r} is not a column"
                    )
            if by_name[ref.id_no].type != "id_no":
                raise ValueError(f"person_ref {ref.role}: {ref.id_no!r} is not an id_no column")
        return self

    @cached_property
    def header_map(self) -> dict[str, str]:
        """Every accepted header (English, Chinese, aliases) -> canonical name."""
        out: dict[str, str] = {}
        for c in self.columns:
            for h in (c.name, c.zh, *c.aliases):
                out[_header_key(h)] = c.name
        return out

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def staged_layout(self) -> dict[str, str]:
        """Staged table columns -> DuckDB types: ``_row``, ``_file``, then each column's."""
        layout = {"_row": "BIGINT", "_file": "VARCHAR"}
        for c in self.columns:
            layout.update(c.staged_layout())
        return layout

    def staged_columns(self) -> list[str]:
        return list(self.staged_layout())


def _header_key(header: str) -> str:
    """Normalise a header for lookup: case, spaces, full-width brackets."""
    h = header.strip().lstrip("\ufeff").lower()
    h = h.replace("（", "(").replace("）", ")").replace("\u3000", "").replace(" ", "")
    return h


def header_key(header: str) -> str:
    """Public form of the header normaliser used for column mapping."""
    return _header_key(header)


class Catalog:
    """All extract schemas, keyed by extract name, in a stable order."""

    def __init__(self, extracts: list[ExtractSpec], root: Path):
        self.root = root
        self.extracts: dict[str, ExtractSpec] = {e.extract: e for e in extracts}

    def __iter__(self) -> Iterator[ExtractSpec]:
        return iter(self.extracts.values())

    def __len__(self) -> int:
        return len(self.extracts)

    def __getitem__(self, name: str) -> ExtractSpec:
        return self.extracts[name]

    def __contains__(self, name: object) -> bool:
        return name in self.extracts


def default_schemas_dir() -> Path:
    """The shipped ``schemas/`` folder (package data, or the source checkout's)."""
    from relief_match.resources import default_dir

    return default_dir("schemas")


def load_catalog(schemas_dir: Path | None = None) -> Catalog:
    """Load every ``schemas/<department>/<extract>.yaml``.

    Raises:
        ConfigError: listing every problem in every file (not just the first).
    """
    root = schemas_dir or default_schemas_dir()
    problems: list[tuple[Path | str, str]] = []
    specs: list[ExtractSpec] = []
    files = sorted(root.glob("*/*.yaml"))
    if not files:
        raise ConfigError([(root, "no schema files found (expected <department>/<extract>.yaml)")])
    for f in files:
        try:
            raw = yaml.safe_load(f.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.append((f, f"not valid YAML: {exc}"))
            continue
        if not isinstance(raw, dict):
            problems.append((f, "expected a mapping at the top level"))
            continue
        try:
            spec = ExtractSpec.model_validate({**raw, "source": str(f)})
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(x) for x in err["loc"])
                msg = err["msg"]
                if isinstance(err.get("input"), str | int | float):
                    msg += f" (got {err['input']!r})"
                problems.append((f, f"{loc}: {msg}" if loc else msg))
            continue
        if spec.extract != f.stem:
            problems.append((f, f"extract name {spec.extract!r} differs from the file name"))
        if spec.department != f.parent.name:
            problems.append((f, f"department {spec.department!r} differs from the folder name"))
        specs.append(spec)
    names = [s.extract for s in specs]
    for n in sorted({n for n in names if names.count(n) > 1}):
        problems.append((root, f"extract {n!r} is declared twice"))
    if problems:
        raise ConfigError(problems)
    return Catalog(specs, root)
