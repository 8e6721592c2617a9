"""The library entry points: each CLI command is one call here.

``run(config)`` calls the stages in order (ingest+validate+stage, link,
rules, rank, output) on one DuckDB database file per run, and returns a
:class:`RunReport` built from each stage's report.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relief_match import __version__
from relief_match.config import RunConfig
from relief_match.errors import InternalError, UnusableInputError

if TYPE_CHECKING:
    import duckdb

    from relief_match.catalog import Catalog
    from relief_match.validate.delivery import IngestReport

log = logging.getLogger("relief_match")

#: Without these two extracts there is nobody to check: the input is unusable.
CORE_EXTRACTS = ("recipients_households", "recipients_members")


@dataclass
class RunReport:
    """Everything a run did, per stage; ``asdict()`` for schedulers, ``asstr()`` for analysts."""

    command: str
    config: RunConfig
    ingest: IngestReport | None = None
    stages: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    started_at: str = ""
    seconds: float = 0.0
    status: str = "completed"

    def asdict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "relief_match_version": __version__,
            "command": self.command,
            "status": self.status,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 2),
            "delivery": str(self.config.delivery),
            "as_of": self.config.as_of.isoformat(),
            "out": str(self.config.out),
            "python": platform.python_version(),
        }
        if self.ingest is not None:
            d["ingest"] = self.ingest.asdict()
        for name, rep in self.stages.items():
            d[name] = rep.asdict() if hasattr(rep, "asdict") else rep
        d["outputs"] = self.outputs
        return d

    def asstr(self) -> str:
        parts = [f"relief-match {self.command}: {self.status} in {self.seconds:.1f}s"]
        if self.ingest is not None:
            parts.append(self.ingest.asstr())
        for rep in self.stages.values():
            if hasattr(rep, "asstr"):
                parts.append(rep.asstr())
        if self.outputs:
            parts.append("outputs:\n" + "\n".join(f"  {k}: {v}" for k, v in self.outputs.items()))
        return "\n\n".join(parts)


def configure_logging(cfg: RunConfig, log_file: Path | None = None) -> None:
    """Log to stderr and, when given, to a file in the output folder."""
    root = logging.getLogger("relief_match")
    root.setLevel(cfg.log_level)
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    err = logging.StreamHandler()
    err.setFormatter(fmt)
    err.setLevel(max(logging.WARNING, logging.getLevelName(cfg.log_level)))
    root.addHandler(err)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, mode="w", encoding="utf-8")
        fh.setFormatter(fmt)
        root.addHandler(fh)
    root.propagate = False


def _check_delivery(cfg: RunConfig) -> None:
    if not cfg.delivery.exists():
        raise UnusableInputError(
            f"delivery directory {cfg.delivery} does not exist",
            hint="pass the nightly extract directory, e.g. relief-match run /data/extracts/2026-11-28",
        )
    if not cfg.delivery.is_dir():
        raise UnusableInputError(f"{cfg.delivery} is not a directory")


def open_db(cfg: RunConfig, *, fresh: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the run's database file (a fresh one unless ``fresh=False``); Splink
    runs on it too, within ``memory_limit`` (see :mod:`relief_match.memory`)."""
    import duckdb

    from relief_match.memory import duckdb_memory_limit

    limit = duckdb_memory_limit(cfg.memory_limit, "memory_limit" in cfg.model_fields_set)
    cfg.out.mkdir(parents=True, exist_ok=True)
    if fresh:
        for suffix in ("", ".wal"):
            p = Path(str(cfg.db_path) + suffix)
            if p.exists():
                p.unlink()
    con = duckdb.connect(str(cfg.db_path))
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET memory_limit = ?", [limit])
    con.execute("SET temp_directory = ?", [str(cfg.out / "duckdb_tmp")])
    return con


def load_catalog(cfg: RunConfig) -> Catalog:
    """The extract schemas of ``cfg.schemas_dir``."""
    from relief_match.catalog import load_catalog as _load

    return _load(cfg.schemas_dir)


