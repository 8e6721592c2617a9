"""What every command does around its stages: lock, run folder, logs, summary, manifest, publish.

:func:`command_session` takes ``OUT``'s lock (or stops with exit code 6),
creates ``OUT/runs/<run id>/``, writes ``run_summary.json`` with status
``running`` and the PID at once (so a killed run is recognisable), sends the
log to ``run.log`` there, and yields a :class:`Session` whose ``cfg.out`` is
the run folder. At the end, failed or not, it writes the final summary and
``manifest.json``, publishes the folder as ``OUT/latest`` if the command
completed, applies the retention setting, and logs one last line with the
status and exit code.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from relief_match import __version__
from relief_match.config import RunConfig
from relief_match.errors import EXIT_OK, EXIT_UNUSABLE_EXTRACTS, ReliefMatchError, exit_code_of
from relief_match.privacy import mask_ids_in_text
from relief_match.runs import logs, manifest
from relief_match.runs.files import SHARED, write_json
from relief_match.runs.lock import OutputLock
from relief_match.runs.progress import StageClock
from relief_match.runs.rundir import SUMMARY, new_run_dir, prune, publish

log = logging.getLogger("relief_match.run")


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


@dataclass
class RunReport:
    """Everything a run did, per stage; ``asdict()`` for schedulers, ``asstr()`` for analysts."""

    command: str
    config: RunConfig
    ingest: Any = None
    stages: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str | None = None
    seconds: float = 0.0
    status: str = "running"
    exit_code: int | None = None
    error: dict[str, Any] | None = None
    run_id: str = ""
    run_dir: Path | None = None
    timings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: extract -> why it was not usable tonight (missing, header_only, ...): exit code 5
    unusable_extracts: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def asdict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "relief_match_version": __version__,
            "command": self.command,
            "status": self.status,
            "exit_code": self.exit_code,
            "run_id": self.run_id,
            "run_dir": str(self.run_dir) if self.run_dir else None,
            "pid": os.getpid() if self.status == "running" else None,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": round(self.seconds, 2),
            "delivery": str(self.config.delivery),
            "as_of": self.config.as_of.isoformat(),
            "out": str(self.config.out),
        }
        if self.error is not None:
            d["error"] = self.error
        d["unusable_extracts"] = self.unusable_extracts
        d["warnings"] = self.warnings
        if self.ingest is not None:
            d["ingest"] = self.ingest.asdict()
        for name, rep in self.stages.items():
            d[name] = rep.asdict() if hasattr(rep, "asdict") else rep
        d["timings"] = self.timings
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


@dataclass
class Session:
    """One command's run: settings (``cfg.out`` is the run folder), report, catalog, database.

    The database is opened (fresh) the first time :attr:`con` is used.
    """

    cfg: RunConfig
    report: RunReport
    catalog: Any
    clock: StageClock
    opener: Callable[[RunConfig], Any]
    _con: Any = None

    @property
    def con(self) -> Any:
        """The run's database connection."""
        if self._con is None:
            self._con = self.opener(self.cfg)
        return self._con

    def close(self) -> None:
        """Close the database if it was opened."""
        if self._con is not None:
            self._con.close()
            self._con = None


def _error(exc: BaseException) -> dict[str, Any]:
    text = exc.one_line() if isinstance(exc, ReliefMatchError) else str(exc)
    first = (text.strip().splitlines() or [""])[0]
    return {
        "class": type(exc).__name__,
        "message": mask_ids_in_text(first)[:300],
        "exit_code": exit_code_of(exc),
    }


