"""``relief-match review``: caseworkers' outcomes come back (import, status)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from relief_match.cli import ConfigOpt, JsonOpt, OutOpt, _exit_codes, app
from relief_match.cli.runs import _out_dir
from relief_match.config import resolve

review_app = typer.Typer(
    help="Caseworkers' review outcomes: import the lists they return, show hit rates per check.",
    no_args_is_help=True,
)
app.add_typer(review_app, name="review")


@review_app.command("import")
def review_import(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Returned flags.xlsx / flags.csv files (UTF-8 or GB18030, any column order).",
            exists=True,
            dir_okay=False,
        ),
    ],
    out: OutOpt = None,
    config: ConfigOpt = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Import nothing, and exit 3, when any row is rejected."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Store the outcomes (核查结果) caseworkers filled in; print the rows rejected and why.

    Exit 0 when the valid rows were stored, also when some rows were rejected
    (they are listed); with --strict, 3 and nothing stored if any row was rejected.
    """
    with _exit_codes():
        from relief_match.errors import EXIT_UNUSABLE_INPUT
        from relief_match.review.importer import import_outcomes

        rep = import_outcomes(
            files, _out_dir(resolve(config_file=config, out=out).out), strict=strict
        )
        if as_json:
            typer.echo(json.dumps(rep.asdict(), ensure_ascii=False, indent=2))
        else:
            _print_rejections(rep.rejections)
            typer.echo(rep.asstr())
    if strict and rep.rejections:
        raise typer.Exit(EXIT_UNUSABLE_INPUT)


def _print_rejections(rejections: list[Any]) -> None:
    if not rejections:
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rejections)} rejected row problem(s), not imported")
    for name in ("file", "row", "column", "reason"):
        table.add_column(name)
    for r in rejections:
        table.add_row(r.file, str(r.row), r.column, r.reason)
    Console(stderr=True).print(table)


@review_app.command("status")
def review_status(
    out: OutOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Outcomes per check: reviewed, confirmed, false positive, explained, hit rate, recovered."""
    with _exit_codes():
        from relief_match.review.hitrate import HEADER, hit_rates

        rep = hit_rates(_out_dir(resolve(config_file=config, out=out).out))
        if as_json:
            typer.echo(json.dumps(rep.asdict(), ensure_ascii=False, indent=2))
            return
        if not rep.checks:
            typer.echo(rep.asstr())
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title="outcomes per check (latest outcome per finding)")
        for name in HEADER:
            table.add_column(name, justify="left" if name == "check" else "right")
        for row in rep.rows():
            table.add_row(*row)
        console = Console()
        if not console.is_terminal:
            console.width = 160  # a file or pipe: do not wrap the table at 80 columns
        console.print(table)


@app.command()
def whatif(
    params: Annotated[
        Path,
        typer.Option(
            "--params", help="YAML of parameters to replace (names of rules/params.yaml)."
        ),
    ],
    out: OutOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Rerun the checks of OUT/latest with some parameters replaced; write OUT/whatif/<time>/whatif.csv.

    No re-ingest, no re-linking; the published list and the outcome store are not touched.
    """
    with _exit_codes():
        from relief_match import api

        report = api.whatif(resolve(config_file=config, out=out), params)
        if as_json:
            typer.echo(json.dumps(report.asdict(), ensure_ascii=False, indent=2))
            return
        from relief_match.output.console import print_whatif

        print_whatif(report)