def stage(cfg: RunConfig, con: duckdb.DuckDBPyConnection, catalog: Catalog) -> IngestReport:
    """Ingest, validate and stage the delivery; write ``quarantine.csv``.

    Raises:
        UnusableInputError: the directory is missing, nothing in it is readable,
            or the recipient extracts are missing or unreadable.
    """
    from relief_match.validate.delivery import ingest_delivery

    _check_delivery(cfg)
    report = ingest_delivery(cfg.delivery, catalog, con, chunk_bytes=cfg.chunk_mb * 1024 * 1024)
    con.execute("CREATE OR REPLACE TABLE _rm_run (key VARCHAR, value VARCHAR)")
    con.executemany(
        "INSERT INTO _rm_run VALUES (?, ?)",
        [
            ["as_of", cfg.as_of.isoformat()],
            ["delivery", str(cfg.delivery)],
            ["relief_match_version", __version__],
        ],
    )
    write_quarantine(con, cfg.out / "quarantine.csv")
    if not report.available:
        raise UnusableInputError(
            f"no extract of the contract could be read from {cfg.delivery}",
            hint="expected <department>/<extract>.csv|xlsx|parquet, see docs/data-contract",
        )
    lacking = [e for e in CORE_EXTRACTS if e not in report.available]
    if lacking:
        raise UnusableInputError(
            f"the recipient extracts {', '.join(lacking)} are missing or unreadable,"
            " so there is nobody to check",
            hint="civil affairs must deliver recipients_households and recipients_members",
        )
    for ex in report.extracts:
        if not ex.reconciles:  # pragma: no cover - invariant of the validator
            raise InternalError(f"{ex.extract}: rows read != rows used + rows quarantined")
    return report


