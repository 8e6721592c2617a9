"""Run configuration: flags > environment (``RELIEF_MATCH_*``) > config file > defaults.

Every setting is declared once, as a field of :class:`RunConfig` with its help
text; the CLI options' help, the environment names, the config-file keys and
the README table all come from that one declaration (a test checks the README
covers every setting). pydantic-settings reads the sources in that order and
validates every value; a bad value is a :class:`ConfigError` naming the
setting and where it came from.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    DirectoryPath,
    Field,
    NonNegativeInt,
    PositiveInt,
    ValidationError,
    field_serializer,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from relief_match.errors import ConfigError, UsageError
from relief_match.resources import DefaultName, default_dir

ENV_PREFIX = "RELIEF_MATCH_"

#: A DuckDB memory size: a number and a unit (``4GB``, ``500MB``, ``4 GiB``) or a percentage.
MEMORY_SIZE_RE = re.compile(r"^\s*\d+(\.\d+)?\s*(%|[KMGT]i?B|B|bytes)\s*$", re.IGNORECASE)

#: Spark setting names whose values are credentials (masked in the run's manifest).
SECRET_KEY_RE = re.compile(r"secret|password|token|credential|access\.key|\.key$", re.IGNORECASE)

#: The TOML file of the settings being resolved (set only while :func:`resolve` runs).
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("relief_match_config_file", default=None)


def _project_dir(name: DefaultName) -> Path:
    return default_dir(name)


def default_delivery() -> Path:
    """The bundled sample delivery."""
    return _project_dir("sample_data") / "delivery"


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _memory_size(value: str) -> str:
    if not MEMORY_SIZE_RE.match(value):
        raise ValueError("not a DuckDB memory size such as 4GB, 500MB or 50%")
    return value


def _usable_out(path: Path) -> Path:
    """An output directory that exists, or can be created, and can be written."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} exists and is not a directory")
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"{path} cannot be created: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ValueError(f"{path} cannot be created or written: no write permission on {ancestor}")
    return path


MemorySize = Annotated[str, AfterValidator(_memory_size)]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]


