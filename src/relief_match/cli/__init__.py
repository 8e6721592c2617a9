"""Command-line interface: parse arguments, call :mod:`relief_match.api`, map errors to exit codes.

Nothing else happens here, and no heavy library (polars, duckdb, splink) is
imported at module level, so ``relief-match --help`` answers at once.

Exit codes: 0 completed (with or without findings); 1 internal failure;
2 usage error (incl. a bad flag value); 3 unusable input; 4 broken
configuration (schemas, rules, settings from the environment or a config
file); 6 another process holds the output directory's lock. 5 is reserved.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from typer.core import TyperOption

from relief_match.config import resolve, setting_help
from relief_match.errors import ReliefMatchError, UsageError, exit_code_of
from relief_match.privacy import mask_ids_in_text
from relief_match.runs import logs

_rich_type = TyperOption.display_type_rich


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """typer 0.29 shows ``<bool>`` beside switches (``--json <bool>``): show nothing."""
    return None if self.is_flag else _rich_type(self, ctx)


TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

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

log = logging.getLogger("relief_match.cli")

_state: dict[str, Any] = {"debug": False, "log_format": None}


class LogFormat(StrEnum):
    """``--log-format`` values."""

    auto = "auto"
    text = "text"
    json = "json"


class Engine(StrEnum):
    """``--engine`` values."""

    duckdb = "duckdb"
    spark = "spark"


DeliveryArg = Annotated[Path | None, typer.Argument(help=setting_help("delivery"))]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help=setting_help("out"))]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help=setting_help("as_of"))]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML file with settings (see README).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as JSON (machines).")]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Log tracebacks (IDs masked) and debug lines.")
]
LogFormatOpt = Annotated[
    LogFormat | None, typer.Option("--log-format", help=setting_help("log_format"))
]


def _version(value: bool) -> None:
    if value:
        from relief_match import __version__

        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    _state["debug"] = debug
    _state["log_format"] = log_format.value if log_format else None


def _options(debug: bool, log_format: LogFormat | None) -> dict[str, Any]:
    """Apply ``--debug``/``--log-format`` given after the command name; set up the console log."""
    _state["debug"] = _state["debug"] or debug
    if log_format is not None:
        _state["log_format"] = log_format.value
    fmt = _state["log_format"] or os.environ.get("RELIEF_MATCH_LOG_FORMAT") or "auto"
    _state["console"] = logs.setup_console(fmt if fmt in ("auto", "text", "json") else "auto")
    flags: dict[str, Any] = {"log_format": _state["log_format"]}
    if _state["debug"]:
        flags["log_level"] = "DEBUG"
    return flags


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _report_failure(exc: BaseException, code: int) -> None:
    message = (
        exc.one_line()
        if isinstance(exc, ReliefMatchError)
        else f"internal error: {type(exc).__name__}: {exc}"
        + ("" if _state["debug"] else " (rerun with --debug for the traceback)")
    )
    message = mask_ids_in_text(message)
    if _state["debug"] and not getattr(exc, "_rm_logged", False):
        text = "".join(traceback.format_exception(exc))
        typer.echo(mask_ids_in_text(text), err=True)
    if _state.get("console") == "json":
        log.error(message, extra=logs.event("exit", status="failed", exit_code=code))
    else:
        typer.secho(f"error: {message}", err=True, fg="red")


@contextmanager
def _exit_codes() -> Iterator[None]:
    """The one error boundary: errors -> one line (a JSON line with --log-format json) + exit code."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    except (typer.Exit, KeyboardInterrupt, typer.TyperException):
        raise  # exits and click's usage errors (exit 2) report themselves
    except Exception as exc:
        code = exit_code_of(exc)
        _report_failure(exc, code)
        raise typer.Exit(code) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stage_command(
    command: str,
    delivery: Path | None,
    config: Path | None,
    as_json: bool,
    options: dict[str, Any],
    **flags: Any,
) -> None:
    """Resolve the settings, call ``api.<command>`` and print its report."""
    with _exit_codes():
        from relief_match import api

        cfg = resolve(delivery, config_file=config, **options, **flags)
        report = getattr(api, command)(cfg)
        _emit(report, as_json)
    if report.exit_code:  # completed, but with unusable extracts (exit 5)
        raise typer.Exit(report.exit_code)


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
    engine: Annotated[Engine | None, typer.Option(help=setting_help("engine"))] = None,
    spark_master: Annotated[str | None, typer.Option(help=setting_help("spark_master"))] = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
) -> None:
    """Run the whole job: validate, match, check, rank; publish the list as OUT/latest/."""
    _stage_command(
        "run",
        delivery,
        config,
        as_json,
        _options(debug, log_format),
        out=out,
        as_of=as_of,
        min_link_probability=min_link_probability,
        engine=engine.value if engine else None,
        spark_master=spark_master,
    )


