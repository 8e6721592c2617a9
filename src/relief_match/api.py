"""The library entry points: each CLI command is one call here.

``run(config)`` calls the stages in order (ingest+validate+stage, link,
rules, rank, output) on one DuckDB database file per run, and returns a
:class:`RunReport` built from each stage's report. Every command runs in its
own folder ``<out>/runs/<run id>/`` (see :mod:`relief_match.runs`), published
as ``<out>/latest`` only when complete.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relief_match import __version__
from relief_match.config import RunConfig
from relief_match.errors import InternalError, UnusableInputError
from relief_match.runs.files import PRIVATE, SHARED, atomic_path
from relief_match.runs.rundir import list_runs, prune
from relief_match.runs.session import RunReport, Session
from relief_match.runs.session import command_session as _command_session

if TYPE_CHECKING:
    import duckdb

    from relief_match.catalog import Catalog
    from relief_match.validate.delivery import IngestReport

log = logging.getLogger("relief_match")

#: Without these two extracts there is nobody to check: the input is unusable.
CORE_EXTRACTS = ("recipients_households", "recipients_members")


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


def _open_private(cfg: RunConfig) -> duckdb.DuckDBPyConnection:
    """:func:`open_db`, with the database file readable by the job's user only."""
    con = open_db(cfg)
    os.chmod(cfg.db_path, PRIVATE)
    return con


def load_catalog(cfg: RunConfig) -> Catalog:
    """The extract schemas of ``cfg.schemas_dir``."""
    from relief_match.catalog import load_catalog as _load

    return _load(cfg.schemas_dir)


def stage(
    cfg: RunConfig,
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    progress: Any = None,
) -> IngestReport:
    """Ingest, validate and stage the delivery; write ``quarantine.csv``.

    ``progress``, when given, is called with a short text before each extract.

    Raises:
        UnusableInputError: the directory is missing, nothing in it is readable,
            or the recipient extracts are missing or unreadable.
    """
    from relief_match.validate.delivery import ingest_delivery

    _check_delivery(cfg)
    names = [spec.extract for spec in catalog]

    def _each(extract: str) -> None:
        if progress is not None:
            progress(f"reading {extract} ({names.index(extract) + 1}/{len(names)})")

    report = ingest_delivery(
        cfg.delivery,
        catalog,
        con,
        chunk_bytes=cfg.chunk_mb * 1024 * 1024,
        progress=_each,
        staging_dir=cfg.out / "staged",
        workers=cfg.threads,
    )
    finish_stage(cfg, con, report)
    return report


def finish_stage(cfg: RunConfig, con: duckdb.DuckDBPyConnection, report: IngestReport) -> None:
    """After ingesting (on either engine): run metadata, ``quarantine.csv``, unusable input."""
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


