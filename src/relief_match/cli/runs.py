"""Commands about the runs in an output folder: list, prune, compare, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from relief_match.cli import (
    ConfigOpt,
    DebugOpt,
    JsonOpt,
    LogFormatOpt,
    _exit_codes,
    _options,
    app,
    log,
)
from relief_match.config import resolve
from relief_match.errors import UsageError
from relief_match.runs import logs

OutArg = Annotated[
    Path | None,
    typer.Argument(help="Output directory (default: the out setting, RELIEF_MATCH_OUT)."),
]


def _out_dir(path: Path) -> Path:
    if not path.is_dir():
        raise UsageError(f"{path} is not an output directory of relief-match")
    return path


@app.command()
def runs(
    out: OutArg = None,
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List the runs in an output directory, newest first, with their status."""
    with _exit_codes():
        from relief_match import api

        found = api.runs(_out_dir(resolve(config_file=config, out=out).out))
        if as_json:
            typer.echo(json.dumps([r.asdict() for r in found], ensure_ascii=False, indent=2))
            return
        from relief_match.output.console import print_runs

        print_runs(found)


@app.command()
def prune(
    out: OutArg = None,
    keep_days: Annotated[
        int | None,
        typer.Option(
            "--keep-days", min=0, help="Keep runs of the last N days (default: retention_days)."
        ),
    ] = None,
    config: ConfigOpt = None,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
) -> None:
    """Delete old run folders; never the one OUT/latest points to, nor a running one."""
    with _exit_codes():
        from relief_match import api

        options = _options(debug, log_format)
        cfg = resolve(config_file=config, out=out, **options)
        path = _out_dir(cfg.out)
        days = cfg.retention_days if keep_days is None else keep_days
        removed = api.prune_runs(path, days)
        log.info(
            f"removed {len(removed)} run folder(s) older than {days} days from {path}",
            extra=logs.event("pruned", removed=removed),
        )


@app.command()
def diff(
    run_a: Annotated[Path, typer.Argument(help="The earlier run folder (OUT/runs/<id>).")],
    run_b: Annotated[Path, typer.Argument(help="The later run folder (e.g. OUT/latest).")],
    as_json: JsonOpt = False,
) -> None:
    """Compare two runs' findings by finding id: new in RUN_B, still open, gone (with why)."""
    with _exit_codes():
        from relief_match.review.history import diff_runs

        try:
            result = diff_runs(run_a, run_b)
        except (FileNotFoundError, ValueError) as exc:
            raise UsageError(str(exc)) from exc
        if as_json:
            typer.echo(json.dumps(result.asdict(), ensure_ascii=False, indent=2, default=str))
        else:
            typer.echo(result.asstr())


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder: OUT/latest or OUT/runs/<run id>.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Where to write the page (default: RUN_DIR/report.html)."),
    ] = None,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
) -> None:
    """(Re)build report.html for a run: one self-contained page with charts that opens offline."""
    with _exit_codes():
        from relief_match.output.report import build_report

        _options(debug, log_format)
        typer.echo(str(build_report(run_dir, out)))