@contextmanager
def command_session(
    command: str,
    cfg: RunConfig,
    opener: Callable[[RunConfig], Any],
    outputs: dict[str, str] | None = None,
    load_catalog: Callable[[RunConfig], Any] | None = None,
) -> Iterator[Session]:
    """Lock ``cfg.out``, run the command in a new run folder, record and publish it."""
    t0 = time.perf_counter()
    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    spinner = logs.setup_console(cfg.log_format, cfg.log_level) == "rich"
    with OutputLock(out, command) as lock:
        run_dir = new_run_dir(out, cfg.as_of)
        lock.note(run_dir.name)
        handler = logs.attach_run_log(run_dir / "run.log")
        report = RunReport(command, cfg, started_at=_now(), run_id=run_dir.name, run_dir=run_dir)
        write_json(run_dir / SUMMARY, report.asdict(), SHARED)
        log.info(
            f"relief-match {command} {run_dir.name} started (PID {os.getpid()}), as of {cfg.as_of}",
            extra=logs.event("run_start", run_id=run_dir.name, pid=os.getpid(), command=command),
        )
        run_cfg = cfg.model_copy(update={"out": run_dir})
        clock = StageClock(spinner=spinner)
        hashes: manifest.InputHashes | None = None
        try:
            with clock.stage("inputs", f"listing the delivery's files in {cfg.delivery}") as n:
                hashes = manifest.InputHashes(cfg.delivery)  # hashed while the job runs
                n["files"] = hashes.files
                n["bytes"] = hashes.bytes
            catalog = load_catalog(cfg) if load_catalog else None
            session = Session(run_cfg, report, catalog, clock, opener)
            try:
                yield session
            finally:
                session.close()
            report.status = "completed"
            report.exit_code = EXIT_UNUSABLE_EXTRACTS if report.unusable_extracts else EXIT_OK
        except BaseException as exc:
            report.status, report.exit_code, report.error = "failed", exit_code_of(exc), _error(exc)
            log.debug("traceback", exc_info=True)
            with suppress(AttributeError):
                exc._rm_logged = True  # type: ignore[attr-defined]  # the CLI does not repeat it
            raise
        finally:
            inputs = hashes.entries() if hashes is not None else []
            _finish(report, run_dir, out, cfg, outputs or {}, inputs, clock, t0)
            logs.detach(handler)


def _finish(
    report: RunReport,
    run_dir: Path,
    out: Path,
    cfg: RunConfig,
    outputs: dict[str, str],
    inputs: list[dict[str, Any]],
    clock: StageClock,
    t0: float,
) -> None:
    report.seconds = time.perf_counter() - t0
    report.finished_at = _now()
    report.timings = clock.timings
    report.outputs = {k: str(run_dir / v) for k, v in outputs.items() if (run_dir / v).exists()}
    report.outputs["summary"] = str(run_dir / SUMMARY)
    report.outputs["manifest"] = str(run_dir / "manifest.json")
    write_json(
        run_dir / "manifest.json",
        {
            "run_id": report.run_id,
            "command": report.command,
            "as_of": cfg.as_of.isoformat(),
            "status": report.status,
            "exit_code": report.exit_code,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "seconds": round(report.seconds, 2),
            "versions": manifest.versions(),
            "settings": cfg.model_dump(mode="json"),
            "delivery": {"path": str(cfg.delivery.resolve()), "files": inputs},
            "configuration": manifest.configuration(cfg.schemas_dir, cfg.rules_dir),
            "stages": clock.timings,
        },
        SHARED,
    )
    write_json(run_dir / SUMMARY, report.asdict(), SHARED)
    published = ""
    if report.status == "completed":
        info = {
            "run_id": report.run_id,
            "command": report.command,
            "as_of": cfg.as_of.isoformat(),
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "status": report.status,
        }
        published = str(publish(out, run_dir, report.command, info))
        if cfg.retention_days:
            removed = prune(out, cfg.retention_days)
            if removed:
                log.info(
                    f"retention: removed {len(removed)} run folder(s) older than {cfg.retention_days} days",
                    extra=logs.event("pruned", removed=removed),
                )
    level = (
        logging.ERROR
        if report.status != "completed"
        else logging.WARNING
        if report.exit_code
        else logging.INFO
    )
    log.log(
        level,
        f"relief-match {report.command} {report.status} (exit {report.exit_code}) in"
        f" {report.seconds:.1f}s; run folder {run_dir}"
        + (f"; published as {published}" if published else ""),
        extra=logs.event(
            "run_end",
            status=report.status,
            exit_code=report.exit_code,
            run_id=report.run_id,
            seconds=round(report.seconds, 2),
            published=published or None,
            **({"error": report.error} if report.error else {}),
        ),
    )