class RunConfig(BaseSettings):
    """Everything a run needs to know; build it with :func:`resolve`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="forbid", frozen=True
    )

    delivery: Path = Field(
        default_factory=default_delivery,
        description="Delivery directory (<department>/<extract>.*); default the bundled sample.",
    )
    out: Annotated[Path, AfterValidator(_usable_out)] = Field(
        Path("out"),
        description="Output directory: one folder per run under runs/, latest -> the last complete run.",
    )
    as_of: date = Field(
        default_factory=date.today,
        description="Run date (YYYY-MM-DD); windows and statuses are judged at this date.",
    )
    schemas_dir: DirectoryPath = Field(
        default_factory=lambda: _project_dir("schemas"),
        description="Folder of extract schema files.",
    )
    rules_dir: DirectoryPath = Field(
        default_factory=lambda: _project_dir("rules"),
        description="Folder with checks/, params.yaml and linkage/.",
    )
    min_link_probability: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Lowest match probability a finding may rest on (overrides rules/params.yaml).",
    )
    log_level: LogLevel = Field(
        "INFO", description="Logging level: DEBUG, INFO, WARNING, ERROR, CRITICAL."
    )
    memory_limit: MemorySize = Field(
        "4GB",
        description="DuckDB memory limit (e.g. 4GB); beyond it DuckDB spills to disk beside the run database.",
    )
    chunk_mb: PositiveInt = Field(
        64,
        description="CSV and parquet files are read and validated in chunks of about this many MB (memory vs speed; the ingest holds one chunk per thread, about 1 to 2 GB each at the default).",
    )
    threads: PositiveInt = Field(
        default_factory=lambda: max(1, min(4, os.cpu_count() or 1)),
        description="Extracts read and validated at the same time (default: the cores, at most 4); each holds one chunk in memory.",
    )
    max_quarantine_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="A check that ran on an extract which lost more than this share of its rows to quarantine gets a warning in the summary and on the console.",
    )
    log_format: Literal["auto", "text", "json"] = Field(
        "auto",
        description="Console log format: auto (rich on a terminal, JSON lines otherwise), text or json.",
    )
    retention_days: NonNegativeInt = Field(
        30,
        description="After a successful run, delete run folders older than this many days (0 keeps all).",
    )
    rank_uses_hit_rate: bool = Field(
        False,
        description="Blend each check's weight with its confirmed share from the imported review outcomes (rules/README.md) when ranking.",
    )
    hit_rate_prior_strength: float = Field(
        10.0,
        gt=0,
        description="With rank_uses_hit_rate: how many reviews a check's declared weight counts for.",
    )
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb",
        description="Where `run` ingests, links and checks: duckdb (one machine) or spark (needs the spark extra).",
    )
    spark_master: str | None = Field(
        None,
        description="With engine spark: the Spark master (e.g. local[2], yarn); default the one spark-submit sets.",
    )
    spark: dict[str, str] = Field(
        default_factory=dict,
        description="With engine spark: Spark settings passed to the SparkSession builder (a [spark] table in the config file).",
    )
    spark_staging: str | None = Field(
        None,
        description="With engine spark: where validated extracts and link tables are written as parquet (a path or URI on storage every executor reaches); default the run folder.",
    )

    @field_serializer("spark")
    def _mask_spark_secrets(self, value: dict[str, str]) -> dict[str, str]:
        """Spark settings as written to ``manifest.json``: credentials masked."""
        return {k: "***" if SECRET_KEY_RE.search(k) else v for k, v in value.items()}

    @property
    def db_path(self) -> Path:
        """The run's DuckDB database file."""
        return self.out / "relief_match.duckdb"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Flags (init arguments) beat the environment, which beats the ``--config`` file."""
        config_file = _CONFIG_FILE.get()
        if config_file is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file))


@dataclass(frozen=True)
class Setting:
    """One configurable setting, as the README and the CLI describe it."""

    name: str
    help: str

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return ENV_PREFIX + self.name.upper()


#: Every setting, in declaration order.
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(name, field.description or "") for name, field in RunConfig.model_fields.items()
)


def setting_help(name: str) -> str:
    """The help text of setting ``name`` with its environment variable (for CLI options)."""
    s = next(s for s in SETTINGS if s.name == name)
    return f"{s.help} Env {s.env}."


@contextmanager
def _reading(config_file: Path | None) -> Iterator[None]:
    token = _CONFIG_FILE.set(config_file)
    try:
        yield
    finally:
        _CONFIG_FILE.reset(token)


def _source_of(name: str, flags: dict[str, Any], config_file: Path | None) -> str:
    """Where the value of setting ``name`` came from, as an operator would look for it."""
    if name in flags:
        return "--" + name.replace("_", "-")
    env = ENV_PREFIX + name.upper()
    if any(k.upper() == env and v for k, v in os.environ.items()):
        return env
    if config_file is not None and name in tomllib.loads(config_file.read_text(encoding="utf-8")):
        return str(config_file)
    return "default"


def resolve(
    delivery: Path | None = None, config_file: Path | None = None, **flags: Any
) -> RunConfig:
    """Resolve the run configuration from flags, environment, file and defaults.

    Args:
        delivery: the delivery directory (default: ``RELIEF_MATCH_DELIVERY``, then
            the bundled sample data).
        config_file: optional TOML file with keys named as the settings.
        **flags: values given on the command line (``None`` means not given).

    Raises:
        ConfigError: an unreadable config file, unknown keys in it, or invalid
            values; each problem names the setting and its source.
        UsageError: every problem is a flag's value (exit code 2, not 4).
    """
    given = {k: v for k, v in {"delivery": delivery, **flags}.items() if v is not None}
    if config_file is not None and not config_file.is_file():
        raise ConfigError([(config_file, "cannot read config file: no such file")])
    try:
        with _reading(config_file):
            return RunConfig(**given)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([(str(config_file), f"cannot read config file: {exc}")]) from exc
    except ValidationError as exc:
        problems: list[tuple[Path | str, str]] = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "?"
            if err["type"] == "extra_forbidden":
                message = f"unknown setting {name!r}"
            else:
                message = f"{name}: {err['msg']} (got {err['input']!r})"
            problems.append((_source_of(name, given, config_file), message))
        if all(str(src).startswith("--") for src, _ in problems):
            raise UsageError("; ".join(f"{src}: {m}" for src, m in problems)) from exc
        raise ConfigError(problems) from exc