def write_quarantine(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Write every quarantined row with its reason (UTF-8 with BOM for Excel)."""
    frame = con.sql(
        'SELECT extract, file, row, "column", raw_value, reason, message'
        ' FROM _rm_quarantine ORDER BY extract, file, row, "column", reason, message'
    ).pl()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, SHARED) as tmp, tmp.open("wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        frame.write_csv(fh)


#: What each command lists as its outputs: label -> file name in the run folder.
VALIDATE_OUTPUTS = {"quarantine": "quarantine.csv", "database": "relief_match.duckdb"}
LINK_OUTPUTS = {"links": "links.parquet", **VALIDATE_OUTPUTS}
RUN_OUTPUTS = {
    name: name
    for name in (
        "flags.csv",
        "households.csv",
        "flags.xlsx",
        "households.xlsx",
        "resolved.csv",
        "suppressed.csv",
        "flags.parquet",
        "links.parquet",
        "quarantine.csv",
        "run.log",
        "report.html",
    )
} | {"database": "relief_match.duckdb"}


@contextmanager
def command_session(
    command: str,
    cfg: RunConfig,
    outputs: dict[str, str] | None = None,
    summary: str | None = None,
) -> Iterator[Session]:
    """What every command does around its stages (:func:`relief_match.runs.session.command_session`).

    Takes ``cfg.out``'s lock, creates the run folder ``cfg.out/runs/<run id>``
    (the session's ``cfg.out``), logs to its ``run.log``, loads the schema
    catalog, writes ``run_summary.json`` and ``manifest.json`` there, also when
    the command fails, and publishes the folder as ``cfg.out/latest`` (or
    ``latest-<command>``) when it completes. ``summary`` is accepted for
    compatibility: every run folder's summary is ``run_summary.json``.
    """
    del summary
    with _command_session(command, cfg, _open_private, outputs, load_catalog) as session:
        yield session


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
    with atomic_path(cfg.out / "links.parquet", PRIVATE) as tmp:
        write_link_table(con, tmp)
    return rep


def _ingest(s: Session) -> IngestReport:
    """The ingest stage of a session, with its start/end lines and counts."""
    with s.clock.stage("ingest", f"reading and validating {s.cfg.delivery}") as n:
        s.report.ingest = rep = stage(s.cfg, s.con, s.catalog, progress=s.clock.step)
        n.update(
            extracts=len(rep.available),
            rows_read=rep.rows_read,
            rows_used=rep.rows_used,
            rows_quarantined=rep.rows_quarantined,
        )
    return rep


def _link(s: Session, available: set[str]) -> None:
    with s.clock.stage("link", "linking department records to recipient members") as n:
        rep = link_stage(s.cfg, s.con, s.catalog, available)
        s.report.stages["link"] = rep
        n.update(persons=rep.n_persons, links=sum(rep.links_by_route.values()))


def _load_checks(cfg: RunConfig) -> Any:
    """Load the check files; a ``min_link_probability`` setting overrides params.yaml."""
    from relief_match.errors import ConfigError
    from relief_match.rules import load_checks
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
    with command_session("validate", cfg, VALIDATE_OUTPUTS) as s:
        _ingest(s)
    return s.report


def link(cfg: RunConfig) -> RunReport:
    """``relief-match link``: validate and stage, then link; writes ``links.parquet``."""
    with command_session("link", cfg, LINK_OUTPUTS) as s:
        _link(s, _ingest(s).available)
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
        ingest = stage(s.cfg, s.con, s.catalog)
        settings, current = _linkage_paths(cfg)
        refs = person_refs(s.catalog, ingest.available)
        source = f"delivery {cfg.delivery}"
        return train_and_compare(s.con, refs, settings, current, target, seed, data_source=source)


def quarantine_warnings(
    ingest: IngestReport, checks: Any, rules: Any, max_share: float
) -> list[str]:
    """A warning for each check that ran on an extract which lost more than
    ``max_share`` of its rows to quarantine tonight (its findings may be incomplete)."""
    lossy = {
        e.extract: e.rows_quarantined / e.rows_read
        for e in ingest.extracts
        if e.usable and e.rows_read and e.rows_quarantined / e.rows_read > max_share
    }
    ran = set(rules.ran)
    warnings = []
    for check in checks:
        hit = [x for x in check.spec.extracts if x in lossy]
        if check.spec.id in ran and hit:
            lost = ", ".join(f"{x} lost {lossy[x]:.0%} of its rows to quarantine" for x in hit)
            warnings.append(
                f"{check.spec.id} ran on partial data ({lost}); findings may be missing"
            )
    for w in warnings:
        log.warning(w)
    return warnings


def _spark_stages(s: Session, checks: Any) -> Any:
    """Ingest and checks on Spark (:mod:`relief_match.spark.engine`), linking as above."""
    from relief_match.spark.engine import spark_stages

    return spark_stages(
        s, checks, lambda rep: finish_stage(s.cfg, s.con, rep), lambda av: _link(s, av)
    )


def run(cfg: RunConfig) -> RunReport:
    """``relief-match run``: the whole job, from delivery to the caseworkers' list.

    Stages: ingest+validate+stage → link → rules → rank → outputs, all in the
    run folder ``<out>/runs/<run id>/`` (data in its ``relief_match.duckdb``).
    The run summary is written there even when a stage fails, so a scheduler
    always finds one; ``<out>/latest`` is switched to the folder only when
    everything completed.

    Raises:
        UnusableInputError: the delivery cannot be used (exit code 3).
        ConfigError: schemas or rules are broken (exit code 4).

    A run that completes while some extracts were missing or unusable is
    published like any other, with ``exit_code`` 5 in its report (the CLI's
    exit status) and the extracts and reasons in ``unusable_extracts``.
    """
    from relief_match.output.report import write_run_report
    from relief_match.output.writers import write_outputs
    from relief_match.rank.score import rank_findings
    from relief_match.review.history import compare_with_previous
    from relief_match.review.hitrate import hit_rates
    from relief_match.review.identity import assign_finding_ids
    from relief_match.review.outcomes import apply_outcomes
    from relief_match.rules import run_checks

    if cfg.engine == "spark":  # a missing extra is a configuration error before the run
        from relief_match.spark.session import require_pyspark

        require_pyspark()
    with command_session("run", cfg, RUN_OUTPUTS) as s:
        report = s.report
        latest = cfg.out / "latest"  # the published run before this one
        previous = latest.resolve() if (latest / "flags.parquet").is_file() else None
        checks = _load_checks(cfg)  # before the database: a broken rule file stops the run early
        if cfg.engine == "spark":
            ingest, rules = _spark_stages(s, checks)
        else:
            ingest = _ingest(s)
            available = ingest.available
            _link(s, available)
            with s.clock.stage("checks", f"running {len(checks)} checks") as n:
                rules = run_checks(
                    s.con,
                    checks,
                    cfg.as_of,
                    available,
                    raise_on_failure=False,
                    unusable=ingest.unusable,
                )
                n.update(ran=len(rules.ran), skipped=len(rules.skipped), failed=len(rules.failed))
        report.stages["rules"] = rules
        assign_finding_ids(s.con)
        with s.clock.stage("review", "applying caseworkers' review outcomes"):
            report.stages["review"] = apply_outcomes(s.con, cfg.out)
        with s.clock.stage("rank", "ranking the findings") as n:
            report.stages["hit_rate"] = hit = hit_rates(cfg.out)
            observed = hit.observed() if cfg.rank_uses_hit_rate else None
            report.stages["rank"] = rank = rank_findings(
                s.con, observed=observed, prior_strength=cfg.hit_rate_prior_strength
            )
            n.update(flags=rank.n_flags, households=rank.n_households)
            active = checks.params["active_household_statuses"].value
            report.stages["history"] = compare_with_previous(
                s.con, previous, active_statuses=tuple(active)
            )
        with s.clock.stage("output", f"writing the review list to {s.cfg.out}") as n:
            report.stages["output"] = write_outputs(s.con, s.cfg.out, rules_dir=cfg.rules_dir)
            n.update(files=len(report.stages["output"].files))
        report.unusable_extracts = ingest.unusable
        report.warnings = quarantine_warnings(ingest, checks, rules, cfg.max_quarantine_share)
        if rules.failed:
            raise InternalError(
                f"check(s) {', '.join(rules.failed)} failed (see run.log); the other checks'"
                " findings were written"
            )
        write_run_report(s)
    return report


def runs(out: Path) -> list[Any]:
    """``relief-match runs``: the run folders of ``out``, newest first."""
    return list_runs(out)


def prune_runs(out: Path, keep_days: int) -> list[str]:
    """``relief-match prune``: delete run folders older than ``keep_days`` (lock held).

    Never deletes the runs ``latest*`` point to, nor a running one.
    """
    from relief_match.runs.lock import OutputLock

    with OutputLock(out, "prune"):
        return prune(out, keep_days)


def whatif(cfg: RunConfig, params_file: Path) -> Any:
    """``relief-match whatif``: rerun the checks of ``cfg.out/latest`` with the
    parameters of ``params_file`` replaced; write ``cfg.out/whatif/<timestamp>/``.
    Reads the run folder only; never touches the outcome store nor ``latest``."""
    from relief_match.output.whatif import write_whatif
    from relief_match.review.whatif import load_overrides, run_whatif

    checks = _load_checks(cfg)
    overrides = load_overrides(params_file, checks.params)
    report = run_whatif(cfg.out, checks.with_params(overrides), overrides)
    return write_whatif(report, cfg.out / "whatif")
