"""Command-line interface: parse arguments, call :mod:`relief_match.api`, map errors to exit codes.

Nothing else happens here, and no heavy library (polars, duckdb, splink) is
imported at module level, so ``relief-match --help`` answers at once.

Exit codes: 0 completed (with or without findings); 1 internal failure;
2 usage error; 3 unusable input; 4 broken configuration (schemas, rules).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from relief_match.config import resolve, setting_help
from relief_match.errors import EXIT_INTERNAL, ReliefMatchError

app = typer.Typer(
    name="relief-match",
    help=(
        "Nightly cross-department checks of social-assistance (低保/特困) recipients: "
        "validate the departments' extracts, match people, run the bureau's 14 checks "
        "and write a ranked, explained review list for caseworkers."
    ),
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state: dict[str, bool] = {"debug": False}

DeliveryArg = Annotated[Path | None, typer.Argument(help=setting_help("delivery"))]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help=setting_help("out"))]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help=setting_help("as_of"))]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML file with settings (see README).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as JSON (machines).")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    _state["debug"] = debug
    if version:
        from relief_match import __version__

        typer.echo(__version__)
        raise typer.Exit(0)


@contextmanager
def _exit_codes() -> Iterator[None]:
    """The one error boundary: domain errors -> one line + exit code."""
    try:
        yield
    except ReliefMatchError as exc:
        if _state["debug"]:
            raise
        typer.secho(f"error: {exc.one_line()}", err=True, fg="red")
        raise typer.Exit(exc.exit_code) from None
    except (typer.Exit, KeyboardInterrupt):
        raise
    except Exception as exc:
        if _state["debug"]:
            raise
        typer.secho(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
            err=True,
            fg="red",
        )
        raise typer.Exit(EXIT_INTERNAL) from None


def _stage_command(
    command: str, delivery: Path | None, config: Path | None, as_json: bool, **flags: Any
) -> None:
    """Resolve the settings, call ``api.<command>`` and print its report."""
    with _exit_codes():
        from relief_match import api

        cfg = resolve(delivery, config_file=config, **flags)
        _emit(getattr(api, command)(cfg), as_json)


def _emit(report: Any, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.asdict(), ensure_ascii=False, indent=2, default=str))
    else:
        from relief_match.output.console import print_report

        print_report(report)


@app.command()
def run(
    delivery: DeliveryArg = None,
    out: OutOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    min_link_probability: Annotated[
        float | None, typer.Option(help=setting_help("min_link_probability"))
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the whole job: validate, match, check, rank and write the review list."""
    _stage_command(
        "run",
        delivery,
        config,
        as_json,
        out=out,
        as_of=as_of,
        min_link_probability=min_link_probability,
    )


@app.command()
def validate(
    delivery: DeliveryArg = None,
    out: OutOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Read and validate every extract; print rows read / repaired / quarantined / used."""
    _stage_command("validate", delivery, config, as_json, out=out, as_of=as_of)


@app.command()
def link(
    delivery: DeliveryArg = None,
    out: OutOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate, then link department records to recipient members; writes links.parquet."""
    _stage_command("link", delivery, config, as_json, out=out, as_of=as_of)


@app.command("train-linker")
def train_linker(
    delivery: DeliveryArg = None,
    out: OutOpt = None,
    config: ConfigOpt = None,
    model_out: Annotated[
        Path | None,
        typer.Option(
            "--model-out",
            help="Where to write the new model (JSON). Default: <rules_dir>/linkage/model.json"
            " of your own rules folder; required while rules_dir is the shipped one.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the --model-out file if it exists.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed for Splink's random sampling.")] = 42,
    as_json: JsonOpt = False,
) -> None:
    """Retrain the person-matching model on a delivery and compare it with the current one.

    Writes the new model to --model-out (never over the shipped model, never
    over an existing file without --force) and prints how many of the current
    model's links the new one keeps, adds, removes or gives to another person.
    """
    with _exit_codes():
        from relief_match import api

        cfg = resolve(delivery, config_file=config, out=out)
        rep = api.train_linker(cfg, seed=seed, model_out=model_out, force=force)
        if as_json:
            typer.echo(json.dumps(rep.asdict(), ensure_ascii=False, indent=2, default=str))
            return
        if rep.agreement is None:
            typer.echo(rep.asstr())
            return
        from dataclasses import replace

        from rich.console import Console
        from rich.table import Table

        typer.echo(replace(rep, agreement=None).asstr())
        table = Table(
            title="links on this delivery",
            caption=f"current model {rep.agreement.current_model},"
            f" new model {rep.agreement.new_model}",
        )
        table.add_column("links")
        table.add_column("count", justify="right")
        for label, n in rep.agreement.rows():
            table.add_row(label, f"{n:,}")
        Console().print(table)


@app.command()
def synth(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Where to write delivery/ and answer_key/.")
    ],
    population: Annotated[int, typer.Option(help="People in the city's hukou register.")] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same bytes.")] = 20261128,
    as_of: Annotated[str, typer.Option("--as-of", help="Delivery date YYYY-MM-DD.")] = "2026-11-28",
    defect_rate: Annotated[float, typer.Option(help="Share of rows given a defect.")] = 0.02,
) -> None:
    """Generate a synthetic city's delivery with planted cases and an answer key."""
    with _exit_codes():
        from relief_match.synth import generate

        rep = generate(population, seed, date.fromisoformat(as_of), out, defect_rate=defect_rate)
        typer.echo(rep.asstr())


@app.command()
def evaluate(
    key: Annotated[Path, typer.Option(help="Answer-key folder (…/answer_key).")],
    flags: Annotated[Path, typer.Option(help="flags.csv or flags.parquet of a run.")],
    as_json: JsonOpt = False,
) -> None:
    """Score a run's flags against a synthetic city's answer key (precision, recall, ranking)."""
    with _exit_codes():
        from relief_match.evaluate import evaluate as _evaluate

        rep = _evaluate(key, flags)
        if as_json:
            typer.echo(json.dumps(rep.asdict(), ensure_ascii=False, indent=2, default=str))
        else:
            typer.echo(rep.asstr())


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as exc:
        sys.exit(exc.code)
