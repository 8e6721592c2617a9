"""Run configuration: flags > environment (``RELIEF_MATCH_*``) > config file > defaults.

Every setting is declared once in :data:`SETTINGS` with its help text; the CLI
options, the environment lookup, the config-file keys and the README table all
come from that one list (a test checks the README covers every setting).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from relief_match.catalog import project_root
from relief_match.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One configurable setting."""

    name: str
    help: str
    default: Any
    kind: type = str

    @property
    def env(self) -> str:
        return "RELIEF_MATCH_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("out", "Output directory for flags, summary, quarantine and the run database.", "out"),
    Setting("as_of", "Run date (YYYY-MM-DD); windows and statuses are judged at this date.", None),
    Setting("schemas_dir", "Folder of extract schema files.", None),
    Setting("rules_dir", "Folder with checks/, params.yaml and linkage/.", None),
    Setting(
        "min_link_probability",
        "Lowest match probability a finding may rest on (overrides rules/params.yaml).",
        None,
        float,
    ),
    Setting("log_level", "Logging level: DEBUG, INFO, WARNING, ERROR.", "INFO"),
    Setting(
        "memory_limit",
        "DuckDB memory limit (e.g. 4GB); beyond it DuckDB spills to disk beside the run database.",
        "4GB",
    ),
    Setting(
        "chunk_mb",
        "CSV files are read and validated in chunks of about this many MB (memory vs speed).",
        256,
        int,
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class RunConfig:
    """Everything a run needs to know; build it with :func:`resolve`."""

    delivery: Path
    out: Path
    as_of: date
    schemas_dir: Path
    rules_dir: Path
    min_link_probability: float | None = None
    log_level: str = "INFO"
    chunk_mb: int = 256
    memory_limit: str = "4GB"
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.out / "relief_match.duckdb"

    def with_(self, **kw: Any) -> RunConfig:
        return replace(self, **kw)


def default_delivery() -> Path:
    """The bundled sample delivery."""
    return project_root() / "sample_data" / "delivery"


def _parse_date(value: str, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError([(where, f"as_of {value!r} is not a date YYYY-MM-DD")]) from exc


def resolve(
    delivery: Path | None = None,
    config_file: Path | None = None,
    env: dict[str, str] | None = None,
    **flags: Any,
) -> RunConfig:
    """Resolve the run configuration from flags, environment, file and defaults.

    Args:
        delivery: the delivery directory (default: the bundled sample data).
        config_file: optional TOML file with keys named as in :data:`SETTINGS`.
        env: the environment (default: ``os.environ``).
        **flags: values given on the command line (``None`` means not given).

    Raises:
        ConfigError: unknown keys in the config file or unparsable values.
    """
    env = dict(os.environ) if env is None else env
    file_values: dict[str, Any] = {}
    problems: list[tuple[Path | str, str]] = []
    if config_file is not None:
        try:
            file_values = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError([(config_file, f"cannot read config file: {exc}")]) from exc
        for k in file_values:
            if k not in _BY_NAME:
                problems.append((config_file, f"unknown setting {k!r}"))
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for s in SETTINGS:
        if flags.get(s.name) is not None:
            values[s.name], sources[s.name] = flags[s.name], "flag"
        elif s.env in env:
            values[s.name], sources[s.name] = env[s.env], "env"
        elif s.name in file_values:
            values[s.name], sources[s.name] = file_values[s.name], "file"
        else:
            values[s.name], sources[s.name] = s.default, "default"
        if values[s.name] is not None and s.kind in (float, int):
            try:
                values[s.name] = s.kind(values[s.name])
            except (TypeError, ValueError):
                problems.append((sources[s.name], f"{s.name}: {values[s.name]!r} is not a number"))
    if problems:
        raise ConfigError(problems)
    as_of_raw = values["as_of"]
    if isinstance(as_of_raw, date):
        as_of = as_of_raw
    elif as_of_raw:
        as_of = _parse_date(str(as_of_raw), sources["as_of"])
    else:
        as_of = date.today()
    root = project_root()
    if delivery is None and env.get("RELIEF_MATCH_DELIVERY"):
        delivery = Path(env["RELIEF_MATCH_DELIVERY"])
    return RunConfig(
        delivery=Path(delivery) if delivery else default_delivery(),
        out=Path(values["out"]),
        as_of=as_of,
        schemas_dir=Path(values["schemas_dir"]) if values["schemas_dir"] else root / "schemas",
        rules_dir=Path(values["rules_dir"]) if values["rules_dir"] else root / "rules",
        min_link_probability=values["min_link_probability"],
        log_level=str(values["log_level"]).upper(),
        chunk_mb=int(values["chunk_mb"]),
        memory_limit=str(values["memory_limit"]),
        sources=sources,
    )