def write_quarantine(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Write every quarantined row with its reason (UTF-8 with BOM for Excel)."""
    frame = con.sql(
        'SELECT extract, file, row, "column", raw_value, reason, message'
        " FROM _rm_quarantine ORDER BY extract, file, row"
    ).pl()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        frame.write_csv(fh)


def write_summary(report: RunReport, path: Path) -> None:
    """Write the report as JSON (what a scheduler reads)."""
    path.write_text(
        json.dumps(report.asdict(), ensure_ascii=False, indent=2, default=str) + "\n",
        encoding="utf-8",
    )


#: What each command lists as its outputs: label -> file name in the output folder.
VALIDATE_OUTPUTS = {
    "quarantine": "quarantine.csv",
    "database": "relief_match.duckdb",
    "summary": "validate_summary.json",
}
LINK_OUTPUTS = {
    "links": "links.parquet",
    "quarantine": "quarantine.csv",
    "database": "relief_match.duckdb",
}
RUN_OUTPUTS = {
    name: name
    for name in (
        "flags.csv",
        "households.csv",
        "flags.xlsx",
        "households.xlsx",
        "flags.parquet",
        "links.parquet",
        "quarantine.csv",
        "run_summary.json",
        "run.log",
    )
} | {"database": "relief_match.duckdb"}


@dataclass
class Session:
    """One command's run: its report, the schema catalog and the run database.

    The database is opened (fresh) the first time :attr:`con` is used, so a
    command can check its configuration before anything is deleted.
    """

    cfg: RunConfig
    report: RunReport
    catalog: Catalog
    _con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The run's database connection."""
        if self._con is None:
            self._con = open_db(self.cfg)
        return self._con

    def close(self) -> None:
        """Close the database if it was opened."""
        if self._con is not None:
            self._con.close()
            self._con = None


@contextmanager
def command_session(
    command: str,
    cfg: RunConfig,
    outputs: dict[str, str] | None = None,
    summary: str | None = None,
) -> Iterator[Session]:
    """What every command does around its stages.

    Sets up logging to ``<out>/<command>.log``, times the command, loads the
    schema catalog, closes the database at the end and, when ``summary`` is
    given, lists the ``outputs`` that exist and writes the summary file, also
    when the command fails (its status is then ``failed``).
    """
    t0 = time.perf_counter()
    cfg.out.mkdir(parents=True, exist_ok=True)
    configure_logging(cfg, cfg.out / f"{command}.log")
    report = RunReport(command, cfg, started_at=datetime.now().isoformat(timespec="seconds"))
    session: Session | None = None
    try:
        session = Session(cfg, report, load_catalog(cfg))
        yield session
    except BaseException:
        report.status = "failed"
        raise
    finally:
        if session is not None:
            session.close()
        report.seconds = time.perf_counter() - t0
        if summary is not None:
            report.outputs = {
                label: str(cfg.out / name)
                for label, name in (outputs or {}).items()
                if (cfg.out / name).exists() or name == summary
            }
            write_summary(report, cfg.out / summary)


def person_refs(catalog: Catalog, available: set[str]) -> list[Any]:
    """The linker's reference specs, from the schemas' ``person_refs``."""
    from relief_match.link import PersonReference

    return [
        PersonReference.from_schema(spec.extract, r)
        for spec in catalog
        if spec.extract in available
        for r in spec.person_refs
    ]


def _linkage_paths(cfg: RunConfig) -> tuple[Path, Path]:
    d = cfg.rules_dir / "linkage"
    return d / "settings.yaml", d / "model.json"


def link_stage(
    cfg: RunConfig, con: duckdb.DuckDBPyConnection, catalog: Catalog, available: set[str]
) -> Any:
    """Link every person reference to recipient members; write ``links.parquet``."""
    from relief_match.link import run_linking, write_link_table

    settings, model = _linkage_paths(cfg)
    rep = run_linking(con, person_refs(catalog, available), settings, model)
    write_link_table(con, cfg.out / "links.parquet")
    return rep


def _load_checks(cfg: RunConfig) -> Any:
    """Load the check files; a ``min_link_probability`` setting overrides params.yaml."""
    from relief_match.errors import ConfigError
    from relief_match.rules.engine import load_checks
    from relief_match.rules.spec import RuleConfigError

    try:
        checks = load_checks(cfg.rules_dir, cfg.schemas_dir)
    except RuleConfigError as exc:
        raise ConfigError(list(exc.problems)) from exc
    if cfg.min_link_probability is not None:
        checks = checks.with_params({"min_link_probability": cfg.min_link_probability})
    return checks


def validate(cfg: RunConfig) -> RunReport:
    """``relief-match validate``: read, validate and stage; no matching, no checks."""
    with command_session("validate", cfg, VALIDATE_OUTPUTS, "validate_summary.json") as s:
        s.report.ingest = stage(cfg, s.con, s.catalog)
    return s.report


def link(cfg: RunConfig) -> RunReport:
    """``relief-match link``: validate and stage, then link; writes ``links.parquet``."""
    with command_session("link", cfg, LINK_OUTPUTS, "link_summary.json") as s:
        s.report.ingest = stage(cfg, s.con, s.catalog)
        s.report.stages["link"] = link_stage(cfg, s.con, s.catalog, s.report.ingest.available)
    return s.report


def train_linker(
    cfg: RunConfig, seed: int = 42, model_out: Path | None = None, *, force: bool = False
) -> Any:
    """``relief-match train-linker``: retrain the Splink model on a delivery, write
    it to ``model_out`` (see :func:`~relief_match.link.model_file.model_out_path`)
    and compare its links with the current model's on the same delivery."""
    from relief_match.link.model_file import model_out_path
    from relief_match.link.training import train_and_compare

    target = model_out_path(cfg.rules_dir, model_out, force=force)
    with command_session("train_linker", cfg) as s:
        ingest = stage(cfg, s.con, s.catalog)
        settings, current = _linkage_paths(cfg)
        refs = person_refs(s.catalog, ingest.available)
        source = f"delivery {cfg.delivery}"
        return train_and_compare(s.con, refs, settings, current, target, seed, data_source=source)


def run(cfg: RunConfig) -> RunReport:
    """``relief-match run``: the whole job, from delivery to the caseworkers' list.

    Stages: ingest+validate+stage → link → rules → rank → outputs. All data
    lives in ``<out>/relief_match.duckdb``; the run summary is written even
    when a later stage fails, so a scheduler always finds one.

    Raises:
        UnusableInputError: the delivery cannot be used (exit code 3).
        ConfigError: schemas or rules are broken (exit code 4).
    """
    from relief_match.output.writers import write_outputs
    from relief_match.rank.score import rank_findings
    from relief_match.rules.engine import run_checks

    with command_session("run", cfg, RUN_OUTPUTS, "run_summary.json") as s:
        report = s.report
        checks = _load_checks(cfg)  # before the database: a broken rule file stops the run early
        log.info("stage 1/4: reading and validating %s", cfg.delivery)
        report.ingest = stage(cfg, s.con, s.catalog)
        available = report.ingest.available
        log.info("stage 2/4: linking people")
        report.stages["link"] = link_stage(cfg, s.con, s.catalog, available)
        log.info("stage 3/4: running %d checks", len(checks))
        rules = run_checks(s.con, checks, cfg.as_of, available, raise_on_failure=False)
        report.stages["rules"] = rules
        log.info("stage 4/4: ranking and writing the review list")
        report.stages["rank"] = rank_findings(s.con)
        report.stages["output"] = write_outputs(s.con, cfg.out)
        if rules.failed:
            raise InternalError(
                f"check(s) {', '.join(rules.failed)} failed (see run.log); the other checks'"
                " findings were written"
            )
    return report
