"""``report.html``: one self-contained page per run, with charts, that opens offline.

:func:`build_report` (the ``relief-match report RUN_DIR`` command) builds it
for any run folder from the files in it; :func:`write_run_report` is what a
run calls after writing its outputs. The page has inline CSS and inline SVG
charts (:mod:`.charts`), no script and no external resource; it shows masked
IDs only (:mod:`.data`, :mod:`.page`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from relief_match.errors import EXIT_OK, EXIT_UNUSABLE_EXTRACTS, UsageError
from relief_match.runs.files import SHARED, write_bytes
from relief_match.runs.manifest import versions

log = logging.getLogger("relief_match.report")

REPORT = "report.html"


def build_report(
    run_dir: Path,
    out: Path | None = None,
    *,
    summary: dict[str, Any] | None = None,
    manifest: dict[str, Any] | None = None,
    con: Any = None,
) -> Path:
    """Write the report of the run folder ``run_dir`` (or ``OUT/latest``) to ``out``.

    ``out`` defaults to ``run_dir/report.html``. ``summary``, ``manifest`` and
    ``con`` are given by a run writing its own report (its summary is not
    final yet, its manifest not written, its database open).

    Raises:
        UsageError: ``run_dir`` is not a run folder (no ``run_summary.json``).
    """
    from relief_match.output.report.data import load_run
    from relief_match.output.report.page import render
    from relief_match.runs.rundir import SUMMARY

    run_dir = Path(run_dir)
    if summary is None and not (run_dir / SUMMARY).is_file():
        raise UsageError(
            f"{run_dir} is not a run folder of relief-match (no {SUMMARY})",
            hint="pass OUT/latest or a folder OUT/runs/<run id>",
        )
    target = Path(out) if out is not None else run_dir / REPORT
    html = render(load_run(run_dir, summary, con, manifest))
    target.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(target, html.encode("utf-8"), SHARED)
    return target


def write_run_report(session: Any) -> Path | None:
    """The run's own ``report.html``, written at the end of ``relief-match run``.

    Uses the session's report (status ``completed``, the exit code it will
    have, the time so far) and its open database. A failure to build the page
    is logged as a warning and does not fail the run: the review list is
    already written.
    """
    report = session.report
    summary = report.asdict()
    started = datetime.fromisoformat(report.started_at) if report.started_at else datetime.now()
    summary.update(
        status="completed",
        exit_code=EXIT_UNUSABLE_EXTRACTS if report.unusable_extracts else EXIT_OK,
        pid=None,
        seconds=round((datetime.now() - started).total_seconds(), 2),
        timings=session.clock.timings,
        summary_is_provisional=True,
    )
    manifest = {
        "settings": session.cfg.model_dump(mode="json"),
        "versions": versions(),
        "provisional": True,
    }
    try:
        with session.clock.stage("report", "writing report.html") as counts:
            path = build_report(
                session.cfg.out, summary=summary, manifest=manifest, con=session.con
            )
            counts["bytes"] = path.stat().st_size
    except Exception as exc:
        msg = f"report.html was not written: {type(exc).__name__}: {exc}"
        log.warning(msg, exc_info=log.isEnabledFor(logging.DEBUG))
        report.warnings.append(msg)
        return None
    log.info(f"report: {path}")
    return path