@app.command()
def validate(
    delivery: DeliveryArg = None,
    out: OutOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
) -> None:
    """Read and validate every extract; print rows read / repaired / quarantined / used."""
    _stage_command(
        "validate", delivery, config, as_json, _options(debug, log_format), out=out, as_of=as_of
    )


@app.command()
def link(
    delivery: DeliveryArg = None,
    out: OutOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
) -> None:
    """Validate, then link department records to recipient members; writes links.parquet."""
    _stage_command(
        "link", delivery, config, as_json, _options(debug, log_format), out=out, as_of=as_of
    )


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
    debug: DebugOpt = False,
    log_format: LogFormatOpt = None,
) -> None:
    """Retrain the person-matching model on a delivery and compare it with the current one.

    Writes the new model to --model-out (never over the shipped model, never
    over an existing file without --force) and prints how many of the current
    model's links the new one keeps, adds, removes or gives to another person.
    """
    with _exit_codes():
        from relief_match import api

        cfg = resolve(delivery, config_file=config, out=out, **_options(debug, log_format))
        rep = api.train_linker(cfg, seed=seed, model_out=model_out, force=force)
        if as_json:
            typer.echo(json.dumps(rep.asdict(), ensure_ascii=False, indent=2, default=str))
            return
        from relief_match.output.console import print_train_report

        print_train_report(rep)


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

        rep = generate(population, seed, _date("--as-of", as_of), out, defect_rate=defect_rate)
        typer.echo(rep.asstr())


def _date(flag: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"{flag}: {value!r} is not a date YYYY-MM-DD ({exc})") from None


@app.command()
def evaluate(
    key: Annotated[Path, typer.Option(help="Answer-key folder (…/answer_key).")],
    flags: Annotated[
        Path, typer.Option(help="flags.csv or flags.parquet of a run (e.g. OUT/latest/flags.csv).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Score a run's flags against a synthetic city's answer key (precision, recall, ranking)."""
    with _exit_codes():
        from relief_match.evaluate import evaluate as _evaluate

        if not ((key / "cases.csv").is_file() or (key / "answer_key" / "cases.csv").is_file()):
            raise UsageError(f"--key: {key} is not an answer-key folder (no cases.csv in it)")
        if not flags.is_file():
            raise UsageError(f"--flags: {flags} is not a file")
        rep = _evaluate(key, flags)
        if as_json:
            typer.echo(json.dumps(rep.asdict(), ensure_ascii=False, indent=2, default=str))
        else:
            typer.echo(rep.asstr())


@app.command()
def init(
    target: Annotated[Path, typer.Argument(help="Folder for the bureau's copy.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing copy.")] = False,
) -> None:
    """Copy the shipped schemas and rules into TARGET, with a commented relief-match.toml."""
    with _exit_codes():
        from relief_match.scaffold import init_project

        typer.echo(init_project(target, force=force).asstr())


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except SystemExit as exc:
        sys.exit(exc.code)


# the other command groups register themselves on `app`
from relief_match.cli import review, runs  # noqa: E402

__all__ = ["app", "main", "review", "runs"]
